/* The runner's files: smoothed rates, the result folder (manifest.json and NPY arrays per monitor, each
 * written atomically, the manifest last) and checkpoints (every buffer that carries state, bit-exact). */
#include "runner_impl.h"
#include "backend.h"
#include "error.h"
#include "bdyn/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------ */
/* Model hash: what a checkpoint's state depends on (structure, equations, sizes, seed, dt, precision)   */

typedef struct fnv {
    uint64_t h;
} fnv;

static void fnv_bytes(fnv *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) f->h = (f->h ^ b[i]) * 0x100000001b3ull;
}
static void fnv_str(fnv *f, const char *s) { fnv_bytes(f, s ? s : "", s ? strlen(s) + 1 : 1); }
static void fnv_u64(fnv *f, uint64_t v) { fnv_bytes(f, &v, sizeof v); }
static void fnv_f64(fnv *f, double v) { fnv_bytes(f, &v, sizeof v); }

uint64_t run_model_hash(const bd_run *r)
{
    const bd_network *net = r->net;
    fnv f = {0xcbf29ce484222325ull};
    fnv_f64(&f, net->dt_ms);
    fnv_u64(&f, net->seed);
    fnv_u64(&f, (uint64_t)r->t);
    for (int p = 0; p < net->npops; p++) {
        const run_pop *q = &r->pops[p];
        fnv_str(&f, q->path);
        fnv_u64(&f, q->n);
        fnv_str(&f, q->eqs->source);
        fnv_str(&f, q->method->name);
        fnv_u64(&f, (uint64_t)q->nref);
        fnv_u64(&f, q->ring_len);
        fnv_u64(&f, (uint64_t)q->ntargets);
        /* the history ring's layout, and the order the memory was computed with */
        fnv_u64(&f, q->hist_len);
        if (q->fde) fnv_f64(&f, q->alpha), fnv_u64(&f, q->memory);
    }
    for (int j = 0; j < net->nprojs; j++) {
        const bd_net_proj *np = r->projs[j].np;
        fnv_str(&f, np->path);
        fnv_u64(&f, ((uint64_t)(uint32_t)np->pre << 32) | (uint32_t)np->post);
        fnv_u64(&f, ((uint64_t)np->conn << 32) | np->k);
        fnv_f64(&f, np->p);
        fnv_u64(&f, r->projs[j].delay);
        fnv_u64(&f, (uint64_t)np->target);
        fnv_u64(&f, ((uint64_t)(uint32_t)np->coupling << 32) | (uint32_t)(np->scaled ? np->scale_var + 1 : 0));
        fnv_u64(&f, (uint64_t)(np->plastic != NULL));
        /* the generators' parameters (core/conn_gen.c), so a checkpoint refuses another connectivity */
        fnv_u64(&f, ((uint64_t)(uint32_t)np->include_self << 40) | ((uint64_t)(uint32_t)np->allow_multi << 32) |
                        ((uint64_t)(uint32_t)np->directed << 24) | ((uint64_t)(uint32_t)np->normalize << 16) |
                        (uint64_t)(uint32_t)np->grid4);
        fnv_u64(&f, ((uint64_t)np->radius << 32) | (uint64_t)np->nnz);
        fnv_f64(&f, np->sigma);
        fnv_u64(&f, ((uint64_t)np->geom.shape[0] << 32) | np->geom.shape[1]);
        fnv_u64(&f, ((uint64_t)np->geom.post_shape[0] << 32) | np->geom.post_shape[1]);
        fnv_u64(&f, ((uint64_t)(uint32_t)np->geom.ndim << 32) | (uint32_t)np->geom.periodic);
        for (int d = 0; d < 2; d++) fnv_f64(&f, np->geom.lo[d]), fnv_f64(&f, np->geom.hi[d]);
    }
    for (int q = 0; q < net->npoisson; q++) {
        fnv_str(&f, net->poisson[q].path);
        fnv_u64(&f, ((uint64_t)net->poisson[q].count << 32) | net->poisson[q].id);
    }
    return f.h;
}

/* ------------------------------------------------------------------------------------------------ */
/* Rates                                                                                            */

/* Hz per step, smoothed by a centred flat window of round(window / dt) steps (the mean over the part of the
 * window inside the record, so the edges are not biased towards zero). */
bd_status run_rate_build(const bd_run *r, run_mon *m)
{
    size_t n = m->ncounts;
    free(m->rate), free(m->rate_t);
    m->rate = malloc((n ? n : 1) * sizeof *m->rate);
    m->rate_t = malloc((n ? n : 1) * sizeof *m->rate_t);
    double *pre = malloc((n + 1) * sizeof *pre);
    if (!m->rate || !m->rate_t || !pre) {
        free(pre);
        return bd_fail(BD_ERR_NOMEM, "rate monitor '%s': out of memory", m->nm->name);
    }
    double scale = 1.0 / ((double)r->pops[m->nm->pop].n * r->dt * 1e-3);
    pre[0] = 0;
    for (size_t k = 0; k < n; k++) pre[k + 1] = pre[k] + m->counts[k];
    double w = floor(m->nm->window_ms / r->dt + 0.5);
    size_t win = w < 1 ? 1 : w > (double)n ? (n ? n : 1) : (size_t)w;
    for (size_t k = 0; k < n; k++) {
        size_t a = k >= win / 2 ? k - win / 2 : 0, b = a + win < n ? a + win : n;
        m->rate[k] = (pre[b] - pre[a]) / (double)(b - a) * scale;
        m->rate_t[k] = (double)(r->start_step + k + 1) * r->dt;
    }
    free(pre);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Result files                                                                                     */

static bd_status npy(const char *dir, const char *name, const char *suffix, bd_dtype t, int ndim, size_t a, size_t b,
                     const void *data, cJSON *files, const char *key)
{
    char path[4096], file[512];
    snprintf(file, sizeof file, "%s%s.npy", name, suffix);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t shape[2] = {a, b};
    static const double none = 0;
    bd_status st = bd_npy_write(path, t, ndim, shape, data ? data : &none);
    if (!st) cJSON_AddStringToObject(files, key, file);
    return st;
}

static cJSON *shape_json(size_t a, size_t b, int ndim)
{
    double s[2] = {(double)a, (double)b};
    return cJSON_CreateDoubleArray(s, ndim);
}

static bd_status write_monitor(const bd_run *r, int m, const char *dir, cJSON *list)
{
    bd_run_monitor mo;
    bd_status st = bd_run_monitor_get(r, m, &mo);
    if (st) return st;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(list, o);
    static const char *const kinds[] = {"spikes", "var", "rate"};
    cJSON_AddStringToObject(o, "name", mo.name);
    cJSON_AddStringToObject(o, "kind", kinds[mo.kind]);
    cJSON_AddStringToObject(o, "population", mo.pop);
    cJSON *files = cJSON_AddObjectToObject(o, "files");
    if (mo.kind == BD_RUN_SPIKES) {
        cJSON_AddNumberToObject(o, "spikes", (double)mo.n);
        cJSON_AddItemToObject(o, "shape", shape_json(mo.n, 0, 1));
        st = npy(dir, mo.name, "_i", BD_I32, 1, mo.n, 0, mo.i, files, "i");
        if (!st) st = npy(dir, mo.name, "_t", BD_F64, 1, mo.n, 0, mo.t, files, "t");
    } else if (mo.kind == BD_RUN_VAR) {
        cJSON_AddStringToObject(o, "var", mo.var);
        const bd_eqs *e = r->pops[r->net->monitors[m].pop].eqs;
        cJSON_AddStringToObject(o, "unit", e->syms[r->net->monitors[m].sym].unit_text);
        cJSON_AddNumberToObject(o, "every_ms", r->mons[m].every * r->dt);
        double *idx = malloc((mo.cols ? mo.cols : 1) * sizeof *idx);
        if (!idx) return bd_fail(BD_ERR_NOMEM, "monitor '%s': out of memory", mo.name);
        for (size_t c = 0; c < mo.cols; c++) idx[c] = mo.elements[c];
        cJSON_AddItemToObject(o, "indices", cJSON_CreateDoubleArray(idx, (int)mo.cols));
        free(idx);
        cJSON_AddItemToObject(o, "shape", shape_json(mo.n, mo.cols, 2));
        st = npy(dir, mo.name, "", BD_F64, 2, mo.n, mo.cols, mo.x, files, "values");
        if (!st) st = npy(dir, mo.name, "_t", BD_F64, 1, mo.n, 0, mo.t, files, "t");
    } else {
        cJSON_AddNumberToObject(o, "window_ms", r->net->monitors[m].window_ms);
        cJSON_AddItemToObject(o, "shape", shape_json(mo.n, 0, 1));
        st = npy(dir, mo.name, "", BD_F64, 1, mo.n, 0, mo.x, files, "rate_hz");
        if (!st) st = npy(dir, mo.name, "_t", BD_F64, 1, mo.n, 0, mo.t, files, "t");
    }
    char fig[4096];
    struct stat sb;
    snprintf(fig, sizeof fig, "%s/%s.png", dir, mo.name);
    if (!st && stat(fig, &sb) == 0) {
        snprintf(fig, sizeof fig, "%s.png", mo.name);
        cJSON_AddStringToObject(files, "figure", fig);
    }
    return st ? bd_fail_context(st, "monitor '%s'", mo.name) : BD_OK;
}

/* What the population kernels must read and write per step, for the memory-bandwidth bound of the state
 * update: the state, the input accumulators (read, then zeroed), per-element parameters, the refractory
 * counter, the NaN flag (read) and the spike flag and record (written). */
static double state_bytes_per_step(const bd_run *r)
{
    double total = 0;
    for (int p = 0; p < r->net->npops; p++) {
        const run_pop *q = &r->pops[p];
        int pending = 0; /* inputs read and cleared besides the state (not the direct ones) */
        for (int j = 0; j < q->ntargets; j++) pending += !q->direct[j];
        double per = (double)r->es * (2.0 * q->nstate + 2.0 * pending + q->npar) + 4.0 + 4.0;
        if (q->refractory) per += 8;
        if (q->rec_rows) per += 4;
        total += per * (double)q->n;
    }
    return total;
}

bd_status bd_run_write(const bd_run *r, const char *dir)
{
    if (!r || !dir) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_write: NULL argument");
    bd_status dst = bd_dir_create(dir);
    if (dst) return bd_fail_context(dst, "bd_run_write");
    const bd_network *net = r->net;
    cJSON *m = cJSON_CreateObject();
    if (!m) return bd_fail(BD_ERR_NOMEM, "bd_run_write: out of memory");
    cJSON_AddStringToObject(m, "model", net->name ? net->name : "");
    if (net->source) cJSON_AddStringToObject(m, "source", net->source);
    cJSON_AddStringToObject(m, "device", r->info->name);
    cJSON_AddStringToObject(m, "device_description", r->info->description);
    cJSON_AddStringToObject(m, "precision", r->t == BD_F64 ? "f64" : "f32");
    cJSON_AddNumberToObject(m, "dt_ms", r->dt);
    cJSON_AddNumberToObject(m, "seed", (double)net->seed);
    cJSON_AddNumberToObject(m, "start_step", (double)r->start_step);
    cJSON_AddNumberToObject(m, "steps", (double)(r->step - r->start_step));
    cJSON_AddNumberToObject(m, "t_start_ms", (double)r->start_step * r->dt);
    cJSON_AddNumberToObject(m, "t_end_ms", (double)r->step * r->dt);
    cJSON_AddNumberToObject(m, "chunk_steps", r->chunk);
    cJSON_AddNumberToObject(m, "wall_time_s", r->wall_s);
    cJSON_AddNumberToObject(m, "sim_s", r->wall_s); /* the same: the stepping alone, no setup or compile */
    if (r->info->backend == BD_BACKEND_CPU) cJSON_AddNumberToObject(m, "threads", r->dev->threads);
    cJSON_AddNumberToObject(m, "state_bytes_per_step", state_bytes_per_step(r));
    cJSON_AddBoolToObject(m, "deterministic", r->o.deterministic != 0);
    cJSON_AddNumberToObject(m, "setup_s", r->setup_s);
    cJSON_AddNumberToObject(m, "compile_s", r->compile_s);
    double secs = (double)(r->step - r->start_step) * r->dt * 1e-3;
    cJSON *pops = cJSON_AddObjectToObject(m, "populations");
    for (int p = 0; p < net->npops; p++) {
        cJSON *o = cJSON_AddObjectToObject(pops, r->pops[p].path);
        cJSON_AddNumberToObject(o, "size", (double)r->pops[p].n);
        cJSON_AddStringToObject(o, "method", r->pops[p].method->name);
        cJSON_AddNumberToObject(o, "spikes", (double)r->pops[p].spikes);
        cJSON_AddNumberToObject(o, "mean_rate_hz", secs > 0 ? (double)r->pops[p].spikes / ((double)r->pops[p].n * secs) : 0);
    }
    cJSON *projs = cJSON_AddObjectToObject(m, "projections");
    double events = 0;
    for (int j = 0; j < net->nprojs; j++) {
        cJSON *o = cJSON_AddObjectToObject(projs, r->projs[j].np->path ? r->projs[j].np->path : "?");
        cJSON_AddStringToObject(o, "storage", r->projs[j].procedural ? "procedural" : "csr");
        if (!r->projs[j].procedural) cJSON_AddNumberToObject(o, "synapses", (double)r->projs[j].nnz);
        cJSON_AddNumberToObject(o, "delay_steps", r->projs[j].delay);
        /* spikes of the source times its mean out-degree (the expected one for procedural rows) */
        const run_proj *pj = &r->projs[j];
        double n_pre = (double)r->pops[pj->np->pre].n, n_post = (double)r->pops[pj->np->post].n;
        double outdeg = !pj->procedural ? (double)pj->nnz / n_pre
                        : pj->proc.conn == BD_PROC_FIXED_PROB ? pj->proc.p * n_post : (double)pj->proc.outdegree;
        double ev = (double)r->pops[pj->np->pre].spikes * outdeg;
        cJSON_AddNumberToObject(o, "events", ev);
        events += ev;
    }
    cJSON_AddNumberToObject(m, "events", events);
    cJSON *list = cJSON_AddArrayToObject(m, "monitors");
    bd_status st = BD_OK;
    for (int j = 0; j < net->nprojs && !st; j++) { /* plastic weights at the end of the run */
        if (!r->projs[j].np->plastic) continue;
        const char *path = r->projs[j].np->path;
        double *w;
        int32_t *pre, *post;
        size_t n;
        if ((st = bd_run_weights(r, path, &w, &pre, &post, &n))) break;
        char stem[400];
        snprintf(stem, sizeof stem, "weights_%.300s", path);
        cJSON *o = cJSON_GetObjectItem(projs, path), *files = cJSON_AddObjectToObject(o, "files");
        st = npy(dir, stem, "", BD_F64, 1, n, 0, w, files, "w");
        if (!st) st = npy(dir, stem, "_pre", BD_I32, 1, n, 0, pre, files, "pre");
        if (!st) st = npy(dir, stem, "_post", BD_I32, 1, n, 0, post, files, "post");
        free(w), free(pre), free(post);
    }
    for (int k = 0; k < net->nmonitors && !st; k++) st = write_monitor(r, k, dir, list);
    char *text = st ? NULL : cJSON_Print(m);
    cJSON_Delete(m);
    if (st) return bd_fail_context(st, "bd_run_write (%s)", dir);
    if (!text) return bd_fail(BD_ERR_NOMEM, "bd_run_write: out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    st = bd_file_write_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

/* ------------------------------------------------------------------------------------------------ */
/* Checkpoints: "BDYNCKP1", u32 version, u32 dtype, u64 model hash, u64 step, u64 payload bytes, the
 * payload (per population: state, refractory counters, spike ring slots, NaN flags, pending inputs), and
 * the FNV-1a hash of the payload. Host byte order: a checkpoint moves between devices, not machines.     */

#define CKPT_MAGIC "BDYNCKP1"
#define CKPT_VERSION 2u /* 2: a direct target's input buffer holds its variable (run_pop.direct) */
#define CKPT_HEADER 40

typedef struct piece {
    bd_buffer *buf;
    size_t bytes;
} piece;

/* The state-carrying buffers in file order; returns their count (pieces may be NULL to count). */
static size_t pieces(const bd_run *r, piece *out)
{
    size_t k = 0;
#define PUT(b, n) do { if (out) out[k] = (piece){(b), (n)}; k++; } while (0)
    for (int p = 0; p < r->net->npops; p++) {
        const run_pop *q = &r->pops[p];
        PUT(q->state, (size_t)q->nstate * q->n * r->es);
        if (q->refractory) PUT(q->refr, q->n * 4);
        for (uint32_t s = 0; s < q->ring_len; s++) PUT(q->ring[s], q->n * 4);
        PUT(q->bad, 2 * q->n * 4);
        for (int j = 0; j < q->ntargets; j++) PUT(q->in[j], q->n * r->es);
        if (q->hist_len) PUT(q->hist, (size_t)q->hist_len * q->nstate * q->n * r->es);
        if (q->fde) PUT(q->init, (size_t)q->nstate * q->n * r->es);
    }
    for (int j = 0; j < r->net->nprojs; j++) {
        bd_buffer *b[2];
        size_t bytes[2];
        int n = run_proj_state(r, j, b, bytes);
        for (int m = 0; m < n; m++) PUT(b[m], bytes[m]);
    }
#undef PUT
    return k;
}

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

bd_status bd_run_save(const bd_run *r, const char *path)
{
    if (!r || !path) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_save: NULL argument");
    size_t np = pieces(r, NULL), payload = 0;
    piece *ps = malloc((np ? np : 1) * sizeof *ps);
    if (!ps) return bd_fail(BD_ERR_NOMEM, "bd_run_save: out of memory");
    pieces(r, ps);
    for (size_t k = 0; k < np; k++) payload += ps[k].bytes;
    unsigned char *blob = malloc(CKPT_HEADER + payload + 8);
    if (!blob) {
        free(ps);
        return bd_fail(BD_ERR_NOMEM, "bd_run_save: out of memory for %zu bytes of state", payload);
    }
    memcpy(blob, CKPT_MAGIC, 8);
    uint32_t ver = CKPT_VERSION, dt = (uint32_t)r->t;
    memcpy(blob + 8, &ver, 4);
    memcpy(blob + 12, &dt, 4);
    put64(blob + 16, r->hash);
    put64(blob + 24, r->step);
    put64(blob + 32, payload);
    bd_status st = BD_OK;
    size_t at = CKPT_HEADER;
    for (size_t k = 0; k < np && !st; k++) {
        st = bd_buffer_download(ps[k].buf, 0, blob + at, ps[k].bytes);
        at += ps[k].bytes;
    }
    if (st) bd_fail_context(st, "bd_run_save: reading the state from %s", r->info->name);
    fnv f = {0xcbf29ce484222325ull};
    fnv_bytes(&f, blob + CKPT_HEADER, payload);
    put64(blob + CKPT_HEADER + payload, f.h);
    if (!st) st = bd_file_write_atomic(path, blob, CKPT_HEADER + payload + 8);
    free(blob), free(ps);
    return st;
}

bd_status bd_run_restore(bd_run *r, const char *path)
{
    if (!r || !path) return bd_fail(BD_ERR_INVALID_ARG, "bd_run_restore: NULL argument");
    FILE *fp = fopen(path, "rb");
    if (!fp) return bd_fail(BD_ERR_IO, "checkpoint '%s': %s", path, strerror(errno));
    size_t np = pieces(r, NULL), payload = 0;
    piece *ps = malloc((np ? np : 1) * sizeof *ps);
    if (ps) pieces(r, ps);
    for (size_t k = 0; ps && k < np; k++) payload += ps[k].bytes;
    size_t want = CKPT_HEADER + payload + 8;
    unsigned char *blob = ps ? malloc(want + 1) : NULL;
    bd_status st = blob ? BD_OK : bd_fail(BD_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    size_t got = blob ? fread(blob, 1, want + 1, fp) : 0;
    fclose(fp);
    if (!st && (got < CKPT_HEADER || memcmp(blob, CKPT_MAGIC, 8) != 0))
        st = bd_fail(BD_ERR_PARSE, "checkpoint '%s': not a bdyn checkpoint", path);
    uint32_t ver = 0, dt = 0;
    if (!st) memcpy(&ver, blob + 8, 4), memcpy(&dt, blob + 12, 4);
    if (!st && ver != CKPT_VERSION) st = bd_fail(BD_ERR_PARSE, "checkpoint '%s': version %u, expected %u", path, ver, CKPT_VERSION);
    if (!st && dt != (uint32_t)r->t)
        st = bd_fail(BD_ERR_MODEL, "checkpoint '%s': saved in %s, this run is %s", path, bd_dtype_name((bd_dtype)dt),
                     bd_dtype_name(r->t));
    if (!st && get64(blob + 16) != r->hash)
        st = bd_fail(BD_ERR_MODEL, "checkpoint '%s': saved from another model (structure, equations, seed or dt differ)", path);
    if (!st && (got != want || get64(blob + 32) != payload))
        st = bd_fail(BD_ERR_PARSE, "checkpoint '%s': %zu bytes, expected %zu", path, got, want);
    if (!st) {
        fnv f = {0xcbf29ce484222325ull};
        fnv_bytes(&f, blob + CKPT_HEADER, payload);
        if (f.h != get64(blob + CKPT_HEADER + payload)) st = bd_fail(BD_ERR_PARSE, "checkpoint '%s': corrupt (hash)", path);
    }
    uint64_t step = st ? 0 : get64(blob + 24);
    if (!st && step > r->total)
        st = bd_fail(BD_ERR_MODEL, "checkpoint '%s': at step %llu, beyond this run's %llu steps", path,
                     (unsigned long long)step, (unsigned long long)r->total);
    size_t at = CKPT_HEADER;
    for (size_t k = 0; k < np && !st; k++) {
        st = bd_buffer_upload(ps[k].buf, 0, blob + at, ps[k].bytes);
        if (st) bd_fail_context(st, "checkpoint '%s': uploading to %s", path, r->info->name);
        at += ps[k].bytes;
    }
    free(blob), free(ps);
    if (st) return st;
    /* monitors and counters restart at the restored step */
    uint32_t zero = 0;
    for (int p = 0; p < r->net->npops && !st; p++) {
        st = bd_buffer_fill(r->pops[p].cnt, 0, (r->pops[p].n * 4 + 3) / 4 * 4, &zero, 4);
        r->pops[p].spikes = 0;
    }
    for (int m = 0; m < r->net->nmonitors; m++) r->mons[m].n = r->mons[m].ncounts = 0;
    r->step = r->start_step = step;
    r->wall_s = 0;
    if (!st) st = run_lists_rebuild(r);
    if (!st) {
        for (int m = 0; m < r->net->nmonitors && !st; m++)
            if (r->mons[m].nm->kind == BD_MON_RATE) st = run_rate_build(r, &r->mons[m]);
    }
    return st ? bd_fail_context(st, "checkpoint '%s'", path) : bd_device_sync(r->dev);
}
