/* Delay differential equations: the length of the history ring the driver keeps, and the lowering of a
 * delayed reference x(t - d) into a linear interpolation between the two stored steps around t - d.
 *
 * Linear interpolation is second-order accurate, so a DDE method's global order is min(p, 2) however
 * high the order p of the ODE method (docs/integrate.md). */
#include "integrate_impl.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct delay_scan {
    const bd_eqs *eqs;
    const double *vals;
    double dt, max;
    int line; /* statement line of the expression being scanned */
    bd_status st;
} delay_scan;

static bd_status refuse_delay(delay_scan *ds, const bd_expr *e, const char *why)
{
    const bd_eqs *eqs = ds->eqs;
    char *text = bd_ex_str(eqs, e->arg[0]);
    bd_status st = bd_fail(BD_ERR_MODEL, "%s:%d: delay of %s(t - %s): %s", eqs->source_name, ds->line,
                           eqs->syms[e->sym].name, text ? text : "?", why);
    free(text);
    return st;
}

/* Evaluates every delay in e and keeps the largest. */
static void scan(delay_scan *ds, const bd_expr *e)
{
    if (!e || ds->st) return;
    if (e->kind != BD_EX_DELAY) {
        for (int a = 0; a < e->nargs && a < 3; a++)
            scan(ds, e->arg[a]);
        return;
    }
    double d = bd_ex_eval(ds->eqs, e->arg[0], ds->vals, NULL, NULL);
    char why[256];
    if (!isfinite(d)) {
        ds->st = refuse_delay(ds, e,
                              "the delay must be a constant: numbers and parameters declared "
                              "(constant) with a value");
    } else if (d <= 0.0) {
        snprintf(why, sizeof why, "the delay is %g ms; it must be positive (write %s itself for no delay)", d,
                 ds->eqs->syms[e->sym].name);
        ds->st = refuse_delay(ds, e, why);
    } else if (d < ds->dt * (1.0 - 1e-12)) {
        snprintf(why, sizeof why,
                 "the delay is %g ms, shorter than the step dt = %g ms; the interpolation would need the "
                 "state of the step being computed (use dt <= the delay)",
                 d, ds->dt);
        ds->st = refuse_delay(ds, e, why);
    } else if (d > ds->max) {
        ds->max = d;
    }
}

/* Scans every expression of the equations with the symbol values in ds->vals. */
static void scan_all(delay_scan *ds)
{
    const bd_eqs *eqs = ds->eqs;
    for (int v = 0; v < eqs->nodes; v++) {
        ds->line = eqs->odes[v].line;
        scan(ds, eqs->odes[v].drift);
        for (int t = 0; t < eqs->odes[v].nnoise; t++)
            scan(ds, eqs->odes[v].noise[t]);
    }
    for (int s = 0; s < eqs->nsyms; s++)
        if (eqs->syms[s].kind == BD_SYM_ALGEBRAIC) {
            ds->line = eqs->syms[s].line;
            scan(ds, eqs->syms[s].def);
        }
}

bd_status bd_dde_ring_len(const bd_system *sys, size_t n, double dt, uint32_t *len)
{
    const bd_eqs *eqs = sys->eqs;
    *len = 0;
    if (!(dt > 0.0)) return bd_fail(BD_ERR_INVALID_ARG, "delays: the step dt must be positive (got %g)", dt);
    double *vals = malloc(sizeof *vals * (size_t)(eqs->nsyms + 1));
    if (!vals) return bd_fail(BD_ERR_NOMEM, "delays: out of memory");
    /* Only numbers, parameters and constants may set a delay: everything else is NaN and refused. */
    int per_element = 0;
    for (int s = 0; s < eqs->nsyms; s++) {
        bd_sym_kind kind = eqs->syms[s].kind;
        vals[s] = kind == BD_SYM_CONST || kind == BD_SYM_PARAM ? eqs->syms[s].value : NAN;
        per_element |= sys->param_array[s] != NULL;
    }
    delay_scan ds = {.eqs = eqs, .vals = vals, .dt = dt};
    /* With per-element parameters every element's delays are checked, and the ring covers the longest. */
    for (size_t e = 0; e < (per_element ? n : 1) && !ds.st; e++) {
        for (int s = 0; s < eqs->nsyms; s++)
            if (sys->param_array[s]) vals[s] = sys->param_array[s][e];
        scan_all(&ds);
    }
    free(vals);
    if (ds.st) return ds.st;
    if (ds.max == 0.0) return BD_OK;
    /* Slots from floor(step - d/dt) to step, plus one for rounding in d/dt. */
    double steps = ceil(ds.max / dt * (1.0 - 1e-12)) + 2.0;
    if (steps > 1e8)
        return bd_fail(BD_ERR_LIMIT, "delays: the longest delay (%g ms) needs %.0f history steps at dt = %g ms", ds.max,
                       steps, dt);
    *len = (uint32_t)steps;
    return BD_OK;
}

/* x(t_stage - d), with t_stage in env->vals[0]: the fractional step offset r = (t_stage - d - time) / dt
 * relative to the step's start (computed from differences so that it keeps its precision late in a run)
 * is split into floor and fraction, and the ring slots step + floor and step + floor + 1 are blended.
 * The floor is kept <= -1 so that both slots hold stored steps, and >= -(hist_len - 2) so that neither
 * has been overwritten; the fraction is clamped to [0, 1] (constant extrapolation beyond). */
bd_ir_val bd_dde_lower_delay(bd_lower_env *env, int sym, bd_ir_val delay_ms)
{
    bd_step_ctx *c = env->user;
    bd_ir *k = env->k;
    int v = 0;
    while (v < c->nstate && c->eqs->odes[v].sym != sym)
        v++;
    if (v == c->nstate || c->hist_slot < 0 || c->hist_len < 3) {
        bd_fail(BD_ERR_MODEL, "delay of %s: %s", c->eqs->syms[sym].name,
                v == c->nstate ? "only state variables can be delayed" : "no history ring for delays");
        return -1;
    }
    bd_dtype t = c->t;
    bd_ir_val tq = bd_ir_binary(k, BD_IR_SUB, bd_ir_binary(k, BD_IR_SUB, env->vals[0], delay_ms), c->time);
    bd_ir_val r = bd_ir_let(k, bd_ir_binary(k, BD_IR_DIV, tq, c->dt));
    bd_ir_val lo = bd_ir_const(k, t, -(double)(c->hist_len - 2)), hi = bd_ir_const(k, t, -1.0);
    bd_ir_val fl = bd_ir_let(k, bd_ir_clamp(k, bd_ir_unary(k, BD_IR_FLOOR, r), lo, hi));
    bd_ir_val frac =
        bd_ir_let(k, bd_ir_clamp(k, bd_ir_binary(k, BD_IR_SUB, r, fl), bd_ir_const(k, t, 0.0), bd_ir_const(k, t, 1.0)));
    /* slot of step + fl without negative integers: (step + L + fl) mod L, L + fl >= 2 */
    bd_ir_val L = bd_ir_const(k, BD_U32, (double)c->hist_len);
    bd_ir_val back = bd_ir_cast(k, BD_U32, bd_ir_binary(k, BD_IR_ADD, bd_ir_const(k, t, (double)c->hist_len), fl));
    bd_ir_val s0 = bd_ir_binary(k, BD_IR_ADD, c->step, back);
    bd_ir_val s1 = bd_ir_binary(k, BD_IR_ADD, s0, bd_ir_const(k, BD_U32, 1.0));
    bd_ir_val row = bd_ir_const(k, BD_U32, (double)v * c->hist_len);
    bd_ir_val x[2];
    bd_ir_val slots[2] = {s0, s1};
    for (int j = 0; j < 2; j++) {
        bd_ir_val slot = bd_ir_binary(k, BD_IR_ADD, row, bd_ir_binary(k, BD_IR_MOD, slots[j], L));
        bd_ir_val idx = bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MUL, slot, c->n), c->elem);
        x[j] = bd_ir_let(k, bd_ir_load(k, c->hist_slot, idx));
    }
    return bd_ir_let(
        k, bd_ir_binary(k, BD_IR_ADD, x[0], bd_ir_binary(k, BD_IR_MUL, frac, bd_ir_binary(k, BD_IR_SUB, x[1], x[0]))));
}
