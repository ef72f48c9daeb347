/* TEMPORARY STUB, replaced by the symbolic helper. */
#include "expr.h"
bd_ir_val bd_ex_lower(bd_lower_env *env, const bd_expr *e) { (void)env; (void)e; return -1; }
