/* "Did you mean ...?": the closest of a set of names, for messages about unknown names. */
#ifndef BD_NEAREST_H
#define BD_NEAREST_H

#include <stddef.h>

/* Levenshtein distance (case-sensitive), capped at 64. */
int bd_edit_distance(const char *a, const char *b);
/* The candidate nearest to name if it is close enough to be a plausible typo (distance at most half
 * the name's length, at least 1, at most 3), else NULL. */
const char *bd_nearest_name(const char *name, const char *const *candidates, size_t n);

#endif
