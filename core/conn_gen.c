/* Connectivity rules on the host (docs/toolbox.md, core/conn_gen.h). fixed_prob and fixed_outdegree are the
 * procedural rows of docs/rng.md (so "storage": "procedural" gives the same synapses); the other random
 * rules draw from Philox with counter (a, b, c, BD_CONN_STREAM << 24 | id) and the run's key, each draw
 * addressed by what it decides (a row and a slot, a pair, an edge and an attempt), never by a running
 * state, so the result depends on the seed alone. */
#include "conn_gen.h"
#include "error.h"
#include "philox.h"
#include "bdyn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *bd_conn_kind_name(bd_conn_kind k)
{
    static const char *const names[BD_CONN_NKINDS] = {
        "all2all", "one2one", "fixed_prob", "fixed_outdegree", "explicit", "fixed_post_num", "fixed_pre_num",
        "fixed_total_num", "gaussian_prob", "grid", "small_world", "scale_free_ba"};
    return (unsigned)k < BD_CONN_NKINDS ? names[k] : "?";
}

/* ------------------------------------------------------------------------------------------------------------
 * Random numbers */

typedef struct rng {
    uint32_t key[2], stream;
} rng;

/* A uniform in [0, 1) from the block at counter (a, b, c). */
static double unif(const rng *g, uint32_t a, uint32_t b, uint32_t c)
{
    const uint32_t ctr[4] = {a, b, c, g->stream};
    uint32_t w[4];
    bd_philox4x32_10(ctr, g->key, w);
    return (double)(((uint64_t)w[0] << 21) ^ (w[1] >> 11)) * 0x1.0p-53;
}

/* An integer uniform in [0, n) (n < 2^53; the bias of the 53-bit scaling is below n / 2^53). */
static uint64_t below(const rng *g, uint32_t a, uint32_t b, uint32_t c, uint64_t n)
{
    uint64_t v = (uint64_t)(unif(g, a, b, c) * (double)n);
    return v < n ? v : n - 1;
}

/* ------------------------------------------------------------------------------------------------------------
 * Geometry */

static void coords(const bd_geom *g, const uint32_t *shape, size_t i, double x[2])
{
    if (g->ndim == 2) {
        size_t r = i / shape[1], c = i % shape[1];
        x[0] = g->lo[0] + (g->hi[0] - g->lo[0]) * (double)r / shape[0];
        x[1] = g->lo[1] + (g->hi[1] - g->lo[1]) * (double)c / shape[1];
    } else {
        x[0] = g->lo[0] + (g->hi[0] - g->lo[0]) * (double)i / shape[0];
        x[1] = 0;
    }
}

double bd_geom_dist2(const bd_geom *g, size_t pre, size_t post)
{
    double a[2], b[2], s = 0;
    coords(g, g->shape, pre, a);
    coords(g, g->post_shape, post, b);
    for (int d = 0; d < g->ndim; d++) {
        double x = fabs(a[d] - b[d]), period = g->hi[d] - g->lo[d];
        if (g->periodic && x > period / 2) x = period - x;
        s += x * x;
    }
    return s;
}

/* ------------------------------------------------------------------------------------------------------------
 * Building the CSR */

void bd_conn_rows_free(bd_conn_rows *r)
{
    if (!r) return;
    free(r->rowptr), free(r->col), free(r->order);
    memset(r, 0, sizeof *r);
}

static int reserve(bd_conn_rows *f, size_t more)
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

static bd_status nomem(const char *name) { return bd_fail(BD_ERR_NOMEM, "projection '%s': out of memory for its connectivity", name); }

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Pairs given as pre * n_post + post keys, sorted and turned into rows (duplicates kept: multi-connections). */
static bd_status from_keys(uint64_t *keys, size_t n, size_t n_pre, size_t n_post, bd_conn_rows *f, const char *name)
{
    if (n > UINT32_MAX) return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
    qsort(keys, n, sizeof *keys, cmp_u64);
    if (reserve(f, n ? n : 1)) return nomem(name);
    size_t s = 0;
    for (size_t pre = 0; pre < n_pre; pre++) {
        f->rowptr[pre] = (uint32_t)s;
        while (s < n && keys[s] / n_post == pre) f->col[s] = (uint32_t)(keys[s] % n_post), s++;
    }
    f->rowptr[n_pre] = (uint32_t)n;
    f->nnz = n;
    return BD_OK;
}

/* A growing array of pair keys. */
typedef struct keyvec {
    uint64_t *k;
    size_t n, cap;
} keyvec;

static int kv_push(keyvec *v, uint64_t key)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        uint64_t *k = realloc(v->k, cap * sizeof *k);
        if (!k) return -1;
        v->k = k, v->cap = cap;
    }
    v->k[v->n++] = key;
    return 0;
}

/* An open-addressing set of 64-bit keys with deletion by tombstones (small-world rewiring, total_num). */
typedef struct kset {
    uint64_t *slot; /* EMPTY, DEAD or key */
    size_t cap, n, used;
} kset;
#define KS_EMPTY UINT64_MAX
#define KS_DEAD (UINT64_MAX - 1)

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33, x *= 0xff51afd7ed558ccdULL, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ULL, x ^= x >> 33;
    return x;
}

static int ks_init(kset *s, size_t expect)
{
    s->cap = 64;
    while (s->cap < 2 * expect + 2) s->cap *= 2;
    s->n = s->used = 0;
    s->slot = malloc(s->cap * sizeof *s->slot);
    if (!s->slot) return -1;
    for (size_t i = 0; i < s->cap; i++) s->slot[i] = KS_EMPTY;
    return 0;
}

static size_t ks_find(const kset *s, uint64_t key, int *found)
{
    size_t i = (size_t)mix(key) & (s->cap - 1), dead = SIZE_MAX;
    for (;;) {
        uint64_t v = s->slot[i];
        if (v == KS_EMPTY) {
            *found = 0;
            return dead != SIZE_MAX ? dead : i;
        }
        if (v == KS_DEAD) {
            if (dead == SIZE_MAX) dead = i;
        } else if (v == key) {
            *found = 1;
            return i;
        }
        i = (i + 1) & (s->cap - 1);
    }
}

static int ks_has(const kset *s, uint64_t key)
{
    int f;
    ks_find(s, key, &f);
    return f;
}

static int ks_add(kset *s, uint64_t key)
{
    if (2 * (s->used + 1) > s->cap) { /* grow (and drop tombstones) before the table is half full */
        kset t;
        if (ks_init(&t, s->n + 1 > s->cap / 2 ? s->n + 1 : s->cap / 2)) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i] < KS_DEAD) {
                int f;
                size_t j = ks_find(&t, s->slot[i], &f);
                t.slot[j] = s->slot[i], t.n++, t.used++;
            }
        free(s->slot);
        *s = t;
    }
    int f;
    size_t i = ks_find(s, key, &f);
    if (f) return 0;
    if (s->slot[i] == KS_EMPTY) s->used++;
    s->slot[i] = key;
    s->n++;
    return 0;
}

static void ks_del(kset *s, uint64_t key)
{
    int f;
    size_t i = ks_find(s, key, &f);
    if (f) s->slot[i] = KS_DEAD, s->n--;
}

/* ------------------------------------------------------------------------------------------------------------
 * The rules */

/* The given pairs: a stable counting sort by row keeps the given order within a row (weights follow it). */
static bd_status explicit_rows(const bd_net_proj *np, size_t n_pre, size_t n_post, bd_conn_rows *f)
{
    const char *name = np->path;
    memset(f->rowptr, 0, (n_pre + 1) * sizeof *f->rowptr);
    for (size_t s = 0; s < np->nnz; s++) {
        if (np->rows[s] >= n_pre || np->cols[s] >= n_post)
            return bd_fail(BD_ERR_MODEL, "projection '%s': pair %zu (%u -> %u) is outside %zu x %zu", name, s,
                           np->rows[s], np->cols[s], n_pre, n_post);
        f->rowptr[np->rows[s] + 1]++;
    }
    for (size_t i = 0; i < n_pre; i++) f->rowptr[i + 1] += f->rowptr[i];
    f->order = malloc((np->nnz ? np->nnz : 1) * sizeof *f->order);
    uint32_t *fill = calloc(n_pre ? n_pre : 1, sizeof *fill);
    if (!f->order || !fill || reserve(f, np->nnz ? np->nnz : 1)) {
        free(fill);
        return nomem(name);
    }
    for (size_t s = 0; s < np->nnz; s++) {
        size_t at = f->rowptr[np->rows[s]] + fill[np->rows[s]]++;
        f->col[at] = np->cols[s];
        f->order[at] = s;
    }
    free(fill);
    f->nnz = np->nnz;
    return BD_OK;
}

/* all2all, one2one, fixed_prob, fixed_outdegree: row by row, exactly as before the toolbox (fixed_prob and
 * fixed_outdegree are procedural rows; without self-connections they are drawn over the n_post - 1 others). */
static bd_status classic_rows(const bd_net_proj *np, size_t n_pre, size_t n_post, const uint32_t key[2],
                              bd_conn_rows *f)
{
    const char *name = np->path;
    int self = np->pre == np->post && !np->include_self;
    if (np->conn == BD_CONN_ONE2ONE && n_pre != n_post)
        return bd_fail(BD_ERR_MODEL, "projection '%s': one2one needs pre and post of one size (%zu and %zu)", name,
                       n_pre, n_post);
    if (reserve(f, 1)) return nomem(name);
    bd_procedural proc = {.seed = key[0] ^ key[1], .proj_id = np->id, .n_pre = n_pre, .n_post = n_post - (self ? 1 : 0),
                          .conn = np->conn == BD_CONN_FIXED_PROB ? BD_PROC_FIXED_PROB : BD_PROC_FIXED_OUTDEGREE,
                          .p = np->p, .outdegree = np->k, .weight = BD_WEIGHT_CONSTANT, .w0 = 1};
    for (size_t pre = 0; pre < n_pre; pre++) {
        f->rowptr[pre] = (uint32_t)f->nnz;
        if (f->nnz > UINT32_MAX - n_post) return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
        size_t len = 0;
        if (np->conn == BD_CONN_ALL2ALL) {
            if (reserve(f, n_post)) return nomem(name);
            for (size_t q = 0; q < n_post; q++)
                if (!(self && q == pre)) f->col[f->nnz + len++] = (uint32_t)q;
        } else if (np->conn == BD_CONN_ONE2ONE) {
            if (reserve(f, 1)) return nomem(name);
            if (!self) f->col[f->nnz + len++] = (uint32_t)pre;
        } else {
            for (;;) {
                bd_status st = bd_procedural_row(&proc, (uint32_t)pre, f->col + f->nnz, NULL, f->cap - f->nnz, &len);
                if (st) return bd_fail_context(st, "projection '%s'", name);
                if (len <= f->cap - f->nnz) break;
                if (reserve(f, len)) return nomem(name);
            }
            if (self) /* drawn over the n_post - 1 others: skip over i itself */
                for (size_t q = 0; q < len; q++) f->col[f->nnz + q] += f->col[f->nnz + q] >= pre;
        }
        f->nnz += len;
    }
    f->rowptr[n_pre] = (uint32_t)f->nnz;
    return BD_OK;
}

/* k distinct values of [0, m) by Floyd's algorithm (Bentley & Floyd 1987, CACM 30:754): for j = m - k .. m - 1
 * draw t in [0, j] and take j if t is already taken. Draw i of the set uses counter (a, i, c). mark has m
 * zeroed bytes and is zeroed again on return; out gets the values sorted. */
static void floyd(const rng *g, uint32_t a, uint32_t c, uint64_t m, uint32_t k, unsigned char *mark, uint32_t *out)
{
    for (uint32_t i = 0; i < k; i++) {
        uint64_t j = m - k + i, t = below(g, a, i, c, j + 1);
        if (mark[t]) t = j;
        mark[t] = 1;
        out[i] = (uint32_t)t;
    }
    for (uint32_t i = 0; i < k; i++) mark[out[i]] = 0;
    qsort(out, k, sizeof *out, cmp_u32);
}

/* fixed_post_num: k distinct targets per pre; fixed_pre_num: k sources per post (distinct unless
 * allow_multi). With self-connections excluded the draw is over the others and skips over i itself. */
static bd_status fixed_num(const bd_net_proj *np, size_t n_pre, size_t n_post, const rng *g, bd_conn_rows *f)
{
    const char *name = np->path;
    int self = np->pre == np->post && !np->include_self;
    int per_post = np->conn == BD_CONN_FIXED_PRE_NUM;
    size_t n_rows = per_post ? n_post : n_pre, n_cand = (per_post ? n_pre : n_post) - (self ? 1 : 0);
    uint32_t k = np->k;
    if (k > n_cand && !(per_post && np->allow_multi && n_cand > 0))
        return bd_fail(BD_ERR_MODEL, "projection '%s': %u %s per %s exceed the %zu candidates", name, k,
                       per_post ? "sources" : "targets", per_post ? "post" : "pre", n_cand);
    if ((double)k * n_rows > UINT32_MAX) return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
    unsigned char *mark = calloc(n_cand ? n_cand : 1, 1);
    uint32_t *pick = malloc((k ? k : 1) * sizeof *pick);
    keyvec kv = {0};
    bd_status st = BD_OK;
    if (!mark || !pick) st = nomem(name);
    if (!st && !per_post && reserve(f, (size_t)k * n_rows + 1)) st = nomem(name);
    for (size_t r = 0; r < n_rows && !st; r++) {
        if (per_post && np->allow_multi) {
            for (uint32_t i = 0; i < k; i++) pick[i] = (uint32_t)below(g, (uint32_t)r, i, 2, n_cand);
            qsort(pick, k, sizeof *pick, cmp_u32);
        } else {
            floyd(g, (uint32_t)r, per_post ? 1 : 0, n_cand, k, mark, pick);
        }
        if (self)
            for (uint32_t i = 0; i < k; i++) pick[i] += pick[i] >= r;
        if (per_post) {
            for (uint32_t i = 0; i < k && !st; i++)
                if (kv_push(&kv, (uint64_t)pick[i] * n_post + r)) st = nomem(name);
        } else {
            f->rowptr[r] = (uint32_t)f->nnz;
            memcpy(f->col + f->nnz, pick, (size_t)k * sizeof *pick);
            f->nnz += k;
        }
    }
    if (!st && per_post) st = from_keys(kv.k, kv.n, n_pre, n_post, f, name);
    else if (!st) f->rowptr[n_pre] = (uint32_t)f->nnz;
    free(mark), free(pick), free(kv.k);
    return st;
}

/* fixed_total_num: K synapses uniformly over the possible pairs (without i -> i when excluded), distinct by
 * Floyd's algorithm over pair numbers unless allow_multi. */
static bd_status fixed_total(const bd_net_proj *np, size_t n_pre, size_t n_post, const rng *g, bd_conn_rows *f)
{
    const char *name = np->path;
    int self = np->pre == np->post && !np->include_self;
    uint64_t cols = n_post - (self ? 1 : 0), m = (uint64_t)n_pre * cols, k = np->k;
    if (k > m && !(np->allow_multi && m > 0))
        return bd_fail(BD_ERR_MODEL, "projection '%s': %llu synapses exceed the %llu possible pairs", name,
                       (unsigned long long)k, (unsigned long long)m);
    uint64_t *keys = malloc((k ? k : 1) * sizeof *keys);
    kset set = {0};
    if (!keys || (!np->allow_multi && ks_init(&set, k))) {
        free(keys), free(set.slot);
        return nomem(name);
    }
    bd_status st = BD_OK;
    for (uint64_t i = 0; i < k && !st; i++) {
        uint32_t lo = (uint32_t)i, hi = (uint32_t)(i >> 32);
        uint64_t t;
        if (np->allow_multi) {
            t = below(g, lo, hi, 3, m);
        } else {
            uint64_t j = m - k + i;
            t = below(g, lo, hi, 4, j + 1);
            if (ks_has(&set, t)) t = j;
            if (ks_add(&set, t)) st = nomem(name);
        }
        /* pair number -> (pre, post) with i -> i skipped */
        uint64_t pre = t / cols, q = t % cols;
        keys[i] = pre * n_post + (q + (self && q >= pre));
    }
    if (!st) st = from_keys(keys, k, n_pre, n_post, f, name);
    free(keys), free(set.slot);
    return st;
}

/* gaussian_prob: pair (pre, post) with probability exp(-d^2 / (2 sigma^2)) (divided by its largest value
 * when normalised), one uniform per pair at counter (pre, post, 5). */
static bd_status gaussian_prob(const bd_net_proj *np, size_t n_pre, size_t n_post, const rng *g, bd_conn_rows *f)
{
    const char *name = np->path;
    double k2 = 1 / (2 * np->sigma * np->sigma), top = 1;
    if (np->normalize) {
        top = 0;
        for (size_t pre = 0; pre < n_pre; pre++)
            for (size_t q = 0; q < n_post; q++) {
                double p = exp(-bd_geom_dist2(&np->geom, pre, q) * k2);
                if (p > top) top = p;
            }
        if (!(top > 0)) top = 1;
    }
    for (size_t pre = 0; pre < n_pre; pre++) {
        f->rowptr[pre] = (uint32_t)f->nnz;
        if (reserve(f, n_post)) return nomem(name);
        if (f->nnz > UINT32_MAX - n_post) return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
        for (size_t q = 0; q < n_post; q++) {
            if (!np->include_self && q == pre) continue;
            double p = exp(-bd_geom_dist2(&np->geom, pre, q) * k2) / top;
            if (unif(g, (uint32_t)pre, (uint32_t)q, 5) < p) f->col[f->nnz++] = (uint32_t)q;
        }
    }
    f->rowptr[n_pre] = (uint32_t)f->nnz;
    return BD_OK;
}

/* grid4 / grid8 / gridN on a rows x cols lattice (a 1-D shape is one row): the neighbours within Chebyshev
 * radius N (grid4: the 4 at Manhattan distance 1), wrapped when periodic; a neighbour reached twice through
 * the wrap of a short axis is one synapse. */
static bd_status grid(const bd_net_proj *np, size_t n_pre, bd_conn_rows *f)
{
    const char *name = np->path;
    long R = np->geom.ndim == 2 ? (long)np->geom.shape[0] : 1;
    long C = np->geom.ndim == 2 ? (long)np->geom.shape[1] : (long)np->geom.shape[0];
    long N = np->grid4 ? 1 : (long)np->radius;
    /* a radius beyond an axis adds nothing (the wrap would only repeat neurons) */
    long dr_max = np->geom.ndim == 2 ? (N < R ? N : R) : 0, dc_max = N < C ? N : C;
    size_t room = (size_t)(2 * dr_max + 1) * (size_t)(2 * dc_max + 1);
    for (size_t pre = 0; pre < n_pre; pre++) {
        f->rowptr[pre] = (uint32_t)f->nnz;
        if (reserve(f, room)) return nomem(name);
        if (f->nnz > UINT32_MAX - room) return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
        long r = (long)(pre / (size_t)C), c = (long)(pre % (size_t)C);
        size_t len = 0;
        for (long dr = -dr_max; dr <= dr_max; dr++)
            for (long dc = -dc_max; dc <= dc_max; dc++) {
                if (np->grid4 && labs(dr) + labs(dc) > 1) continue;
                long rr = r + dr, cc = c + dc;
                if (np->geom.periodic) rr = ((rr % R) + R) % R, cc = ((cc % C) + C) % C;
                else if (rr < 0 || rr >= R || cc < 0 || cc >= C) continue;
                size_t q = (size_t)(rr * C + cc);
                if (q == pre && !np->include_self) continue;
                f->col[f->nnz + len++] = (uint32_t)q;
            }
        uint32_t *row = f->col + f->nnz;
        qsort(row, len, sizeof *row, cmp_u32);
        size_t u = 0;
        for (size_t s = 0; s < len; s++)
            if (!u || row[s] != row[u - 1]) row[u++] = row[s];
        f->nnz += u;
    }
    f->rowptr[n_pre] = (uint32_t)f->nnz;
    return BD_OK;
}

/* A node w for the rewired edge from (or, in_edge, into) u: uniform over the nodes not yet joined to u
 * (nor u itself without self-connections). Rejection from counter (u, j, 8 t + tag) while the free nodes are
 * many; otherwise the r-th free node by a scan. Returns n when none is free. */
static size_t free_node(const rng *g, const kset *e, size_t n, size_t u, uint32_t j, uint32_t tag, int in_edge,
                        int self_ok, size_t deg)
{
    int has_self = ks_has(e, (uint64_t)u * n + u);
    long long left = (long long)n - (long long)deg - (!self_ok && !has_self ? 1 : 0);
    if (left <= 0) return n;
    size_t avail = (size_t)left;
    for (uint32_t t = 0; t < 64 && avail * 4 >= n; t++) {
        size_t w = (size_t)below(g, (uint32_t)u, j, 8 * t + tag, n);
        uint64_t key = in_edge ? (uint64_t)w * n + u : (uint64_t)u * n + w;
        if ((w != u || self_ok) && !ks_has(e, key)) return w;
    }
    size_t r = (size_t)below(g, (uint32_t)u, j, 8 * 64 + tag, avail);
    for (size_t w = 0; w < n; w++) {
        uint64_t key = in_edge ? (uint64_t)w * n + u : (uint64_t)u * n + w;
        if ((w == u && !self_ok) || ks_has(e, key)) continue;
        if (r-- == 0) return w;
    }
    return n;
}

/* Watts & Strogatz (1998), Nature 393:440: a ring where each node is joined to its num_neighbor / 2 nearest on
 * either side, then every lattice edge (u, u + j), in the order j = 1.., u = 0.., is moved with probability
 * p to (u, w), w uniform among the nodes not joined to u. Undirected: both directions move together;
 * directed: the edge u -> u + j and the edge u + j -> u are moved separately (the latter to w -> u). */
static bd_status small_world(const bd_net_proj *np, size_t n, const rng *g, bd_conn_rows *f)
{
    const char *name = np->path;
    uint32_t half = np->k / 2;
    kset e;
    size_t *out = calloc(n ? n : 1, sizeof *out), *in = calloc(n ? n : 1, sizeof *in);
    if (!out || !in || ks_init(&e, 2 * (size_t)n * half)) {
        free(out), free(in);
        return nomem(name);
    }
    bd_status st = BD_OK;
#define ADD(x, y) (ks_add(&e, (uint64_t)(x) * n + (y)) ? (st = nomem(name)) : (out[x]++, in[y]++, BD_OK))
#define DEL(x, y) (ks_del(&e, (uint64_t)(x) * n + (y)), out[x]--, in[y]--)
    for (uint32_t j = 1; j <= half && !st; j++)
        for (size_t u = 0; u < n && !st; u++) {
            size_t v = (u + j) % n;
            ADD(u, v);
            if (!st) ADD(v, u);
        }
    for (uint32_t j = 1; j <= half && !st; j++)
        for (size_t u = 0; u < n && !st; u++) {
            size_t v = (u + j) % n;
            if (unif(g, (uint32_t)u, j, 0) < np->p) {
                size_t w = free_node(g, &e, n, u, j, 1, 0, np->include_self, out[u]);
                if (w < n) {
                    DEL(u, v);
                    ADD(u, w);
                    if (!np->directed && !st) {
                        DEL(v, u);
                        if (w != u) ADD(w, u);
                    }
                }
            }
            if (np->directed && !st && unif(g, (uint32_t)u, j, 2) < np->p) {
                size_t w = free_node(g, &e, n, u, j, 3, 1, np->include_self, in[u]);
                if (w < n) {
                    DEL(v, u);
                    ADD(w, u);
                }
            }
        }
#undef ADD
#undef DEL
    keyvec kv = {0};
    for (size_t s = 0; s < e.cap && !st; s++)
        if (e.slot[s] < KS_DEAD && kv_push(&kv, e.slot[s])) st = nomem(name);
    if (!st) st = from_keys(kv.k, kv.n, n, n, f, name);
    free(kv.k), free(e.slot), free(out), free(in);
    return st;
}

/* Barabasi & Albert (1999), Science 286:509: nodes 0..m-1 start unconnected; node s = m.. n-1 joins m
 * distinct nodes, the first time 0..m-1, afterwards drawn from a list holding every node once per edge end
 * (preferential attachment; draw t of node s at counter (s, t, 6)). Undirected: each edge both ways. */
static bd_status scale_free_ba(const bd_net_proj *np, size_t n, const rng *g, bd_conn_rows *f)
{
    const char *name = np->path;
    size_t m = np->k;
    if (m < 1 || m >= n)
        return bd_fail(BD_ERR_MODEL, "projection '%s': scale_free_ba needs 1 <= m < n (m = %zu, n = %zu)", name, m, n);
    size_t edges = m * (n - m);
    if ((np->directed ? 1.0 : 2.0) * (double)edges > UINT32_MAX)
        return bd_fail(BD_ERR_LIMIT, "projection '%s': more than 2^32 synapses", name);
    size_t *rep = malloc(2 * edges * sizeof *rep), *tg = malloc(m * sizeof *tg), nrep = 0;
    keyvec kv = {0};
    bd_status st = BD_OK;
    if (!rep || !tg) st = nomem(name);
    for (size_t i = 0; i < m && !st; i++) tg[i] = i;
    for (size_t s = m; s < n && !st; s++) {
        for (size_t i = 0; i < m && !st; i++) {
            if (kv_push(&kv, (uint64_t)s * n + tg[i])) st = nomem(name);
            if (!st && !np->directed && kv_push(&kv, (uint64_t)tg[i] * n + s)) st = nomem(name);
            rep[nrep++] = tg[i];
        }
        for (size_t i = 0; i < m; i++) rep[nrep++] = s;
        if (s + 1 == n) break;
        size_t got = 0;
        for (uint32_t t = 0; got < m; t++) {
            size_t x = rep[below(g, (uint32_t)s, t, 6, nrep)], d = 0;
            while (d < got && tg[d] != x) d++;
            if (d == got) tg[got++] = x;
        }
    }
    if (!st) st = from_keys(kv.k, kv.n, n, n, f, name);
    free(rep), free(tg), free(kv.k);
    return st;
}

bd_status bd_conn_generate(const bd_net_proj *np, size_t n_pre, size_t n_post, const uint32_t key[2], bd_conn_rows *f)
{
    const char *name = np->path ? np->path : "?";
    memset(f, 0, sizeof *f);
    f->rowptr = malloc((n_pre + 1) * sizeof *f->rowptr);
    if (!f->rowptr) return nomem(name);
    f->rowptr[0] = 0;
    rng g = {{key[0], key[1]}, (BD_CONN_STREAM << 24) | (np->id & 0xFFFFFFu)};
    int square = np->conn == BD_CONN_SMALL_WORLD || np->conn == BD_CONN_SCALE_FREE_BA || np->conn == BD_CONN_GRID;
    if (square && n_pre != n_post) {
        bd_conn_rows_free(f);
        return bd_fail(BD_ERR_MODEL, "projection '%s': %s needs pre and post of one size (%zu and %zu)", name,
                       bd_conn_kind_name(np->conn), n_pre, n_post);
    }
    if (np->conn == BD_CONN_GRID || np->conn == BD_CONN_GAUSSIAN_PROB) {
        const bd_geom *ge = &np->geom;
        size_t a = ge->ndim == 2 ? (size_t)ge->shape[0] * ge->shape[1] : ge->shape[0];
        size_t b = ge->ndim == 2 ? (size_t)ge->post_shape[0] * ge->post_shape[1] : ge->post_shape[0];
        if (a != n_pre || b != n_post) {
            bd_conn_rows_free(f);
            return bd_fail(BD_ERR_MODEL, "projection '%s': the grid shape holds %zu and %zu neurons, the populations "
                           "%zu and %zu", name, a, b, n_pre, n_post);
        }
    }
    bd_status st;
    switch (np->conn) {
    case BD_CONN_EXPLICIT: st = explicit_rows(np, n_pre, n_post, f); break;
    case BD_CONN_ALL2ALL:
    case BD_CONN_ONE2ONE:
    case BD_CONN_FIXED_PROB:
    case BD_CONN_FIXED_OUTDEGREE: st = classic_rows(np, n_pre, n_post, key, f); break;
    case BD_CONN_FIXED_POST_NUM:
    case BD_CONN_FIXED_PRE_NUM: st = fixed_num(np, n_pre, n_post, &g, f); break;
    case BD_CONN_FIXED_TOTAL_NUM: st = fixed_total(np, n_pre, n_post, &g, f); break;
    case BD_CONN_GAUSSIAN_PROB: st = gaussian_prob(np, n_pre, n_post, &g, f); break;
    case BD_CONN_GRID: st = grid(np, n_pre, f); break;
    case BD_CONN_SMALL_WORLD:
        st = np->k >= n_pre ? bd_fail(BD_ERR_MODEL, "projection '%s': small_world needs num_neighbor < n (%u, %zu)",
                                      name, np->k, n_pre)
                            : small_world(np, n_pre, &g, f);
        break;
    case BD_CONN_SCALE_FREE_BA: st = scale_free_ba(np, n_pre, &g, f); break;
    default: st = bd_fail(BD_ERR_INVALID_ARG, "projection '%s': unknown connectivity rule %d", name, (int)np->conn);
    }
    if (st) bd_conn_rows_free(f);
    return st;
}
