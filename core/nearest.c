/* Suggestions for unknown names: the nearest candidate by optimal-string-alignment distance, if it is a
 * plausible typo. */
#include "nearest.h"

#include <string.h>
#include <strings.h>

/* Edit distance where a transposition of neighbours is one edit; names longer than 47 are not compared. */
static int edit_distance(const char *a, int la, const char *b, int lb)
{
    int d[48][48];
    if (la > 47 || lb > 47) return 99;
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

void bd_nearest_init(bd_nearest *s, const char *name, int len)
{
    s->name = name;
    s->len = len;
    s->best = 1000;
    s->out[0] = '\0';
}

void bd_nearest_try(const char *cand, void *search)
{
    bd_nearest *s = search;
    int lc = (int)strlen(cand), d;
    if (lc == s->len && strncasecmp(cand, s->name, (size_t)lc) == 0) d = 1;
    else d = 2 * edit_distance(s->name, s->len, cand, lc);
    int allowed = s->len <= 2 ? 1 : s->len <= 5 ? 2 : 4;
    if (d <= allowed && d < s->best && lc < (int)sizeof s->out) {
        s->best = d;
        memcpy(s->out, cand, (size_t)lc + 1);
    }
}

const char *bd_nearest_result(const bd_nearest *s) { return s->best < 1000 ? s->out : NULL; }

const char *bd_nearest_name(const char *name, const char *const *candidates, size_t n)
{
    static _Thread_local bd_nearest s; /* the result must outlive the call, as the candidates do */
    bd_nearest_init(&s, name, (int)strlen(name));
    for (size_t i = 0; i < n; i++)
        if (candidates[i]) bd_nearest_try(candidates[i], &s);
    return bd_nearest_result(&s);
}
