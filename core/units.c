/* TEMPORARY STUB, replaced by the parser helper. */
#include "expr.h"
#include "error.h"
bd_status bd_quantity_parse(const char *text, const bd_unit *in, const char *label, double *value) { (void)text; (void)in; (void)label; (void)value; return bd_fail(BD_ERR_UNSUPPORTED, "units not written yet"); }
bd_status bd_unit_parse(const char *text, bd_unit *out) { (void)text; (void)out; return bd_fail(BD_ERR_UNSUPPORTED, "units not written yet"); }
