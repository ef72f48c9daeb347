/* TEMPORARY STUB, replaced by the symbolic helper. */
#include "expr.h"
#include <stddef.h>
bd_expr *bd_ex_num(double v) { (void)v; return NULL; }
bd_expr *bd_ex_sym(int sym) { (void)sym; return NULL; }
bd_expr *bd_ex_unary(int op, bd_expr *a) { (void)op; (void)a; return NULL; }
bd_expr *bd_ex_binary(int op, bd_expr *a, bd_expr *b) { (void)op; (void)a; (void)b; return NULL; }
bd_expr *bd_ex_call(int fn, int nargs, bd_expr *a, bd_expr *b, bd_expr *c) { (void)fn; (void)nargs; (void)a; (void)b; (void)c; return NULL; }
bd_expr *bd_ex_copy(const bd_expr *e) { (void)e; return NULL; }
void bd_ex_free(bd_expr *e) { (void)e; }
bd_expr *bd_ex_simplify(const bd_expr *e) { (void)e; return NULL; }
bd_expr *bd_ex_diff(const bd_eqs *eqs, const bd_expr *e, int sym) { (void)eqs; (void)e; (void)sym; return NULL; }
bd_expr *bd_ex_expand(const bd_eqs *eqs, const bd_expr *e) { (void)eqs; (void)e; return NULL; }
int bd_ex_depends(const bd_eqs *eqs, const bd_expr *e, int sym) { (void)eqs; (void)e; (void)sym; return 0; }
double bd_ex_eval(const bd_eqs *eqs, const bd_expr *e, const double *vals, double (*delay)(int, double, void *), void *user) { (void)eqs; (void)e; (void)vals; (void)delay; (void)user; return 0; }
char *bd_ex_str(const bd_eqs *eqs, const bd_expr *e) { (void)eqs; (void)e; return NULL; }
