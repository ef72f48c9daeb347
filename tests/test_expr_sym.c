/* Equation trees (core/expr_sym.c, core/expr_lower.c): constructors and their out-of-memory contract,
 * host evaluation, simplification and printing, symbolic derivatives against finite differences, and the
 * lowering into kernels on the CPU devices ("cpu:ref", "cpu") compared with host evaluation.
 * The equation parser is not used: expressions are written here as S-expressions, e.g. (+ x (* 2 y)). */
#include "test_common.h"
#include "expr.h"

#include <ctype.h>
#include <math.h>

enum { S_T, S_X, S_Y, S_A, S_G, S_H, NSYM };

static bd_symbol syms[NSYM] = {
    [S_T] = {.name = "t", .kind = BD_SYM_TIME},      [S_X] = {.name = "x", .kind = BD_SYM_STATE},
    [S_Y] = {.name = "y", .kind = BD_SYM_STATE},     [S_A] = {.name = "a", .kind = BD_SYM_PARAM},
    [S_G] = {.name = "g", .kind = BD_SYM_ALGEBRAIC}, [S_H] = {.name = "h", .kind = BD_SYM_ALGEBRAIC},
};
static bd_eqs eqs = {.syms = syms, .nsyms = NSYM};

/* ------------------------------------------------------------------------ S-expression reader */

static const struct {
    const char *name;
    bd_ex_kind kind;
    int op, nargs;
} ops[] = {
    {"neg", BD_EX_UNARY, BD_EX_NEG, 1},
    {"not", BD_EX_UNARY, BD_EX_NOT, 1},
    {"+", BD_EX_BINARY, BD_EX_ADD, 2},
    {"-", BD_EX_BINARY, BD_EX_SUB, 2},
    {"*", BD_EX_BINARY, BD_EX_MUL, 2},
    {"/", BD_EX_BINARY, BD_EX_DIV, 2},
    {"^", BD_EX_BINARY, BD_EX_POW, 2},
    {"<", BD_EX_BINARY, BD_EX_LT, 2},
    {"<=", BD_EX_BINARY, BD_EX_LE, 2},
    {">", BD_EX_BINARY, BD_EX_GT, 2},
    {">=", BD_EX_BINARY, BD_EX_GE, 2},
    {"==", BD_EX_BINARY, BD_EX_EQ, 2},
    {"!=", BD_EX_BINARY, BD_EX_NE, 2},
    {"and", BD_EX_BINARY, BD_EX_AND, 2},
    {"or", BD_EX_BINARY, BD_EX_OR, 2},
    {"exp", BD_EX_CALL, BD_FN_EXP, 1},
    {"log", BD_EX_CALL, BD_FN_LOG, 1},
    {"log1p", BD_EX_CALL, BD_FN_LOG1P, 1},
    {"expm1", BD_EX_CALL, BD_FN_EXPM1, 1},
    {"exprel", BD_EX_CALL, BD_FN_EXPREL, 1},
    {"pow", BD_EX_CALL, BD_FN_POW, 2},
    {"sqrt", BD_EX_CALL, BD_FN_SQRT, 1},
    {"abs", BD_EX_CALL, BD_FN_ABS, 1},
    {"sign", BD_EX_CALL, BD_FN_SIGN, 1},
    {"sin", BD_EX_CALL, BD_FN_SIN, 1},
    {"cos", BD_EX_CALL, BD_FN_COS, 1},
    {"tan", BD_EX_CALL, BD_FN_TAN, 1},
    {"tanh", BD_EX_CALL, BD_FN_TANH, 1},
    {"sigmoid", BD_EX_CALL, BD_FN_SIGMOID, 1},
    {"min", BD_EX_CALL, BD_FN_MIN, 2},
    {"max", BD_EX_CALL, BD_FN_MAX, 2},
    {"clip", BD_EX_CALL, BD_FN_CLIP, 3},
    {"heaviside", BD_EX_CALL, BD_FN_HEAVISIDE, 1},
    {"where", BD_EX_CALL, BD_FN_WHERE, 3},
    {"delay", BD_EX_DELAY, 0, 1},
};

static bd_expr *read_expr(const char **p);

static void skip_space(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
}

static int read_word(const char **p, char *word, size_t cap)
{
    size_t n = 0;
    skip_space(p);
    while (**p && !isspace((unsigned char)**p) && **p != '(' && **p != ')' && n + 1 < cap)
        word[n++] = *(*p)++;
    word[n] = '\0';
    return n > 0;
}

static bd_expr *read_list(const char **p)
{
    char word[32];
    if (!read_word(p, word, sizeof word)) return NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(word, ops[i].name) != 0) continue;
        bd_expr *a[3] = {NULL, NULL, NULL};
        int sym = -1;
        if (ops[i].kind == BD_EX_DELAY) { /* (delay <symbol> <delay>) */
            read_word(p, word, sizeof word);
            for (int s = 0; s < NSYM; s++)
                if (strcmp(word, syms[s].name) == 0) sym = s;
        }
        for (int j = 0; j < ops[i].nargs; j++)
            a[j] = read_expr(p);
        skip_space(p);
        if (**p == ')') (*p)++;
        switch (ops[i].kind) {
        case BD_EX_UNARY: return bd_ex_unary(ops[i].op, a[0]);
        case BD_EX_BINARY: return bd_ex_binary(ops[i].op, a[0], a[1]);
        case BD_EX_CALL: return bd_ex_call(ops[i].op, ops[i].nargs, a[0], a[1], a[2]);
        default: {
            bd_expr *e = bd_ex_unary(BD_EX_NEG, a[0]); /* a node to turn into the delay */
            if (e) {
                e->kind = BD_EX_DELAY;
                e->op = 0;
                e->sym = sym;
            }
            return e;
        }
        }
    }
    return NULL;
}

static bd_expr *read_expr(const char **p)
{
    char word[32];
    skip_space(p);
    if (**p == '(') {
        (*p)++;
        return read_list(p);
    }
    if (!read_word(p, word, sizeof word)) return NULL;
    for (int s = 0; s < NSYM; s++)
        if (strcmp(word, syms[s].name) == 0) return bd_ex_sym(s);
    char *end;
    double v = strtod(word, &end);
    return *end ? NULL : bd_ex_num(v);
}

static bd_expr *E(const char *text)
{
    const char *p = text;
    bd_expr *e = read_expr(&p);
    if (!e) tc_line(TC_FAIL, "test expression does not read: %s", text);
    return e;
}

/* ------------------------------------------------------------------------ host evaluation */

static double delay_value(int sym, double d, void *user)
{
    (void)user; /* a made-up history that does not depend on the current state: x(t-d) = 2+d, y(t-d) = 1+d/2 */
    return sym == S_X ? 2 + d : 1 + 0.5 * d;
}

static double ev(const bd_expr *e, const double *v) { return bd_ex_eval(&eqs, e, v, delay_value, (void *)v); }

static void test_constructors(void)
{
    bd_expr *e = bd_ex_binary(BD_EX_ADD, bd_ex_sym(S_X), NULL);
    bd_expr *f = bd_ex_call(BD_FN_MIN, 2, bd_ex_num(1), NULL, NULL);
    bd_expr *g = bd_ex_call(BD_FN_EXP, 1, bd_ex_num(1), bd_ex_num(2), NULL); /* argument past nargs */
    bd_expr *h = bd_ex_unary(BD_EX_NEG, NULL);
    tc_check(!e && !f && !g && !h && !bd_ex_copy(NULL) && !bd_ex_simplify(NULL) && !bd_ex_diff(&eqs, NULL, S_X) &&
                 !bd_ex_expand(&eqs, NULL) && !bd_ex_str(&eqs, NULL),
             "expr: a NULL operand (out of memory upstream) gives NULL and frees the other operands");
    bd_expr *s = bd_ex_sym(S_X), *n = bd_ex_num(2.5);
    tc_check(s && n && s->pos == -1 && s->len == 0 && s->nargs == 0 && n->value == 2.5 && s->sym == S_X,
             "expr: leaves are synthesised (pos -1) with their value");
    bd_expr *c = bd_ex_call(BD_FN_CLIP, 3, s, n, bd_ex_num(4));
    if (c) c->pos = 7, c->len = 3;
    bd_expr *cc = bd_ex_copy(c);
    tc_check(cc && cc != c && cc->nargs == 3 && cc->pos == 7 && cc->len == 3 && cc->arg[2] && cc->arg[2]->value == 4,
             "expr: copy is deep and keeps the source span");
    bd_ex_free(c);
    bd_ex_free(cc);
    bd_ex_free(NULL);
}

static void test_eval(void)
{
    static const struct {
        const char *e;
        double want;
    } cases[] = {
        {"(exprel 0)", 1},
        {"(exprel 1e-12)", 1.0000000000005},
        {"(exprel -2)", 0.43233235838169365},
        {"(heaviside 0)", 0.5},
        {"(heaviside -1)", 0},
        {"(heaviside 2)", 1},
        {"(sign 0)", 0},
        {"(sign -3)", -1},
        {"(sigmoid 0)", 0.5},
        {"(< x y)", 1},
        {"(>= x y)", 0},
        {"(== x 0.5)", 1},
        {"(!= x 0.5)", 0},
        {"(and x 0)", 0},
        {"(or 0 y)", 1},
        {"(not x)", 0},
        {"(not 0)", 1},
        {"(where (> x 1) (log -1) 7)", 7},
        {"(clip 5 0 2)", 2},
        {"(clip -5 0 2)", 0},
        {"(min x y)", 0.5},
        {"(max x y)", 2},
        {"(^ -2 3)", -8},
        {"g", 2},
        {"h", 7},
        {"(delay x 3)", 5},
        {"(delay y (* 2 a))", 2},
        {"(tan 0.5)", 0.54630248984379051},
        {"(log1p 1e-20)", 1e-20},
        {"(expm1 1e-20)", 1e-20},
    };
    double v[NSYM] = {[S_T] = 3, [S_X] = 0.5, [S_Y] = 2, [S_A] = 1, [S_G] = NAN, [S_H] = NAN};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bd_expr *e = E(cases[i].e);
        double got = ev(e, v);
        if (!(fabs(got - cases[i].want) <= 1e-15 * fabs(cases[i].want)) && bad++ < 5)
            tc_line(TC_FAIL, "eval %s = %.17g, want %.17g", cases[i].e, got, cases[i].want);
        bd_ex_free(e);
    }
    double near0 = bd_ex_eval(&eqs, syms[S_G].def, v, NULL, NULL); /* no delay callback needed: none occur */
    tc_check(!bad && near0 == 2,
             "eval: %zu cases (exprel at and near 0, heaviside(0), sign(0), logic, "
             "where takes one branch, algebraic symbols, delays)",
             sizeof cases / sizeof cases[0]);
}

/* ------------------------------------------------------------------------ simplify and print */

static void test_simplify(void)
{
    static const struct {
        const char *e, *want;
    } cases[] = {
        {"(+ x 0)", "x"},
        {"(+ 0 x)", "x"},
        {"(- x 0)", "x"},
        {"(* x 1)", "x"},
        {"(* 1 x)", "x"},
        {"(/ x 1)", "x"},
        {"(^ x 1)", "x"},
        {"(^ x 0)", "1"},
        {"(pow x 0)", "1"},
        {"(* 0 (log x))", "0"},
        {"(* x 0)", "0"},
        {"(neg (neg x))", "x"},
        {"(- 0 x)", "-x"},
        {"(* 2 (* 3 x))", "6*x"},
        {"(* (* 3 x) 2)", "6*x"},
        {"(* (+ 2 3) x)", "5*x"},
        {"(* x 0.5)", "0.5*x"},
        {"(- (* x y) (* x y))", "0"},
        {"(/ 0 x)", "0"},
        {"(where 1 x y)", "x"},
        {"(where 0 x y)", "y"},
        {"(where (> x 0) y y)", "y"},
        {"(exp 0)", "1"},
        {"(/ 1 0)", "1/0"},
        {"(log -1)", "log(-1)"},
        {"(+ x (neg y))", "x - y"},
        {"(- x (neg y))", "x + y"},
        {"(* -1 x)", "-x"},
        {"(* 0.5 (* 2 x))", "x"},
        {"(* (neg x) (neg y))", "x*y"},
        {"(+ 0.1 0.2)", "0.30000000000000004"},
        {"(- (delay x 1) (delay x 1))", "0"},
        /* printing: minimal parentheses, Python precedence */
        {"(neg (^ x 2))", "-x**2"},
        {"(^ (neg x) 2)", "(-x)**2"},
        {"(^ x (^ y a))", "x**y**a"},
        {"(^ (^ x y) a)", "(x**y)**a"},
        {"(- x (+ y a))", "x - (y + a)"},
        {"(- (+ x y) a)", "x + y - a"},
        {"(* (+ x y) a)", "(x + y)*a"},
        {"(/ x (* y a))", "x/(y*a)"},
        {"(^ x -1)", "x**(-1)"},
        {"(and (< x y) (not (or x y)))", "x < y and not (x or y)"},
        {"(neg (neg (+ x y)))", "x + y"},
        {"(clip (* 2 x) 0 1e-300)", "clip(2*x, 0, 1e-300)"},
        {"(where (> x 1) g h)", "where(x > 1, g, h)"},
        {"(delay y (+ a 1))", "y(t - (a + 1))"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bd_expr *e = E(cases[i].e), *s = bd_ex_simplify(e);
        char *text = bd_ex_str(&eqs, s);
        if (!text || strcmp(text, cases[i].want) != 0) {
            bad++;
            tc_line(TC_FAIL, "simplify %s -> %s, want %s", cases[i].e, text ? text : "(null)", cases[i].want);
        }
        free(text);
        bd_ex_free(s);
        bd_ex_free(e);
    }
    bd_expr *e = E("(+ x y)");
    char *text = bd_ex_str(NULL, e);
    tc_check(!bad && text && strcmp(text, "s1 + s2") == 0,
             "simplify and print: %zu cases (identities, folding, no Inf/NaN literals; s<k> without names)",
             sizeof cases / sizeof cases[0]);
    free(text);
    bd_ex_free(e);

    bd_expr *x = E("(* (exp (+ x g)) (+ x 2))"), *ex = bd_ex_expand(&eqs, x);
    text = bd_ex_str(&eqs, ex);
    tc_check(text && strcmp(text, "exp(x + (a*(x*y) + 1))*(x + 2)") == 0 && bd_ex_depends(&eqs, x, S_A) &&
                 bd_ex_depends(&eqs, x, S_Y) && !bd_ex_depends(&eqs, x, S_T) && bd_ex_depends(&eqs, ex, S_A),
             "expand and depends see through algebraic definitions: %s", text ? text : "(null)");
    free(text);
    bd_ex_free(x);
    bd_ex_free(ex);
}

/* ------------------------------------------------------------------------ derivatives */

/* Expressions over x in [0.3, 2], y in [0.5, 1.5], a in [0.5, 1], chosen to be defined there; they cover
 * every operator and function, with inner functions so that the chain rule is exercised. */
static const char *const fexprs[] = {
    "(exp (* 0.5 x))",
    "(log (+ x y))",
    "(log1p (* x y))",
    "(expm1 (- x y))",
    "(exprel (- x 1))",
    "(exprel (* 3 (- x 1)))",
    "(/ 1 (exprel (/ (neg (- (* 40 x) 40)) 10)))",
    "(pow x y)",
    "(^ x 3)",
    "(^ (- x 1) 2)",
    "(^ (- x 1) 3)",
    "(^ x 0.5)",
    "(^ (+ x 1) -2)",
    "(^ y x)",
    "(^ x x)",
    "(^ x 2.5)",
    "(sqrt (* x y))",
    "(abs (- x 1))",
    "(sign (- x 1))",
    "(sin (* 3 x))",
    "(cos (* x y))",
    "(tan (* 0.5 x))",
    "(tanh (- x 1))",
    "(sigmoid (* 2 (- x 1)))",
    "(min x y)",
    "(max (* x x) y)",
    "(clip (* 2 x) 1 3)",
    "(clip x y 1.5)",
    "(heaviside (- x 1))",
    "(where (> x 1) (* x x) (sin x))",
    "(where (and (> x 0.5) (< y 1)) x (neg x))",
    "(* (< x y) x)",
    "(/ (exp x) (+ 1 (* x y)))",
    "(- (* a x) (/ x y))",
    "g",
    "(* h x)",
    "(neg (^ x 2))",
    "(not (> x 1))",
    "(or (> x 1) (< y 1))",
    "(* (delay x 2) x)",
    "(+ (* (delay y 1.5) y) t)",
    "(/ (* a (- y x)) (* 2 (* 3 x)))",
    "(- (* x y) (* (/ x 2) (+ y 1)))",
    "(* (<= x y) (>= x 1))",
    "(* (== x y) (!= x 1))",
};
#define NF ((int)(sizeof fexprs / sizeof fexprs[0]))

static void random_point(uint64_t *rng, double *v)
{
    v[S_T] = 10 * tc_uniform(rng);
    v[S_X] = 0.3 + 1.7 * tc_uniform(rng);
    v[S_Y] = 0.5 + tc_uniform(rng);
    v[S_A] = 0.5 + 0.5 * tc_uniform(rng);
    v[S_G] = v[S_H] = NAN;
}

/* Central differences with one Richardson step: truncation ~h^4, rounding ~eps/h. */
static double fd(const bd_expr *e, double *v, int sym, double h)
{
    double x0 = v[sym], f[4];
    const double step[4] = {-h, h, -h / 2, h / 2};
    for (int i = 0; i < 4; i++) {
        v[sym] = x0 + step[i];
        f[i] = ev(e, v);
    }
    v[sym] = x0;
    double d1 = (f[1] - f[0]) / (2 * h), d2 = (f[3] - f[2]) / h;
    return (4 * d2 - d1) / 3;
}

static void test_diff(void)
{
    uint64_t rng = 12345;
    const int wrt[] = {S_X, S_Y, S_A, S_T};
    int bad = 0, checked = 0, skipped = 0;
    for (int i = 0; i < NF; i++) {
        bd_expr *e = E(fexprs[i]);
        for (int w = 0; w < 4; w++) {
            bd_expr *de = bd_ex_diff(&eqs, e, wrt[w]);
            if (!de) {
                bad++;
                tc_line(TC_FAIL, "diff %s wrt %s: NULL", fexprs[i], syms[wrt[w]].name);
                continue;
            }
            for (int p = 0; p < 60; p++) {
                double v[NSYM];
                random_point(&rng, v);
                double want = fd(e, v, wrt[w], 1e-3), other = fd(e, v, wrt[w], 2e-4);
                /* a kink or jump (abs, min, where, comparisons) within a step: no derivative to compare */
                if (!(fabs(want - other) <= 1e-7 * (fabs(want) + 1))) {
                    skipped++;
                    continue;
                }
                double got = ev(de, v);
                checked++;
                if (!(fabs(got - want) <= 1e-6 * fabs(want) + 1e-8) && bad++ < 8) {
                    char *text = bd_ex_str(&eqs, de);
                    tc_line(TC_FAIL, "d/d%s %s = %s = %.17g at x=%g y=%g a=%g, finite differences %.17g",
                            syms[wrt[w]].name, fexprs[i], text, got, v[S_X], v[S_Y], v[S_A], want);
                    free(text);
                }
            }
            bd_ex_free(de);
        }
        bd_ex_free(e);
    }
    tc_check(!bad && skipped * 20 < checked,
             "diff: %d expressions x 4 variables, %d points against finite "
             "differences (rel 1e-6), %d skipped at kinks",
             NF, checked, skipped);

    /* exprel' at and near its removable singularity, against its Taylor series (exact to rounding here) */
    bd_expr *e = E("(exprel x)"), *de = bd_ex_diff(&eqs, e, S_X);
    const double xs[] = {0, 1e-300, -1e-12, 1e-8, -1e-5, 1e-3, 0.0999, -0.0999, 0.1, 0.1001, -0.1001, 0.5, -1, 3};
    double worst = 0;
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double v[NSYM] = {0}, x = xs[i], want = 0, term = 1; /* sum_n n x^(n-1)/(n+1)! */
        v[S_X] = x;
        for (int n = 1; n < 40; n++) {
            term = n == 1 ? 0.5 : term * x / (n + 1);
            want += n * term;
        }
        if (fabs(x) > 2) want = (exp(x) * (x - 1) + 1) / (x * x);
        double got = ev(de, v), err = fabs(got - want) / fabs(want);
        if (!(err <= worst)) worst = err;
    }
    tc_check(worst < 4e-15, "diff: exprel' finite and accurate at and near 0 (worst rel err %.2g)", worst);
    bd_ex_free(e);
    bd_ex_free(de);

    /* derivatives come out simplified */
    static const struct {
        const char *e, *want;
        int sym;
    } shapes[] = {
        {"(* 3 x)", "3", S_X},         {"(/ x 2)", "0.5", S_X},
        {"(^ x 3)", "3*x**2", S_X},    {"(exp (* a x))", "exp(a*x)*a", S_X},
        {"(- (* a x) y)", "-1", S_Y},  {"(delay x 2)", "0", S_X},
        {"(sign x)", "0", S_X},        {"(+ g 1)", "a*y", S_X},
        {"(/ y x)", "-(y/x**2)", S_X},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        bd_expr *f = E(shapes[i].e), *df = bd_ex_diff(&eqs, f, shapes[i].sym);
        char *text = bd_ex_str(&eqs, df);
        if (!text || strcmp(text, shapes[i].want) != 0) {
            bad++;
            tc_line(TC_FAIL, "d/d%s %s -> %s, want %s", syms[shapes[i].sym].name, shapes[i].e, text ? text : "(null)",
                    shapes[i].want);
        }
        free(text);
        bd_ex_free(df);
        bd_ex_free(f);
    }
    tc_check(!bad, "diff: %zu results in simplified form", sizeof shapes / sizeof shapes[0]);
}

/* ------------------------------------------------------------------------ lowering */

#define NPTS 256

/* The history of delay_value(): x(t - d) = 2 + d, y(t - d) = 1 + d/2. */
static bd_ir_val lower_delay(bd_lower_env *env, int sym, bd_ir_val d)
{
    bd_ir *k = env->k;
    if (sym == S_X) return bd_ir_binary(k, BD_IR_ADD, bd_ir_const(k, env->t, 2), d);
    return bd_ir_binary(k, BD_IR_ADD, bd_ir_const(k, env->t, 1),
                        bd_ir_binary(k, BD_IR_MUL, bd_ir_const(k, env->t, 0.5), d));
}

/* One kernel evaluates every expression at every point: out[i * n + j] = expression j at point i. */
static void test_lower_on(bd_device *dev, const char *devname, bd_dtype t, bd_expr **list, int n)
{
    bd_ir *k = NULL;
    bd_ir_new("expr_lower", &k);
    int bx = bd_ir_buffer(k, t, 0), by = bd_ir_buffer(k, t, 0), bout = bd_ir_buffer(k, t, 1);
    int sa = bd_ir_scalar(k, t), st = bd_ir_scalar(k, t);
    bd_ir_val i = bd_ir_index(k), vals[NSYM];
    vals[S_X] = bd_ir_load(k, bx, i);
    vals[S_Y] = bd_ir_load(k, by, i);
    vals[S_A] = bd_ir_param(k, sa);
    vals[S_T] = bd_ir_param(k, st);
    vals[S_G] = vals[S_H] = -1;
    bd_lower_env env = {.k = k, .t = t, .eqs = &eqs, .vals = vals, .delay = lower_delay};
    bd_ir_val base = bd_ir_binary(k, BD_IR_MUL, i, bd_ir_const(k, BD_U32, n));
    for (int j = 0; j < n; j++)
        bd_ir_store(k, bout, bd_ir_binary(k, BD_IR_ADD, base, bd_ir_const(k, BD_U32, j)), bd_ex_lower(&env, list[j]));

    /* inputs: random points plus the singular ones (x = 1: exprel(x - 1) at 0, sign and heaviside at 0) */
    size_t es = bd_dtype_size(t);
    double hx[NPTS], hy[NPTS], a = 0.75, tt = 2.5;
    char bufx[NPTS * 8], bufy[NPTS * 8];
    uint64_t rng = 777;
    for (int p = 0; p < NPTS; p++) {
        double v[NSYM];
        random_point(&rng, v);
        hx[p] = p < 4 ? 1.0 : v[S_X];
        hy[p] = v[S_Y];
        if (t == BD_F32) { /* the host evaluates on exactly the numbers the kernel reads */
            float fx = (float)hx[p], fy = (float)hy[p];
            hx[p] = fx, hy[p] = fy;
            memcpy(bufx + p * 4, &fx, 4);
            memcpy(bufy + p * 4, &fy, 4);
        } else {
            memcpy(bufx + p * 8, &hx[p], 8);
            memcpy(bufy + p * 8, &hy[p], 8);
        }
    }
    bd_value sc[2];
    if (t == BD_F32) {
        sc[0].f32 = (float)a, sc[1].f32 = (float)tt;
    } else {
        sc[0].f64 = a, sc[1].f64 = tt;
    }
    bd_kernel *kern = NULL;
    bd_buffer *b[3] = {NULL, NULL, NULL};
    char *raw = calloc((size_t)NPTS * n, es);
    bd_status s = bd_ir_status(k);
    if (!s) s = bd_kernel_compile(dev, k, &kern);
    if (!s) s = bd_buffer_alloc(dev, NPTS * es, &b[0]);
    if (!s) s = bd_buffer_alloc(dev, NPTS * es, &b[1]);
    if (!s) s = bd_buffer_alloc(dev, (size_t)NPTS * n * es, &b[2]);
    if (!s) s = bd_buffer_upload(b[0], 0, bufx, NPTS * es);
    if (!s) s = bd_buffer_upload(b[1], 0, bufy, NPTS * es);
    if (!s) s = bd_kernel_launch(kern, NPTS, b, 3, sc, 2);
    if (!s) s = bd_buffer_download(b[2], 0, raw, (size_t)NPTS * n * es);
    if (s || !raw) {
        tc_line(TC_FAIL, "lower on %s (%s): %s: %s", devname, bd_dtype_name(t), bd_status_name(s), bd_last_error());
    } else {
        /* f64: a few ulp of the device's own exp/log/pow, amplified by the conditioning of the expression;
         * f32: the same in single precision */
        double tol = t == BD_F64 ? 1e-12 : 2e-5, worst = 0;
        int bad = 0;
        for (int p = 0; p < NPTS; p++) {
            double v[NSYM] = {[S_T] = t == BD_F32 ? (float)tt : tt, [S_X] = hx[p], [S_Y] = hy[p],
                              [S_A] = t == BD_F32 ? (float)a : a,   [S_G] = NAN,   [S_H] = NAN};
            for (int j = 0; j < n; j++) {
                size_t at = (size_t)p * n + j;
                double got = t == BD_F32 ? ((float *)raw)[at] : ((double *)raw)[at], want = ev(list[j], v);
                double err = fabs(got - want) / (fabs(want) + 1);
                if (got == want || (isnan(got) && isnan(want))) err = 0;
                if (!(err <= worst)) worst = err;
                if (!(err <= tol) && bad++ < 5) {
                    char *text = bd_ex_str(&eqs, list[j]);
                    tc_line(TC_FAIL, "lower on %s (%s): %s at x=%.9g y=%.9g: %.17g, host %.17g", devname,
                            bd_dtype_name(t), text, hx[p], hy[p], got, want);
                    free(text);
                }
            }
        }
        tc_check(!bad, "lower on %s (%s): %d expressions x %d points match bd_ex_eval (worst %.2g, tol %g)", devname,
                 bd_dtype_name(t), n, NPTS, worst, tol);
    }
    free(raw);
    for (int j = 0; j < 3; j++)
        bd_buffer_free(b[j]);
    bd_kernel_free(kern);
    bd_ir_free(k);
}

static void test_lower_errors(void)
{
    bd_ir *k = NULL;
    bd_ir_new("expr_err", &k);
    bd_ir_val vals[NSYM] = {-1, -1, -1, -1, -1, -1};
    bd_lower_env env = {.k = k, .t = BD_F64, .eqs = &eqs, .vals = vals};
    bd_expr *e = E("(+ x 1)");
    bd_ir_val v = bd_ex_lower(&env, e);
    bd_status s = bd_ir_status(k);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", bd_last_error());
    tc_check(v < 0 && s != BD_OK && strstr(msg, "'x'") && strstr(msg, "expr_err"),
             "lower: a symbol without a value fails the kernel, naming it: %s", msg);
    bd_ex_free(e);
    bd_ir_free(k);

    bd_ir_new("expr_err2", &k);
    env.k = k;
    vals[S_X] = bd_ir_const(k, BD_F64, 1);
    e = E("(delay x 1)");
    v = bd_ex_lower(&env, e);
    snprintf(msg, sizeof msg, "%s", bd_last_error());
    tc_check(v < 0 && bd_ir_status(k) == BD_ERR_UNSUPPORTED && strstr(msg, "delay"),
             "lower: a delay without a delay lowering fails the kernel: %s", msg);
    bd_ex_free(e);
    bd_ir_free(k);
}

static void test_lower(void)
{
    /* the test expressions, their derivatives by x, and cases that lower specially */
    static const char *const extra[] = {
        "(^ (- x 1) 5)",
        "(^ (- x 1) -3)",
        "(^ (- x 1.5) 4)",
        "(^ x -0.5)",
        "(^ x 0)",
        "(^ x 17)",
        "(exprel (- x 1))",
        "(sign (- x 1))",
        "(heaviside (- x 1))",
        "(where (not (< x y)) 1 2)",
        "(- 0 x)",
        "(* (delay y (* 2 a)) (delay x (+ x y)))",
    };
    int n = 0;
    bd_expr *list[3 * NF + 16];
    for (int i = 0; i < NF; i++) {
        list[n++] = E(fexprs[i]);
        list[n] = bd_ex_diff(&eqs, list[n - 1], S_X);
        n++;
    }
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        list[n++] = E(extra[i]);
    const char *names[] = {"cpu:ref", "cpu"};
    for (int d = 0; d < 2; d++) {
        bd_device *dev = NULL;
        if (!tc_device_selected("cpu")) {
            tc_line(TC_SKIP, "lower on %s: not selected by BDYN_TEST_DEVICES", names[d]);
            continue;
        }
        bd_status s = bd_device_open(names[d], &dev);
        if (s) {
            tc_line(TC_FAIL, "open %s: %s: %s", names[d], bd_status_name(s), bd_last_error());
            continue;
        }
        test_lower_on(dev, names[d], BD_F64, list, n);
        test_lower_on(dev, names[d], BD_F32, list, n);
        bd_device_close(dev);
    }
    for (int i = 0; i < n; i++)
        bd_ex_free(list[i]);
}

int main(void)
{
    tc_begin();
    syms[S_G].def = E("(+ (* a (* x y)) 1)");
    syms[S_H].def = E("(+ (* 2 g) t)");
    test_constructors();
    test_eval();
    test_simplify();
    test_diff();
    test_lower_errors();
    test_lower();
    bd_ex_free(syms[S_G].def);
    bd_ex_free(syms[S_H].def);
    return tc_finish();
}
