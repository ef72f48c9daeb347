/* Fractional methods for the Caputo equation D^alpha x = f(x, t), 0 < alpha <= 1 (BrainPy's fdeint):
 * the explicit L1 scheme and Grünwald–Letnikov with the short-memory principle.
 *
 * Both need the past states: they read the driver's history ring (integrate_impl.h), holding steps
 * step - hist_len + 1 .. step, and x(t0) from the initial-state buffer. The memory sums are IR loops
 * whose weights come from closed forms or recurrences inside the loop, so no coefficient buffer is
 * needed. One loop covers every state variable: a step costs min(step, memory) iterations. */
#include "integrate_impl.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>

typedef struct fde_step {
    bd_step_ctx *c;
    bd_ir *k;
    double alpha;
    bd_ir_val *f;    /* drift at the step's start */
    bd_ir_val *acc;  /* per variable: mutable memory sum */
    bd_ir_val count; /* u32: iterations j = 1 .. count */
} fde_step;

static bd_ir_val add(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_ADD, a, b); }
static bd_ir_val sub(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_SUB, a, b); }
static bd_ir_val mul(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_MUL, a, b); }
static bd_ir_val u32c(bd_ir *k, double v) { return bd_ir_const(k, BD_U32, v); }

/* extra: how many ring slots beyond the memory the scheme reads (L1 differences reach one step further). */
static bd_status fde_begin(fde_step *s, bd_step_ctx *c, const char *name, uint32_t extra)
{
    *s = (fde_step){.c = c, .k = c->k, .alpha = c->opts->alpha};
    if (!(s->alpha > 0.0 && s->alpha <= 1.0))
        return bd_fail(BD_ERR_INVALID_ARG, "%s: the fractional order alpha must be in (0, 1] (got %g)", name, s->alpha);
    if (c->hist_slot < 0 || c->init_slot < 0 || c->hist_len < extra + 1)
        return bd_fail(BD_ERR_MODEL, "%s: the driver gave no history ring", name);
    s->f = malloc(sizeof *s->f * (size_t)(c->nstate + 1));
    s->acc = malloc(sizeof *s->acc * (size_t)(c->nstate + 1));
    if (!s->f || !s->acc) {
        free(s->f);
        free(s->acc);
        return bd_fail(BD_ERR_NOMEM, "%s: out of memory", name);
    }
    bd_step_drift(c, c->x, c->time, s->f);
    for (int v = 0; v < c->nstate; v++)
        s->acc[v] = bd_ir_var(s->k, bd_step_const(c, 0.0));
    /* The memory reaches back min(step, M) steps, M = opts->memory or as far as the ring of hist_len
     * steps allows (the driver keeps memory + 1 steps, or the whole run). */
    uint32_t m = c->hist_len - extra;
    if (c->opts->memory && c->opts->memory < m) m = (uint32_t)c->opts->memory;
    s->count = bd_ir_let(s->k, bd_ir_binary(s->k, BD_IR_MIN, c->step, u32c(s->k, m)));
    return BD_OK;
}

static void fde_free(fde_step *s)
{
    free(s->f);
    free(s->acc);
}

/* The stored state of variable v, j steps before this one (0 <= j < hist_len): ring slot
 * (step + hist_len - j) mod hist_len, which never goes through a negative number. */
static bd_ir_val ring_back(fde_step *s, int v, bd_ir_val j)
{
    bd_step_ctx *c = s->c;
    bd_ir *k = s->k;
    bd_ir_val L = u32c(k, c->hist_len);
    bd_ir_val slot = bd_ir_binary(k, BD_IR_MOD, sub(k, add(k, c->step, L), j), L);
    bd_ir_val row = add(k, u32c(k, (double)v * c->hist_len), slot);
    return bd_ir_load(k, c->hist_slot, add(k, mul(k, row, c->n), c->elem));
}

static bd_ir_val initial(fde_step *s, int v)
{
    bd_step_ctx *c = s->c;
    bd_ir_val idx = add(s->k, mul(s->k, u32c(s->k, v), c->n), c->elem);
    return bd_ir_let(s->k, bd_ir_load(s->k, c->init_slot, idx));
}

static void fde_commit(fde_step *s, const bd_ir_val *xn)
{
    bd_step_ctx *c = s->c;
    for (int v = 0; v < c->nstate; v++)
        bd_ir_assign(s->k, c->x[v], xn[v]);
    bd_ir_assign(s->k, c->time, add(s->k, c->time, c->dt));
}

/* --- L1 (BrainPy CaputoL1Schema) ---------------------------------------------------------------- */

/* The L1 discretisation of the Caputo derivative at t_{k+1}, set equal to f at t_k (explicit):
 *   x_{k+1} = x_k + Gamma(2 - alpha) dt^alpha f(x_k, t_k) - sum_{j=1}^{k} b_j (x_{k+1-j} - x_{k-j}),
 *   b_j = (j + 1)^(1 - alpha) - j^(1 - alpha),
 * with b_j computed as j^beta expm1(beta log1p(1/j)), beta = 1 - alpha, which does not cancel for
 * large j (the plain difference loses about log10(j) digits, too many in f32). */
static bd_status emit_l1(bd_step_ctx *c)
{
    fde_step s;
    bd_status st = fde_begin(&s, c, "l1", 1);
    if (st) return st;
    bd_ir *k = s.k;
    bd_dtype t = c->t;
    double beta = 1.0 - s.alpha;
    bd_ir_val *prev = malloc(sizeof *prev * (size_t)(c->nstate + 1));
    bd_ir_val *xn = malloc(sizeof *xn * (size_t)(c->nstate + 1));
    if (!prev || !xn) {
        st = bd_fail(BD_ERR_NOMEM, "l1: out of memory");
        goto out;
    }
    for (int v = 0; v < c->nstate; v++)
        prev[v] = bd_ir_var(k, c->x[v]);
    bd_ir_val jj = bd_ir_for(k, s.count);
    {
        bd_ir_val j = add(k, jj, u32c(k, 1));
        bd_ir_val jf = bd_ir_let(k, bd_ir_cast(k, t, j));
        bd_ir_val bc = bd_step_const(c, beta);
        bd_ir_val b = bd_ir_let(
            k,
            mul(k, bd_ir_binary(k, BD_IR_POW, jf, bc),
                bd_ir_unary(
                    k, BD_IR_EXPM1,
                    mul(k, bc, bd_ir_unary(k, BD_IR_LOG1P, bd_ir_binary(k, BD_IR_DIV, bd_step_const(c, 1.0), jf))))));
        for (int v = 0; v < c->nstate; v++) {
            bd_ir_val cur = bd_ir_let(k, ring_back(&s, v, j));
            bd_ir_assign(k, s.acc[v], add(k, s.acc[v], mul(k, b, sub(k, prev[v], cur))));
            bd_ir_assign(k, prev[v], cur);
        }
    }
    bd_ir_end(k);
    bd_ir_val scale = bd_ir_let(k, mul(k, bd_step_const(c, tgamma(2.0 - s.alpha)),
                                       bd_ir_binary(k, BD_IR_POW, c->dt, bd_step_const(c, s.alpha))));
    for (int v = 0; v < c->nstate; v++)
        xn[v] = bd_ir_let(k, sub(k, add(k, c->x[v], mul(k, scale, s.f[v])), s.acc[v]));
    fde_commit(&s, xn);
out:
    free(prev);
    free(xn);
    fde_free(&s);
    return st;
}

/* --- Grünwald–Letnikov, short memory (BrainPy GLShortMemory) ------------------------------------- */

/* GL applied to y = x - x(t0), whose Riemann–Liouville derivative is the Caputo derivative of x
 * (BrainPy applies it to x itself, which solves the Riemann–Liouville problem instead):
 *   y_{k+1} = dt^alpha f(x_k, t_k) - sum_{j=1}^{min(k, M)} c_j y_{k+1-j},
 *   c_0 = 1, c_j = (1 - (1 + alpha) / j) c_{j-1}
 * (the j = k + 1 term is c_{k+1} y_0 = 0). */
static bd_status emit_gl(bd_step_ctx *c)
{
    fde_step s;
    bd_status st = fde_begin(&s, c, "gl", 0);
    if (st) return st;
    bd_ir *k = s.k;
    bd_ir_val *x0 = malloc(sizeof *x0 * (size_t)(c->nstate + 1));
    bd_ir_val *xn = malloc(sizeof *xn * (size_t)(c->nstate + 1));
    if (!x0 || !xn) {
        st = bd_fail(BD_ERR_NOMEM, "gl: out of memory");
        goto out;
    }
    for (int v = 0; v < c->nstate; v++)
        x0[v] = initial(&s, v);
    bd_ir_val coef = bd_ir_var(k, bd_step_const(c, 1.0));
    bd_ir_val jj = bd_ir_for(k, s.count);
    {
        bd_ir_val j = add(k, jj, u32c(k, 1));
        bd_ir_val jf = bd_ir_cast(k, c->t, j);
        bd_ir_val r = sub(k, bd_step_const(c, 1.0), bd_ir_binary(k, BD_IR_DIV, bd_step_const(c, 1.0 + s.alpha), jf));
        bd_ir_assign(k, coef, mul(k, coef, r));
        /* y_{k+1-j} is the state j - 1 steps back: the current state for j = 1, else the ring */
        for (int v = 0; v < c->nstate; v++) {
            bd_ir_val past = bd_ir_select(k, bd_ir_binary(k, BD_IR_EQ, jj, u32c(k, 0)), c->x[v], ring_back(&s, v, jj));
            bd_ir_assign(k, s.acc[v], add(k, s.acc[v], mul(k, coef, sub(k, past, x0[v]))));
        }
    }
    bd_ir_end(k);
    bd_ir_val scale = bd_ir_let(k, bd_ir_binary(k, BD_IR_POW, c->dt, bd_step_const(c, s.alpha)));
    for (int v = 0; v < c->nstate; v++)
        xn[v] = bd_ir_let(k, sub(k, add(k, x0[v], mul(k, scale, s.f[v])), s.acc[v]));
    fde_commit(&s, xn);
out:
    free(x0);
    free(xn);
    fde_free(&s);
    return st;
}

const bd_method bd_methods_fde[] = {
    {"l1", BD_METHOD_FDE, 1.0, "Caputo L1 scheme, explicit (BrainPy CaputoL1Schema); alpha, memory", emit_l1},
    {"gl", BD_METHOD_FDE, 1.0,
     "Grünwald–Letnikov with short memory on x - x0, Caputo (BrainPy GLShortMemory); alpha, memory", emit_gl},
    {0},
};
