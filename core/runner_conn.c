/* The runner's host-side set-up: initial values and per-element parameters drawn from Philox with the
 * run seed, the device buffers of every population, and each projection's connectivity built from its
 * Philox stream (fixed_prob by geometric skipping and fixed_outdegree exactly as procedural rows,
 * all2all, one2one, explicit pairs) and stored transposed for the deterministic pull. */
#include "runner_impl.h"
#include "error.h"
#include "philox.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void philox(const bd_run *r, uint32_t stream, uint32_t a, uint32_t b, uint32_t out[4])
{
    const uint32_t ctr[4] = {a, b, 0, stream}, key[2] = {r->key0, r->key1};
    bd_philox4x32_10(ctr, key, out);
}

/* 53-bit uniforms in [0, 1) from two words each; Box-Muller with 1 - u in (0, 1]. */
static double u53(uint32_t hi, uint32_t lo) { return (double)(((uint64_t)hi << 21) ^ (lo >> 11)) * 0x1.0p-53; }

double run_dist_value(const bd_run *r, const bd_dist *d, uint32_t stream, uint32_t a, uint32_t b)
{
    uint32_t w[4];
    switch (d->kind) {
    case BD_DIST_CONST: return d->a;
    case BD_DIST_FILE: return a < d->nvalues ? d->values[a] : NAN;
    case BD_DIST_UNIFORM:
        philox(r, stream, a, b, w);
        return d->a + (d->b - d->a) * u53(w[0], w[1]);
    case BD_DIST_NORMAL:
        philox(r, stream, a, b, w);
        return d->a + d->b * sqrt(-2 * log(1 - u53(w[0], w[1]))) * cos(6.283185307179586 * u53(w[2], w[3]));
    }
    return NAN;
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
    if (!st && p->spike_rec) st = run_buffer(r, (size_t)r->chunk * n * 4, NULL, &p->rec, "spike record", p->path);
    for (int j = 0; j < p->ntargets && !st; j++) st = run_buffer(r, n * es, NULL, &p->in[j], "synaptic input", p->path);
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

/* A growing forward CSR (rows = pre). */
typedef struct fwd {
    uint32_t *rowptr, *col;
    size_t nnz, cap;
} fwd;

static int fwd_reserve(fwd *f, size_t more)
{
    if (f->nnz + more <= f->cap) return 0;
    size_t cap = f->cap ? f->cap : 1024;
    while (cap < f->nnz + more) cap *= 2;
    uint32_t *c = realloc(f->col, cap * sizeof *c);
    if (!c) return -1;
    f->col = c;
    f->cap = cap;
    return 0;
}

static bd_status build_rows(bd_run *r, const run_proj *pj, size_t n_pre, size_t n_post, fwd *f, size_t **order)
{
    const bd_net_proj *np = pj->np;
    const char *name = np->path;
    int self = np->pre == np->post && !np->include_self; /* i -> i pairs removed */
    f->rowptr = malloc((n_pre + 1) * sizeof *f->rowptr);
    if (!f->rowptr) return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory for its connectivity", name);
    if (np->conn == BD_CONN_EXPLICIT) {
        /* a stable counting sort by row keeps the given order within a row (weights from a file follow it) */
        memset(f->rowptr, 0, (n_pre + 1) * sizeof *f->rowptr);
        for (size_t s = 0; s < np->nnz; s++) {
            if (np->rows[s] >= n_pre || np->cols[s] >= n_post)
                return bd_fail(BD_ERR_MODEL, "projection '%s': pair %zu (%u -> %u) is outside %zu x %zu", name, s,
                               np->rows[s], np->cols[s], n_pre, n_post);
            f->rowptr[np->rows[s] + 1]++;
        }
        for (size_t i = 0; i < n_pre; i++) f->rowptr[i + 1] += f->rowptr[i];
        *order = malloc((np->nnz ? np->nnz : 1) * sizeof **order);
        uint32_t *fill = calloc(n_pre ? n_pre : 1, sizeof *fill);
        if (!*order || !fill || fwd_reserve(f, np->nnz ? np->nnz : 1)) {
            free(fill);
            return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory for its connectivity", name);
        }
        for (size_t s = 0; s < np->nnz; s++) {
            size_t at = f->rowptr[np->rows[s]] + fill[np->rows[s]]++;
            f->col[at] = np->cols[s];
            (*order)[at] = s;
        }
        free(fill);
        f->nnz = np->nnz;
        return BD_OK;
    }
    if (np->conn == BD_CONN_ONE2ONE && n_pre != n_post)
        return bd_fail(BD_ERR_MODEL, "projection '%s': one2one needs pre and post of one size (%zu and %zu)", name,
                       n_pre, n_post);
    if (fwd_reserve(f, 1)) return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory", name);
    bd_procedural proc = {.seed = r->key0 ^ r->key1, .proj_id = np->id, .n_pre = n_pre, .n_post = n_post - (self ? 1 : 0),
                          .conn = np->conn == BD_CONN_FIXED_PROB ? BD_PROC_FIXED_PROB : BD_PROC_FIXED_OUTDEGREE,
                          .p = np->p, .outdegree = np->k, .weight = BD_WEIGHT_CONSTANT, .w0 = 1};
    for (size_t pre = 0; pre < n_pre; pre++) {
        f->rowptr[pre] = (uint32_t)f->nnz;
        if (f->nnz > UINT32_MAX - n_post)
            return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
        size_t len = 0;
        if (np->conn == BD_CONN_ALL2ALL) {
            if (fwd_reserve(f, n_post)) return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory", name);
            for (size_t q = 0; q < n_post; q++)
                if (!(self && q == pre)) f->col[f->nnz + len++] = (uint32_t)q;
        } else if (np->conn == BD_CONN_ONE2ONE) {
            if (fwd_reserve(f, 1)) return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory", name);
            if (!self) f->col[f->nnz + len++] = (uint32_t)pre;
        } else {
            for (;;) {
                bd_status st = bd_procedural_row(&proc, (uint32_t)pre, f->col + f->nnz, NULL, f->cap - f->nnz, &len);
                if (st) return bd_fail_context(st, "projection '%s'", name);
                if (len <= f->cap - f->nnz) break;
                if (fwd_reserve(f, len)) return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory", name);
            }
            if (self) /* drawn over the n_post - 1 others: skip over i itself */
                for (size_t q = 0; q < len; q++) f->col[f->nnz + q] += f->col[f->nnz + q] >= pre;
        }
        f->nnz += len;
    }
    f->rowptr[n_pre] = (uint32_t)f->nnz;
    return BD_OK;
}

bd_status run_proj_connect(bd_run *r, int j)
{
    run_proj *pj = &r->projs[j];
    const bd_net_proj *np = pj->np;
    const char *name = np->path;
    size_t n_pre = r->pops[np->pre].n, n_post = r->pops[np->post].n;
    if (pj->procedural) {
        const bd_dist *w = &np->weight;
        pj->proc = (bd_procedural){.seed = r->key0 ^ r->key1, .proj_id = np->id, .n_pre = n_pre, .n_post = n_post,
                                   .conn = np->conn == BD_CONN_FIXED_PROB ? BD_PROC_FIXED_PROB : BD_PROC_FIXED_OUTDEGREE,
                                   .p = np->p, .outdegree = np->k, .w0 = w->a, .w1 = w->b,
                                   .weight = w->kind == BD_DIST_UNIFORM ? BD_WEIGHT_UNIFORM
                                             : w->kind == BD_DIST_NORMAL ? BD_WEIGHT_NORMAL : BD_WEIGHT_CONSTANT};
        return BD_OK;
    }
    fwd f = {0};
    size_t *order = NULL;
    void *val = NULL, *tval = NULL;
    uint32_t *trp = NULL, *tci = NULL;
    bd_status st = build_rows(r, pj, n_pre, n_post, &f, &order);
    int constant = np->weight.kind == BD_DIST_CONST;
    if (!st && np->weight.kind == BD_DIST_FILE && np->weight.nvalues != f.nnz)
        st = bd_fail(BD_ERR_MODEL, "projection '%s': %zu weights from the file for %zu synapses", name,
                     np->weight.nvalues, f.nnz);
    if (!st && !constant) {
        val = malloc((f.nnz ? f.nnz : 1) * r->es);
        if (!val) st = bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory for %zu weights", name, f.nnz);
        uint32_t stream = ((uint32_t)STREAM_WEIGHT << 24) | (np->id & 0xFFFFFFu);
        for (size_t pre = 0; pre < n_pre && !st; pre++)
            for (uint32_t s = f.rowptr[pre]; s < f.rowptr[pre + 1]; s++) {
                uint32_t a = (uint32_t)pre, b = s - f.rowptr[pre];
                if (np->weight.kind == BD_DIST_FILE) a = (uint32_t)(order ? order[s] : s), b = 0;
                put(val, r->t, s, run_dist_value(r, &np->weight, stream, a, b));
            }
    }
    if (!st) {
        st = bd_csr_transpose_host(n_pre, n_post, f.rowptr, f.col, val, r->t, &trp, &tci, constant ? NULL : &tval);
        if (st) bd_fail_context(st, "projection '%s'", name);
    }
    pj->nnz = f.nnz;
    if (!st) st = run_buffer(r, (n_post + 1) * 4, trp, &pj->rowptr, "row pointer", name);
    if (!st) st = run_buffer(r, f.nnz * 4, tci, &pj->colidx, "column index", name);
    if (!st && !constant) st = run_buffer(r, f.nnz * r->es, tval, &pj->values, "weight", name);
    if (!st && f.nnz * 4 > r->info->max_binding_bytes)
        st = bd_fail(BD_ERR_LIMIT, "projection '%s': %zu synapses exceed the %llu bytes one kernel argument may bind on "
                     "%s; use \"storage\": \"procedural\"", name, f.nnz, (unsigned long long)r->info->max_binding_bytes,
                     r->info->name);
    pj->at = (bd_csr){.rows = n_post, .cols = n_pre, .nnz = f.nnz, .rowptr = pj->rowptr, .colidx = pj->colidx,
                      .values = constant ? NULL : pj->values, .weight = np->weight.a};
    free(f.rowptr), free(f.col), free(order), free(val), free(tval), free(trp), free(tci);
    return st;
}
