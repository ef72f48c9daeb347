/* The fused population kernel of the runner: one launch per population and step adds the pending
 * synaptic input and the Poisson input, integrates the equations with the population's method (the
 * integrators' emitters, core/integrate_rk.c and _sde.c), holds `(unless refractory)` variables, tests
 * the threshold, applies the resets, writes the spike flag into the delay ring and the records, samples
 * the variable monitors and flags the first NaN or Inf of every element. */
#include "runner_impl.h"
#include "integrate_driver.h"
#include "error.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bd_ir_val u32c(bd_ir *k, double v) { return bd_ir_const(k, BD_U32, v); }
static bd_ir_val add(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_ADD, a, b); }
static bd_ir_val mul(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_MUL, a, b); }

/* Binomial(count, p) events of one Poisson input for this element and step. For a mean up to 24 the count
 * is the inverse CDF of one uniform against a table computed on the host (comparisons only, so every
 * device draws the same count); above, the normal approximation, rounded and clamped to [0, count]. */
static bd_ir_val poisson_count(bd_step_ctx *c, const bd_net_poisson *q, double dt_ms)
{
    bd_ir *k = c->k;
    double p = q->rate_hz * dt_ms * 1e-3, lambda = p * q->count;
    bd_ir_val ctr[4] = {c->elem, c->step, u32c(k, q->id), u32c(k, (double)((uint32_t)STREAM_POISSON << 24))};
    bd_ir_val key[2] = {c->key0, c->key1};
    if (lambda <= 24) {
        bd_ir_val u = bd_ir_let(k, bd_ir_rng(k, BD_RNG_UNIFORM, c->t, ctr, key, 0));
        bd_ir_val cnt = bd_ir_var(k, bd_step_const(c, 0));
        double logq = log1p(-p), pmf = exp((double)q->count * logq), cdf = 0;
        for (uint32_t j = 0; j < q->count; j++) {
            cdf += pmf;
            if (1 - cdf < 1e-12) break;
            bd_ir_assign(k, cnt, add(k, cnt, bd_ir_select(k, bd_ir_binary(k, BD_IR_GE, u, bd_step_const(c, cdf)),
                                                          bd_step_const(c, 1), bd_step_const(c, 0))));
            pmf *= (double)(q->count - j) / (j + 1) * p / (1 - p);
        }
        return cnt;
    }
    bd_ir_val z = bd_ir_let(k, bd_ir_rng(k, BD_RNG_NORMAL, c->t, ctr, key, 0));
    bd_ir_val x = add(k, bd_step_const(c, lambda), mul(k, bd_step_const(c, sqrt(lambda * (1 - p))), z));
    x = bd_ir_unary(k, BD_IR_FLOOR, add(k, x, bd_step_const(c, 0.5)));
    return bd_ir_let(k, bd_ir_clamp(k, x, bd_step_const(c, 0), bd_step_const(c, q->count)));
}

/* 1 (true) when x is NaN or infinite: NaN fails every comparison. */
static bd_ir_val nonfinite(bd_ir *k, bd_dtype t, bd_ir_val x)
{
    double big = t == BD_F64 ? DBL_MAX : FLT_MAX;
    return bd_ir_unary(k, BD_IR_NOT, bd_ir_binary(k, BD_IR_LE, bd_ir_unary(k, BD_IR_ABS, x), bd_ir_const(k, t, big)));
}


/* The body after the slots are declared: everything for element i of one step. */
static bd_status build_body(bd_run *r, int pi, bd_ir *k, bd_ir_val *x, bd_ir_val *vals, int monitors)
{
    run_pop *p = &r->pops[pi];
    const bd_net_pop *np = &r->net->pops[pi];
    const bd_eqs *e = p->eqs;
    bd_dtype t = r->t;
    bd_ir_val i = bd_ir_index(k), nn = bd_ir_param(k, p->s_n);
    bd_ir_val step = bd_ir_param(k, p->s_step);
    /* constants and shared parameters are literals of the kernel; per-element parameters rows of a buffer */
    for (int j = 0; j < e->nsyms; j++) vals[j] = -1;
    for (int j = 0; j < e->nsyms; j++)
        if (e->syms[j].kind == BD_SYM_PARAM || e->syms[j].kind == BD_SYM_CONST) {
            const bd_dist *d = np->param_init ? &np->param_init[j] : NULL;
            double v = d && d->kind == BD_DIST_CONST && !isnan(d->a) ? d->a : e->syms[j].value;
            vals[j] = bd_ir_const(k, t, v);
        }
    for (int q = 0; q < p->npar; q++)
        vals[p->par[q]] = bd_ir_let(k, bd_ir_load(k, p->b_par, add(k, mul(k, u32c(k, q), nn), i)));
    for (int f = 0; f < p->nfed; f++) vals[p->fed_sym[f]] = bd_ir_let(k, bd_ir_load(k, p->b_fed[f], i));
    run_table_emit(r, pi, k, vals); /* NPY inputs and spike times: this step's row of the table */
    for (int v = 0; v < p->nstate; v++) {
        int j = run_direct_input(p, v);
        x[v] = bd_ir_var(k, j >= 0 ? bd_ir_load(k, p->b_in[j], i) : bd_ir_load(k, p->b_state, add(k, mul(k, u32c(k, v), nn), i)));
    }

    bd_integrate_opts opts;
    bd_integrate_opts_init(&opts);
    opts.method = p->method->name;
    opts.dt = r->dt;
    opts.precision = t;
    opts.alpha = p->fde ? p->alpha : 1;
    opts.memory = p->memory;
    bd_ir_val key0 = bd_ir_param(k, p->s_key0), key1 = bd_ir_param(k, p->s_key1);
    bd_step_ctx c = {
        .k = k, .t = t, .eqs = e, .method = p->method, .opts = &opts, .nstate = p->nstate, .x = x,
        .dt = bd_ir_const(k, t, r->dt), .step = step, .elem = i, .key0 = key0, .sym_vals = vals,
        .hist_slot = p->hist_len ? p->b_hist : -1, .hist_len = p->hist_len, .init_slot = p->fde ? p->b_init : -1, .n = nn,
        /* the equations' noise has its own key per population: counter word 3 stays 0 for it */
        .key1 = bd_ir_let(k, bd_ir_binary(k, BD_IR_BXOR, key1, u32c(k, (double)(((uint32_t)STREAM_NOISE << 24) | (uint32_t)pi)))),
    };
    c.time = bd_ir_var(k, mul(k, bd_ir_cast(k, t, step), c.dt));

    /* pending synaptic input: added to its target, then consumed (a direct target holds it already) */
    for (int j = 0; j < p->ntargets; j++) {
        if (p->direct[j]) continue;
        int v = run_state_index(e, p->target_sym[j]);
        bd_ir_assign(k, x[v], add(k, x[v], bd_ir_load(k, p->b_in[j], i)));
        bd_ir_store(k, p->b_in[j], i, bd_ir_const(k, t, 0));
    }
    /* Poisson input: a key of its own (counter word 3 carries the stream), the step and element counters */
    bd_ir_val nkey1 = c.key1;
    c.key1 = key1;
    for (int q = 0; q < p->npoisson; q++) {
        const bd_net_poisson *pq = &r->net->poisson[p->poisson[q]];
        int v = run_state_index(e, pq->target);
        bd_ir_val cnt = poisson_count(&c, pq, r->dt);
        bd_ir_assign(k, x[v], add(k, x[v], mul(k, bd_ir_const(k, t, pq->weight), cnt)));
    }
    c.key1 = nkey1;

    /* refractory: a countdown of steps, or a condition on the state, or both */
    /* The history ring holds the state at the start of every step, after the pending input (and, through the
     * previous step's store, every reset): so the fractional memory and the delayed values x(t - d) see the
     * trajectory the population actually followed, jumps included. Slot step % hist_len; the emitters read
     * older slots only (DDE: step - hist_len + 2 .. step; FDE: step - hist_len + 1 .. step - 1). */
    if (p->hist_len) {
        bd_ir_val slot = bd_ir_let(k, bd_ir_binary(k, BD_IR_MOD, step, u32c(k, p->hist_len)));
        for (int v = 0; v < p->nstate; v++) {
            bd_ir_val row = add(k, u32c(k, (double)v * p->hist_len), slot);
            bd_ir_store(k, p->b_hist, add(k, mul(k, row, nn), i), x[v]);
        }
    }

    bd_ir_val refr_now = bd_ir_const(k, BD_BOOL, 0), rcount = -1;
    if (p->refractory) {
        rcount = bd_ir_let(k, bd_ir_load(k, p->b_refr, i));
        refr_now = bd_ir_binary(k, BD_IR_GT, rcount, bd_ir_const(k, BD_I32, 0));
    }
    if (np->refractory_cond) {
        bd_ir_val cond = bd_step_lower(&c, x, c.time, np->refractory_cond);
        refr_now = bd_ir_binary(k, BD_IR_OR, refr_now, bd_ir_binary(k, BD_IR_NE, cond, bd_ir_const(k, t, 0)));
    }
    bd_ir_val refr = bd_ir_let(k, refr_now);
    bd_ir_val *held = malloc((size_t)p->nstate * sizeof *held);
    if (!held) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory building the kernel", p->path);
    for (int v = 0; v < p->nstate; v++) held[v] = e->odes[v].unless_refractory ? bd_ir_let(k, x[v]) : -1;

    bd_status st = p->method->emit(&c);
    if (st) {
        free(held);
        return bd_fail_context(st, "population '%s' (method %s)", p->path, p->method->name);
    }
    for (int v = 0; v < p->nstate; v++)
        if (held[v] >= 0) bd_ir_assign(k, x[v], bd_ir_select(k, refr, held[v], x[v]));
    free(held);

    bd_ir_val spk = bd_ir_var(k, u32c(k, 0));
    if (np->threshold) {
        bd_ir_val thr = bd_step_lower(&c, x, c.time, np->threshold);
        bd_ir_val fire = bd_ir_let(k, bd_ir_binary(k, BD_IR_AND, bd_ir_binary(k, BD_IR_NE, thr, bd_ir_const(k, t, 0)),
                                                   bd_ir_unary(k, BD_IR_NOT, refr)));
        bd_ir_if(k, fire);
        bd_ir_assign(k, spk, u32c(k, 1));
        if (!r->lists) bd_ir_store(k, p->b_cnt, i, add(k, bd_ir_load(k, p->b_cnt, i), u32c(k, 1)));
        /* resets in their order, each seeing the ones before it (as Brian2 and BrainPy) */
        for (int j = 0; j < np->nreset; j++) {
            int v = run_state_index(e, np->reset[j].sym);
            bd_ir_assign(k, x[v], bd_step_lower(&c, x, c.time, np->reset[j].value));
        }
        bd_ir_end(k);
    }
    if (p->refractory) {
        bd_ir_val dec = bd_ir_binary(k, BD_IR_MAX, bd_ir_binary(k, BD_IR_SUB, rcount, bd_ir_const(k, BD_I32, 1)),
                                     bd_ir_const(k, BD_I32, 0));
        bd_ir_store(k, p->b_refr, i,
                    bd_ir_select(k, bd_ir_binary(k, BD_IR_NE, spk, u32c(k, 0)), bd_ir_const(k, BD_I32, p->nref), dec));
    }
    for (int v = 0; v < p->nstate; v++) {
        int j = run_direct_input(p, v);
        if (j >= 0) bd_ir_store(k, p->b_in[j], i, x[v]);
        else bd_ir_store(k, p->b_state, add(k, mul(k, u32c(k, v), nn), i), x[v]);
    }
    bd_ir_val row = bd_ir_param(k, p->s_row);
    if (p->rec_rows) bd_ir_store(k, p->b_rec, add(k, mul(k, row, nn), i), spk);

    /* variable monitors: monitor j samples when bit j of `due` is set, into its columns of the row */
    if (p->nvm && monitors) {
        bd_ir_val due = bd_ir_param(k, p->s_due);
        for (int j = 0; j < p->nvm; j++) {
            const bd_net_monitor *nm = &r->net->monitors[p->vm[j]];
            bd_ir_if(k, bd_ir_binary(k, BD_IR_NE, bd_ir_binary(k, BD_IR_BAND, due, u32c(k, (double)(1u << j))), u32c(k, 0)));
            bd_ir_val col = bd_ir_let(k, bd_ir_load(k, p->b_vmap, add(k, mul(k, u32c(k, j), nn), i)));
            bd_ir_if(k, bd_ir_binary(k, BD_IR_NE, col, u32c(k, 0)));
            int v = run_state_index(e, nm->sym);
            bd_ir_val val = -1;
            if (v >= 0) {
                val = x[v];
            } else {
                bd_expr *s = bd_ex_sym(nm->sym);
                if (!s) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory building the kernel", p->path);
                val = bd_step_lower(&c, x, c.time, s);
                bd_ex_free(s);
            }
            bd_ir_val at = add(k, add(k, mul(k, row, u32c(k, (double)p->vm_cols)), u32c(k, (double)p->vm_col[j])),
                               bd_ir_binary(k, BD_IR_SUB, col, u32c(k, 1)));
            bd_ir_store(k, p->b_vrec, at, val);
            bd_ir_end(k);
            bd_ir_end(k);
        }
    }

    /* The cpu counts the spikes and finds the first non-finite state from the list it compacts after every
     * step (runner.c, list_spikes): bit 1 of the flag marks an element with a NaN or Inf. A conditional
     * store per element into counters and NaN records cost the kernel a fifth of its time. */
    if (r->lists) {
        /* bitwise ORs of selects: a chain of || is control flow, which leaves the loop scalar */
        bd_ir_val flag = spk;
        for (int v = 0; v < p->nstate; v++)
            flag = bd_ir_binary(k, BD_IR_BOR, flag, bd_ir_select(k, nonfinite(k, t, x[v]), u32c(k, 2), u32c(k, 0)));
        bd_ir_store(k, p->b_spike, i, flag);
        return bd_ir_status(k);
    }
    bd_ir_store(k, p->b_spike, i, spk);
    /* the first non-finite state of each element: step + 1 and the variable (0 = none so far) */
    /* a min over two-way selects rather than one chain of selects: gcc does not if-convert (and so does
     * not vectorise) the many-way join such a chain becomes */
    bd_ir_val which = u32c(k, p->nstate);
    for (int v = p->nstate - 1; v >= 0; v--)
        which = bd_ir_binary(k, BD_IR_MIN, which, bd_ir_select(k, nonfinite(k, t, x[v]), u32c(k, v), u32c(k, p->nstate)));
    which = bd_ir_let(k, which);
    bd_ir_if(k, bd_ir_binary(k, BD_IR_AND, bd_ir_binary(k, BD_IR_NE, which, u32c(k, p->nstate)),
                             bd_ir_binary(k, BD_IR_EQ, bd_ir_load(k, p->b_bad, i), u32c(k, 0))));
    bd_ir_store(k, p->b_bad, i, add(k, step, u32c(k, 1)));
    bd_ir_store(k, p->b_bad, add(k, nn, i), which);
    bd_ir_end(k);
    return bd_ir_status(k);
}

/* The value of a parameter that must be one number for the whole population (a kernel literal): 1 and *out,
 * 0 when the equations do not declare it; an error when it varies per element or a coupling writes it. */
static bd_status shared_param(bd_run *r, int pi, const char *name, const char *why, int *found, double *out)
{
    run_pop *p = &r->pops[pi];
    const bd_net_pop *np = &r->net->pops[pi];
    const bd_eqs *e = p->eqs;
    *found = 0;
    int j = bd_eqs_find(e, name);
    if (j < 0 || (e->syms[j].kind != BD_SYM_PARAM && e->syms[j].kind != BD_SYM_CONST)) return BD_OK;
    for (int q = 0; q < p->npar; q++)
        if (p->par[q] == j)
            return bd_fail(BD_ERR_MODEL, "population '%s': parameter '%s' (%s) must be one value for the whole "
                           "population, not drawn per element", p->path, name, why);
    for (int q = 0; q < r->net->nprojs; q++)
        if (r->net->projs[q].coupling && r->net->projs[q].post == pi && r->net->projs[q].fed == j)
            return bd_fail(BD_ERR_MODEL, "population '%s': parameter '%s' (%s) cannot be fed by a coupling projection",
                           p->path, name, why);
    const bd_dist *d = np->param_init ? &np->param_init[j] : NULL;
    *out = d && d->kind == BD_DIST_CONST && !isnan(d->a) ? d->a : e->syms[j].value;
    *found = 1;
    return BD_OK;
}

/* The ring length the delays x(t - d) of population pi need (bd_dde_ring_len), with the per-element
 * parameters drawn as run_pop_buffers draws them, so every element's delay is checked and covered. */
static bd_status delay_ring_len(bd_run *r, int pi, uint32_t *len)
{
    run_pop *p = &r->pops[pi];
    const bd_net_pop *np = &r->net->pops[pi];
    const bd_eqs *e = p->eqs;
    /* bd_dde_ring_len reads eqs and param_array only */
    bd_system sys = {.eqs = (bd_eqs *)e};
    sys.param_array = calloc((size_t)e->nsyms + 1, sizeof *sys.param_array);
    bd_status st = sys.param_array ? BD_OK : bd_fail(BD_ERR_NOMEM, "population '%s': out of memory", p->path);
    for (int q = 0; q < p->npar && !st; q++) {
        int j = p->par[q];
        const bd_dist *d = &np->param_init[j];
        if (d->kind == BD_DIST_FILE && d->nvalues != p->n) {
            st = bd_fail(BD_ERR_MODEL, "population '%s': %s has %zu values from its file, %zu expected", p->path,
                         e->syms[j].name, d->nvalues, p->n);
            break;
        }
        double *a = sys.param_array[j] = malloc(p->n * sizeof *a);
        if (!a) {
            st = bd_fail(BD_ERR_NOMEM, "population '%s': out of memory", p->path);
            break;
        }
        uint32_t stream = ((uint32_t)STREAM_PARAM << 24) | ((uint32_t)pi << 12) | (uint32_t)j;
        for (size_t el = 0; el < p->n; el++) a[el] = run_dist_value(r, d, stream, (uint32_t)el, 0);
    }
    if (!st) st = bd_dde_ring_len(&sys, p->n, r->dt, len);
    if (st) bd_fail_context(st, "population '%s' (%s line %d)", p->path, e->source_name, np->file_line);
    for (int j = 0; sys.param_array && j < e->nsyms; j++) free(sys.param_array[j]);
    free(sys.param_array);
    return st;
}

bd_status run_plan_history(bd_run *r, int pi, int delays)
{
    run_pop *p = &r->pops[pi];
    p->b_hist = p->b_init = -1;
    p->fde = p->method->kind == BD_METHOD_FDE;
    p->hist_len = 0;
    uint32_t len = 0;
    bd_status st = delays ? delay_ring_len(r, pi, &len) : BD_OK;
    if (st) return st;
    if (p->fde) {
        const char *mn = p->method->name;
        int found;
        double a = NAN, m = 1000; /* BrainPy's FractionalFHR default num_memory */
        if ((st = shared_param(r, pi, "alpha", "the fractional order", &found, &a))) return st;
        if (!found)
            return bd_fail(BD_ERR_MODEL, "population '%s': method '%s' is fractional; its order is the parameter "
                           "'alpha' (0 < alpha <= 1), which the equations do not declare", p->path, mn);
        if (!(a > 0 && a <= 1))
            return bd_fail(BD_ERR_MODEL, "population '%s': the fractional order alpha must be in (0, 1] (got %g)",
                           p->path, a);
        if ((st = shared_param(r, pi, "num_memory", "the fractional memory in steps", &found, &m))) return st;
        if (!(m >= 0 && m == floor(m) && m <= 1e8))
            return bd_fail(BD_ERR_MODEL, "population '%s': num_memory must be a whole number of steps from 0 (the whole "
                           "run) to 1e8 (got %g)", p->path, m);
        p->alpha = a;
        p->memory = (uint32_t)m;
        /* the memory's steps plus the current one (the L1 differences reach one step further) */
        uint64_t want = (p->memory ? (uint64_t)p->memory : r->total) + 1;
        if (want > 100000001u)
            return bd_fail(BD_ERR_LIMIT, "population '%s': a fractional memory of %llu steps is too long; set "
                           "num_memory", p->path, (unsigned long long)want - 1);
        if (want > len) len = (uint32_t)want;
        /* llvmpipe (lavapipe) stops an invocation after 65,535 loop iterations: one step loops over the memory */
        if (len > 60000 && strstr(r->info->description, "llvmpipe"))
            return bd_fail(BD_ERR_LIMIT, "population '%s' on %s (%s): a fractional memory of %u steps exceeds the "
                           "65,535 loop iterations llvmpipe allows one invocation; set a shorter num_memory or use "
                           "another device", p->path, r->info->name, r->info->description, len - 1);
    }
    double bytes = (double)len * p->nstate * p->n * r->es;
    if (len && bytes > (double)r->info->max_binding_bytes)
        return bd_fail(BD_ERR_LIMIT, "population '%s': the history ring of %u steps x %d variables x %zu elements "
                       "(%.0f bytes) exceeds the %llu bytes one kernel argument may bind on %s; shorten num_memory or "
                       "the delays", p->path, len, p->nstate, p->n, bytes,
                       (unsigned long long)r->info->max_binding_bytes, r->info->name);
    p->hist_len = len;
    return BD_OK;
}

bd_status run_build_kernel(bd_run *r, int pi, int monitors, bd_ir **out)
{
    run_pop *p = &r->pops[pi];
    bd_ir *k = NULL;
    char name[49];
    snprintf(name, sizeof name, "pop%d_%s%s", pi, p->method->name, monitors ? "" : "_quiet");
    bd_status st = bd_ir_new(name, &k);
    if (st) return bd_fail_context(st, "population '%s'", p->path);
    bd_dtype t = r->t;
    p->nbuf = p->nscal = 0;
#define BUF(slot, type, w) (p->slot = bd_ir_buffer(k, type, w), p->nbuf++)
    BUF(b_state, t, 1);
    BUF(b_spike, BD_U32, 1);
    BUF(b_bad, BD_U32, 1);
    BUF(b_cnt, BD_U32, 1);
    p->b_par = p->b_refr = p->b_rec = p->b_vrec = p->b_vmap = -1;
    if (p->npar) BUF(b_par, t, 0);
    if (p->refractory) BUF(b_refr, BD_I32, 1);
    if (p->rec_rows) BUF(b_rec, BD_U32, 1);
    for (int j = 0; j < p->ntargets; j++) BUF(b_in[j], t, 1);
    for (int j = 0; j < p->nfed; j++) BUF(b_fed[j], t, 0);
    if (!(st = run_table_plan(r, pi)) && p->ntab) BUF(b_tab, t, 0);
    if (p->nvm) {
        BUF(b_vrec, t, 1);
        BUF(b_vmap, BD_U32, 0);
    }
    p->b_hist = p->b_init = -1;
    if (p->hist_len) BUF(b_hist, t, 1);
    if (p->fde) BUF(b_init, t, 0);
#undef BUF
#define SCAL(slot, type) (p->slot = bd_ir_scalar(k, type), p->nscal++)
    SCAL(s_n, BD_U32);
    SCAL(s_step, BD_U32);
    SCAL(s_row, BD_U32);
    SCAL(s_due, BD_U32);
    SCAL(s_key0, BD_U32);
    SCAL(s_key1, BD_U32);
#undef SCAL
    const bd_eqs *e = p->eqs;
    bd_ir_val *vals = malloc((size_t)e->nsyms * sizeof *vals), *x = malloc(((size_t)p->nstate + 1) * sizeof *x);
    if (!vals || !x) st = bd_fail(BD_ERR_NOMEM, "population '%s': out of memory building the kernel", p->path);
    if (!st) st = build_body(r, pi, k, x, vals, monitors);
    free(vals), free(x);
    if (!st) st = bd_ir_status(k);
    if (st) {
        bd_ir_free(k);
        return bd_fail_context(st, "population '%s': building its kernel", p->path);
    }
    *out = k;
    return BD_OK;
}
