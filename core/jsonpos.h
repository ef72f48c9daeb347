/* JSON files: reading them whole, and the positions of values in their text for messages (cJSON itself
 * keeps none). Paths are written "$.integrate.dt", "$.equations[2]" ("$" optional). */
#ifndef BD_JSONPOS_H
#define BD_JSONPOS_H

#include <stddef.h>

#include "bdyn/status.h"

/* Reads a whole text file (at most 64 MiB) into a malloc'd, NUL-terminated string; `what` names it in
 * messages ("model file"). */
bd_status bd_read_text(const char *path, const char *what, char **out);

/* The start of the value at path in well-formed JSON text, or NULL if there is none. */
const char *bd_json_find(const char *text, const char *path);
/* 1-based line and column of `at` in text. */
void bd_json_line_col(const char *text, const char *at, int *line, int *col);
/* Writes "line:col" of the value at path (or "?") into out; returns snprintf's count. */
int bd_json_where(const char *text, const char *path, char *out, size_t size);

#endif
