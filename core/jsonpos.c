/* Reading JSON files, and where a JSON value sits in its file. cJSON keeps no positions, so messages about a value (a bad
 * quantity, an unknown key) find its line and column by walking the text once more along the path.
 * The walk only runs after cJSON accepted the text, so it may assume well-formed JSON. */
#include "jsonpos.h"
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p)
{
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

/* Past the string starting at p (which is the opening quote). */
static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : p;
}

/* Past the value starting at p. */
static const char *skip_value(const char *p)
{
    p = skip_ws(p);
    if (*p == '"') return skip_string(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (*p) {
            if (*p == '"') { p = skip_string(p); continue; }
            if (*p == '{' || *p == '[') depth++;
            if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']' && !isspace((unsigned char)*p)) p++;
    return p;
}

/* The value of key (len bytes) in the object at p, or NULL. */
static const char *find_key(const char *p, const char *key, size_t len)
{
    p = skip_ws(p);
    if (*p != '{') return NULL;
    p = skip_ws(p + 1);
    while (*p == '"') {
        const char *k = p + 1, *end = skip_string(p);
        int match = (size_t)(end - 1 - k) == len && strncmp(k, key, len) == 0;
        p = skip_ws(end);
        if (*p != ':') return NULL;
        p = skip_ws(p + 1);
        if (match) return p;
        p = skip_ws(skip_value(p));
        if (*p != ',') return NULL;
        p = skip_ws(p + 1);
    }
    return NULL;
}

/* Element idx of the array at p, or NULL. */
static const char *find_index(const char *p, long idx)
{
    p = skip_ws(p);
    if (*p != '[') return NULL;
    p = skip_ws(p + 1);
    for (long i = 0; *p && *p != ']'; i++) {
        if (i == idx) return p;
        p = skip_ws(skip_value(p));
        if (*p != ',') return NULL;
        p = skip_ws(p + 1);
    }
    return NULL;
}

const char *bd_json_find(const char *text, const char *path)
{
    const char *p = skip_ws(text);
    const char *s = path;
    if (*s == '$') s++;
    while (p && *s) {
        if (*s == '.') {
            s++;
            size_t len = strcspn(s, ".[");
            p = find_key(p, s, len);
            s += len;
        } else if (*s == '[') {
            char *end;
            long idx = strtol(s + 1, &end, 10);
            if (*end != ']') return NULL;
            p = find_index(p, idx);
            s = end + 1;
        } else {
            return NULL;
        }
    }
    return p;
}

void bd_json_line_col(const char *text, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = text; at && p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int bd_json_where(const char *text, const char *path, char *out, size_t size)
{
    const char *at = bd_json_find(text, path);
    int line = 0, col = 0;
    if (at) bd_json_line_col(text, at, &line, &col);
    return at ? snprintf(out, size, "%d:%d", line, col) : snprintf(out, size, "?");
}

bd_status bd_read_text(const char *path, const char *what, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bd_fail(BD_ERR_IO, "%s: cannot open the %s", path, what);
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nt = cap > (64u << 20) ? NULL : realloc(text, cap);
            if (!nt) {
                free(text);
                fclose(f);
                return bd_fail(cap > (64u << 20) ? BD_ERR_LIMIT : BD_ERR_NOMEM, "%s: %s too large", path, what);
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(text);
        return bd_fail(BD_ERR_IO, "%s: read error", path);
    }
    text[len] = '\0';
    *out = text;
    return BD_OK;
}
