/* Lowering equation trees into the kernel IR (core/expr.h): one IR expression of float type env->t per tree.
 *
 * Caching contract: none. Every call lowers the tree it is given from scratch and never writes to
 * env->vals. A symbol is read from env->vals[sym] when that is >= 0; an algebraic symbol whose entry is
 * -1 is lowered from its definition at each occurrence (the IR has no common-subexpression elimination,
 * so a caller that wants an algebraic variable computed once per state lowers its definition itself,
 * bd_ir_let()s it and puts the handle into vals). Integrators that evaluate the drift at several stages
 * (RK, Heun, ...) therefore point vals at the stage's state values, and reset or re-let the algebraic
 * entries for each stage: a handle let from another stage's state would silently give the wrong value.
 *
 * Numbers are kept as env->t; comparisons and logic produce BD_BOOL internally and are converted to 1/0
 * only where a number is needed, so `where(x > 0 and y < 1, ...)` stays a pure boolean condition. */
#include "expr.h"
#include "error.h"
#include "ir_impl.h"

#include <math.h>

/* Records a lowering error in the kernel (first error wins, like the builder's own) and returns -1.
 * The IR has no public call for "this caller failed", so the kernel's error field is set here directly. */
static bd_ir_val lower_error(bd_lower_env *env, bd_status s, const char *what, int sym)
{
    bd_ir *k = env->k;
    if (k && k->error == BD_OK) {
        if (sym < 0)
            k->error = bd_fail(s, "kernel '%s': expression lowering: %s", k->name, what);
        else if (env->eqs && sym < env->eqs->nsyms)
            k->error = bd_fail(s, "kernel '%s': expression lowering: %s '%s'", k->name, what, env->eqs->syms[sym].name);
        else
            k->error = bd_fail(s, "kernel '%s': expression lowering: %s symbol %d", k->name, what, sym);
    }
    return -1;
}

static bd_ir_val num(bd_lower_env *env, double v) { return bd_ir_const(env->k, env->t, v); }

static bd_ir_val as_number(bd_lower_env *env, bd_ir_val v)
{
    if (v < 0 || bd_ir_type(env->k, v) != BD_BOOL) return v;
    return bd_ir_select(env->k, v, num(env, 1), num(env, 0));
}

static bd_ir_val as_bool(bd_lower_env *env, bd_ir_val v)
{
    if (v < 0 || bd_ir_type(env->k, v) == BD_BOOL) return v;
    return bd_ir_binary(env->k, BD_IR_NE, v, num(env, 0));
}

static bd_ir_val lower(bd_lower_env *env, const bd_expr *e, int depth);

static bd_ir_val lower_num(bd_lower_env *env, const bd_expr *e, int depth)
{
    return as_number(env, lower(env, e, depth));
}

static bd_ir_val lower_bool(bd_lower_env *env, const bd_expr *e, int depth)
{
    return as_bool(env, lower(env, e, depth));
}

/* a^n for a small integer n by repeated squaring on a let-bound base: exact for negative bases (where
 * GLSL's pow is undefined), and cheaper and more accurate than pow everywhere. */
static bd_ir_val int_power(bd_lower_env *env, bd_ir_val a, int n)
{
    bd_ir *k = env->k;
    unsigned m = (unsigned)(n < 0 ? -n : n);
    bd_ir_val result = -1, base = bd_ir_let(k, a);
    while (m) {
        if (m & 1) result = result < 0 ? base : bd_ir_binary(k, BD_IR_MUL, result, base);
        m >>= 1;
        if (m) base = bd_ir_let(k, bd_ir_binary(k, BD_IR_MUL, base, base));
    }
    if (result < 0) result = num(env, 1);
    return n < 0 ? bd_ir_binary(k, BD_IR_DIV, num(env, 1), result) : result;
}

static bd_ir_val lower_pow(bd_lower_env *env, const bd_expr *base, const bd_expr *expo, int depth)
{
    bd_ir *k = env->k;
    if (expo->kind == BD_EX_NUM) {
        double p = expo->value;
        if (p == 0) return num(env, 1);
        if (p == 0.5) return bd_ir_unary(k, BD_IR_SQRT, lower_num(env, base, depth));
        if (p == -0.5)
            return bd_ir_binary(k, BD_IR_DIV, num(env, 1), bd_ir_unary(k, BD_IR_SQRT, lower_num(env, base, depth)));
        if (p == floor(p) && fabs(p) <= 16) return int_power(env, lower_num(env, base, depth), (int)p);
    }
    return bd_ir_binary(k, BD_IR_POW, lower_num(env, base, depth), lower_num(env, expo, depth));
}

static const bd_ir_op binary_ops[] = {
    [BD_EX_ADD] = BD_IR_ADD, [BD_EX_SUB] = BD_IR_SUB, [BD_EX_MUL] = BD_IR_MUL, [BD_EX_DIV] = BD_IR_DIV,
    [BD_EX_LT] = BD_IR_LT,   [BD_EX_LE] = BD_IR_LE,   [BD_EX_GT] = BD_IR_GT,   [BD_EX_GE] = BD_IR_GE,
    [BD_EX_EQ] = BD_IR_EQ,   [BD_EX_NE] = BD_IR_NE,   [BD_EX_AND] = BD_IR_AND, [BD_EX_OR] = BD_IR_OR,
};

static bd_ir_val lower_binary(bd_lower_env *env, const bd_expr *e, int depth)
{
    bd_ir *k = env->k;
    if (e->op == BD_EX_POW) return lower_pow(env, e->arg[0], e->arg[1], depth);
    if (e->op == BD_EX_AND || e->op == BD_EX_OR)
        return bd_ir_binary(k, binary_ops[e->op], lower_bool(env, e->arg[0], depth), lower_bool(env, e->arg[1], depth));
    if (e->op < BD_EX_ADD || e->op > BD_EX_OR)
        return lower_error(env, BD_ERR_INVALID_ARG, "unknown binary operator", -1);
    bd_ir_val a = lower_num(env, e->arg[0], depth), b = lower_num(env, e->arg[1], depth);
    if (e->op == BD_EX_DIV && b >= 0 && k->nodes[b].kind == BD_N_CONST) {
        /* x / c as x * (1 / c), the reciprocal folded once: a division costs a vector unit ten to twenty
         * multiplications (COBA's x / tau terms dominated its kernel). The result may differ from x / c in
         * the last bit, identically on every device, as all of them run this same IR. */
        bd_ir_val r = bd_ir_binary(k, BD_IR_DIV, bd_ir_const(k, bd_ir_type(k, b), 1.0), b);
        if (r >= 0 && k->nodes[r].kind == BD_N_CONST) return bd_ir_binary(k, BD_IR_MUL, a, r);
    }
    return bd_ir_binary(k, binary_ops[e->op], a, b);
}

static bd_ir_val lower_call(bd_lower_env *env, const bd_expr *e, int depth)
{
    bd_ir *k = env->k;
    static const bd_ir_op unary_fns[] = {
        [BD_FN_EXP] = BD_IR_EXP,     [BD_FN_LOG] = BD_IR_LOG,   [BD_FN_LOG1P] = BD_IR_LOG1P,
        [BD_FN_EXPM1] = BD_IR_EXPM1, [BD_FN_SQRT] = BD_IR_SQRT, [BD_FN_ABS] = BD_IR_ABS,
        [BD_FN_SIN] = BD_IR_SIN,     [BD_FN_COS] = BD_IR_COS,   [BD_FN_TANH] = BD_IR_TANH,
    };
    switch (e->op) {
    case BD_FN_EXP:
    case BD_FN_LOG:
    case BD_FN_LOG1P:
    case BD_FN_EXPM1:
    case BD_FN_SQRT:
    case BD_FN_ABS:
    case BD_FN_SIN:
    case BD_FN_COS:
    case BD_FN_TANH: return bd_ir_unary(k, unary_fns[e->op], lower_num(env, e->arg[0], depth));
    case BD_FN_POW: return lower_pow(env, e->arg[0], e->arg[1], depth);
    case BD_FN_MIN:
    case BD_FN_MAX:
        return bd_ir_binary(k, e->op == BD_FN_MIN ? BD_IR_MIN : BD_IR_MAX, lower_num(env, e->arg[0], depth),
                            lower_num(env, e->arg[1], depth));
    case BD_FN_CLIP:
        return bd_ir_clamp(k, lower_num(env, e->arg[0], depth), lower_num(env, e->arg[1], depth),
                           lower_num(env, e->arg[2], depth));
    case BD_FN_WHERE:
        return bd_ir_select(k, lower_bool(env, e->arg[0], depth), lower_num(env, e->arg[1], depth),
                            lower_num(env, e->arg[2], depth));
    case BD_FN_RAND: /* the caller knows the element, step and key; the node knows its call site */
        if (!env->rand)
            return lower_error(env, BD_ERR_UNSUPPORTED, "rand() needs a random stream, which this kernel has not", -1);
        return env->rand(env, e->sym);
    case BD_FN_DT:
        if (!env->dt) return lower_error(env, BD_ERR_UNSUPPORTED, "dt is not known in this kernel", -1);
        return env->dt(env);
    default: break;
    }
    /* the rest use their argument more than once: evaluate it once */
    bd_ir_val x = bd_ir_let(k, lower_num(env, e->arg[0], depth));
    switch (e->op) {
    case BD_FN_EXPREL: /* expm1(x)/x is accurate near 0; only exactly 0 needs the limit */
        return bd_ir_select(k, bd_ir_binary(k, BD_IR_EQ, x, num(env, 0)), num(env, 1),
                            bd_ir_binary(k, BD_IR_DIV, bd_ir_unary(k, BD_IR_EXPM1, x), x));
    case BD_FN_TAN: return bd_ir_binary(k, BD_IR_DIV, bd_ir_unary(k, BD_IR_SIN, x), bd_ir_unary(k, BD_IR_COS, x));
    case BD_FN_SIGMOID:
        return bd_ir_binary(
            k, BD_IR_DIV, num(env, 1),
            bd_ir_binary(k, BD_IR_ADD, num(env, 1), bd_ir_unary(k, BD_IR_EXP, bd_ir_unary(k, BD_IR_NEG, x))));
    case BD_FN_SIGN:
    case BD_FN_HEAVISIDE: /* the same ternaries as bd_ex_eval, so that NaN and 0 agree with the host */
        return bd_ir_select(k, bd_ir_binary(k, BD_IR_GT, x, num(env, 0)), num(env, 1),
                            bd_ir_select(k, bd_ir_binary(k, BD_IR_LT, x, num(env, 0)),
                                         num(env, e->op == BD_FN_SIGN ? -1 : 0),
                                         num(env, e->op == BD_FN_SIGN ? 0 : 0.5)));
    }
    return lower_error(env, BD_ERR_INVALID_ARG, "unknown function", -1);
}

static bd_ir_val lower(bd_lower_env *env, const bd_expr *e, int depth)
{
    bd_ir *k = env->k;
    if (!e) return lower_error(env, BD_ERR_NOMEM, "no expression (out of memory building it?)", -1);
    switch (e->kind) {
    case BD_EX_NUM: return num(env, e->value);
    case BD_EX_SYM: {
        const bd_eqs *eqs = env->eqs;
        if (env->vals && e->sym >= 0 && (!eqs || e->sym < eqs->nsyms) && env->vals[e->sym] >= 0)
            return env->vals[e->sym];
        if (eqs && e->sym >= 0 && e->sym < eqs->nsyms && eqs->syms[e->sym].kind == BD_SYM_ALGEBRAIC &&
            eqs->syms[e->sym].def) {
            if (depth >= 64)
                return lower_error(env, BD_ERR_MODEL, "algebraic definitions nest too deeply (a cycle?) at", e->sym);
            return lower(env, eqs->syms[e->sym].def, depth + 1);
        }
        return lower_error(env, BD_ERR_INVALID_ARG, "no IR value given for", e->sym);
    }
    case BD_EX_UNARY:
        if (e->op == BD_EX_NOT) return bd_ir_unary(k, BD_IR_NOT, lower_bool(env, e->arg[0], depth));
        return bd_ir_unary(k, BD_IR_NEG, lower_num(env, e->arg[0], depth));
    case BD_EX_BINARY: return lower_binary(env, e, depth);
    case BD_EX_CALL: return lower_call(env, e, depth);
    case BD_EX_DELAY:
        if (!env->delay)
            return lower_error(env, BD_ERR_UNSUPPORTED, "no delay lowering (env->delay) for a delayed", e->sym);
        return env->delay(env, e->sym, lower_num(env, e->arg[0], depth));
    }
    return lower_error(env, BD_ERR_INVALID_ARG, "malformed expression node", -1);
}

bd_ir_val bd_ex_lower(bd_lower_env *env, const bd_expr *e)
{
    if (!env || !env->k) return -1;
    if (env->t != BD_F32 && env->t != BD_F64)
        return lower_error(env, BD_ERR_INVALID_ARG, "result type must be f32 or f64", -1);
    return as_number(env, lower(env, e, 0));
}
