/* Private interface between the equation parser (expr_parse.c) and the unit machinery (units.c):
 * node helpers, the error formatter, unit lookup and the dimension checker that normalises trees. */
#ifndef BD_EXPR_PARSE_IMPL_H
#define BD_EXPR_PARSE_IMPL_H

#include "expr.h"

#include <stddef.h>

/* A unit while checking: the SI scale and the dimension exponents (order of bd_unit.dim: m, kg, s, A, K,
 * mol, cd) times two, because the coefficient of a Wiener process carries s^-1/2. */
typedef struct bd_uq {
    double scale;
    int d2[7];
} bd_uq;

enum { BD_DIM_M, BD_DIM_KG, BD_DIM_S, BD_DIM_A, BD_DIM_K, BD_DIM_MOL, BD_DIM_CD };

/* A SYM node with this index names a unit; the unit is looked up again from the node's source span. */
#define BD_XP_UNIT_SYM (-2)
/* Deepest nesting the parser accepts, so that every recursive walk over a tree stays far from the stack's end. */
#define BD_XP_MAX_DEPTH 200

/* --- nodes: numbers and freeing are expr_sym.c's (bd_ex_num, bd_ex_free) --- */

/* Any node kind with its source span unset (expr_parse.c); takes ownership of a, b, c (frees them if the
 * allocation fails, returning NULL). */
bd_expr *bd_xp_node(bd_ex_kind kind, int op, int nargs, bd_expr *a, bd_expr *b, bd_expr *c);

/* Formats "<source_name>:<line>:<col>: <what>", the source line and a caret line under [pos, pos + len). */
bd_status bd_xp_error(const bd_eqs *eqs, bd_status s, int pos, int len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* --- units (units.c) --- */

/* Reads a number such as 1, 1.5, .5, 2e-3 at s[0..n) whatever the C locale; returns its length, 0 if none. */
size_t bd_xp_number(const char *s, size_t n, double *v);
/* 1 and the unit if name[0..len) is a unit name (ms, mV, uA, Mohm, second, ...), else 0. */
int bd_xp_unit_lookup(const char *name, size_t len, bd_uq *out);
/* Calls fn with every unit name (for "did you mean" suggestions). */
void bd_xp_unit_names(void (*fn)(const char *name, void *user), void *user);
/* Parses a unit expression (1, mV, uA/cm^2, (mV/ms)^2, ms^-1, ...) starting at s[0] after blanks and stops at
 * the first character that cannot continue it; *end is that offset (blanks after the unit skipped). On error
 * returns BD_ERR_PARSE or BD_ERR_NOT_FOUND with the span [*err_at, *err_at + *err_len) and a message in err. */
bd_status bd_xp_unit_text(const char *s, size_t n, size_t *end, bd_uq *u, size_t *err_at, size_t *err_len,
                          char *err, size_t errn);
/* A readable dimension such as "V", "V/s", "A/m^2", "1", "V/s^0.5" (scale ignored). */
void bd_xp_dim_str(const int d2[7], char *buf, size_t n);
bd_uq bd_xp_uq_from_unit(const bd_unit *u);
int bd_xp_same_dim(const bd_uq *a, const bd_uq *b);

/* The checker: computes every subexpression's unit, inserts conversion factors where operands of +, -,
 * comparisons, min, max, clip and where() differ in scale, replaces unit names by 1 (their scale moves into
 * the unit) and fails on dimension errors, naming `label` (the equation) and the offending term. */
typedef struct bd_xp_check {
    bd_eqs *eqs;
    const char *label; /* "dV/dt", "I_Na", ... */
    int pos, len;      /* the statement's expression, for synthesised nodes */
} bd_xp_check;

/* Checks *e and rewrites it so that its value is in unit `want` (whose text, e.g. "mV/ms", appears in
 * messages); `what` names the expression ("the right side"). The literal 0 fits every unit. */
bd_status bd_xp_normalise(bd_xp_check *c, bd_expr **e, const bd_uq *want, const char *want_text, const char *what);
/* Like bd_xp_normalise for a delay: time dimension, normalised to ms, and only numbers, units and parameters. */
bd_status bd_xp_normalise_delay(bd_xp_check *c, bd_expr **e);
/* 1 and the value if e is made of numbers and arithmetic only. */
int bd_xp_const_value(const bd_expr *e, double *v);

#endif
