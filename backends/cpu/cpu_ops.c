/* The cpu's fast fixed operators: reductions, gather/scatter, CSR products, event propagation and
 * spike compaction, split across the device's threads. Results agree with core/ref_ops.c (the
 * ordered ones bit for bit); scatter-style ops add into per-thread copies instead of using atomics,
 * except the event pushes, which keep the one-thread order (cpu_push.c). */
#include "cpu_backend.h"
#include "error.h"

#include <math.h>
#include <string.h>

typedef struct job {
    const bd_op *op;
    double part[CPU_MAX_CHUNKS];    /* reduce: each chunk's partial */
    void *dst[CPU_MAX_CHUNKS];      /* scatter-style: where each chunk adds (bd_cpu_scatter) */
} job;

static double empty_value(bd_reduce_kind kind)
{
    switch (kind) {
    case BD_REDUCE_SUM: return 0.0;
    case BD_REDUCE_MIN: return INFINITY;
    case BD_REDUCE_MAX: return -INFINITY;
    case BD_REDUCE_MEAN: break;
    }
    return NAN;
}

/* Entries [p0, p1) of row r, clamped to nnz; a decreasing rowptr pair is an empty row. */
static inline void row_span(const uint32_t *rp, size_t r, size_t nnz, size_t *p0, size_t *p1)
{
    size_t lo = rp[r] < nnz ? rp[r] : nnz, hi = rp[r + 1] < nnz ? rp[r + 1] : nnz;
    *p0 = lo;
    *p1 = hi > lo ? hi : lo;
}

#define T float
#define F(name) name##_f32
#include "cpu_ops_t.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "cpu_ops_t.inc"
#undef T
#undef F

#define PICK(op, name) ((op)->dtype == BD_F64 ? name##_f64 : name##_f32)

/* Runs fn over [0, n) with as many chunks as `work` elements justify. */
static void run(int threads, job *j, size_t n, size_t work, cpu_range_fn fn)
{
    int chunks = bd_cpu_chunks(threads, work, CPU_GRAIN);
    /* Chunk bounds fall on multiples of 16 items, so fewer items than that per chunk would idle threads. */
    if ((size_t)chunks > n / 16) chunks = n >= 32 ? (int)(n / 16) : 1;
    bd_cpu_parallel(chunks, n, fn, j);
}

static void store(const bd_op *op, double v)
{
    if (op->dtype == BD_F64) *(double *)op->out->ctx = v;
    else *(float *)op->out->ctx = (float)v;
}

static void reduce(int threads, job *j)
{
    const bd_op *op = j->op;
    if (op->n == 0) {
        store(op, empty_value(op->red));
        return;
    }
    int chunks = bd_cpu_chunks(threads, op->n, CPU_GRAIN);
    bd_cpu_parallel(chunks, op->n, PICK(op, reduce_range), j);
    /* Partials combine in chunk order, so a given thread count always gives the same result. */
    double v = j->part[0];
    for (int c = 1; c < chunks; c++) {
        double p = j->part[c];
        if (op->red == BD_REDUCE_MIN) v = p < v ? p : v;
        else if (op->red == BD_REDUCE_MAX) v = p > v ? p : v;
        else v += p;
    }
    if (op->red == BD_REDUCE_MEAN) v /= (double)op->n;
    store(op, v);
}

/* Appends the set flags among [i, e) to out + c, testing 16 at a time; returns the new count. */
static inline uint32_t compact_16(const uint32_t *restrict f, size_t i, size_t e, uint32_t *restrict out, uint32_t c)
{
    for (; i + 16 <= e; i += 16) {
        uint32_t some = 0;
        for (int k = 0; k < 16; k++) some |= f[i + k];
        if (!some) continue;
        for (size_t q = i; q < i + 16; q++)
            if (f[q]) out[c++] = (uint32_t)q;
    }
    for (; i < e; i++)
        if (f[i]) out[c++] = (uint32_t)i;
    return c;
}

/* Writes the indices of the non-zero flags in [b, e) to out, in ascending order; returns how many.
 * The runner calls it for every population and step (a copy for the widest vectors, CPU_CLONES). */
CPU_CLONES static uint32_t compact_span(const uint32_t *restrict f, size_t b, size_t e, uint32_t *restrict out)
{
    uint32_t c = 0;
    size_t i = b;
    /* spikes are rare: a block of 128 flags is tested with one OR (the reduction to a scalar is the costly
     * part, so the blocks are large), and a set block in pieces of 16 */
    for (; i + 128 <= e; i += 128) {
        uint32_t any = 0;
        for (int k = 0; k < 128; k++) any |= f[i + k];
        if (any) c = compact_16(f, i, i + 128, out, c);
    }
    return compact_16(f, i, e, out, c);
}

typedef struct compact_job {
    const uint32_t *flags;
    uint32_t *out;
    size_t begin[CPU_MAX_CHUNKS];   /* where each chunk wrote its indices: out + its first element */
    uint32_t count[CPU_MAX_CHUNKS]; /* and how many */
} compact_job;

static void compact_range(void *arg, int chunk, size_t b, size_t e)
{
    compact_job *j = arg;
    j->begin[chunk] = b;
    j->count[chunk] = compact_span(j->flags, b, e, j->out + b);
}

/* Ascending indices on any thread count, in one pass: each chunk writes the indices of its range at the
 * range's own start in out (it has no more of them than elements), then they are moved together. */
size_t bd_cpu_compact(int threads, const uint32_t *flags, size_t n, uint32_t *out)
{
    int chunks = bd_cpu_chunks(threads, n, CPU_GRAIN);
    if (chunks == 1) return n ? compact_span(flags, 0, n, out) : 0;
    compact_job j = {.flags = flags, .out = out};
    bd_cpu_parallel(chunks, n, compact_range, &j);
    size_t total = 0;
    for (int c = 0; c < chunks; c++) {
        memmove(out + total, out + j.begin[c], j.count[c] * sizeof *out);
        total += j.count[c];
    }
    return total;
}

bd_status bd_cpu_op(int threads, const bd_op *op)
{
    /* the per-step ops of a simulation first: they need no job, whose 4 KB of zeroing cost as much as
     * a small push */
    if (op->kind == BD_OP_EVENT_CSR) {
        PICK(op, event_push)(op); /* one thread; cpu_backend.c sends larger ones to cpu_push.c */
        return BD_OK;
    }
    if (op->kind == BD_OP_SPIKE_COMPACT) {
        *(uint32_t *)op->out2->ctx = (uint32_t)bd_cpu_compact(threads, op->in->ctx, op->n, op->out->ctx);
        return BD_OK;
    }
    job j = {.op = op};
    const bd_csr *a = &op->csr;
    void *y = op->out->ctx;
    switch (op->kind) {
    case BD_OP_REDUCE: reduce(threads, &j); return BD_OK;
    case BD_OP_REDUCE_SEGMENTS: run(threads, &j, op->m, op->n + op->m, PICK(op, segments_range)); return BD_OK;
    case BD_OP_GATHER: run(threads, &j, op->n, op->n, PICK(op, gather_range)); return BD_OK;
    case BD_OP_SCATTER_ADD:
        bd_cpu_scatter(threads, op->n, op->n, op->dtype, y, op->m, j.dst, PICK(op, scatter_range), &j);
        return BD_OK;
    case BD_OP_CSR_SPMV: run(threads, &j, a->rows, a->rows + a->nnz, PICK(op, spmv_range)); return BD_OK;
    case BD_OP_CSR_SPMV_T:
        memset(y, 0, a->cols * bd_dtype_size(op->dtype));
        bd_cpu_scatter(threads, a->rows, a->rows + a->nnz, op->dtype, y, a->cols, j.dst, PICK(op, spmv_t_range), &j);
        return BD_OK;
    case BD_OP_EVENT_CSR_PULL: run(threads, &j, a->rows, a->rows + a->nnz, PICK(op, event_pull_range)); return BD_OK;
    default: break;
    }
    return bd_fail(BD_ERR_UNSUPPORTED, "cpu: operator %s is not handled here", bd_op_name(op->kind));
}
