/* Projections with kernels of their own (docs/runner.md "Projections"): events scaled per presynaptic
 * neuron (short-term plasticity), events whose weights change (STDP), continuous couplings (gap junctions,
 * align-pre synapses, rate networks) and all2all projections with one weight, where a sum over the
 * presynaptic population replaces the matrix (O(n_pre + n_post) per step instead of O(n_pre * n_post)).
 *
 * Every kernel runs per postsynaptic element and loops over its incoming synapses (the transposed CSR of
 * runner_conn.c), so each element sums in a fixed order: results are deterministic and the same on
 * every device. A coupling with a delay first records its source into a ring (one slot per step). */
#include "runner_impl.h"
#include "integrate_driver.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_RECORD, K_SUM, K_MAIN };

static bd_ir_val u32c(bd_ir *k, double v) { return bd_ir_const(k, BD_U32, v); }
static bd_ir_val add(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_ADD, a, b); }
static bd_ir_val mul(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_MUL, a, b); }


static int fed_index(const run_pop *p, int sym)
{
    for (int f = 0; f < p->nfed; f++)
        if (p->fed_sym[f] == sym) return f;
    return -1;
}

/* 1 if e (expanding algebraic definitions) uses a fed parameter of p. */
static int uses_fed(const run_pop *p, const bd_expr *e)
{
    if (!e) return 0;
    if (e->kind == BD_EX_SYM) {
        const bd_symbol *y = &p->eqs->syms[e->sym];
        if (fed_index(p, e->sym) >= 0) return 1;
        if (y->kind == BD_SYM_ALGEBRAIC) return uses_fed(p, y->def);
    }
    for (int a = 0; a < 3; a++)
        if (uses_fed(p, e->arg[a])) return 1;
    return 0;
}

/* The buffers one kernel reads, in slot order, and where each comes from. */
typedef struct kbuild {
    bd_ir *k;
    bd_run *r;
    int b_state[2], b_par[2]; /* 0: pre, 1: post; -1 = not used */
    int pops[2];
} kbuild;

/* The value of symbol `sym` of population side s (0 pre, 1 post) at element `el`. */
static bd_status side_value(kbuild *b, int s, int sym, bd_ir_val el, bd_ir_val time, bd_ir_val *out)
{
    bd_run *r = b->r;
    bd_ir *k = b->k;
    const run_pop *p = &r->pops[b->pops[s]];
    const bd_net_pop *np = &r->net->pops[b->pops[s]];
    const bd_eqs *e = p->eqs;
    bd_ir_val nn = u32c(k, (double)p->n);
    int v = run_state_index(e, sym);
    if (v >= 0) {
        *out = bd_ir_let(k, bd_ir_load(k, b->b_state[s], add(k, mul(k, u32c(k, v), nn), el)));
        return BD_OK;
    }
    if (uses_fed(p, e->syms[sym].kind == BD_SYM_ALGEBRAIC ? e->syms[sym].def : NULL) || fed_index(p, sym) >= 0)
        return bd_fail(BD_ERR_UNSUPPORTED, "population '%s': '%s' depends on a coupled input; a projection's source must "
                       "depend on state and parameters only", p->path, e->syms[sym].name);
    bd_ir_val *vals = malloc((size_t)e->nsyms * sizeof *vals), *x = malloc(((size_t)e->nodes + 1) * sizeof *x);
    if (!vals || !x) return free(vals), free(x), bd_fail(BD_ERR_NOMEM, "out of memory building a projection kernel");
    for (int j = 0; j < e->nsyms; j++) {
        vals[j] = -1;
        if (e->syms[j].kind != BD_SYM_PARAM && e->syms[j].kind != BD_SYM_CONST) continue;
        const bd_dist *d = np->param_init ? &np->param_init[j] : NULL;
        vals[j] = bd_ir_const(k, r->t, d && d->kind == BD_DIST_CONST && !isnan(d->a) ? d->a : e->syms[j].value);
    }
    for (int q = 0; q < p->npar; q++)
        vals[p->par[q]] = bd_ir_let(k, bd_ir_load(k, b->b_par[s], add(k, mul(k, u32c(k, q), nn), el)));
    for (int w = 0; w < e->nodes; w++) x[w] = bd_ir_let(k, bd_ir_load(k, b->b_state[s], add(k, mul(k, u32c(k, w), nn), el)));
    bd_step_ctx c = {.k = k, .t = r->t, .eqs = e, .nstate = e->nodes, .x = x, .time = time, .elem = el,
                     .sym_vals = vals, .hist_slot = -1, .init_slot = -1, .n = nn};
    bd_expr *sx = bd_ex_sym(sym);
    *out = sx ? bd_ir_let(k, bd_step_lower(&c, x, time, sx)) : -1;
    bd_ex_free(sx);
    free(vals), free(x);
    return *out >= 0 ? bd_ir_status(k) : bd_fail(BD_ERR_NOMEM, "out of memory building a projection kernel");
}

/* Declares the state (and parameter) buffers of side s. */
static void side_buffers(kbuild *b, int s, int writable)
{
    const run_pop *p = &b->r->pops[b->pops[s]];
    b->b_state[s] = bd_ir_buffer(b->k, b->r->t, writable);
    b->b_par[s] = p->npar ? bd_ir_buffer(b->k, b->r->t, 0) : -1;
}

/* Binds side `pop`'s buffers in the order side_buffers declared them. */
static void side_binds(const bd_run *r, int pop, bd_buffer **out, int *n)
{
    const run_pop *p = &r->pops[pop];
    out[(*n)++] = p->state;
    if (p->npar) out[(*n)++] = p->par_buf;
}

bd_status run_proj_plan(bd_run *r, int j)
{
    run_proj *pj = &r->projs[j];
    const bd_net_proj *np = pj->np;
    run_pop *post = &r->pops[np->post];
    int one_weight = np->weight.kind == BD_DIST_CONST;
    pj->own = np->coupling || np->scaled || np->plastic ||
              (np->conn == BD_CONN_ALL2ALL && one_weight && np->storage != BD_STORE_PROCEDURAL);
    pj->fast = pj->own && np->conn == BD_CONN_ALL2ALL && one_weight && !np->plastic && !np->delays;
    if (!np->coupling) return BD_OK;
    if (post->nfed == RUN_MAX_FED)
        return bd_fail(BD_ERR_LIMIT, "population '%s': more than %d coupling projections", post->path, RUN_MAX_FED);
    pj->fed_slot = post->nfed;
    post->fed_sym[post->nfed++] = np->fed;
    double d = floor(np->delay_ms / r->dt + 0.5);
    if (d > 1e6) return bd_fail(BD_ERR_LIMIT, "projection '%s': delay of %.0f steps is too long", np->path, d);
    pj->delay = (uint32_t)d;
    pj->hist_len = pj->delay ? pj->delay + 1 : 0;
    return BD_OK;
}

/* The per-presynaptic term of element `el`: the spike times the scale (events) or the source (couplings,
 * from the ring when delayed). Reads buffers b_spk, b_hist already declared. */
static bd_status pre_term(kbuild *b, const run_proj *pj, int b_spk, int b_hist, bd_ir_val hslot, bd_ir_val el,
                          bd_ir_val time, bd_ir_val *out)
{
    bd_ir *k = b->k;
    const bd_net_proj *np = pj->np;
    const run_pop *pre = &b->r->pops[np->pre];
    if (!np->coupling) {
        bd_ir_val spk = bd_ir_cast(k, b->r->t, bd_ir_load(k, b_spk, el));
        if (np->scaled)
            spk = mul(k, spk, bd_ir_load(k, b->b_state[0], add(k, u32c(k, (double)((size_t)np->scale_var * pre->n)), el)));
        *out = bd_ir_let(k, spk);
        return bd_ir_status(k);
    }
    if (pj->hist_len) {
        *out = bd_ir_let(k, bd_ir_load(k, b_hist, add(k, mul(k, hslot, u32c(k, (double)pre->n)), el)));
        return bd_ir_status(k);
    }
    return side_value(b, 0, np->src_sym, el, time, out);
}

/* Lowers a weight rule's new weight `def` with w and the traces of synapse (pre j, post i). */
static bd_ir_val rule_value(kbuild *b, const bd_net_plastic *pl, int def, bd_ir_val w, bd_ir_val j, bd_ir_val i,
                            bd_ir_val time)
{
    bd_ir *k = b->k;
    const bd_eqs *e = pl->rule;
    bd_ir_val *vals = malloc((size_t)e->nsyms * sizeof *vals); /* -1 on failure: the kernel's status says so */
    if (!vals) return -1;
    int n = e->nsyms;
    const run_pop *pre = &b->r->pops[b->pops[0]], *post = &b->r->pops[b->pops[1]];
    for (int s = 0; s < n; s++) {
        vals[s] = -1;
        if (s == pl->w) vals[s] = w;
        else if (pl->pre_var[s] >= 0)
            vals[s] = bd_ir_load(k, b->b_state[0], add(k, u32c(k, (double)((size_t)pl->pre_var[s] * pre->n)), j));
        else if (pl->post_var[s] >= 0)
            vals[s] = bd_ir_load(k, b->b_state[1], add(k, u32c(k, (double)((size_t)pl->post_var[s] * post->n)), i));
        else if (e->syms[s].kind == BD_SYM_PARAM || e->syms[s].kind == BD_SYM_CONST)
            vals[s] = bd_ir_const(k, b->r->t, e->syms[s].value);
    }
    bd_step_ctx c = {.k = k, .t = b->r->t, .eqs = e, .time = time, .elem = i, .sym_vals = vals, .hist_slot = -1,
                     .init_slot = -1};
    bd_expr *sx = bd_ex_sym(def);
    bd_ir_val v = sx ? bd_step_lower(&c, NULL, time, sx) : -1;
    bd_ex_free(sx);
    free(vals);
    return v;
}

/* Kernel K_RECORD (per pre element): ring[slot] = source. */
static bd_status build_record(bd_run *r, run_proj *pj, bd_ir *k)
{
    kbuild b = {k, r, {-1, -1}, {-1, -1}, {pj->np->pre, pj->np->post}};
    side_buffers(&b, 0, 0);
    int b_hist = bd_ir_buffer(k, r->t, 1), s_slot = bd_ir_scalar(k, BD_U32), s_step = bd_ir_scalar(k, BD_U32);
    bd_ir_val i = bd_ir_index(k), v;
    bd_ir_val time = bd_ir_let(k, mul(k, bd_ir_cast(k, r->t, bd_ir_param(k, s_step)), bd_ir_const(k, r->t, r->dt)));
    bd_status st = side_value(&b, 0, pj->np->src_sym, i, time, &v);
    if (st) return st;
    bd_ir_store(k, b_hist, add(k, mul(k, bd_ir_param(k, s_slot), u32c(k, (double)r->pops[pj->np->pre].n)), i), v);
    return bd_ir_status(k);
}

/* Kernel K_SUM (one element): sum over pre of the presynaptic term. */
static bd_status build_sum(bd_run *r, run_proj *pj, bd_ir *k)
{
    kbuild b = {k, r, {-1, -1}, {-1, -1}, {pj->np->pre, pj->np->post}};
    side_buffers(&b, 0, 0);
    int coupling = pj->np->coupling;
    int b_in = coupling ? (pj->hist_len ? bd_ir_buffer(k, r->t, 0) : -1) : bd_ir_buffer(k, BD_U32, 0);
    int b_sum = bd_ir_buffer(k, r->t, 1), s_slot = bd_ir_scalar(k, BD_U32), s_step = bd_ir_scalar(k, BD_U32);
    bd_ir_val time = bd_ir_let(k, mul(k, bd_ir_cast(k, r->t, bd_ir_param(k, s_step)), bd_ir_const(k, r->t, r->dt)));
    bd_ir_val acc = bd_ir_var(k, bd_ir_const(k, r->t, 0)), term;
    bd_ir_val j = bd_ir_for(k, u32c(k, (double)r->pops[pj->np->pre].n));
    bd_status st = pre_term(&b, pj, coupling ? -1 : b_in, coupling ? b_in : -1, bd_ir_param(k, s_slot), j, time, &term);
    if (st) return st;
    bd_ir_assign(k, acc, add(k, acc, term));
    bd_ir_end(k);
    bd_ir_store(k, b_sum, u32c(k, 0), acc);
    return bd_ir_status(k);
}

/* Kernel K_MAIN (per post element): delivery. */
static bd_status build_main(bd_run *r, run_proj *pj, bd_ir *k)
{
    const bd_net_proj *np = pj->np;
    const bd_net_plastic *pl = np->plastic;
    const run_pop *pre = &r->pops[np->pre];
    kbuild b = {k, r, {-1, -1}, {-1, -1}, {np->pre, np->post}};
    int coupling = np->coupling, self_pair = np->pre == np->post && !np->include_self;
    side_buffers(&b, 0, 0);
    if (pl || np->diffusive) side_buffers(&b, 1, 0);
    int b_spk = coupling ? -1 : bd_ir_buffer(k, BD_U32, 0);
    int b_hist = coupling && pj->hist_len ? bd_ir_buffer(k, r->t, 0) : -1;
    int b_out = bd_ir_buffer(k, r->t, 1);
    int b_rp = -1, b_ci = -1, b_val = -1, b_pspk = -1, b_sum = -1, b_del = -1;
    if (pj->fast) {
        b_sum = bd_ir_buffer(k, r->t, 0);
    } else {
        b_rp = bd_ir_buffer(k, BD_U32, 0), b_ci = bd_ir_buffer(k, BD_U32, 0);
        if (pj->values) b_val = bd_ir_buffer(k, r->t, pl != NULL);
        if (pl) b_pspk = bd_ir_buffer(k, BD_U32, 0);
        if (pj->delays) b_del = bd_ir_buffer(k, BD_U32, 0);
    }
    int s_slot = bd_ir_scalar(k, BD_U32), s_step = bd_ir_scalar(k, BD_U32);
    bd_ir_val i = bd_ir_index(k), hslot = bd_ir_param(k, s_slot);
    bd_ir_val time = bd_ir_let(k, mul(k, bd_ir_cast(k, r->t, bd_ir_param(k, s_step)), bd_ir_const(k, r->t, r->dt)));
    bd_ir_val w0 = bd_ir_const(k, r->t, np->weight.a);
    bd_ir_val acc = bd_ir_var(k, bd_ir_const(k, r->t, 0)), wsum = bd_ir_var(k, bd_ir_const(k, r->t, 0)), term;
    bd_status st = BD_OK;
    if (pj->fast) {
        bd_ir_val total = bd_ir_load(k, b_sum, u32c(k, 0));
        if (self_pair) { /* all2all without i -> i: take the element's own term out */
            if ((st = pre_term(&b, pj, b_spk, b_hist, hslot, i, time, &term))) return st;
            total = bd_ir_binary(k, BD_IR_SUB, total, term);
        }
        bd_ir_assign(k, acc, mul(k, w0, total));
        bd_ir_assign(k, wsum, mul(k, w0, bd_ir_const(k, r->t, (double)(pre->n - (size_t)self_pair))));
    } else {
        bd_ir_val lo = bd_ir_let(k, bd_ir_load(k, b_rp, i));
        bd_ir_val cnt = bd_ir_let(k, bd_ir_binary(k, BD_IR_SUB, bd_ir_load(k, b_rp, add(k, i, u32c(k, 1))), lo));
        bd_ir_val post_spiked = -1;
        if (pl) post_spiked = bd_ir_let(k, bd_ir_binary(k, BD_IR_NE, bd_ir_load(k, b_pspk, i), u32c(k, 0)));
        bd_ir_val q = bd_ir_for(k, cnt);
        bd_ir_val s = bd_ir_let(k, add(k, lo, q));
        bd_ir_val j = bd_ir_let(k, bd_ir_load(k, b_ci, s));
        bd_ir_val w = bd_ir_var(k, b_val >= 0 ? bd_ir_load(k, b_val, s) : w0);
        bd_ir_val slot = hslot;
        if (b_del >= 0) { /* this synapse's delay: ring slot (step - d) mod L */
            bd_ir_val L = u32c(k, pj->hist_len);
            slot = bd_ir_let(k, bd_ir_binary(k, BD_IR_MOD, bd_ir_binary(k, BD_IR_SUB, add(k, bd_ir_param(k, s_step), L),
                                                                         bd_ir_load(k, b_del, s)), L));
        }
        if ((st = pre_term(&b, pj, b_spk, b_hist, slot, j, time, &term))) return st;
        bd_ir_assign(k, acc, add(k, acc, mul(k, w, term)));
        bd_ir_assign(k, wsum, add(k, wsum, w));
        if (pl) {
            if (pl->on_pre >= 0) {
                bd_ir_if(k, bd_ir_binary(k, BD_IR_NE, bd_ir_load(k, b_spk, j), u32c(k, 0)));
                bd_ir_assign(k, w, rule_value(&b, pl, pl->on_pre, w, j, i, time));
                bd_ir_end(k);
            }
            if (pl->on_post >= 0) {
                bd_ir_if(k, post_spiked);
                bd_ir_assign(k, w, rule_value(&b, pl, pl->on_post, w, j, i, time));
                bd_ir_end(k);
            }
            bd_ir_store(k, b_val, s, w);
        }
        bd_ir_end(k);
    }
    if (!coupling) {
        bd_ir_store(k, b_out, i, add(k, bd_ir_load(k, b_out, i), acc));
    } else if (np->diffusive) {
        bd_ir_val own;
        if ((st = side_value(&b, 1, np->src_post, i, time, &own))) return st;
        bd_ir_store(k, b_out, i, bd_ir_binary(k, BD_IR_SUB, acc, mul(k, wsum, own)));
    } else {
        bd_ir_store(k, b_out, i, acc);
    }
    return bd_ir_status(k);
}

bd_status run_proj_build(bd_run *r, int j)
{
    run_proj *pj = &r->projs[j];
    const bd_net_proj *np = pj->np;
    if (!pj->own) return BD_OK;
    run_pop *post = &r->pops[np->post];
    const char *name = np->path;
    bd_status st = BD_OK;
    if (np->coupling)
        st = run_buffer(r, post->n * r->es, NULL, &post->fed[pj->fed_slot], "coupled input", name);
    if (np->delays) pj->hist_len = pj->delay + 1; /* the longest per-connection delay is known now */
    if (!st && pj->hist_len)
        st = run_buffer(r, (size_t)pj->hist_len * r->pops[np->pre].n * r->es, NULL, &pj->hist, "source ring", name);
    if (!st && pj->fast) st = run_buffer(r, r->es, NULL, &pj->sum, "sum", name);
    if (!st && np->plastic && !pj->values && pj->nnz) { /* plastic weights are stored even when they start equal */
        st = run_buffer(r, pj->nnz * r->es, NULL, &pj->values, "weight", name);
        double w = np->weight.a;
        float wf = (float)w;
        if (!st) st = bd_buffer_fill(pj->values, 0, pj->nnz * r->es, r->t == BD_F64 ? (const void *)&w : (const void *)&wf, r->es);
    }
    static const char *const what[] = {"record", "sum", "deliver"};
    for (int kk = 0; kk < 3 && !st; kk++) {
        if ((kk == K_RECORD && !pj->hist_len) || (kk == K_SUM && !pj->fast)) continue;
        char kname[48];
        snprintf(kname, sizeof kname, "proj%d_%s", j, what[kk]);
        if ((st = bd_ir_new(kname, &pj->ir[kk]))) break;
        st = kk == K_RECORD ? build_record(r, pj, pj->ir[kk]) : kk == K_SUM ? build_sum(r, pj, pj->ir[kk])
                                                                             : build_main(r, pj, pj->ir[kk]);
        if (!st) st = bd_kernel_compile(r->dev, pj->ir[kk], &pj->kern[kk]);
    }
    return st ? bd_fail_context(st, "projection '%s' on %s", name, r->info->name) : BD_OK;
}

static bd_value u32v(uint32_t v)
{
    bd_value x;
    memset(&x, 0, sizeof x);
    x.u32 = v;
    return x;
}

bd_status run_proj_queue(bd_run *r, int j, uint64_t s)
{
    run_proj *pj = &r->projs[j];
    const bd_net_proj *np = pj->np;
    run_pop *pre = &r->pops[np->pre], *post = &r->pops[np->post];
    bd_buffer *spk = np->coupling ? NULL : pre->ring[(s + pre->ring_len - pj->delay % pre->ring_len) % pre->ring_len];
    uint32_t wslot = pj->hist_len ? (uint32_t)(s % pj->hist_len) : 0;
    uint32_t rslot = pj->hist_len ? (uint32_t)((s + pj->hist_len - pj->delay) % pj->hist_len) : 0;
    bd_value sc[2] = {u32v(rslot), u32v((uint32_t)s)};
    bd_status st = BD_OK;
    bd_buffer *b[16];
    int n;
    if (pj->hist_len) {
        n = 0;
        side_binds(r, np->pre, b, &n);
        b[n++] = pj->hist;
        bd_value rs[2] = {u32v(wslot), u32v((uint32_t)s)};
        st = bd_kernel_launch(pj->kern[K_RECORD], pre->n, b, (size_t)n, rs, 2);
    }
    if (!st && pj->fast) {
        n = 0;
        side_binds(r, np->pre, b, &n);
        if (np->coupling && pj->hist_len) b[n++] = pj->hist;
        if (!np->coupling) b[n++] = spk;
        b[n++] = pj->sum;
        st = bd_kernel_launch(pj->kern[K_SUM], 1, b, (size_t)n, sc, 2);
    }
    if (!st) {
        n = 0;
        side_binds(r, np->pre, b, &n);
        if (np->plastic || np->diffusive) side_binds(r, np->post, b, &n);
        if (!np->coupling) b[n++] = spk;
        if (np->coupling && pj->hist_len) b[n++] = pj->hist;
        b[n++] = np->coupling ? post->fed[pj->fed_slot] : post->in[pj->input];
        if (pj->fast) {
            b[n++] = pj->sum;
        } else {
            b[n++] = pj->rowptr, b[n++] = pj->colidx;
            if (pj->values) b[n++] = pj->values;
            if (np->plastic) b[n++] = post->ring[(s + post->ring_len - 1) % post->ring_len];
            if (pj->delays) b[n++] = pj->delays;
        }
        st = bd_kernel_launch(pj->kern[K_MAIN], post->n, b, (size_t)n, sc, 2);
    }
    return st;
}

void run_proj_free(run_proj *pj)
{
    for (int kk = 0; kk < 3; kk++) bd_kernel_free(pj->kern[kk]), bd_ir_free(pj->ir[kk]);
    bd_buffer_free(pj->hist), bd_buffer_free(pj->sum), bd_buffer_free(pj->delays);
}

int run_proj_state(const bd_run *r, int j, bd_buffer **bufs, size_t *bytes)
{
    const run_proj *pj = &r->projs[j];
    int n = 0;
    if (pj->np->plastic && pj->values) bufs[n] = pj->values, bytes[n++] = pj->nnz * r->es;
    if (pj->hist) bufs[n] = pj->hist, bytes[n++] = (size_t)pj->hist_len * r->pops[pj->np->pre].n * r->es;
    return n;
}

bd_status bd_run_weights(const bd_run *r, const char *proj, double **w, int32_t **pre, int32_t **post, size_t *n)
{
    if (!r || !proj || !w || !pre || !post || !n) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_weights: NULL argument");
    *w = NULL, *pre = *post = NULL, *n = 0;
    int j = 0;
    while (j < r->net->nprojs && strcmp(r->projs[j].np->path, proj) != 0) j++;
    if (j == r->net->nprojs) return bd_fail(BD_ERR_NOT_FOUND, "bd_run_weights: no projection '%s'", proj);
    const run_proj *pj = &r->projs[j];
    if (pj->procedural) return bd_fail(BD_ERR_UNSUPPORTED, "bd_run_weights: projection '%s' is procedural", proj);
    size_t nnz = pj->nnz, npost = r->pops[pj->np->post].n;
    uint32_t *rp = malloc((npost + 1) * 4), *ci = malloc((nnz ? nnz : 1) * 4);
    void *v = malloc((nnz ? nnz : 1) * r->es);
    *w = malloc((nnz ? nnz : 1) * sizeof **w), *pre = malloc((nnz ? nnz : 1) * 4), *post = malloc((nnz ? nnz : 1) * 4);
    bd_status st = rp && ci && v && *w && *pre && *post ? BD_OK : bd_fail(BD_ERR_NOMEM, "bd_run_weights: out of memory");
    if (!st) st = bd_buffer_download(pj->rowptr, 0, rp, (npost + 1) * 4);
    if (!st && nnz) st = bd_buffer_download(pj->colidx, 0, ci, nnz * 4);
    if (!st && nnz && pj->values) st = bd_buffer_download(pj->values, 0, v, nnz * r->es);
    for (size_t i = 0; i < npost && !st; i++)
        for (uint32_t s = rp[i]; s < rp[i + 1]; s++) {
            (*pre)[s] = (int32_t)ci[s], (*post)[s] = (int32_t)i;
            (*w)[s] = !pj->values ? pj->np->weight.a : r->t == BD_F64 ? ((double *)v)[s] : ((float *)v)[s];
        }
    free(rp), free(ci), free(v);
    if (st) {
        free(*w), free(*pre), free(*post);
        *w = NULL, *pre = *post = NULL;
        return bd_fail_context(st, "bd_run_weights '%s'", proj);
    }
    *n = nnz;
    return BD_OK;
}
