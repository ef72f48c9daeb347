/* The fixed operator set: reductions, gather/scatter, sparse and event-driven products, spike
 * compaction, dense BLAS, the Philox RNG and procedural connectivity. Each runs on every device
 * and has a plain CPU reference; all are queued on the device like kernel launches.
 * Index arrays are u32; an out-of-range index is skipped, never followed. Spike flags are u32
 * (non-zero = spiked). Floating-point data is BD_F32 or BD_F64 (the latter where info.fp64). */
#ifndef BDYN_OPS_H
#define BDYN_OPS_H

#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bd_reduce_kind { BD_REDUCE_SUM, BD_REDUCE_MIN, BD_REDUCE_MAX, BD_REDUCE_MEAN } bd_reduce_kind;

/* out[0] = reduce(in[0..n)). Empty input: sum 0, min +inf, max -inf, mean NaN. */
BD_API bd_status bd_reduce(bd_device *dev, bd_reduce_kind kind, bd_dtype t, const bd_buffer *in, size_t n,
                           bd_buffer *out);
/* out[s] = reduce(in[offsets[s] .. offsets[s+1])) for s < nseg; offsets: u32, nseg + 1 entries,
 * non-decreasing (a decreasing pair is an empty segment). */
BD_API bd_status bd_reduce_segments(bd_device *dev, bd_reduce_kind kind, bd_dtype t, const bd_buffer *in,
                                    size_t n, const bd_buffer *offsets, size_t nseg, bd_buffer *out);

/* dst[i] = src[idx[i]] for i < n (src has n_src elements; out-of-range idx gives 0). */
BD_API bd_status bd_gather(bd_device *dev, bd_dtype t, const bd_buffer *src, size_t n_src, const bd_buffer *idx,
                           size_t n, bd_buffer *dst);
/* dst[idx[i]] += src[i] for i < n (dst has n_dst elements). Accumulation order is unspecified. */
BD_API bd_status bd_scatter_add(bd_device *dev, bd_dtype t, const bd_buffer *src, const bd_buffer *idx, size_t n,
                                bd_buffer *dst, size_t n_dst);

/* A CSR matrix in device buffers. values == NULL means every stored entry equals `weight`. */
typedef struct bd_csr {
    size_t rows, cols, nnz;
    const bd_buffer *rowptr; /* u32, rows + 1 */
    const bd_buffer *colidx; /* u32, nnz */
    const bd_buffer *values; /* dtype, nnz, or NULL */
    double weight;
} bd_csr;

/* y = A x (y: rows, overwritten). Each row is summed in stored order, so the result is deterministic. */
BD_API bd_status bd_csr_spmv(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *x, bd_buffer *y);
/* y = A^T x (y: cols, overwritten). Accumulation order is unspecified. */
BD_API bd_status bd_csr_spmv_t(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *x, bd_buffer *y);

/* Event-driven products: y[post] += sum of w(pre, post) over presynaptic rows whose spike flag is set.
 * bd_event_csr pushes from the spiking rows of A (rows = pre, cols = post). On the cpu each post element
 * receives its additions in ascending pre order on any thread count;
 * elsewhere it adds with atomics, in an order that depends on scheduling.
 * bd_event_csr_pull is the deterministic variant for every device: it takes the transposed matrix At
 * (rows = post, cols = pre, see bd_csr_transpose_host) and adds each post row's weights to y one by one
 * in stored order -- the cpu push's sequence of additions, so both give the same bits. */
BD_API bd_status bd_event_csr(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *spikes, bd_buffer *y);
BD_API bd_status bd_event_csr_pull(bd_device *dev, bd_dtype t, const bd_csr *at, const bd_buffer *spikes,
                                   bd_buffer *y);

/* Host helper: the transpose of a host CSR (rowptr/colidx/values, values may be NULL), entries of each
 * output row in ascending source-row order. Outputs are malloc'd (values only if given). */
BD_API bd_status bd_csr_transpose_host(size_t rows, size_t cols, const uint32_t *rowptr, const uint32_t *colidx,
                                       const void *values, bd_dtype t, uint32_t **t_rowptr, uint32_t **t_colidx,
                                       void **t_values);

/* Spike compaction: indices of the non-zero flags among n, and their number in count[0] (u32).
 * indices must hold n u32. The order of indices is unspecified (compare as sets). */
BD_API bd_status bd_spike_compact(bd_device *dev, const bd_buffer *flags, size_t n, bd_buffer *indices,
                                  bd_buffer *count);

/* Dense BLAS on row-major contiguous matrices.
 * gemv: y = alpha op(A) x + beta y, A is m x n, op(A) = A or A^T.
 * gemm: C = alpha op(A) op(B) + beta C, C is m x n, op(A) m x k, op(B) k x n. */
BD_API bd_status bd_gemv(bd_device *dev, bd_dtype t, int trans, size_t m, size_t n, double alpha, const bd_buffer *a,
                         const bd_buffer *x, double beta, bd_buffer *y);
BD_API bd_status bd_gemm(bd_device *dev, bd_dtype t, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                         double alpha, const bd_buffer *a, const bd_buffer *b, double beta, bd_buffer *c);

/* Philox4x32-10 random numbers (docs/rng.md gives the exact layout).
 * Element i of a BD_RNG_U32 fill is word i % 4 of philox(counter = {lo32(i/4), hi32(i/4), c2, c3},
 * key = {k0, k1}); uniform and normal fills derive their values from the same words. */
typedef enum bd_rng_dist { BD_RNG_U32, BD_RNG_UNIFORM, BD_RNG_NORMAL } bd_rng_dist;
typedef struct bd_rng_key {
    uint32_t k0, k1; /* key: e.g. seed and stream */
    uint32_t c2, c3; /* upper counter words: e.g. step and draw */
} bd_rng_key;
/* t: BD_U32 for BD_RNG_U32, BD_F32 or BD_F64 for uniform [0, 1) and standard normal. */
BD_API bd_status bd_rng_fill(bd_device *dev, bd_rng_dist dist, bd_dtype t, const bd_rng_key *key, bd_buffer *out,
                             size_t n);

/* Procedural ("just-in-time") connectivity: the row of presynaptic neuron `pre` is regenerated from
 * (seed, proj_id, pre) with Philox whenever it spikes; no matrix is stored. docs/rng.md gives the row
 * algorithm, which is the same integer-exact sequence on every device. */
typedef enum bd_proc_conn { BD_PROC_FIXED_PROB, BD_PROC_FIXED_OUTDEGREE } bd_proc_conn;
typedef enum bd_proc_weight { BD_WEIGHT_CONSTANT, BD_WEIGHT_UNIFORM, BD_WEIGHT_NORMAL } bd_proc_weight;
typedef struct bd_procedural {
    uint32_t seed, proj_id;
    size_t n_pre, n_post;
    bd_proc_conn conn;
    double p;           /* FIXED_PROB: connection probability in [0, 1] */
    uint32_t outdegree; /* FIXED_OUTDEGREE: targets per row, drawn with replacement */
    bd_proc_weight weight;
    double w0, w1; /* CONSTANT: w0; UNIFORM: [w0, w1); NORMAL: mean w0, standard deviation w1 */
} bd_procedural;
/* y[post] += w over the regenerated rows of spiking presynaptic neurons (y: n_post). */
BD_API bd_status bd_event_procedural(bd_device *dev, bd_dtype t, const bd_procedural *conn,
                                     const bd_buffer *spikes, bd_buffer *y);
/* Host helper: the targets and f32 weights of one row, as every device generates them. Returns the
 * row length in *len; targets/weights (may be NULL) receive at most cap entries. */
BD_API bd_status bd_procedural_row(const bd_procedural *conn, uint32_t pre, uint32_t *targets, float *weights,
                                   size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
