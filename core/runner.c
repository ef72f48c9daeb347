/* The network runner: lowers a resolved network (core/network.h) to a per-device step plan and runs it.
 * Per step: every projection pulls the spikes due now (emitted `delay` steps ago, from the presynaptic
 * ring of spike flags) into its post population's input buffer (bd_event_csr_pull, deterministic), then
 * every population runs its fused kernel (core/runner_kernel.c). Steps are queued a chunk at a time; after
 * each chunk the records and NaN flags are downloaded. Set-up: runner_conn.c; files: runner_out.c. */
#include "runner_impl.h"
#include "backend.h"
#include "error.h"
#include "ir_impl.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CHUNK 200u
#define RECORD_BYTES_MAX ((size_t)64 << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bd_run_opts_init(bd_run_opts *o)
{
    if (o) memset(o, 0, sizeof *o);
}

int run_state_index(const bd_eqs *e, int sym)
{
    for (int v = 0; v < e->nodes; v++)
        if (e->odes[v].sym == sym) return v;
    return -1;
}

int run_direct_input(const run_pop *p, int v)
{
    for (int j = 0; j < p->ntargets; j++)
        if (p->direct[j] && run_state_index(p->eqs, p->target_sym[j]) == v) return j;
    return -1;
}

static int expr_has_delay(const bd_expr *e)
{
    if (!e) return 0;
    if (e->kind == BD_EX_DELAY) return 1;
    for (int a = 0; a < 3; a++)
        if (expr_has_delay(e->arg[a])) return 1;
    return 0;
}

/* Population pi: method, parameters, refractoriness, Poisson inputs. */
static bd_status plan_pop(bd_run *r, int pi)
{
    const bd_network *net = r->net;
    const bd_net_pop *np = &net->pops[pi];
    run_pop *p = &r->pops[pi];
    p->path = np->path ? np->path : "?";
    p->n = np->size;
    p->eqs = np->eqs;
    const bd_eqs *e = np->eqs;
    if (!e) return bd_fail(BD_ERR_MODEL, "population '%s' has no equations", p->path);
    if (p->n == 0 || p->n > UINT32_MAX / 8) return bd_fail(BD_ERR_LIMIT, "population '%s': size %zu is out of range", p->path, p->n);
    int noisy = 0, delays = 0;
    for (int v = 0; v < e->nodes; v++) {
        noisy |= e->odes[v].nnoise > 0;
        delays |= expr_has_delay(e->odes[v].drift);
        for (int t = 0; t < e->odes[v].nnoise; t++) delays |= expr_has_delay(e->odes[v].noise[t]);
    }
    for (int j = 0; j < e->nsyms; j++) delays |= e->syms[j].kind == BD_SYM_ALGEBRAIC && expr_has_delay(e->syms[j].def);
    const char *mname = np->method[0] ? np->method : "exp_euler";
    if (noisy && strcmp(mname, "euler") == 0) mname = "euler_maruyama";
    p->method = bd_method_find(mname);
    if (!p->method) return bd_fail(BD_ERR_NOT_FOUND, "population '%s': unknown method '%s'", p->path, mname);
    if (p->method->kind == BD_METHOD_ADAPTIVE)
        return bd_fail(BD_ERR_UNSUPPORTED, "population '%s': method '%s' is adaptive; a network steps every population "
                       "with the fixed dt", p->path, mname);
    if (noisy && p->method->kind != BD_METHOD_SDE)
        return bd_fail(BD_ERR_MODEL, "population '%s': the equations have noise; '%s' is not an SDE method", p->path, mname);
    p->nstate = e->nodes;
    p->par = malloc(((size_t)e->nsyms + 1) * sizeof *p->par);
    if (!p->par) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory", p->path);
    for (int j = 0; j < e->nsyms; j++) {
        const bd_symbol *y = &e->syms[j];
        if (y->kind != BD_SYM_PARAM && y->kind != BD_SYM_CONST) continue;
        const bd_dist *d = np->param_init ? &np->param_init[j] : NULL;
        int fed = 0; /* written every step by a coupling projection */
        for (int q = 0; q < net->nprojs; q++) fed |= net->projs[q].coupling && net->projs[q].post == pi && net->projs[q].fed == j;
        if (fed) continue;
        if (d && d->kind != BD_DIST_CONST) {
            p->par[p->npar++] = j;
        } else if ((!d || isnan(d->a)) && isnan(y->value)) {
            return bd_fail(BD_ERR_MODEL, "population '%s': parameter '%s' (%s line %d) has no value", p->path, y->name,
                           e->source_name, y->line);
        }
    }
    /* delayed terms and fractional methods: the history ring (runner_kernel.c) */
    bd_status hst = run_plan_history(r, pi, delays);
    if (hst) return hst;
    if (np->refractory_ms < 0 || !isfinite(np->refractory_ms))
        return bd_fail(BD_ERR_MODEL, "population '%s': refractory period %g ms", p->path, np->refractory_ms);
    double nref = floor(np->refractory_ms / r->dt + 0.5);
    if (nref > INT32_MAX) return bd_fail(BD_ERR_LIMIT, "population '%s': refractory period too long", p->path);
    p->nref = (int32_t)nref;
    p->refractory = p->nref > 0;
    for (int j = 0; j < np->nreset; j++)
        if (run_state_index(e, np->reset[j].sym) < 0)
            return bd_fail(BD_ERR_MODEL, "population '%s': reset %d assigns '%s', which is not a state variable", p->path,
                           j + 1, e->syms[np->reset[j].sym].name);
    p->ring_len = 1;
    p->poisson = malloc(((size_t)net->npoisson + 1) * sizeof *p->poisson);
    if (!p->poisson) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory", p->path);
    for (int q = 0; q < net->npoisson; q++) {
        const bd_net_poisson *pq = &net->poisson[q];
        if (pq->pop != pi) continue;
        double prob = pq->rate_hz * r->dt * 1e-3;
        if (run_state_index(e, pq->target) < 0)
            return bd_fail(BD_ERR_MODEL, "Poisson input '%s': target is not a state variable of '%s'", pq->path, p->path);
        if (!(prob >= 0 && prob < 1))
            return bd_fail(BD_ERR_MODEL, "Poisson input '%s': rate %g Hz gives p = %g per step at dt = %g ms (must be < 1)",
                           pq->path, pq->rate_hz, prob, r->dt);
        if (pq->count && prob > 0) p->poisson[p->npoisson++] = q;
    }
    return BD_OK;
}

static bd_status plan_proj(bd_run *r, int j)
{
    const bd_net_proj *np = &r->net->projs[j];
    run_proj *pj = &r->projs[j];
    pj->np = np;
    const char *name = np->path ? np->path : "?";
    if (np->pre < 0 || np->pre >= r->net->npops || np->post < 0 || np->post >= r->net->npops)
        return bd_fail(BD_ERR_MODEL, "projection '%s': population index out of range", name);
    run_pop *post = &r->pops[np->post], *pre = &r->pops[np->pre];
    pj->input = -1;
    if (np->coupling) return run_proj_plan(r, j);
    if (run_state_index(post->eqs, np->target) < 0)
        return bd_fail(BD_ERR_MODEL, "projection '%s': target is not a state variable of '%s'", name, post->path);
    if (!(np->delay_ms >= 0) || !isfinite(np->delay_ms))
        return bd_fail(BD_ERR_MODEL, "projection '%s': delay %g ms", name, np->delay_ms);
    /* delay 0 arrives at the next step (Brian2, BrainPy): at least one step */
    double d = floor(np->delay_ms / r->dt + 0.5);
    if (d > 1e6) return bd_fail(BD_ERR_LIMIT, "projection '%s': delay of %.0f steps is too long", name, d);
    pj->delay = d < 1 ? 1 : (uint32_t)d;
    if (pj->delay > pre->ring_len) pre->ring_len = pj->delay;
    pj->input = -1;
    for (int t = 0; t < post->ntargets; t++)
        if (post->target_sym[t] == np->target) pj->input = t;
    if (pj->input < 0) {
        if (post->ntargets == RUN_MAX_TARGETS)
            return bd_fail(BD_ERR_LIMIT, "population '%s': projections target more than %d variables", post->path,
                           RUN_MAX_TARGETS);
        pj->input = post->ntargets;
        post->target_sym[post->ntargets++] = np->target;
    }
    pj->procedural = np->storage == BD_STORE_PROCEDURAL;
    if (pj->procedural && (np->scaled || np->plastic))
        return bd_fail(BD_ERR_UNSUPPORTED, "projection '%s': procedural storage cannot scale events or change weights", name);
    if (pj->procedural) {
        if (np->conn != BD_CONN_FIXED_PROB && np->conn != BD_CONN_FIXED_OUTDEGREE)
            return bd_fail(BD_ERR_UNSUPPORTED, "projection '%s': procedural storage needs fixed_prob or fixed_outdegree",
                           name);
        if (np->pre == np->post && !np->include_self)
            return bd_fail(BD_ERR_UNSUPPORTED, "projection '%s': procedural storage cannot exclude self-connections", name);
        if (np->weight.kind == BD_DIST_FILE)
            return bd_fail(BD_ERR_UNSUPPORTED, "projection '%s': procedural storage cannot take weights from a file", name);
        if (r->o.deterministic && r->info->backend != BD_BACKEND_CPU)
            return bd_fail(BD_ERR_UNSUPPORTED, "projection '%s': procedural rows are added with atomics on %s, in no "
                           "fixed order; deterministic mode needs \"storage\": \"csr\" there (or the cpu)", name,
                           r->info->name);
    }
    return run_proj_plan(r, j);
}

static bd_status plan_mon(bd_run *r, int m)
{
    const bd_net_monitor *nm = &r->net->monitors[m];
    run_mon *mo = &r->mons[m];
    mo->nm = nm;
    const char *name = nm->name ? nm->name : "?";
    if (nm->pop < 0 || nm->pop >= r->net->npops) return bd_fail(BD_ERR_MODEL, "monitor '%s': no such population", name);
    run_pop *p = &r->pops[nm->pop];
    if (nm->kind != BD_MON_VAR) {
        p->spike_rec = 1;
        return BD_OK;
    }
    const bd_eqs *e = p->eqs;
    if (nm->sym < 1 || nm->sym >= e->nsyms ||
        (e->syms[nm->sym].kind != BD_SYM_STATE && e->syms[nm->sym].kind != BD_SYM_ALGEBRAIC &&
         e->syms[nm->sym].kind != BD_SYM_PARAM))
        return bd_fail(BD_ERR_MODEL, "monitor '%s': not a state or algebraic variable of '%s'", name, p->path);
    if (p->nvm == RUN_MAX_VARMON)
        return bd_fail(BD_ERR_LIMIT, "population '%s': more than %d variable monitors", p->path, RUN_MAX_VARMON);
    mo->var_name = e->syms[nm->sym].name;
    mo->cols = nm->indices ? nm->nindices : p->n;
    mo->elements = malloc((mo->cols ? mo->cols : 1) * sizeof *mo->elements);
    char *seen = calloc(p->n, 1);
    if (!mo->elements || !seen) {
        free(seen);
        return bd_fail(BD_ERR_NOMEM, "monitor '%s': out of memory", name);
    }
    for (size_t c = 0; c < mo->cols; c++) {
        uint32_t el = nm->indices ? nm->indices[c] : (uint32_t)c;
        if (el >= p->n || seen[el]) {
            free(seen);
            return bd_fail(BD_ERR_MODEL, "monitor '%s': element %u %s", name, el,
                           el >= p->n ? "is outside the population" : "is listed twice");
        }
        seen[el] = 1;
        mo->elements[c] = el;
    }
    free(seen);
    double every = floor(nm->every_ms / r->dt + 0.5);
    mo->every = every < 1 ? 1 : every > 1e9 ? 1000000000u : (uint32_t)every;
    p->vm[p->nvm] = m;
    p->vm_col[p->nvm++] = p->vm_cols;
    p->vm_cols += mo->cols;
    return BD_OK;
}

static bd_status plan(bd_run *r)
{
    const bd_network *net = r->net;
    r->pops = calloc((size_t)net->npops + 1, sizeof *r->pops);
    r->projs = calloc((size_t)net->nprojs + 1, sizeof *r->projs);
    r->mons = calloc((size_t)net->nmonitors + 1, sizeof *r->mons);
    if (!r->pops || !r->projs || !r->mons) return bd_fail(BD_ERR_NOMEM, "bd_run_new: out of memory");
    bd_status st = BD_OK;
    for (int p = 0; p < net->npops && !st; p++) st = plan_pop(r, p);
    for (int j = 0; j < net->nprojs && !st; j++) st = plan_proj(r, j);
    for (int m = 0; m < net->nmonitors && !st; m++) st = plan_mon(r, m);
    if (st) return st;
    for (int p = 0; p < net->npops; p++) {
        int own = 0;
        for (int j = 0; j < net->nprojs; j++)
            own |= r->projs[j].own && (net->projs[j].pre == p || net->projs[j].post == p);
        for (int j = 0; j < r->pops[p].ntargets; j++) r->pops[p].direct[j] = !own;
    }
    /* The cpu compacts each population's spike flags once per step, for its projections and its monitors:
     * a scan per projection and one of the records cost as much as the small populations' kernels. */
    r->lists = r->info->backend == BD_BACKEND_CPU;
    for (int p = 0; p < net->npops; p++) r->pops[p].rec_rows = r->pops[p].spike_rec && !r->lists;
    /* the chunk: as asked, but the device-side records of one chunk stay under RECORD_BYTES_MAX */
    size_t per_step = 0;
    for (int p = 0; p < net->npops; p++)
        per_step += (r->pops[p].rec_rows ? r->pops[p].n * 4 : 0) + r->pops[p].vm_cols * r->es;
    /* the cpu reads its records in place: a short chunk keeps them in the cache between the kernel's writes
     * and the scan */
    uint32_t chunk = r->o.chunk_steps ? r->o.chunk_steps : r->info->backend == BD_BACKEND_CPU ? 20u : DEFAULT_CHUNK;
    if (per_step && chunk > RECORD_BYTES_MAX / per_step) chunk = (uint32_t)(RECORD_BYTES_MAX / per_step);
    r->chunk = chunk < 1 ? 1 : chunk;
    size_t host = 0;
    for (int p = 0; p < net->npops; p++) {
        const run_pop *q = &r->pops[p];
        size_t need[] = {(size_t)r->chunk * q->n * 4, (size_t)r->chunk * q->vm_cols * r->es, 2 * q->n * 4, q->n * 8};
        for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
            if (need[k] > host) host = need[k];
    }
    size_t nmax = 1;
    for (int p = 0; p < net->npops; p++) nmax = r->pops[p].n > nmax ? r->pops[p].n : nmax;
    r->host_bytes = host;
    r->host = malloc(host ? host : 8);
    r->row_spikes = malloc(nmax * sizeof *r->row_spikes);
    return r->host && r->row_spikes ? BD_OK
                                    : bd_fail(BD_ERR_NOMEM, "bd_run_new: out of memory for %zu bytes of records", host);
}

/* The cpu's per-step ops (list_spikes, queue_step), checked once here. */
static bd_status prepare_lists(bd_run *r)
{
    bd_status st = BD_OK;
    for (int p = 0; p < r->net->npops && !st; p++) {
        run_pop *q = &r->pops[p];
        st = bd_spike_compact_prepare(r->dev, q->ring[0], q->n, q->list[0], q->nlist_buf, &q->compact);
    }
    for (int j = 0; j < r->net->nprojs && !st; j++) {
        run_proj *pj = &r->projs[j];
        if (pj->own) continue;
        run_pop *pre = &r->pops[pj->np->pre], *post = &r->pops[pj->np->post];
        st = pj->procedural ? bd_event_procedural_prepare(r->dev, r->t, &pj->proc, pre->ring[0], post->in[pj->input], &pj->ev)
                            : bd_event_csr_prepare(r->dev, r->t, &pj->fwd, pre->ring[0], post->in[pj->input], &pj->ev);
        pj->ev.rows_sorted = pj->fwd_sorted;
        if (st) bd_fail_context(st, "projection '%s' on %s", pj->np->path, r->info->name);
    }
    return st;
}

bd_status bd_run_new(bd_device *dev, const bd_network *net, const bd_run_opts *opts, bd_run **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_new: out is NULL");
    *out = NULL;
    if (!dev || !net) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_new: NULL device or network");
    const bd_device_info *info = bd_device_get_info(dev);
    const char *model = net->name ? net->name : "model";
    if (!(net->dt_ms > 0) || !isfinite(net->dt_ms)) return bd_fail(BD_ERR_MODEL, "%s: dt must be > 0, got %g ms", model, net->dt_ms);
    if (net->precision != BD_F32 && net->precision != BD_F64)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: precision must be f32 or f64", model);
    if (net->precision == BD_F64 && !info->fp64)
        return bd_fail(BD_ERR_UNSUPPORTED, "%s: device '%s' (%s) has no double precision; run with f32", model, info->name,
                       info->description);
    bd_run *r = calloc(1, sizeof *r);
    if (!r) return bd_fail(BD_ERR_NOMEM, "bd_run_new: out of memory");
    r->dev = dev;
    r->info = info;
    r->net = net;
    r->t = net->precision;
    r->es = bd_dtype_size(r->t);
    r->dt = net->dt_ms;
    if (opts) r->o = *opts;
    double dur = r->o.duration_ms > 0 ? r->o.duration_ms : net->duration_ms;
    double total = floor(dur / r->dt + 0.5);
    if (!(total >= 0) || total > 0xFFFFFF00u) {
        free(r);
        return bd_fail(BD_ERR_LIMIT, "%s: %g ms at dt = %g ms is %.0f steps (0 to 2^32 - 256)", model, dur, net->dt_ms, total);
    }
    r->total = (uint64_t)total;
    r->key0 = (uint32_t)net->seed;
    r->key1 = (uint32_t)(net->seed >> 32);
    double t0 = now_s();
    bd_status st = plan(r);
    double tc = 0;
    for (int p = 0; p < net->npops && !st; p++) {
        run_pop *q = &r->pops[p];
        st = run_build_kernel(r, p, 1, &q->ir);
        if (!st && q->nvm) st = run_build_kernel(r, p, 0, &q->ir_quiet);
        if (st) break;
        double c0 = now_s();
        st = bd_kernel_compile(dev, q->ir, &q->kern);
        if (!st && q->nvm) st = bd_kernel_compile(dev, q->ir_quiet, &q->kern_quiet);
        if (st) bd_fail_context(st, "population '%s' on %s", q->path, info->name);
        tc += now_s() - c0;
    }
    for (int p = 0; p < net->npops && !st; p++) st = run_pop_buffers(r, p);
    if (!st) st = run_table_buffers(r);
    for (int j = 0; j < net->nprojs && !st; j++) st = run_proj_connect(r, j);
    for (int j = 0; j < net->nprojs && !st; j++) st = run_proj_build(r, j);
    if (!st && r->lists) st = prepare_lists(r);
    if (!st) st = bd_device_sync(dev);
    r->compile_s = tc;
    r->setup_s = now_s() - t0 - tc;
    if (!st) r->hash = run_model_hash(r);
    if (st) {
        bd_run_free(r);
        return st;
    }
    *out = r;
    return BD_OK;
}

void bd_run_free(bd_run *r)
{
    if (!r) return;
    for (int p = 0; r->pops && p < r->net->npops; p++) {
        run_pop *q = &r->pops[p];
        bd_kernel_free(q->kern), bd_kernel_free(q->kern_quiet);
        bd_ir_free(q->ir), bd_ir_free(q->ir_quiet);
        bd_buffer_free(q->state), bd_buffer_free(q->par_buf), bd_buffer_free(q->refr), bd_buffer_free(q->rec);
        bd_buffer_free(q->bad), bd_buffer_free(q->cnt), bd_buffer_free(q->vrec), bd_buffer_free(q->vmap);
        bd_buffer_free(q->hist), bd_buffer_free(q->init);
        for (uint32_t s = 0; q->ring && s < q->ring_len; s++) bd_buffer_free(q->ring[s]);
        for (uint32_t s = 0; q->list && s < q->ring_len; s++) bd_buffer_free(q->list[s]);
        bd_buffer_free(q->nlist_buf);
        free(q->list), free(q->nlist);
        for (int j = 0; j < q->ntargets; j++) bd_buffer_free(q->in[j]);
        for (int j = 0; j < q->nfed; j++) bd_buffer_free(q->fed[j]);
        run_table_free(q);
        free(q->ring), free(q->par), free(q->poisson);
    }
    for (int j = 0; r->projs && j < r->net->nprojs; j++) {
        bd_buffer_free(r->projs[j].rowptr), bd_buffer_free(r->projs[j].colidx), bd_buffer_free(r->projs[j].values);
        run_proj_free(&r->projs[j]);
        bd_buffer_free(r->projs[j].frowptr), bd_buffer_free(r->projs[j].fcolidx), bd_buffer_free(r->projs[j].fvalues);
    }
    for (int m = 0; r->mons && m < r->net->nmonitors; m++) {
        run_mon *mo = &r->mons[m];
        free(mo->elements), free(mo->si), free(mo->st), free(mo->vx), free(mo->vt), free(mo->counts);
        free(mo->rate), free(mo->rate_t);
    }
    free(r->pops), free(r->projs), free(r->mons), free(r->host), free(r->row_spikes);
    bd_network_free(r->own_net);
    bd_device_close(r->own_dev);
    free(r);
}

/* The model's device, else the first GPU (discrete before integrated), else the cpu. */
static void pick_device(const char *want, char *name, size_t cap)
{
    if (want && *want) snprintf(name, cap, "%s", want);
    else bd_device_default(name, cap);
}

bd_status bd_run_open(const bd_model *m, const char *device, int threads, const bd_run_opts *opts, bd_run **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_open: out is NULL");
    *out = NULL;
    if (!m) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_open: NULL model");
    bd_network *net = NULL;
    bd_device *dev = NULL;
    bd_status st = bd_model_resolve(m, &net);
    char name[64];
    if (!st) pick_device(device && *device ? device : net->device, name, sizeof name);
    if (!st) st = bd_device_open(name, &dev);
    if (!st && (threads > 0 || net->threads > 0)) st = bd_device_set_threads(dev, threads > 0 ? threads : net->threads);
    bd_run *r = NULL;
    if (!st) st = bd_run_new(dev, net, opts, &r);
    if (st) {
        bd_device_close(dev);
        bd_network_free(net);
        return st;
    }
    r->own_net = net;
    r->own_dev = dev;
    *out = r;
    return BD_OK;
}

const char *bd_run_device_name(const bd_run *r) { return r ? r->info->name : ""; }
const char *bd_run_model_name(const bd_run *r) { return r && r->net->name ? r->net->name : ""; }
double bd_run_dt(const bd_run *r) { return r ? r->dt : 0; }
int bd_run_pop_count(const bd_run *r) { return r ? r->net->npops : 0; }
const char *bd_run_pop_name(const bd_run *r, int p) { return r && p >= 0 && p < r->net->npops ? r->pops[p].path : NULL; }

/* ------------------------------------------------------------------------------------------------ */
/* Stepping                                                                                         */

static bd_value u32v(uint32_t v)
{
    bd_value x;
    memset(&x, 0, sizeof x);
    x.u32 = v;
    return x;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Hands the c spiking elements (ascending) of population pi at step s to its spike and rate monitors. */
static bd_status record_spikes(bd_run *r, int pi, uint64_t s, const uint32_t *spikes, uint32_t c)
{
    for (int m = 0; m < r->net->nmonitors; m++) {
        run_mon *mo = &r->mons[m];
        if (mo->nm->pop != pi) continue;
        if (mo->nm->kind == BD_MON_RATE) {
            if (grow((void **)&mo->counts, &mo->cap_counts, mo->ncounts + 1, sizeof *mo->counts)) goto nomem;
            mo->counts[mo->ncounts++] = c;
        } else if (mo->nm->kind == BD_MON_SPIKES && c) {
            size_t cap = mo->cap;
            if (grow((void **)&mo->si, &cap, mo->n + c, sizeof *mo->si)) goto nomem;
            cap = mo->cap;
            if (grow((void **)&mo->st, &cap, mo->n + c, sizeof *mo->st)) goto nomem;
            mo->cap = cap;
            double t = (double)(s + 1) * r->dt;
            memcpy(mo->si + mo->n, spikes, c * sizeof *spikes); /* indices < 2^31: int32 and uint32 agree */
            for (uint32_t q = 0; q < c; q++) mo->st[mo->n++] = t;
        }
    }
    return BD_OK;
nomem:
    return bd_fail(BD_ERR_NOMEM, "bd_run_advance: out of memory for the monitors");
}

/* Where state variable v of population q lives: its row of `state`, or a direct target's input buffer. */
static bd_buffer *state_row(const run_pop *q, int v, size_t *offset)
{
    int j = run_direct_input(q, v);
    *offset = j >= 0 ? 0 : (size_t)v * q->n;
    return j >= 0 ? q->in[j] : q->state;
}

static bd_status numeric_error(const bd_run *r, const run_pop *p, int v, size_t e, uint32_t step)
{
    const char *var = v >= 0 && v < p->nstate ? p->eqs->syms[p->eqs->odes[v].sym].name : "?";
    return bd_fail(BD_ERR_NUMERIC, "population '%s': variable '%s' of element %zu became NaN or infinite at step %u "
                   "(t = %g ms) on %s; try a smaller dt or check the parameters", p->path, var, e, step,
                   (step + 1) * r->dt, r->info->name);
}

/* The cpu: compacts the flags that population pi wrote at step s into the list of their ring slot (the
 * cpu's compaction is ascending), stops at an element flagged non-finite (bit 1), and, when `record`,
 * counts the spikes and hands them to the monitors. */
static bd_status list_spikes(bd_run *r, int pi, uint64_t s, int record)
{
    run_pop *q = &r->pops[pi];
    uint32_t slot = (uint32_t)(s % q->ring_len);
    q->compact.in = q->ring[slot];
    q->compact.out = q->list[slot];
    bd_status st = bd_op_run(r->dev, &q->compact);
    if (st) return st;
    const uint32_t *flags = q->ring[slot]->ctx, *list = q->list[slot]->ctx, c = *(const uint32_t *)q->nlist_buf->ctx;
    q->nlist[slot] = c;
    for (uint32_t k = 0; k < c; k++) {
        if (!(flags[list[k]] & 2u)) continue;
        int v = 0; /* the first variable that is not finite, as the devices' kernels report it */
        for (size_t off; v < q->nstate; v++) {
            bd_buffer *b = state_row(q, v, &off);
            double x = r->t == BD_F64 ? ((const double *)b->ctx)[off + list[k]] : ((const float *)b->ctx)[off + list[k]];
            if (!isfinite(x)) break;
        }
        return numeric_error(r, q, v, list[k], (uint32_t)s);
    }
    if (!record) return BD_OK;
    q->spikes += c;
    return q->spike_rec ? record_spikes(r, pi, s, list, c) : BD_OK;
}

bd_status run_lists_rebuild(bd_run *r)
{
    bd_status st = BD_OK;
    for (int p = 0; r->lists && p < r->net->npops && !st; p++)
        for (uint32_t slot = 0; slot < r->pops[p].ring_len && !st; slot++) st = list_spikes(r, p, slot, 0);
    return st;
}

static bd_status queue_step(bd_run *r, uint64_t s, uint32_t row)
{
    const bd_network *net = r->net;
    for (int j = 0; j < net->nprojs; j++) {
        run_proj *pj = &r->projs[j];
        if (pj->own) {
            bd_status st = run_proj_queue(r, j, s);
            if (st) return bd_fail_context(st, "projection '%s' on %s, step %llu", pj->np->path, r->info->name,
                                           (unsigned long long)s);
            continue;
        }
        if (s < pj->delay) continue; /* nothing emitted yet that could be due */
        run_pop *pre = &r->pops[pj->np->pre], *post = &r->pops[pj->np->post];
        uint32_t slot = pre->ring_len == 1 ? 0 : (uint32_t)((s - pj->delay) % pre->ring_len);
        bd_buffer *spikes = pre->ring[slot], *y = post->in[pj->input];
        bd_status st;
        if (r->lists) { /* the cpu: the slot's list, through the op checked at the start */
            if (!pre->nlist[slot]) continue;
            pj->ev.in = spikes;
            pj->ev.spiking = pre->list[slot]->ctx;
            pj->ev.nspiking = pre->nlist[slot];
            st = bd_op_run(r->dev, &pj->ev);
        } else {
            st = pj->procedural ? bd_event_procedural(r->dev, r->t, &pj->proc, spikes, y)
                 : pj->push     ? bd_event_csr(r->dev, r->t, &pj->fwd, spikes, y)
                                : bd_event_csr_pull(r->dev, r->t, &pj->at, spikes, y);
        }
        if (st) return bd_fail_context(st, "projection '%s' on %s, step %llu", pj->np->path, r->info->name,
                                       (unsigned long long)s);
    }
    for (int p = 0; p < net->npops; p++) {
        run_pop *q = &r->pops[p];
        bd_buffer *b[BD_IR_MAX_BUFFERS] = {0};
        b[q->b_state] = q->state;
        b[q->b_spike] = q->ring[s % q->ring_len];
        b[q->b_bad] = q->bad;
        b[q->b_cnt] = q->cnt;
        if (q->b_par >= 0) b[q->b_par] = q->par_buf;
        if (q->b_refr >= 0) b[q->b_refr] = q->refr;
        if (q->b_rec >= 0) b[q->b_rec] = q->rec;
        for (int j = 0; j < q->ntargets; j++) b[q->b_in[j]] = q->in[j];
        for (int j = 0; j < q->nfed; j++) b[q->b_fed[j]] = q->fed[j];
        if (q->ntab) b[q->b_tab] = q->tab;
        if (q->nvm) b[q->b_vrec] = q->vrec, b[q->b_vmap] = q->vmap;
        if (q->b_hist >= 0) b[q->b_hist] = q->hist;
        if (q->b_init >= 0) b[q->b_init] = q->init;
        uint32_t due = 0;
        for (int j = 0; j < q->nvm; j++) due |= (s + 1) % r->mons[q->vm[j]].every == 0 ? 1u << j : 0;
        bd_value sc[6];
        sc[q->s_n] = u32v((uint32_t)q->n);
        sc[q->s_step] = u32v((uint32_t)s);
        sc[q->s_row] = u32v(row);
        sc[q->s_due] = u32v(due);
        sc[q->s_key0] = u32v(r->key0);
        sc[q->s_key1] = u32v(r->key1);
        bd_status st = bd_kernel_launch(due ? q->kern : q->kern_quiet ? q->kern_quiet : q->kern, q->n, b,
                                        (size_t)q->nbuf, sc, (size_t)q->nscal);
        if (!st && r->lists) st = list_spikes(r, p, s, 1);
        if (st) return bd_fail_context(st, "population '%s' on %s, step %llu", q->path, r->info->name,
                                       (unsigned long long)s);
    }
    return BD_OK;
}

/* The first `bytes` of a device buffer readable on the host: the cpu's own memory (its kernels and operators
 * have finished when they return), else a download into the run's scratch. */
static const void *host_view(bd_run *r, bd_buffer *b, size_t bytes, bd_status *st)
{
    if (r->info->backend == BD_BACKEND_CPU) return b->ctx;
    *st = bd_buffer_download(b, 0, r->host, bytes);
    return r->host;
}

/* In a device's records or NaN flags (u32 per element, nonzero = set): the first index >= i below n whose
 * flag is set, else n. Spikes are rare (a few per thousand elements and step): from a multiple of 16 on,
 * blocks of 32 all-zero flags are skipped with one test. */
static size_t next_flag(const uint32_t *restrict flags, size_t i, size_t n)
{
    while (i < n && (i & 15)) {
        if (flags[i]) return i;
        i++;
    }
    /* a plain OR over the block: gcc turns it into vector ORs (a copy through a local array cost it twice
     * the time in stack traffic) */
    for (; i + 32 <= n; i += 32) {
        uint32_t any = 0;
        for (int k = 0; k < 32; k++) any |= flags[i + k];
        if (any) break;
    }
    for (; i < n; i++)
        if (flags[i]) return i;
    return n;
}

/* NaN flags of population p: the earliest step any element went non-finite. */
static bd_status check_finite(bd_run *r, int pi)
{
    run_pop *p = &r->pops[pi];
    bd_status st = BD_OK;
    const uint32_t *bad = host_view(r, p->bad, 2 * p->n * 4, &st);
    if (st) return bd_fail_context(st, "population '%s' on %s: reading the NaN flags", p->path, r->info->name);
    size_t first = p->n;
    for (size_t e = next_flag(bad, 0, p->n); e < p->n; e = next_flag(bad, e + 1, p->n))
        if (first == p->n || bad[e] < bad[first]) first = e;
    if (first == p->n) return BD_OK;
    return numeric_error(r, p, (int)bad[p->n + first], first, bad[first] - 1);
}

/* Takes the records of steps [s0, s0 + count) off the device. */
static bd_status collect(bd_run *r, uint64_t s0, uint32_t count)
{
    const bd_network *net = r->net;
    for (int pi = 0; pi < net->npops && !r->lists; pi++) { /* the cpu checked every step (list_spikes) */
        bd_status st = check_finite(r, pi);
        if (st) return st;
    }
    for (int pi = 0; pi < net->npops; pi++) {
        run_pop *p = &r->pops[pi];
        size_t n = p->n;
        if (p->rec_rows) {
            bd_status st = BD_OK;
            const uint32_t *flags = host_view(r, p->rec, (size_t)count * n * 4, &st);
            if (st) return bd_fail_context(st, "population '%s' on %s: reading the spike records", p->path, r->info->name);
            for (uint32_t k = 0; k < count && !st; k++) {
                const uint32_t *row = flags + (size_t)k * n;
                uint32_t c = 0;
                for (size_t e = next_flag(row, 0, n); e < n; e = next_flag(row, e + 1, n)) r->row_spikes[c++] = (uint32_t)e;
                st = record_spikes(r, pi, s0 + k, r->row_spikes, c);
            }
            if (st) return st;
        }
        if (p->nvm) {
            bd_status st = bd_buffer_download(p->vrec, 0, r->host, (size_t)count * p->vm_cols * r->es);
            if (st) return bd_fail_context(st, "population '%s' on %s: reading the variable records", p->path, r->info->name);
            for (int j = 0; j < p->nvm; j++) {
                run_mon *mo = &r->mons[p->vm[j]];
                for (uint32_t k = 0; k < count; k++) {
                    if ((s0 + k + 1) % mo->every) continue;
                    if (grow((void **)&mo->vt, &mo->cap, mo->n + 1, sizeof *mo->vt)) goto nomem;
                    if (grow((void **)&mo->vx, &mo->cap_x, (mo->n + 1) * mo->cols, sizeof *mo->vx)) goto nomem;
                    mo->vt[mo->n] = (double)(s0 + k + 1) * r->dt;
                    for (size_t c = 0; c < mo->cols; c++) {
                        size_t at = (size_t)k * p->vm_cols + p->vm_col[j] + c;
                        mo->vx[mo->n * mo->cols + c] = r->t == BD_F64 ? ((double *)r->host)[at] : ((float *)r->host)[at];
                    }
                    mo->n++;
                }
            }
        }
    }
    return BD_OK;
nomem:
    return bd_fail(BD_ERR_NOMEM, "bd_run_advance: out of memory for the monitors");
}

static bd_status count_spikes(bd_run *r, int pi)
{
    run_pop *p = &r->pops[pi];
    bd_status st = BD_OK;
    const uint32_t *cnt = host_view(r, p->cnt, p->n * 4, &st);
    if (st) return bd_fail_context(st, "population '%s' on %s: reading the spike counters", p->path, r->info->name);
    p->spikes = 0;
    for (size_t e = 0; e < p->n; e++) p->spikes += cnt[e];
    return BD_OK;
}

bd_status bd_run_advance(bd_run *r, uint64_t steps)
{
    if (!r) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_advance: NULL run");
    double t0 = now_s();
    uint64_t end = r->step + steps < r->total && r->step + steps >= r->step ? r->step + steps : r->total;
    bd_status st = BD_OK;
    while (r->step < end && !st) {
        uint32_t count = end - r->step < r->chunk ? (uint32_t)(end - r->step) : r->chunk;
        for (uint32_t k = 0; k < count && !st; k++) st = queue_step(r, r->step + k, k);
        if (!st) st = collect(r, r->step, count);
        if (!st) r->step += count;
        if (!st && r->o.progress) r->o.progress(r->o.user, r->step, r->total);
    }
    for (int m = 0; m < r->net->nmonitors && !st; m++)
        if (r->mons[m].nm->kind == BD_MON_RATE) st = run_rate_build(r, &r->mons[m]);
    for (int p = 0; p < r->net->npops && !st && !r->lists; p++) st = count_spikes(r, p); /* the cpu counts in list_spikes */
    r->wall_s += now_s() - t0;
    return st;
}

bd_status bd_run_to_end(bd_run *r) { return bd_run_advance(r, r ? r->total : 0); }
uint64_t bd_run_step(const bd_run *r) { return r ? r->step : 0; }
uint64_t bd_run_total_steps(const bd_run *r) { return r ? r->total : 0; }
uint64_t bd_run_start_step(const bd_run *r) { return r ? r->start_step : 0; }

/* ------------------------------------------------------------------------------------------------ */
/* Results                                                                                          */

int bd_run_monitor_count(const bd_run *r) { return r ? r->net->nmonitors : 0; }

bd_status bd_run_monitor_get(const bd_run *r, int m, bd_run_monitor *out)
{
    if (!r || !out || m < 0 || m >= r->net->nmonitors)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_run_monitor_get: no monitor %d", m);
    const run_mon *mo = &r->mons[m];
    const bd_net_monitor *nm = mo->nm;
    const char *pop = r->pops[nm->pop].path;
    size_t size = r->pops[nm->pop].n;
    switch (nm->kind) {
    case BD_MON_SPIKES:
        *out = (bd_run_monitor){nm->name, pop, NULL, BD_RUN_SPIKES, size, mo->n, 1, mo->si, mo->st, NULL, NULL};
        break;
    case BD_MON_VAR:
        *out = (bd_run_monitor){nm->name, pop, mo->var_name, BD_RUN_VAR, size, mo->n, mo->cols, NULL, mo->vt, mo->vx,
                                mo->elements};
        break;
    case BD_MON_RATE:
        *out = (bd_run_monitor){nm->name, pop, NULL, BD_RUN_RATE, size, mo->ncounts, 1, NULL, mo->rate_t, mo->rate, NULL};
        break;
    }
    return BD_OK;
}

bd_status bd_run_pop_spikes(const bd_run *r, int p, uint64_t *spikes, size_t *size)
{
    if (!r || p < 0 || p >= r->net->npops) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_pop_spikes: no population %d", p);
    if (spikes) *spikes = r->pops[p].spikes;
    if (size) *size = r->pops[p].n;
    return BD_OK;
}

bd_status bd_run_state(bd_run *r, int p, const char *var, double *out, size_t n)
{
    if (!r || p < 0 || p >= r->net->npops || !var || !out)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_run_state: no population %d or NULL argument", p);
    run_pop *q = &r->pops[p];
    int v = run_state_index(q->eqs, bd_eqs_find(q->eqs, var));
    if (v < 0) return bd_fail(BD_ERR_NOT_FOUND, "bd_run_state: '%s' is not a state variable of '%s'", var, q->path);
    if (n < q->n) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_state: room for %zu values, '%s' has %zu", n, q->path, q->n);
    size_t off;
    bd_buffer *b = state_row(q, v, &off);
    bd_status st = bd_buffer_download(b, off * r->es, r->host, q->n * r->es);
    if (st) return bd_fail_context(st, "bd_run_state: population '%s' on %s", q->path, r->info->name);
    for (size_t e = 0; e < q->n; e++) out[e] = r->t == BD_F64 ? ((double *)r->host)[e] : ((float *)r->host)[e];
    return BD_OK;
}

void bd_run_times(const bd_run *r, double *setup_s, double *compile_s, double *wall_s)
{
    if (setup_s) *setup_s = r ? r->setup_s : 0;
    if (compile_s) *compile_s = r ? r->compile_s : 0;
    if (wall_s) *wall_s = r ? r->wall_s : 0;
}
