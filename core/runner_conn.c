/* The runner's host-side set-up: initial values and per-element parameters drawn from Philox with the
 * run seed (core/dist_init.c), the device buffers of every population, and each projection's connectivity
 * generated from its Philox stream (core/conn_gen.c) with its weights, stored transposed for the
 * deterministic pull. */
#include "runner_impl.h"
#include "conn_gen.h"
#include "dist_init.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double run_dist_value(const bd_run *r, const bd_dist *d, uint32_t stream, uint32_t a, uint32_t b)
{
    const uint32_t key[2] = {r->key0, r->key1};
    return bd_dist_draw(d, key, stream, a, b);
}

static void put(void *p, bd_dtype t, size_t j, double v)
{
    if (t == BD_F64) ((double *)p)[j] = v;
    else ((float *)p)[j] = (float)v;
}

bd_status run_buffer(bd_run *r, size_t bytes, const void *host, bd_buffer **out, const char *what, const char *owner)
{
    size_t sz = bytes ? (bytes + 3) / 4 * 4 : 4;
    bd_status st = bd_buffer_alloc(r->dev, sz, out);
    if (!st && host && bytes) st = bd_buffer_upload(*out, 0, host, bytes);
    if (!st && !host) {
        uint32_t zero = 0;
        st = bd_buffer_fill(*out, 0, sz, &zero, 4);
    }
    return st ? bd_fail_context(st, "%s: %s buffer of %zu bytes on %s", owner, what, bytes, r->info->name) : BD_OK;
}

static bd_status check_file(const bd_dist *d, size_t n, const char *what, const char *owner)
{
    if (d->kind == BD_DIST_FILE && d->nvalues != n)
        return bd_fail(BD_ERR_MODEL, "%s: %s has %zu values from its file, %zu expected", owner, what, d->nvalues, n);
    return BD_OK;
}

bd_status run_pop_buffers(bd_run *r, int pi)
{
    run_pop *p = &r->pops[pi];
    const bd_net_pop *np = &r->net->pops[pi];
    size_t n = p->n, es = r->es;
    size_t rows = (size_t)(p->nstate > p->npar ? p->nstate : p->npar);
    size_t big = rows * n * es;
    if (p->nvm && (size_t)p->nvm * n * 4 > big) big = (size_t)p->nvm * n * 4;
    void *host = calloc(big ? big : 1, 1);
    if (!host) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory for its initial state", p->path);
    bd_status st = BD_OK;
    for (int v = 0; v < p->nstate && !st; v++) {
        const bd_dist *d = np->state_init ? &np->state_init[v] : NULL;
        const char *vn = p->eqs->syms[p->eqs->odes[v].sym].name;
        if (d) st = check_file(d, n, vn, p->path);
        uint32_t stream = ((uint32_t)STREAM_STATE << 24) | ((uint32_t)pi << 12) | (uint32_t)v;
        for (size_t e = 0; e < n && !st; e++) put(host, r->t, v * n + e, d ? run_dist_value(r, d, stream, (uint32_t)e, 0) : 0);
    }
    if (!st) st = run_buffer(r, (size_t)p->nstate * n * es, host, &p->state, "state", p->path);
    /* a direct target's input buffer holds the variable itself, from its initial values on */
    for (int j = 0; j < p->ntargets && !st; j++) {
        int v = p->direct[j] ? run_state_index(p->eqs, p->target_sym[j]) : -1;
        st = run_buffer(r, n * es, v >= 0 ? (char *)host + (size_t)v * n * es : NULL, &p->in[j], "synaptic input", p->path);
    }
    /* fractional methods read x(t0); the history ring holds the initial state for every step <= 0 (a constant
     * history before the start, as bdyn integrate without a history expression) */
    if (!st && p->fde) st = run_buffer(r, (size_t)p->nstate * n * es, host, &p->init, "initial state", p->path);
    if (!st && p->hist_len) {
        size_t row = n * es, L = p->hist_len;
        unsigned char *ring = malloc(L * (size_t)p->nstate * row);
        if (!ring) st = bd_fail(BD_ERR_NOMEM, "population '%s': out of memory for its history ring (%zu steps)", p->path, L);
        for (size_t v = 0; v < (size_t)p->nstate && !st; v++)
            for (size_t s = 0; s < L; s++) memcpy(ring + (v * L + s) * row, (unsigned char *)host + v * row, row);
        if (!st) st = run_buffer(r, L * (size_t)p->nstate * row, ring, &p->hist, "history ring", p->path);
        free(ring);
    }
    for (int q = 0; q < p->npar && !st; q++) {
        const bd_dist *d = &np->param_init[p->par[q]];
        st = check_file(d, n, p->eqs->syms[p->par[q]].name, p->path);
        uint32_t stream = ((uint32_t)STREAM_PARAM << 24) | ((uint32_t)pi << 12) | (uint32_t)p->par[q];
        for (size_t e = 0; e < n && !st; e++) put(host, r->t, (size_t)q * n + e, run_dist_value(r, d, stream, (uint32_t)e, 0));
    }
    if (!st && p->npar) st = run_buffer(r, (size_t)p->npar * n * es, host, &p->par_buf, "parameter", p->path);
    if (!st && p->refractory) st = run_buffer(r, n * 4, NULL, &p->refr, "refractory counter", p->path);
    p->ring = st ? NULL : calloc(p->ring_len, sizeof *p->ring);
    if (!st && !p->ring) st = bd_fail(BD_ERR_NOMEM, "population '%s': out of memory", p->path);
    for (uint32_t s = 0; s < p->ring_len && !st; s++) st = run_buffer(r, n * 4, NULL, &p->ring[s], "spike ring", p->path);
    if (!st) st = run_buffer(r, 2 * n * 4, NULL, &p->bad, "NaN flag", p->path);
    if (!st) st = run_buffer(r, n * 4, NULL, &p->cnt, "spike counter", p->path);
    if (!st && p->rec_rows) st = run_buffer(r, (size_t)r->chunk * n * 4, NULL, &p->rec, "spike record", p->path);
    if (!st && r->lists) {
        p->list = calloc(p->ring_len, sizeof *p->list);
        p->nlist = calloc(p->ring_len, sizeof *p->nlist);
        if (!p->list || !p->nlist) st = bd_fail(BD_ERR_NOMEM, "population '%s': out of memory", p->path);
        for (uint32_t s = 0; s < p->ring_len && !st; s++) st = run_buffer(r, n * 4, NULL, &p->list[s], "spike list", p->path);
        if (!st) st = run_buffer(r, 4, NULL, &p->nlist_buf, "spike count", p->path);
    }
    if (!st && p->nvm) {
        st = run_buffer(r, (size_t)r->chunk * p->vm_cols * es, NULL, &p->vrec, "variable record", p->path);
        uint32_t *map = host;
        memset(map, 0, (size_t)p->nvm * n * 4);
        for (int j = 0; j < p->nvm; j++) {
            const run_mon *m = &r->mons[p->vm[j]];
            for (size_t c = 0; c < m->cols; c++) map[(size_t)j * n + m->elements[c]] = (uint32_t)c + 1;
        }
        if (!st) st = run_buffer(r, (size_t)p->nvm * n * 4, map, &p->vmap, "monitor map", p->path);
    }
    free(host);
    return st;
}

/* Per-connection delays of a coupling (steps, rounded, in the transposed order of the synapses): drawn like
 * weights (pair kinds at (pre, post), others from their own stream), uploaded as u32, and the longest kept
 * for the ring of source values. */
static bd_status conn_delays(bd_run *r, run_proj *pj, const bd_conn_rows *f, size_t n_pre, size_t n_post)
{
    const bd_net_proj *np = pj->np;
    const bd_dist *d = np->delays;
    const uint32_t key[2] = {r->key0, r->key1};
    uint32_t stream = ((uint32_t)STREAM_DELAY << 24) | (np->id & 0xFFFFFFu);
    if (d->kind == BD_DIST_MATRIX && (d->nrows != n_pre || d->ncols != n_post))
        return bd_fail(BD_ERR_MODEL, "projection '%s': the delay matrix is %zu x %zu, the projection %zu x %zu", np->path,
                       d->nrows, d->ncols, n_pre, n_post);
    if (d->kind == BD_DIST_FILE && d->nvalues != f->nnz)
        return bd_fail(BD_ERR_MODEL, "projection '%s': %zu delays from the file for %zu synapses", np->path, d->nvalues, f->nnz);
    double *v = malloc((f->nnz ? f->nnz : 1) * sizeof *v);
    void *tvp = NULL;
    uint32_t *trp = NULL, *tci = NULL, *steps = malloc((f->nnz ? f->nnz : 1) * 4);
    bd_status st = v && steps ? BD_OK : bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory for its delays", np->path);
    for (size_t pre = 0; pre < n_pre && !st; pre++)
        for (uint32_t s = f->rowptr[pre]; s < f->rowptr[pre + 1]; s++)
            v[s] = bd_dist_is_pair(d) ? bd_dist_pair(d, pre, f->col[s])
                   : d->kind == BD_DIST_FILE ? d->values[f->order ? f->order[s] : s]
                                             : bd_dist_draw(d, key, stream, (uint32_t)pre, s - f->rowptr[pre]);
    if (!st) st = bd_csr_transpose_host(n_pre, n_post, f->rowptr, f->col, v, BD_F64, &trp, &tci, &tvp);
    const double *tv = tvp;
    uint32_t most = 0;
    for (size_t s = 0; s < f->nnz && !st; s++) {
        double k = floor(tv[s] / r->dt + 0.5);
        if (!(k >= 0 && k <= 1e6))
            st = bd_fail(BD_ERR_MODEL, "projection '%s': delay %g ms of synapse %zu is negative, not finite or too long",
                         np->path, tv[s], s);
        else steps[s] = (uint32_t)k, most = steps[s] > most ? steps[s] : most;
    }
    if (!st) st = run_buffer(r, f->nnz * 4, steps, &pj->delays, "delay", np->path);
    pj->delay = most;
    free(v), free(tvp), free(trp), free(tci), free(steps);
    return st;
}

/* Whether every row of a CSR lists its columns in ascending order (the cpu's push then splits the post
 * range between its threads, cpu_push.c). */
static int rows_ascend(const uint32_t *rowptr, const uint32_t *col, size_t rows)
{
    for (size_t r = 0; r < rows; r++)
        for (uint32_t e = rowptr[r]; e + 1 < rowptr[r + 1]; e++)
            if (col[e] > col[e + 1]) return 0;
    return 1;
}

bd_status run_proj_connect(bd_run *r, int j)
{
    run_proj *pj = &r->projs[j];
    const bd_net_proj *np = pj->np;
    const bd_dist *wd = &np->weight;
    const char *name = np->path;
    size_t n_pre = r->pops[np->pre].n, n_post = r->pops[np->post].n;
    const uint32_t key[2] = {r->key0, r->key1};
    if (pj->procedural) {
        /* the devices regenerate constant, uniform and normal weights only (xavier & co. resolve to these) */
        if (wd->kind != BD_DIST_CONST && wd->kind != BD_DIST_UNIFORM && wd->kind != BD_DIST_NORMAL)
            return bd_fail(BD_ERR_UNSUPPORTED, "projection '%s': procedural storage takes constant, uniform or normal "
                           "weights (xavier, kaiming and lecun are uniform or normal)", name);
        pj->proc = (bd_procedural){.seed = r->key0 ^ r->key1, .proj_id = np->id, .n_pre = n_pre, .n_post = n_post,
                                   .conn = np->conn == BD_CONN_FIXED_PROB ? BD_PROC_FIXED_PROB : BD_PROC_FIXED_OUTDEGREE,
                                   .p = np->p, .outdegree = np->k, .w0 = wd->a, .w1 = wd->b,
                                   .weight = wd->kind == BD_DIST_UNIFORM ? BD_WEIGHT_UNIFORM
                                             : wd->kind == BD_DIST_NORMAL ? BD_WEIGHT_NORMAL : BD_WEIGHT_CONSTANT};
        return BD_OK;
    }
    bd_conn_rows f;
    void *val = NULL, *tval = NULL;
    uint32_t *trp = NULL, *tci = NULL;
    double *mat = NULL;
    bd_status st = bd_conn_generate(np, n_pre, n_post, key, &f);
    if (st) return st;
    int constant = wd->kind == BD_DIST_CONST;
    if (wd->kind == BD_DIST_FILE && wd->nvalues != f.nnz)
        st = bd_fail(BD_ERR_MODEL, "projection '%s': %zu weights from the file for %zu synapses", name, wd->nvalues, f.nnz);
    uint32_t stream = ((uint32_t)STREAM_WEIGHT << 24) | (np->id & 0xFFFFFFu);
    if (!st && wd->kind == BD_DIST_ORTHOGONAL && (st = bd_dist_orthogonal(n_pre, n_post, wd->a, key, stream, &mat)))
        bd_fail_context(st, "projection '%s'", name);
    if (!st && !constant) {
        val = malloc((f.nnz ? f.nnz : 1) * r->es);
        if (!val) st = bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory for %zu weights", name, f.nnz);
        /* element-wise kinds: counter (pre, slot in the row) as always; FILE: the pair's place in the file;
         * pair kinds: the (pre, post) value */
        for (size_t pre = 0; pre < n_pre && !st; pre++)
            for (uint32_t s = f.rowptr[pre]; s < f.rowptr[pre + 1]; s++) {
                double v;
                if (mat) v = mat[pre * n_post + f.col[s]];
                else if (bd_dist_is_pair(wd)) v = bd_dist_pair(wd, pre, f.col[s]);
                else if (wd->kind == BD_DIST_FILE) v = bd_dist_draw(wd, key, stream, (uint32_t)(f.order ? f.order[s] : s), 0);
                else v = bd_dist_draw(wd, key, stream, (uint32_t)pre, s - f.rowptr[pre]);
                put(val, r->t, s, v);
            }
    }
    if (!st) {
        st = bd_csr_transpose_host(n_pre, n_post, f.rowptr, f.col, val, r->t, &trp, &tci, constant ? NULL : &tval);
        if (st) bd_fail_context(st, "projection '%s'", name);
    }
    if (!st && np->delays) st = conn_delays(r, pj, &f, n_pre, n_post);
    pj->nnz = f.nnz;
    if (!st) st = run_buffer(r, (n_post + 1) * 4, trp, &pj->rowptr, "row pointer", name);
    if (!st) st = run_buffer(r, f.nnz * 4, tci, &pj->colidx, "column index", name);
    if (!st && !constant) st = run_buffer(r, f.nnz * r->es, tval, &pj->values, "weight", name);
    if (!st && f.nnz * 4 > r->info->max_binding_bytes)
        st = bd_fail(BD_ERR_LIMIT, "projection '%s': %zu synapses exceed the %llu bytes one kernel argument may bind on "
                     "%s; use \"storage\": \"procedural\"", name, f.nnz, (unsigned long long)r->info->max_binding_bytes,
                     r->info->name);
    pj->at = (bd_csr){.rows = n_post, .cols = n_pre, .nnz = f.nnz, .rowptr = pj->rowptr, .colidx = pj->colidx,
                      .values = constant ? NULL : pj->values, .weight = wd->a};
    /* The cpu's push adds in the pull's order on any thread count; the devices' push adds with atomics
     * (f32 everywhere), in an order deterministic mode does not allow. */
    int cpu = r->info->backend == BD_BACKEND_CPU;
    pj->push = !st && !pj->own && (cpu || (!r->o.deterministic && r->t == BD_F32));
    if (pj->push) { /* the forward matrix as generated: rows = pre, targets in generation order */
        st = run_buffer(r, (n_pre + 1) * 4, f.rowptr, &pj->frowptr, "row pointer", name);
        if (!st) st = run_buffer(r, f.nnz * 4, f.col, &pj->fcolidx, "column index", name);
        if (!st && !constant) st = run_buffer(r, f.nnz * r->es, val, &pj->fvalues, "weight", name);
        pj->fwd = (bd_csr){.rows = n_pre, .cols = n_post, .nnz = f.nnz, .rowptr = pj->frowptr, .colidx = pj->fcolidx,
                           .values = constant ? NULL : pj->fvalues, .weight = wd->a};
        pj->fwd_sorted = rows_ascend(f.rowptr, f.col, n_pre);
    }
    bd_conn_rows_free(&f);
    free(mat), free(val), free(tval), free(trp), free(tci);
    return st;
}
