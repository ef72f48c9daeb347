/* The public fixed operators: each call is checked (types, sizes, devices, limits) and packed into
 * a bd_op for the device's backend. core/ref_ops.c defines what each one computes. */
#include "backend.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *bd_op_name(bd_op_kind k)
{
    static const char *names[BD_OP_COUNT] = {
        "reduce", "reduce_segments", "gather", "scatter_add", "csr_spmv", "csr_spmv_t", "event_csr",
        "event_csr_pull", "spike_compact", "gemv", "gemm", "rng_fill", "event_procedural"};
    return (unsigned)k < BD_OP_COUNT ? names[k] : "?";
}

/* Checks that buf is on dev and holds `elems` elements of `esize` bytes (NULL allowed if optional). */
static bd_status need(bd_device *dev, const bd_op *op, const char *what, const bd_buffer *buf, size_t elems,
                      size_t esize, int optional)
{
    const char *name = bd_op_name(op->kind);
    if (!buf) return optional ? BD_OK : bd_fail(BD_ERR_INVALID_ARG, "%s: %s buffer is NULL", name, what);
    if (buf->dev != dev)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: %s buffer lives on %s, not on %s", name, what, buf->dev->info.name,
                       dev->info.name);
    if (elems > SIZE_MAX / esize || buf->size < elems * esize)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: %s buffer has %zu bytes, needs %zu elements of %zu bytes", name, what,
                       buf->size, elems, esize);
    if (buf->size > dev->info.max_binding_bytes)
        return bd_fail(BD_ERR_LIMIT, "%s: %s: %s buffer of %zu bytes exceeds the per-binding limit of %llu bytes",
                       dev->info.name, name, what, buf->size, (unsigned long long)dev->info.max_binding_bytes);
    return BD_OK;
}

static bd_status check_float(bd_device *dev, const bd_op *op)
{
    if (!dev) return bd_fail(BD_ERR_INVALID_ARG, "%s: device is NULL", bd_op_name(op->kind));
    if (op->dtype != BD_F32 && op->dtype != BD_F64)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: dtype must be f32 or f64, not %s", bd_op_name(op->kind),
                       bd_dtype_name(op->dtype));
    if (op->dtype == BD_F64 && !dev->info.fp64)
        return bd_fail(BD_ERR_UNSUPPORTED, "%s: %s does not support f64", dev->info.name, bd_op_name(op->kind));
    return BD_OK;
}

static bd_status submit(bd_device *dev, const bd_op *op)
{
    if (dev->be->supports) {
        bd_status st = dev->be->supports(dev, op);
        if (st) return st;
    }
    return dev->be->run_op(dev, op);
}

static bd_op make(bd_op_kind kind, bd_dtype t)
{
    bd_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.dtype = t;
    return op;
}

bd_status bd_reduce(bd_device *dev, bd_reduce_kind kind, bd_dtype t, const bd_buffer *in, size_t n, bd_buffer *out)
{
    bd_op op = make(BD_OP_REDUCE, t);
    op.red = kind;
    op.n = n;
    op.in = in;
    op.out = out;
    bd_status st = check_float(dev, &op);
    if ((unsigned)kind > BD_REDUCE_MEAN) return bd_fail(BD_ERR_INVALID_ARG, "reduce: unknown reduction %d", (int)kind);
    size_t es = bd_dtype_size(t);
    if (!st) st = need(dev, &op, "input", in, n, es, n == 0);
    if (!st) st = need(dev, &op, "output", out, 1, es, 0);
    return st ? st : submit(dev, &op);
}

bd_status bd_reduce_segments(bd_device *dev, bd_reduce_kind kind, bd_dtype t, const bd_buffer *in, size_t n,
                             const bd_buffer *offsets, size_t nseg, bd_buffer *out)
{
    bd_op op = make(BD_OP_REDUCE_SEGMENTS, t);
    op.red = kind;
    op.n = n;
    op.m = nseg;
    op.in = in;
    op.idx = offsets;
    op.out = out;
    bd_status st = check_float(dev, &op);
    if ((unsigned)kind > BD_REDUCE_MEAN) return bd_fail(BD_ERR_INVALID_ARG, "reduce_segments: unknown reduction");
    size_t es = bd_dtype_size(t);
    if (!st) st = need(dev, &op, "input", in, n, es, n == 0);
    if (!st) st = need(dev, &op, "offsets", offsets, nseg + 1, 4, 0);
    if (!st) st = need(dev, &op, "output", out, nseg, es, nseg == 0);
    if (!st && n > UINT32_MAX) st = bd_fail(BD_ERR_LIMIT, "reduce_segments: n exceeds the u32 offsets");
    return st || nseg == 0 ? st : submit(dev, &op);
}

bd_status bd_gather(bd_device *dev, bd_dtype t, const bd_buffer *src, size_t n_src, const bd_buffer *idx, size_t n,
                    bd_buffer *dst)
{
    bd_op op = make(BD_OP_GATHER, t);
    op.n = n;
    op.m = n_src;
    op.in = src;
    op.idx = idx;
    op.out = dst;
    bd_status st = check_float(dev, &op);
    size_t es = bd_dtype_size(t);
    if (!st) st = need(dev, &op, "source", src, n_src, es, n_src == 0);
    if (!st) st = need(dev, &op, "index", idx, n, 4, n == 0);
    if (!st) st = need(dev, &op, "destination", dst, n, es, n == 0);
    return st || n == 0 ? st : submit(dev, &op);
}

bd_status bd_scatter_add(bd_device *dev, bd_dtype t, const bd_buffer *src, const bd_buffer *idx, size_t n,
                         bd_buffer *dst, size_t n_dst)
{
    bd_op op = make(BD_OP_SCATTER_ADD, t);
    op.n = n;
    op.m = n_dst;
    op.in = src;
    op.idx = idx;
    op.out = dst;
    bd_status st = check_float(dev, &op);
    size_t es = bd_dtype_size(t);
    if (!st) st = need(dev, &op, "source", src, n, es, n == 0);
    if (!st) st = need(dev, &op, "index", idx, n, 4, n == 0);
    if (!st) st = need(dev, &op, "destination", dst, n_dst, es, n_dst == 0);
    return st || n == 0 ? st : submit(dev, &op);
}

static bd_status check_csr(bd_device *dev, bd_op *op, const bd_csr *a)
{
    if (!a) return bd_fail(BD_ERR_INVALID_ARG, "%s: matrix is NULL", bd_op_name(op->kind));
    op->csr = *a;
    if (a->rows >= UINT32_MAX || a->cols >= UINT32_MAX || a->nnz > UINT32_MAX)
        return bd_fail(BD_ERR_LIMIT, "%s: matrix dimensions exceed the u32 index range", bd_op_name(op->kind));
    bd_status st = need(dev, op, "rowptr", a->rowptr, a->rows + 1, 4, 0);
    if (!st) st = need(dev, op, "colidx", a->colidx, a->nnz, 4, a->nnz == 0);
    if (!st) st = need(dev, op, "values", a->values, a->nnz, bd_dtype_size(op->dtype), 1);
    return st;
}

static bd_status spmv(bd_op_kind kind, bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *x, bd_buffer *y)
{
    bd_op op = make(kind, t);
    op.in = x;
    op.out = y;
    bd_status st = check_float(dev, &op);
    if (!st) st = check_csr(dev, &op, a);
    if (st) return st;
    size_t es = bd_dtype_size(t);
    size_t nx = kind == BD_OP_CSR_SPMV ? a->cols : a->rows, ny = kind == BD_OP_CSR_SPMV ? a->rows : a->cols;
    if (!st) st = need(dev, &op, "x", x, nx, es, nx == 0);
    if (!st) st = need(dev, &op, "y", y, ny, es, ny == 0);
    return st || ny == 0 ? st : submit(dev, &op);
}

bd_status bd_csr_spmv(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *x, bd_buffer *y)
{
    return spmv(BD_OP_CSR_SPMV, dev, t, a, x, y);
}

bd_status bd_csr_spmv_t(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *x, bd_buffer *y)
{
    return spmv(BD_OP_CSR_SPMV_T, dev, t, a, x, y);
}

/* Both event products: `a` has rows = pre for the push form, rows = post for the pull form. */
/* A checked op with nothing to do (an empty population): bd_op_run returns at once. */
#define OP_EMPTY BD_OP_COUNT

bd_status bd_op_run(bd_device *dev, const bd_op *op)
{
    return op->kind == OP_EMPTY ? BD_OK : submit(dev, op);
}

static bd_status event(bd_op_kind kind, bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *spikes,
                       bd_buffer *y, bd_op *op)
{
    *op = make(kind, t);
    op->in = spikes;
    op->out = y;
    bd_status st = check_float(dev, op);
    if (!st) st = check_csr(dev, op, a);
    if (st) return st;
    size_t npre = kind == BD_OP_EVENT_CSR ? a->rows : a->cols, npost = kind == BD_OP_EVENT_CSR ? a->cols : a->rows;
    if (!st) st = need(dev, op, "spikes", spikes, npre, 4, npre == 0);
    if (!st) st = need(dev, op, "y", y, npost, bd_dtype_size(t), npost == 0);
    if (!st && (npre == 0 || npost == 0)) op->kind = OP_EMPTY;
    return st;
}

bd_status bd_event_csr_prepare(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *spikes, bd_buffer *y,
                               bd_op *op)
{
    return event(BD_OP_EVENT_CSR, dev, t, a, spikes, y, op);
}

bd_status bd_event_csr(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *spikes, bd_buffer *y)
{
    bd_op op;
    bd_status st = event(BD_OP_EVENT_CSR, dev, t, a, spikes, y, &op);
    return st ? st : bd_op_run(dev, &op);
}

bd_status bd_event_csr_pull(bd_device *dev, bd_dtype t, const bd_csr *at, const bd_buffer *spikes, bd_buffer *y)
{
    bd_op op;
    bd_status st = event(BD_OP_EVENT_CSR_PULL, dev, t, at, spikes, y, &op);
    return st ? st : bd_op_run(dev, &op);
}

bd_status bd_spike_compact_prepare(bd_device *dev, const bd_buffer *flags, size_t n, bd_buffer *indices,
                                   bd_buffer *count, bd_op *op)
{
    *op = make(BD_OP_SPIKE_COMPACT, BD_U32);
    op->n = n;
    op->in = flags;
    op->out = indices;
    op->out2 = count;
    if (!dev) return bd_fail(BD_ERR_INVALID_ARG, "spike_compact: device is NULL");
    if (n > UINT32_MAX) return bd_fail(BD_ERR_LIMIT, "spike_compact: n exceeds 2^32 - 1");
    bd_status st = need(dev, op, "flags", flags, n, 4, n == 0);
    if (!st) st = need(dev, op, "indices", indices, n, 4, n == 0);
    if (!st) st = need(dev, op, "count", count, 1, 4, 0);
    return st;
}

bd_status bd_spike_compact(bd_device *dev, const bd_buffer *flags, size_t n, bd_buffer *indices, bd_buffer *count)
{
    bd_op op;
    bd_status st = bd_spike_compact_prepare(dev, flags, n, indices, count, &op);
    return st ? st : bd_op_run(dev, &op);
}

bd_status bd_gemv(bd_device *dev, bd_dtype t, int trans, size_t m, size_t n, double alpha, const bd_buffer *a,
                  const bd_buffer *x, double beta, bd_buffer *y)
{
    bd_op op = make(BD_OP_GEMV, t);
    op.m = m;
    op.n = n;
    op.trans_a = trans != 0;
    op.alpha = alpha;
    op.beta = beta;
    op.in_a = a;
    op.in = x;
    op.out = y;
    bd_status st = check_float(dev, &op);
    size_t es = bd_dtype_size(t), nx = trans ? m : n, ny = trans ? n : m;
    if (!st && m && n > SIZE_MAX / m) st = bd_fail(BD_ERR_INVALID_ARG, "gemv: m * n overflows");
    if (!st) st = need(dev, &op, "A", a, m * n, es, m * n == 0);
    if (!st) st = need(dev, &op, "x", x, nx, es, nx == 0);
    if (!st) st = need(dev, &op, "y", y, ny, es, ny == 0);
    return st || ny == 0 ? st : submit(dev, &op);
}

bd_status bd_gemm(bd_device *dev, bd_dtype t, int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                  const bd_buffer *a, const bd_buffer *b, double beta, bd_buffer *c)
{
    bd_op op = make(BD_OP_GEMM, t);
    op.m = m;
    op.n = n;
    op.k = k;
    op.trans_a = trans_a != 0;
    op.trans_b = trans_b != 0;
    op.alpha = alpha;
    op.beta = beta;
    op.in_a = a;
    op.in = b;
    op.out = c;
    bd_status st = check_float(dev, &op);
    size_t es = bd_dtype_size(t);
    if (!st && ((m && k > SIZE_MAX / m) || (k && n > SIZE_MAX / k) || (m && n > SIZE_MAX / m)))
        st = bd_fail(BD_ERR_INVALID_ARG, "gemm: matrix sizes overflow");
    if (!st && (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX))
        st = bd_fail(BD_ERR_LIMIT, "gemm: dimensions above 2^31 - 1 are not supported");
    if (!st) st = need(dev, &op, "A", a, m * k, es, m * k == 0);
    if (!st) st = need(dev, &op, "B", b, k * n, es, k * n == 0);
    if (!st) st = need(dev, &op, "C", c, m * n, es, m * n == 0);
    return st || m * n == 0 ? st : submit(dev, &op);
}

bd_status bd_rng_fill(bd_device *dev, bd_rng_dist dist, bd_dtype t, const bd_rng_key *key, bd_buffer *out, size_t n)
{
    bd_op op = make(BD_OP_RNG, t);
    op.rng_dist = dist;
    op.n = n;
    op.out = out;
    if (!dev || !key) return bd_fail(BD_ERR_INVALID_ARG, "rng_fill: device or key is NULL");
    op.rng_key = *key;
    bd_status st = BD_OK;
    if ((unsigned)dist > BD_RNG_NORMAL) return bd_fail(BD_ERR_INVALID_ARG, "rng_fill: unknown distribution");
    if (dist == BD_RNG_U32 && t != BD_U32) return bd_fail(BD_ERR_INVALID_ARG, "rng_fill: raw words need dtype u32");
    if (dist != BD_RNG_U32) st = check_float(dev, &op);
    if (!st && n / 4 > UINT32_MAX) st = bd_fail(BD_ERR_LIMIT, "rng_fill: n exceeds 2^34 elements");
    if (!st) st = need(dev, &op, "output", out, n, bd_dtype_size(t), n == 0);
    return st || n == 0 ? st : submit(dev, &op);
}

bd_status bd_event_procedural_prepare(bd_device *dev, bd_dtype t, const bd_procedural *conn, const bd_buffer *spikes,
                                     bd_buffer *y, bd_op *op)
{
    *op = make(BD_OP_EVENT_PROCEDURAL, t);
    op->in = spikes;
    op->out = y;
    bd_status st = check_float(dev, op);
    if (st) return st;
    if (!conn) return bd_fail(BD_ERR_INVALID_ARG, "event_procedural: connectivity is NULL");
    op->proc = *conn;
    op->n = conn->n_pre;
    if (conn->n_pre > UINT32_MAX || conn->n_post > UINT32_MAX)
        return bd_fail(BD_ERR_LIMIT, "event_procedural: population sizes exceed 2^32 - 1");
    if ((unsigned)conn->conn > BD_PROC_FIXED_OUTDEGREE || (unsigned)conn->weight > BD_WEIGHT_NORMAL)
        return bd_fail(BD_ERR_INVALID_ARG, "event_procedural: unknown connectivity or weight kind");
    if (conn->conn == BD_PROC_FIXED_PROB && !(conn->p >= 0 && conn->p <= 1))
        return bd_fail(BD_ERR_INVALID_ARG, "event_procedural: p = %g is not a probability", conn->p);
    st = need(dev, op, "spikes", spikes, conn->n_pre, 4, conn->n_pre == 0);
    if (!st) st = need(dev, op, "y", y, conn->n_post, bd_dtype_size(t), conn->n_post == 0);
    if (!st && (conn->n_pre == 0 || conn->n_post == 0)) op->kind = OP_EMPTY;
    return st;
}

bd_status bd_event_procedural(bd_device *dev, bd_dtype t, const bd_procedural *conn, const bd_buffer *spikes,
                              bd_buffer *y)
{
    bd_op op;
    bd_status st = bd_event_procedural_prepare(dev, t, conn, spikes, y, &op);
    return st ? st : bd_op_run(dev, &op);
}

bd_status bd_csr_transpose_host(size_t rows, size_t cols, const uint32_t *rowptr, const uint32_t *colidx,
                                const void *values, bd_dtype t, uint32_t **t_rowptr, uint32_t **t_colidx,
                                void **t_values)
{
    if (!rowptr || (!colidx && rowptr[rows]) || !t_rowptr || !t_colidx || (values && !t_values))
        return bd_fail(BD_ERR_INVALID_ARG, "bd_csr_transpose_host: a required array is NULL");
    if (cols >= UINT32_MAX) return bd_fail(BD_ERR_LIMIT, "bd_csr_transpose_host: too many columns");
    size_t nnz = rowptr[rows], es = bd_dtype_size(t);
    uint32_t *tp = calloc(cols + 1, sizeof *tp), *tc = malloc((nnz ? nnz : 1) * sizeof *tc);
    unsigned char *tv = values ? malloc((nnz ? nnz : 1) * es) : NULL;
    if (!tp || !tc || (values && !tv)) {
        free(tp), free(tc), free(tv);
        return bd_fail(BD_ERR_NOMEM, "bd_csr_transpose_host: out of memory");
    }
    for (size_t e = 0; e < nnz; e++)
        if (colidx[e] < cols) tp[colidx[e] + 1]++;
    for (size_t c = 0; c < cols; c++) tp[c + 1] += tp[c];
    uint32_t *fill = malloc((cols ? cols : 1) * sizeof *fill);
    if (!fill) {
        free(tp), free(tc), free(tv);
        return bd_fail(BD_ERR_NOMEM, "bd_csr_transpose_host: out of memory");
    }
    memcpy(fill, tp, cols * sizeof *fill);
    /* Walking rows in order keeps each output row sorted by source row. */
    for (size_t r = 0; r < rows; r++)
        for (uint32_t e = rowptr[r]; e < rowptr[r + 1]; e++) {
            uint32_t c = colidx[e];
            if (c >= cols) continue;
            uint32_t dst = fill[c]++;
            tc[dst] = (uint32_t)r;
            if (tv) memcpy(tv + (size_t)dst * es, (const unsigned char *)values + (size_t)e * es, es);
        }
    free(fill);
    *t_rowptr = tp;
    *t_colidx = tc;
    if (t_values) *t_values = tv;
    return BD_OK;
}
