/* Equation syntax trees: constructors, simplification, symbolic derivatives, evaluation on the host and
 * printing (the interface is core/expr.h). Trees are owned, never shared: every function that returns a
 * tree returns a fresh one, and every function accepts NULL (out of memory upstream) and passes it on. */
#include "expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Algebraic definitions nest at most this deep; the parser rejects cycles, this guards against a cycle
 * in a hand-built bd_eqs turning into unbounded recursion. */
#define EXPAND_DEPTH_MAX 64

/* ---------------------------------------------------------------- construction */

static bd_expr *node(bd_ex_kind kind, int op)
{
    bd_expr *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->kind = kind;
    e->op = op;
    e->pos = -1;
    return e;
}

bd_expr *bd_ex_num(double v)
{
    bd_expr *e = node(BD_EX_NUM, 0);
    if (e) e->value = v;
    return e;
}

bd_expr *bd_ex_sym(int sym)
{
    bd_expr *e = node(BD_EX_SYM, 0);
    if (e) e->sym = sym;
    return e;
}

bd_expr *bd_ex_unary(int op, bd_expr *a)
{
    bd_expr *e = a ? node(BD_EX_UNARY, op) : NULL;
    if (!e) {
        bd_ex_free(a);
        return NULL;
    }
    e->nargs = 1;
    e->arg[0] = a;
    return e;
}

bd_expr *bd_ex_binary(int op, bd_expr *a, bd_expr *b)
{
    bd_expr *e = a && b ? node(BD_EX_BINARY, op) : NULL;
    if (!e) {
        bd_ex_free(a);
        bd_ex_free(b);
        return NULL;
    }
    e->nargs = 2;
    e->arg[0] = a;
    e->arg[1] = b;
    return e;
}

/* Arguments past nargs must be NULL; any that are not are freed, since ownership was passed. */
bd_expr *bd_ex_call(int fn, int nargs, bd_expr *a, bd_expr *b, bd_expr *c)
{
    bd_expr *args[3] = {a, b, c};
    int ok = (nargs >= 1 || fn == BD_FN_RAND || fn == BD_FN_DT) && nargs >= 0 && nargs <= 3; /* rand(), dt: none */
    for (int i = 0; i < 3; i++)
        if (i < nargs ? !args[i] : args[i] != NULL) ok = 0;
    bd_expr *e = ok ? node(BD_EX_CALL, fn) : NULL;
    if (!e) {
        for (int i = 0; i < 3; i++)
            bd_ex_free(args[i]);
        return NULL;
    }
    e->nargs = nargs;
    memcpy(e->arg, args, sizeof args);
    return e;
}

bd_expr *bd_ex_copy(const bd_expr *e)
{
    if (!e) return NULL;
    bd_expr *c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = *e;
    for (int i = 0; i < 3; i++)
        c->arg[i] = NULL;
    for (int i = 0; i < 3; i++) {
        if (!e->arg[i]) continue;
        c->arg[i] = bd_ex_copy(e->arg[i]);
        if (!c->arg[i]) {
            bd_ex_free(c);
            return NULL;
        }
    }
    return c;
}

void bd_ex_free(bd_expr *e)
{
    if (!e) return;
    for (int i = 0; i < 3; i++)
        bd_ex_free(e->arg[i]);
    free(e);
}

/* ---------------------------------------------------------------- evaluation */

typedef struct eval_ctx {
    const bd_eqs *eqs;
    const double *vals;
    double (*delay)(int sym, double d, void *user);
    void *user;
} eval_ctx;

static int is_algebraic(const bd_eqs *eqs, int sym)
{
    return eqs && sym >= 0 && sym < eqs->nsyms && eqs->syms[sym].kind == BD_SYM_ALGEBRAIC && eqs->syms[sym].def;
}

/* The scalar semantics shared by evaluation, constant folding and (printed differently) lowering. */
static double sign_of(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }
static double heaviside_of(double x) { return x > 0 ? 1.0 : x < 0 ? 0.0 : 0.5; }
static double exprel_of(double x) { return x == 0 ? 1.0 : expm1(x) / x; }

static double apply_binary(int op, double a, double b)
{
    switch (op) {
    case BD_EX_ADD: return a + b;
    case BD_EX_SUB: return a - b;
    case BD_EX_MUL: return a * b;
    case BD_EX_DIV: return a / b;
    case BD_EX_POW: return pow(a, b);
    case BD_EX_LT: return a < b;
    case BD_EX_LE: return a <= b;
    case BD_EX_GT: return a > b;
    case BD_EX_GE: return a >= b;
    case BD_EX_EQ: return a == b;
    case BD_EX_NE: return a != b;
    case BD_EX_AND: return a != 0 && b != 0;
    case BD_EX_OR: return a != 0 || b != 0;
    }
    return NAN;
}

static double apply_fn(int fn, const double *x)
{
    switch (fn) {
    case BD_FN_EXP: return exp(x[0]);
    case BD_FN_LOG: return log(x[0]);
    case BD_FN_LOG1P: return log1p(x[0]);
    case BD_FN_EXPM1: return expm1(x[0]);
    case BD_FN_EXPREL: return exprel_of(x[0]);
    case BD_FN_POW: return pow(x[0], x[1]);
    case BD_FN_SQRT: return sqrt(x[0]);
    case BD_FN_ABS: return fabs(x[0]);
    case BD_FN_SIGN: return sign_of(x[0]);
    case BD_FN_SIN: return sin(x[0]);
    case BD_FN_COS: return cos(x[0]);
    case BD_FN_TAN: return tan(x[0]);
    case BD_FN_TANH: return tanh(x[0]);
    case BD_FN_SIGMOID: return 1.0 / (1.0 + exp(-x[0]));
    case BD_FN_MIN: return fmin(x[0], x[1]);
    case BD_FN_MAX: return fmax(x[0], x[1]);
    case BD_FN_CLIP: return fmin(fmax(x[0], x[1]), x[2]);
    case BD_FN_HEAVISIDE: return heaviside_of(x[0]);
    case BD_FN_WHERE: return x[0] != 0 ? x[1] : x[2];
    case BD_FN_RAND: return NAN; /* the host has no random stream: only kernels draw */
    case BD_FN_DT: return NAN;   /* nor a step */
    }
    return NAN;
}

static double eval(const eval_ctx *c, const bd_expr *e, int depth)
{
    if (!e || depth > EXPAND_DEPTH_MAX) return NAN;
    double x[3] = {0, 0, 0};
    switch (e->kind) {
    case BD_EX_NUM: return e->value;
    case BD_EX_SYM:
        if (is_algebraic(c->eqs, e->sym)) return eval(c, c->eqs->syms[e->sym].def, depth + 1);
        return c->vals && e->sym >= 0 ? c->vals[e->sym] : NAN;
    case BD_EX_UNARY: x[0] = eval(c, e->arg[0], depth); return e->op == BD_EX_NEG ? -x[0] : (double)(x[0] == 0);
    case BD_EX_BINARY: return apply_binary(e->op, eval(c, e->arg[0], depth), eval(c, e->arg[1], depth));
    case BD_EX_CALL:
        if (e->op == BD_FN_WHERE) /* only the branch taken, so that the other may be undefined here */
            return eval(c, e->arg[0], depth) != 0 ? eval(c, e->arg[1], depth) : eval(c, e->arg[2], depth);
        for (int i = 0; i < e->nargs && i < 3; i++)
            x[i] = eval(c, e->arg[i], depth);
        return apply_fn(e->op, x);
    case BD_EX_DELAY: return c->delay ? c->delay(e->sym, eval(c, e->arg[0], depth), c->user) : 0.0;
    }
    return NAN;
}

double bd_ex_eval(const bd_eqs *eqs, const bd_expr *e, const double *vals,
                  double (*delay)(int sym, double d, void *user), void *user)
{
    eval_ctx c = {eqs, vals, delay, user};
    return eval(&c, e, 0);
}

/* ---------------------------------------------------------------- structure */

static int is_num(const bd_expr *e, double v) { return e && e->kind == BD_EX_NUM && e->value == v; }

/* Structural equality (same tree, same numbers). */
static int same(const bd_expr *a, const bd_expr *b)
{
    if (!a || !b) return a == b;
    if (a->kind != b->kind || a->op != b->op || a->nargs != b->nargs) return 0;
    if (a->kind == BD_EX_NUM) return a->value == b->value;
    if ((a->kind == BD_EX_SYM || a->kind == BD_EX_DELAY) && a->sym != b->sym) return 0;
    if (a->kind == BD_EX_CALL && a->op == BD_FN_RAND) return a->sym == b->sym; /* equal only at one call site */
    for (int i = 0; i < 3; i++)
        if (!same(a->arg[i], b->arg[i])) return 0;
    return 1;
}

static int depends(const bd_eqs *eqs, const bd_expr *e, int sym, int depth)
{
    if (!e) return 0;
    if (depth > EXPAND_DEPTH_MAX) return 1; /* a cycle: say "depends", the conservative answer */
    if (e->kind == BD_EX_SYM) {
        if (e->sym == sym) return 1;
        return is_algebraic(eqs, e->sym) && depends(eqs, eqs->syms[e->sym].def, sym, depth + 1);
    }
    /* a delayed reference is not the current value of its symbol; only its delay expression counts */
    for (int i = 0; i < 3; i++)
        if (depends(eqs, e->arg[i], sym, depth)) return 1;
    return 0;
}

int bd_ex_depends(const bd_eqs *eqs, const bd_expr *e, int sym) { return depends(eqs, e, sym, 0); }

static bd_expr *expand(const bd_eqs *eqs, const bd_expr *e, int depth)
{
    if (!e || depth > EXPAND_DEPTH_MAX) return NULL;
    if (e->kind == BD_EX_SYM && is_algebraic(eqs, e->sym)) return expand(eqs, eqs->syms[e->sym].def, depth + 1);
    bd_expr *c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = *e;
    for (int i = 0; i < 3; i++)
        c->arg[i] = NULL;
    for (int i = 0; i < 3; i++) {
        if (!e->arg[i]) continue;
        c->arg[i] = expand(eqs, e->arg[i], depth);
        if (!c->arg[i]) {
            bd_ex_free(c);
            return NULL;
        }
    }
    return c;
}

bd_expr *bd_ex_expand(const bd_eqs *eqs, const bd_expr *e) { return expand(eqs, e, 0); }

/* ---------------------------------------------------------------- simplification
 *
 * One bottom-up pass over a tree it owns: children first, then a few local rewrites, each of which
 * returns one of its (already simplified) children, a number, or a node no larger than the input. So it
 * terminates in linear time and never grows a tree. Choices (as SymPy and Brian2 make them):
 *  - 0*x, x*0 and 0/x give 0 and x - x gives 0 even though x might be NaN or infinite: equations are
 *    written for finite states, and keeping such terms would defeat the derivative's simplification;
 *  - folding is done with bd_ex_eval's semantics, but a constant subtree whose value is not finite
 *    (1/0, log(-1)) is left as it is, so that kernels never contain an Inf or NaN literal;
 *  - c1*(c2*x) and (c2*x)*c1 become (c1*c2)*x: the parser's unit conversion factors end up as one. */

static bd_expr *simp(bd_expr *e);

/* -x for a simplified x, without walking x again. */
static bd_expr *negate(bd_expr *x)
{
    if (x && x->kind == BD_EX_NUM) {
        x->value = -x->value;
        x->pos = -1;
        return x;
    }
    if (x && x->kind == BD_EX_UNARY && x->op == BD_EX_NEG) {
        bd_expr *c = x->arg[0];
        x->arg[0] = NULL;
        bd_ex_free(x);
        return c;
    }
    return bd_ex_unary(BD_EX_NEG, x);
}

/* Replaces e by its child i (freeing the rest). */
static bd_expr *take(bd_expr *e, int i)
{
    bd_expr *c = e->arg[i];
    e->arg[i] = NULL;
    bd_ex_free(e);
    return c;
}

static bd_expr *replace_num(bd_expr *e, double v)
{
    bd_ex_free(e);
    return bd_ex_num(v);
}

static int fold_ok(const bd_expr *e)
{
    if (e->kind != BD_EX_UNARY && e->kind != BD_EX_BINARY && e->kind != BD_EX_CALL) return 0;
    if (e->kind == BD_EX_CALL && (e->op == BD_FN_RAND || e->op == BD_FN_DT)) return 0; /* no arguments, no host value */
    for (int i = 0; i < e->nargs; i++)
        if (!e->arg[i] || e->arg[i]->kind != BD_EX_NUM) return 0;
    return 1;
}

static bd_expr *simp_binary(bd_expr *e)
{
    bd_expr *a = e->arg[0], *b = e->arg[1];
    switch (e->op) {
    case BD_EX_ADD:
        if (is_num(a, 0)) return take(e, 1);
        if (is_num(b, 0)) return take(e, 0);
        if (b->kind == BD_EX_UNARY && b->op == BD_EX_NEG) { /* x + (-y) -> x - y */
            e->op = BD_EX_SUB;
            e->arg[1] = take(b, 0);
        }
        return e;
    case BD_EX_SUB:
        if (is_num(b, 0)) return take(e, 0);
        if (is_num(a, 0)) return negate(take(e, 1));
        if (same(a, b)) return replace_num(e, 0);
        if (b->kind == BD_EX_UNARY && b->op == BD_EX_NEG) { /* x - (-y) -> x + y */
            e->op = BD_EX_ADD;
            e->arg[1] = take(b, 0);
        }
        return e;
    case BD_EX_MUL:
        if (is_num(a, 0) || is_num(b, 0)) return replace_num(e, 0);
        if (is_num(a, 1)) return take(e, 1);
        if (is_num(b, 1)) return take(e, 0);
        if (is_num(a, -1)) return negate(take(e, 1));
        if (is_num(b, -1)) return negate(take(e, 0));
        if (b->kind == BD_EX_NUM && a->kind != BD_EX_NUM) { /* numbers first: x*c -> c*x */
            e->arg[0] = b;
            e->arg[1] = a;
            a = e->arg[0];
            b = e->arg[1];
        }
        if (a->kind == BD_EX_NUM && b->kind == BD_EX_BINARY && b->op == BD_EX_MUL && b->arg[0]->kind == BD_EX_NUM) {
            double c = a->value * b->arg[0]->value; /* c1*(c2*x) -> (c1*c2)*x */
            if (isfinite(c)) {
                a->value = c;
                e->arg[1] = take(b, 1);
                return simp_binary(e);
            }
        }
        if (a->kind == BD_EX_UNARY && a->op == BD_EX_NEG && b->kind == BD_EX_UNARY && b->op == BD_EX_NEG) {
            e->arg[0] = take(a, 0); /* (-x)*(-y) -> x*y */
            e->arg[1] = take(b, 0);
        }
        return e;
    case BD_EX_DIV:
        if (is_num(a, 0)) return replace_num(e, 0);
        if (is_num(b, 1)) return take(e, 0);
        if (is_num(b, -1)) return negate(take(e, 0));
        return e;
    case BD_EX_POW:
        if (is_num(b, 0)) return replace_num(e, 1);
        if (is_num(b, 1)) return take(e, 0);
        return e;
    }
    return e;
}

static bd_expr *simp_call(bd_expr *e)
{
    bd_expr **x = e->arg;
    switch (e->op) {
    case BD_FN_POW:
        if (is_num(x[1], 0)) return replace_num(e, 1);
        if (is_num(x[1], 1)) return take(e, 0);
        return e;
    case BD_FN_WHERE:
        if (x[0]->kind == BD_EX_NUM) return take(e, x[0]->value != 0 ? 1 : 2);
        if (same(x[1], x[2])) return take(e, 1);
        return e;
    }
    return e;
}

static bd_expr *simp(bd_expr *e)
{
    if (!e) return NULL;
    for (int i = 0; i < 3; i++) {
        if (!e->arg[i]) continue;
        e->arg[i] = simp(e->arg[i]);
        if (!e->arg[i]) {
            bd_ex_free(e);
            return NULL;
        }
    }
    for (int i = 0; i < e->nargs && i < 3; i++)
        if (!e->arg[i]) return e; /* malformed (not made by the constructors): leave it alone */
    if (fold_ok(e)) {
        double v = bd_ex_eval(NULL, e, NULL, NULL, NULL);
        if (isfinite(v)) return replace_num(e, v);
        return e;
    }
    switch (e->kind) {
    case BD_EX_UNARY:
        if (e->op == BD_EX_NEG && e->arg[0]->kind == BD_EX_UNARY && e->arg[0]->op == BD_EX_NEG)
            return take(take(e, 0), 0);
        return e;
    case BD_EX_BINARY: return simp_binary(e);
    case BD_EX_CALL: return simp_call(e);
    default: return e;
    }
}

bd_expr *bd_ex_simplify(const bd_expr *e) { return simp(bd_ex_copy(e)); }

/* ---------------------------------------------------------------- differentiation */

/* Shorthands that build (and take ownership), so that the rules below read like the formulas. */
static bd_expr *N(double v) { return bd_ex_num(v); }
static bd_expr *C(const bd_expr *e) { return bd_ex_copy(e); }
static bd_expr *add(bd_expr *a, bd_expr *b) { return bd_ex_binary(BD_EX_ADD, a, b); }
static bd_expr *sub(bd_expr *a, bd_expr *b) { return bd_ex_binary(BD_EX_SUB, a, b); }
static bd_expr *mul(bd_expr *a, bd_expr *b) { return bd_ex_binary(BD_EX_MUL, a, b); }
static bd_expr *dvd(bd_expr *a, bd_expr *b) { return bd_ex_binary(BD_EX_DIV, a, b); }
static bd_expr *pw(bd_expr *a, bd_expr *b) { return bd_ex_binary(BD_EX_POW, a, b); }
static bd_expr *neg(bd_expr *a) { return bd_ex_unary(BD_EX_NEG, a); }
static bd_expr *fn1(int f, bd_expr *a) { return bd_ex_call(f, 1, a, NULL, NULL); }
static bd_expr *cmp(int op, bd_expr *a, bd_expr *b) { return bd_ex_binary(op, a, b); }
static bd_expr *where(bd_expr *c, bd_expr *a, bd_expr *b) { return bd_ex_call(BD_FN_WHERE, 3, c, a, b); }

/* exprel'(x) = (x e^x - e^x + 1)/x^2 = (e^x - exprel(x))/x, 1/2 at 0. The closed form cancels badly near
 * 0 (relative error ~ eps/|x|), so |x| < 0.1 uses its Taylor series sum_n n x^(n-1)/(n+1)! through x^8
 * (truncation error < 1e-16 there); beyond, eps/|x| <= 1e-15 in f64 and 1e-6 in f32. */
static bd_expr *exprel_deriv(const bd_expr *x)
{
    static const double coef[] = {1.0 / 2,   1.0 / 3,    1.0 / 8,     1.0 / 30,    1.0 / 144,
                                  1.0 / 840, 1.0 / 5760, 1.0 / 45360, 1.0 / 403200};
    int n = (int)(sizeof coef / sizeof coef[0]);
    bd_expr *series = N(coef[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        series = add(N(coef[i]), mul(C(x), series));
    bd_expr *closed = dvd(sub(fn1(BD_FN_EXP, C(x)), fn1(BD_FN_EXPREL, C(x))), C(x));
    return where(cmp(BD_EX_LT, fn1(BD_FN_ABS, C(x)), N(0.1)), series, closed);
}

static bd_expr *d(const bd_eqs *eqs, const bd_expr *e, int sym, int depth);

/* d(a^b): b*a^(b-1)*a' when b does not depend on sym (no log of a possibly negative base), else the
 * general a^b*(b'*ln(a) + b*a'/a) written as b*a^(b-1)*a' + ln(a)*a^b*b'. */
static bd_expr *d_pow(const bd_eqs *eqs, const bd_expr *a, const bd_expr *b, int sym, int depth)
{
    bd_expr *da = d(eqs, a, sym, depth);
    bd_expr *first = mul(mul(C(b), pw(C(a), sub(C(b), N(1)))), da);
    if (!depends(eqs, b, sym, 0)) return first;
    return add(first, mul(mul(fn1(BD_FN_LOG, C(a)), pw(C(a), C(b))), d(eqs, b, sym, depth)));
}

static bd_expr *d_call(const bd_eqs *eqs, const bd_expr *e, int sym, int depth)
{
    const bd_expr *x = e->arg[0], *y = e->arg[1], *z = e->arg[2];
    int f = e->op;
    switch (f) {
    case BD_FN_SIGN:
    case BD_FN_HEAVISIDE:
    case BD_FN_RAND: /* a fresh draw per step, independent of every state variable */
    case BD_FN_DT: return N(0);
    case BD_FN_POW: return d_pow(eqs, x, y, sym, depth);
    case BD_FN_MIN:
    case BD_FN_MAX:
        return where(cmp(f == BD_FN_MIN ? BD_EX_LT : BD_EX_GT, C(x), C(y)), d(eqs, x, sym, depth),
                     d(eqs, y, sym, depth));
    case BD_FN_CLIP: /* the bound in force, or x inside */
        return where(cmp(BD_EX_LT, C(x), C(y)), d(eqs, y, sym, depth),
                     where(cmp(BD_EX_GT, C(x), C(z)), d(eqs, z, sym, depth), d(eqs, x, sym, depth)));
    case BD_FN_WHERE: return where(C(x), d(eqs, y, sym, depth), d(eqs, z, sym, depth));
    }
    bd_expr *outer; /* f'(x), multiplied by x' below */
    switch (f) {
    case BD_FN_EXP:
    case BD_FN_EXPM1: outer = fn1(BD_FN_EXP, C(x)); break;
    case BD_FN_LOG: outer = dvd(N(1), C(x)); break;
    case BD_FN_LOG1P: outer = dvd(N(1), add(N(1), C(x))); break;
    case BD_FN_EXPREL: outer = exprel_deriv(x); break;
    case BD_FN_SQRT: outer = dvd(N(0.5), fn1(BD_FN_SQRT, C(x))); break;
    case BD_FN_ABS: outer = fn1(BD_FN_SIGN, C(x)); break;
    case BD_FN_SIN: outer = fn1(BD_FN_COS, C(x)); break;
    case BD_FN_COS: outer = neg(fn1(BD_FN_SIN, C(x))); break;
    case BD_FN_TAN: outer = add(N(1), pw(fn1(BD_FN_TAN, C(x)), N(2))); break;
    case BD_FN_TANH: outer = sub(N(1), pw(fn1(BD_FN_TANH, C(x)), N(2))); break;
    case BD_FN_SIGMOID: outer = mul(fn1(BD_FN_SIGMOID, C(x)), sub(N(1), fn1(BD_FN_SIGMOID, C(x)))); break;
    default: return NULL;
    }
    return mul(outer, d(eqs, x, sym, depth));
}

static bd_expr *d(const bd_eqs *eqs, const bd_expr *e, int sym, int depth)
{
    if (!e || depth > EXPAND_DEPTH_MAX) return NULL;
    const bd_expr *a = e->arg[0], *b = e->arg[1];
    switch (e->kind) {
    case BD_EX_NUM: return N(0);
    case BD_EX_SYM:
        if (e->sym == sym) return N(1);
        if (is_algebraic(eqs, e->sym)) return d(eqs, eqs->syms[e->sym].def, sym, depth + 1);
        return N(0);
    case BD_EX_DELAY: return N(0); /* x(t - d) is a past value, not a function of the current state */
    case BD_EX_UNARY: return e->op == BD_EX_NEG ? neg(d(eqs, a, sym, depth)) : N(0);
    case BD_EX_BINARY:
        switch (e->op) {
        case BD_EX_ADD: return add(d(eqs, a, sym, depth), d(eqs, b, sym, depth));
        case BD_EX_SUB: return sub(d(eqs, a, sym, depth), d(eqs, b, sym, depth));
        case BD_EX_MUL: return add(mul(d(eqs, a, sym, depth), C(b)), mul(C(a), d(eqs, b, sym, depth)));
        case BD_EX_DIV: /* a'/b - a*b'/b^2: the second term vanishes in simplification when b is constant */
            return sub(dvd(d(eqs, a, sym, depth), C(b)), dvd(mul(C(a), d(eqs, b, sym, depth)), pw(C(b), N(2))));
        case BD_EX_POW: return d_pow(eqs, a, b, sym, depth);
        default: return N(0); /* comparisons and logic are piecewise constant */
        }
    case BD_EX_CALL: return d_call(eqs, e, sym, depth);
    }
    return NULL;
}

bd_expr *bd_ex_diff(const bd_eqs *eqs, const bd_expr *e, int sym) { return simp(d(eqs, e, sym, 0)); }

/* ---------------------------------------------------------------- printing
 *
 * Python/Brian2 conventions: `**` for powers (binding tighter than unary minus, right-associative),
 * `and`/`or`/`not`, and a delayed value as `x(t - d)`. Parentheses only where precedence needs them. */

typedef struct strbuf {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void put(strbuf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_ADD, P_MUL, P_NEG, P_POW, P_ATOM };

static const char *const fn_names[BD_FN_COUNT] = {
    [BD_FN_EXP] = "exp",     [BD_FN_LOG] = "log",         [BD_FN_LOG1P] = "log1p",
    [BD_FN_EXPM1] = "expm1", [BD_FN_EXPREL] = "exprel",   [BD_FN_POW] = "pow",
    [BD_FN_SQRT] = "sqrt",   [BD_FN_ABS] = "abs",         [BD_FN_SIGN] = "sign",
    [BD_FN_SIN] = "sin",     [BD_FN_COS] = "cos",         [BD_FN_TAN] = "tan",
    [BD_FN_TANH] = "tanh",   [BD_FN_SIGMOID] = "sigmoid", [BD_FN_MIN] = "min",
    [BD_FN_MAX] = "max",     [BD_FN_CLIP] = "clip",       [BD_FN_HEAVISIDE] = "heaviside",
    [BD_FN_WHERE] = "where", [BD_FN_RAND] = "rand", [BD_FN_DT] = "dt",
};

static const struct {
    const char *text;
    int prec;
} bin_ops[] = {
    [BD_EX_ADD] = {" + ", P_ADD}, [BD_EX_SUB] = {" - ", P_ADD}, [BD_EX_MUL] = {"*", P_MUL},
    [BD_EX_DIV] = {"/", P_MUL},   [BD_EX_POW] = {"**", P_POW},  [BD_EX_LT] = {" < ", P_CMP},
    [BD_EX_LE] = {" <= ", P_CMP}, [BD_EX_GT] = {" > ", P_CMP},  [BD_EX_GE] = {" >= ", P_CMP},
    [BD_EX_EQ] = {" == ", P_CMP}, [BD_EX_NE] = {" != ", P_CMP}, [BD_EX_AND] = {" and ", P_AND},
    [BD_EX_OR] = {" or ", P_OR},
};

static int prec_of(const bd_expr *e)
{
    if (!e) return P_ATOM;
    switch (e->kind) {
    case BD_EX_NUM: return e->value < 0 || (e->value == 0 && signbit(e->value)) ? P_NEG : P_ATOM;
    case BD_EX_UNARY: return e->op == BD_EX_NOT ? P_NOT : P_NEG;
    case BD_EX_BINARY: return e->op >= BD_EX_ADD && e->op <= BD_EX_OR ? bin_ops[e->op].prec : P_ATOM;
    default: return P_ATOM;
    }
}

/* The shortest %g form that reads back as the same double. */
static void put_num(strbuf *b, double v)
{
    char text[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    put(b, text);
}

static void print(strbuf *b, const bd_eqs *eqs, const bd_expr *e, int min_prec);

static void put_name(strbuf *b, const bd_eqs *eqs, int sym)
{
    char text[32];
    if (eqs && sym >= 0 && sym < eqs->nsyms) {
        put(b, eqs->syms[sym].name);
        return;
    }
    snprintf(text, sizeof text, "s%d", sym);
    put(b, text);
}

static void print(strbuf *b, const bd_eqs *eqs, const bd_expr *e, int min_prec)
{
    if (!e) {
        put(b, "?");
        return;
    }
    int p = prec_of(e), paren = p < min_prec;
    if (paren) put(b, "(");
    switch (e->kind) {
    case BD_EX_NUM: put_num(b, e->value); break;
    case BD_EX_SYM: put_name(b, eqs, e->sym); break;
    case BD_EX_UNARY:
        put(b, e->op == BD_EX_NOT ? "not " : "-");
        print(b, eqs, e->arg[0],
              e->op == BD_EX_NOT ? P_NOT : P_POW); /* -x**2 is -(x**2); -(-x) keeps its parentheses */
        break;
    case BD_EX_BINARY:
        if (p == P_ATOM) {
            put(b, "?");
            break;
        }
        /* left-associative operators take an equal-precedence left operand; ** is right-associative;
         * comparisons do not chain */
        print(b, eqs, e->arg[0], p == P_POW || p == P_CMP ? p + 1 : p);
        put(b, bin_ops[e->op].text);
        print(b, eqs, e->arg[1], p == P_POW ? P_POW : p + 1);
        break;
    case BD_EX_CALL:
        if (e->op == BD_FN_DT) { /* a name, not a call */
            put(b, "dt");
            break;
        }
        put(b, e->op >= 0 && e->op < BD_FN_COUNT ? fn_names[e->op] : "?");
        put(b, "(");
        for (int i = 0; i < e->nargs && i < 3; i++) {
            if (i) put(b, ", ");
            print(b, eqs, e->arg[i], 0);
        }
        put(b, ")");
        break;
    case BD_EX_DELAY:
        put_name(b, eqs, e->sym);
        put(b, "(t - ");
        print(b, eqs, e->arg[0], P_ADD + 1);
        put(b, ")");
        break;
    }
    if (paren) put(b, ")");
}

char *bd_ex_str(const bd_eqs *eqs, const bd_expr *e)
{
    if (!e) return NULL;
    strbuf b = {0};
    print(&b, eqs, e, 0);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
