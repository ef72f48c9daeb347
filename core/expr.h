/* Equations as syntax trees: the parsed, unit-checked form of a system of equations (docs/equations.md),
 * the symbolic operations on it (simplify, differentiate, substitute, evaluate) and its lowering into
 * the kernel IR. Internal to the library; the public face is include/bdyn/integrate.h.
 *
 * Units are gone after parsing: bd_eqs_parse checks every equation's dimensions and rewrites each
 * expression with the conversion factors folded in, so that evaluated on the *stored* numbers (every
 * state variable, parameter and algebraic variable in its declared unit, time t in ms) a drift gives
 * d(state in its unit)/d(t in ms) and a noise coefficient g gives the increment per sqrt(ms) of a
 * standard Wiener process (x += g * dW with dW ~ N(0, dt in ms)). Everything downstream is unit-free. */
#ifndef BD_EXPR_H
#define BD_EXPR_H

#include "bdyn/status.h"
#include "bdyn/ir.h"

#define BD_EQ_NAME_MAX 48
#define BD_EQ_MAX_NOISE 8

typedef enum bd_ex_kind {
    BD_EX_NUM,    /* value */
    BD_EX_SYM,    /* sym: index into bd_eqs.syms */
    BD_EX_UNARY,  /* op in {BD_EX_NEG, BD_EX_NOT}, arg[0] */
    BD_EX_BINARY, /* op, arg[0], arg[1] */
    BD_EX_CALL,   /* op is a bd_ex_fn, nargs arguments */
    BD_EX_DELAY,  /* sym (a state variable) at time t - arg[0]; arg[0] is the delay in ms, >= 0 */
} bd_ex_kind;

typedef enum bd_ex_op {
    BD_EX_NEG, BD_EX_NOT,
    BD_EX_ADD, BD_EX_SUB, BD_EX_MUL, BD_EX_DIV, BD_EX_POW,
    BD_EX_LT, BD_EX_LE, BD_EX_GT, BD_EX_GE, BD_EX_EQ, BD_EX_NE, /* 1.0 or 0.0 */
    BD_EX_AND, BD_EX_OR,                                        /* operands nonzero = true */
} bd_ex_op;

typedef enum bd_ex_fn {
    BD_FN_EXP, BD_FN_LOG, BD_FN_LOG1P, BD_FN_EXPM1,
    BD_FN_EXPREL, /* (e^x - 1)/x, 1 at x = 0 (see ../shared/DESIGN.md) */
    BD_FN_POW, BD_FN_SQRT, BD_FN_ABS, BD_FN_SIGN, BD_FN_SIN, BD_FN_COS, BD_FN_TAN, BD_FN_TANH,
    BD_FN_SIGMOID, BD_FN_MIN, BD_FN_MAX, BD_FN_CLIP, /* clip(x, lo, hi) */
    BD_FN_HEAVISIDE,                                 /* 1 for x > 0, 0.5 at 0, 0 below */
    BD_FN_WHERE,                                     /* where(cond, a, b) */
    BD_FN_RAND, /* rand(): uniform in [0, 1), fresh per element, step and call site; the node's sym is the call
                 * site (the byte offset of the call in the parsed source), so copies keep their stream */
    BD_FN_DT,   /* the name `dt` (no call syntax): the integration step in ms, known only to the kernel */
    BD_FN_COUNT
} bd_ex_fn;

/* A node. Trees are owned (no sharing): every operation below returns a fresh tree. */
typedef struct bd_expr {
    bd_ex_kind kind;
    int op;       /* bd_ex_op for UNARY/BINARY, bd_ex_fn for CALL */
    double value; /* NUM */
    int sym;      /* SYM, DELAY */
    int nargs;
    struct bd_expr *arg[3];
    int pos, len; /* source span (byte offset into bd_eqs.source, length); -1 for synthesised nodes */
} bd_expr;

typedef enum bd_sym_kind {
    BD_SYM_TIME,      /* t, in ms; always symbol 0 */
    BD_SYM_STATE,     /* a variable with a differential equation */
    BD_SYM_PARAM,     /* per-element parameter `name : unit` */
    BD_SYM_CONST,     /* shared parameter `name : unit (constant)` */
    BD_SYM_ALGEBRAIC, /* `name = expr : unit`; def holds the unit-normalised expression */
    BD_SYM_NOISE,     /* a Wiener process xi, xi_a, ... (only as a linear factor of a noise term) */
} bd_sym_kind;

/* A physical unit: the value in SI is value * scale, the dimension is the exponent vector over
 * (m, kg, s, A, K, mol, cd). */
typedef struct bd_unit {
    double scale;
    signed char dim[7];
} bd_unit;

typedef struct bd_symbol {
    char name[BD_EQ_NAME_MAX];
    bd_sym_kind kind;
    bd_unit unit;     /* declared unit (time: ms) */
    char unit_text[32];
    double value;     /* PARAM, CONST: value in the declared unit (NaN until set) */
    bd_expr *def;     /* ALGEBRAIC */
    int line;         /* statement line (1-based) */
} bd_symbol;

typedef struct bd_ode {
    int sym;                             /* the state variable */
    bd_expr *drift;                      /* f in dx = f dt + sum_k g_k dW_k (normalised units) */
    int nnoise;
    bd_expr *noise[BD_EQ_MAX_NOISE];     /* g_k */
    int noise_sym[BD_EQ_MAX_NOISE];      /* the BD_SYM_NOISE symbol of each g_k */
    int unless_refractory;
    int line;
} bd_ode;

typedef struct bd_eqs {
    char *source;      /* the text parsed (statements separated by newlines) */
    char *source_name; /* file name or label for messages */
    bd_symbol *syms;
    int nsyms;
    bd_ode *odes;      /* in statement order */
    int nodes;
    double max_delay;  /* largest constant delay of any BD_EX_DELAY (ms), 0 if none */
} bd_eqs;

/* --- parsing (core/expr_parse.c, core/units.c) --- */

/* Parses statements, one per line ('#' starts a comment); on error returns BD_ERR_PARSE (syntax),
 * BD_ERR_NOT_FOUND (unknown identifier, with the nearest known name suggested) or BD_ERR_UNITS, with a
 * message of the form
 *   <source_name>:<line>:<col>: <what>
 *     <the line>
 *          ^~~~
 * Delay durations must be constant expressions (parameters, constants, numbers). */
bd_status bd_eqs_parse(const char *text, const char *source_name, bd_eqs **out);
void bd_eqs_free(bd_eqs *e);
int bd_eqs_find(const bd_eqs *e, const char *name); /* symbol index or -1 */
/* Parses a quantity such as "10 ms", "-65 mV", "0.5", "2.5e-3 uS/cm^2" into a value expressed in unit
 * `in` (dimension-checked; label names what it is for in messages). */
bd_status bd_quantity_parse(const char *text, const bd_unit *in, const char *label, double *value);
bd_status bd_unit_parse(const char *text, bd_unit *out); /* "mV", "uA/cm^2", "1", "Hz", "ms^-1" ... */

/* --- symbolic operations (core/expr_sym.c) --- */

bd_expr *bd_ex_num(double v);
bd_expr *bd_ex_sym(int sym);
bd_expr *bd_ex_unary(int op, bd_expr *a);              /* take ownership of operands */
bd_expr *bd_ex_binary(int op, bd_expr *a, bd_expr *b);
bd_expr *bd_ex_call(int fn, int nargs, bd_expr *a, bd_expr *b, bd_expr *c);
bd_expr *bd_ex_copy(const bd_expr *e);
void bd_ex_free(bd_expr *e);
/* Constant folding and algebraic identities (x*1, x+0, x*0 for finite x, -(-x), ...). */
bd_expr *bd_ex_simplify(const bd_expr *e);
/* d e / d sym, simplified; algebraic symbols are expanded through their definitions; comparisons,
 * sign and heaviside differentiate to 0 (almost everywhere), where() branchwise. */
bd_expr *bd_ex_diff(const bd_eqs *eqs, const bd_expr *e, int sym);
/* e with every algebraic symbol replaced by its definition (recursively). */
bd_expr *bd_ex_expand(const bd_eqs *eqs, const bd_expr *e);
/* 1 if e depends on sym (through algebraic definitions too). */
int bd_ex_depends(const bd_eqs *eqs, const bd_expr *e, int sym);
/* Evaluates in double on the host; vals[sym] gives every symbol's value (algebraic ones are evaluated
 * from their definition); delay(sym, d, user) gives a delayed value (may be NULL if none occur). */
double bd_ex_eval(const bd_eqs *eqs, const bd_expr *e, const double *vals,
                  double (*delay)(int sym, double d, void *user), void *user);
/* Readable infix text, malloc'd (for messages, docs and tests). */
char *bd_ex_str(const bd_eqs *eqs, const bd_expr *e);

/* --- lowering into the IR (core/expr_lower.c) --- */

/* How each symbol is read inside a kernel: the caller fills vals[sym] with IR values (loads, lets,
 * params) for every symbol that may occur; algebraic symbols left at -1 are lowered from their
 * definitions. delay() lowers a delayed reference (may be NULL if none occur). The result has type
 * `t` (BD_F32 or BD_F64); failures are reported through bd_ir_status. */
typedef struct bd_lower_env {
    bd_ir *k;
    bd_dtype t;
    const bd_eqs *eqs;
    bd_ir_val *vals; /* nsyms entries */
    bd_ir_val (*delay)(struct bd_lower_env *env, int sym, bd_ir_val delay_ms);
    /* rand() at call site `site` (a uniform draw of type env->t in [0, 1)); NULL where no random stream
     * exists, and then rand() is a lowering error */
    bd_ir_val (*rand)(struct bd_lower_env *env, int site);
    /* the step dt in ms (type env->t); NULL where there is none, and then `dt` is a lowering error */
    bd_ir_val (*dt)(struct bd_lower_env *env);
    void *user;
} bd_lower_env;

bd_ir_val bd_ex_lower(bd_lower_env *env, const bd_expr *e);

#endif
