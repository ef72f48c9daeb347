/* The cpu's random operators: Philox fills and procedural event propagation. They use the C build of
 * core/mathlib.inc (the same source every device prints), so the integer streams, and the numbers
 * derived from them, are those of docs/rng.md on every backend. */
#include "cpu_backend.h"
#include "error.h"

#define BD_ENABLE_F64 1
#include "mathlib_c.h"
#include "mathlib.inc"

#include <math.h>

typedef struct rjob {
    const bd_op *op;
    float logq; /* log(1 - p) in f32, computed as the host computes it */
} rjob;

/* ---- fills: element i comes from Philox block i / 4 (f64: block i / 2, two words per value) ---- */

static bd_u32x4 block(const bd_rng_key *k, uint64_t b)
{
    return bd_philox(BD_MAKE_U32X4((uint32_t)b, (uint32_t)(b >> 32), k->c2, k->c3), k->k0, k->k1);
}

static uint32_t word(bd_u32x4 v, unsigned l) { return l == 0 ? v.x : l == 1 ? v.y : l == 2 ? v.z : v.w; }

static void fill32_range(void *arg, int chunk, size_t b, size_t e)
{
    const bd_op *op = ((const rjob *)arg)->op;
    const bd_rng_key *k = &op->rng_key;
    uint32_t *restrict u = op->out->ctx;
    float *restrict f = op->out->ctx;
    (void)chunk;
    for (size_t i = b; i < e;) {
        bd_u32x4 v = block(k, i / 4);
        for (unsigned l = (unsigned)(i % 4); l < 4 && i < e; l++, i++) {
            if (op->rng_dist == BD_RNG_U32) u[i] = word(v, l);
            else if (op->rng_dist == BD_RNG_UNIFORM) f[i] = bd_u01_f32(word(v, l));
            else f[i] = bd_normal_f32(v, l);
        }
    }
}

static void fill64_range(void *arg, int chunk, size_t b, size_t e)
{
    const bd_op *op = ((const rjob *)arg)->op;
    const bd_rng_key *k = &op->rng_key;
    double *restrict d = op->out->ctx;
    (void)chunk;
    for (size_t i = b; i < e;) {
        bd_u32x4 v = block(k, i / 2);
        for (unsigned l = (unsigned)(i % 2); l < 2 && i < e; l++, i++) {
            if (op->rng_dist == BD_RNG_UNIFORM) d[i] = l == 0 ? bd_u01_f64(v.x, v.y) : bd_u01_f64(v.z, v.w);
            else d[i] = bd_normal_f64(v, l);
        }
    }
}

/* ---- procedural rows (core/procedural.c is the host's definition of the same rows) ---- */

/* Words j = 0, 1, 2, ... of one (seed, proj, pre, stream) sequence, one Philox block per four words,
 * equal to bd_proc_word(seed, proj, pre, stream, j). */
typedef struct words {
    uint32_t seed, proj, pre, stream;
    uint32_t blk; /* block held in v, or UINT32_MAX */
    bd_u32x4 v;
} words;

static inline uint32_t word_at(words *s, uint32_t j)
{
    if (j >> 2 != s->blk) {
        s->blk = j >> 2;
        s->v = bd_philox(BD_MAKE_U32X4(s->pre, s->blk, s->stream, 0u), s->seed, s->proj);
    }
    return word(s->v, j & 3u);
}

/* Target m's f32 weight: bd_proc_weight_f32 of mathlib.inc, fed from the cached stream-1 words. */
static inline float weight(const bd_procedural *c, words *w, uint32_t m)
{
    const float w0 = (float)c->w0, w1 = (float)c->w1;
    if (c->weight == BD_WEIGHT_UNIFORM) return w0 + (w1 - w0) * bd_u01_f32(word_at(w, m));
    if (c->weight == BD_WEIGHT_NORMAL) {
        float u1 = bd_u01_open_f32(word_at(w, 2u * m)), u2 = bd_u01_f32(word_at(w, 2u * m + 1u));
        return w0 + w1 * (sqrtf(-2.0f * bd_log_f32(u1)) * bd_cos_f32(6.2831855f * u2));
    }
    return w0;
}

static inline void add(const rjob *j, uint32_t t, float w)
{
    if (j->op->dtype == BD_F64) ((double *)j->op->out->ctx)[t] += (double)w;
    else ((float *)j->op->out->ctx)[t] += w;
}

/* Adds the regenerated rows of the spiking presynaptic neurons, in ascending order, to the post elements
 * [lo, hi) of y: threads split the post range, so each element's additions keep one order. */
static void proc_range(void *arg, int chunk, size_t lo, size_t hi)
{
    const rjob *j = arg;
    const bd_procedural *c = &j->op->proc;
    const uint32_t n_post = (uint32_t)c->n_post, end = (uint32_t)hi;
    (void)chunk;
    for (size_t k = 0; k < j->op->nspiking; k++) {
        const uint32_t r = j->op->spiking[k];
        words tw = {c->seed, c->proj_id, r, 0u, UINT32_MAX, {0, 0, 0, 0}};
        words ww = {c->seed, c->proj_id, r, 1u, UINT32_MAX, {0, 0, 0, 0}};
        if (c->conn == BD_PROC_FIXED_PROB) {
            /* Geometric skips: word k gives the number of non-targets before the next target; the targets
             * ascend, so the row ends for this range at hi. */
            uint32_t pos = 0, m = 0;
            for (uint32_t k = 0; pos < end; k++) {
                uint32_t g = bd_proc_gap(word_at(&tw, k), j->logq);
                if (g >= n_post - pos) break;
                pos += g;
                if (pos >= lo && pos < end) add(j, pos, weight(c, &ww, m));
                pos++, m++;
            }
        } else {
            for (uint32_t m = 0; m < c->outdegree; m++) {
                uint32_t t = bd_mulhi_u32(word_at(&tw, m), n_post);
                if (t >= lo && t < end) add(j, t, weight(c, &ww, m));
            }
        }
    }
}

static bd_status event_procedural(int threads, const bd_op *op)
{
    const bd_procedural *c = &op->proc;
    rjob j = {.op = op, .logq = c->p >= 1.0 ? -INFINITY : (float)log1p(-c->p)};
    if (c->conn == BD_PROC_FIXED_PROB && !(c->p > 0.0)) return BD_OK;
    /* Each target costs a share of a Philox block plus a log, about four plain adds. */
    double per_row = c->conn == BD_PROC_FIXED_PROB ? c->p * (double)c->n_post : (double)c->outdegree;
    double w = 4.0 * per_row * (double)op->nspiking;
    size_t work = w < 1e18 ? (size_t)w : (size_t)1e18;
    int chunks = bd_cpu_chunks(threads, work, CPU_GRAIN);
    if ((size_t)chunks > c->n_post / 16) chunks = 1;
    bd_cpu_parallel(chunks, c->n_post, proc_range, &j);
    return BD_OK;
}

bd_status bd_cpu_op_random(int threads, const bd_op *op)
{
    if (op->kind == BD_OP_EVENT_PROCEDURAL) return event_procedural(threads, op);
    /* A block costs about as much as a few elements of a memory-bound loop. */
    rjob j = {.op = op};
    int chunks = bd_cpu_chunks(threads, op->n, CPU_GRAIN / 4);
    bd_cpu_parallel(chunks, op->n, op->dtype == BD_F64 ? fill64_range : fill32_range, &j);
    return BD_OK;
}
