/* "Did you mean ...?": the closest of a set of names, for messages about unknown names. */
#ifndef BD_NEAREST_H
#define BD_NEAREST_H

#include <stddef.h>

/* A running search: feed candidates with bd_nearest_try (callback-shaped), read bd_nearest_result. */
typedef struct bd_nearest {
    const char *name;
    int len;
    int best; /* twice the distance: a match that differs only in case counts 1 */
    char out[64];
} bd_nearest;

void bd_nearest_init(bd_nearest *s, const char *name, int len);
void bd_nearest_try(const char *candidate, void *search);
/* The nearest candidate if it is a plausible typo (one edit for names up to 5 characters, two for longer
 * ones; swapping two neighbours is one edit), else NULL. */
const char *bd_nearest_result(const bd_nearest *s);
/* The same over an array (NULL entries skipped). */
const char *bd_nearest_name(const char *name, const char *const *candidates, size_t n);

#endif
