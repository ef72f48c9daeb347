/* TEMPORARY STUB, replaced by the parser helper. */
#include "expr.h"
#include "error.h"
#include <stdlib.h>
bd_status bd_eqs_parse(const char *text, const char *source_name, bd_eqs **out) { (void)text; (void)source_name; *out = NULL; return bd_fail(BD_ERR_UNSUPPORTED, "parser not written yet"); }
void bd_eqs_free(bd_eqs *e) { (void)e; }
int bd_eqs_find(const bd_eqs *e, const char *name) { (void)e; (void)name; return -1; }
