/* The fixed operators on Vulkan: each picks an embedded shader variant (dtype, atomics), fills its
 * push constants and records one or two dispatches. What each computes is in shaders/. */
#include "vk_internal.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Push-constant blocks are built byte by byte at the offsets the shaders declare. */
typedef struct push {
    _Alignas(8) unsigned char b[64];
} push;

static void put_u32(push *p, uint32_t off, uint32_t v) { memcpy(p->b + off, &v, sizeof v); }

static void put_real(push *p, uint32_t off, bd_dtype t, double v)
{
    if (t == BD_F64) {
        memcpy(p->b + off, &v, sizeof v);
    } else {
        float f = (float)v;
        memcpy(p->b + off, &f, sizeof f);
    }
}

/* Bytes of each shader family's push block (the f64 layout, which also fits the f32 one). */
enum {
    PUSH_REDUCE = 20,     /* base, n, kind, count, final */
    PUSH_SEGMENTS = 20,   /* base, nseg, kind, n, per_group */
    PUSH_INDEXED = 12,    /* base, n, n_other */
    PUSH_CSR = 32,        /* base, rows, cols, nnz, has_values, -, weight@24 */
    PUSH_COMPACT = 8,     /* base, n */
    PUSH_GEMV = 44,       /* base, m, n, beta_zero, alpha@16, beta@24, start, count, tx */
    PUSH_GEMM = 48,       /* tile_x, tile_y, m, n, k, flags, alpha@24, beta@32, k0, k1 */
    PUSH_RNG = 28,        /* base, n, k0, k1, c2, c3, dist */
    PUSH_PROCEDURAL = 44, /* base, n_pre, n_post, seed, proj, conn, outdegree, weight, logq, w0, w1 */
};

/* The pipeline of an embedded shader, created on first use. */
static bd_status op_pipe(bd_vk_dev *d, bd_vk_shader sh, uint32_t nbind, uint32_t push_size, bd_vk_pipe **out)
{
    if (!d->ops[sh]) {
        const bd_vk_spirv *s = &bd_vk_shaders[sh];
        char what[64];
        snprintf(what, sizeof what, "shader %s", s->name);
        bd_status st = bd_vk_pipe_create(d, what, s->words, s->bytes, nbind, push_size, d->wg, &d->ops[sh]);
        if (st != BD_OK) return st;
    }
    *out = d->ops[sh];
    return BD_OK;
}

void bd_vk_ops_destroy(bd_vk_dev *d)
{
    for (int i = 0; i < BD_VK_SHADER_COUNT; i++) {
        bd_vk_pipe_destroy(d, d->ops[i]);
        d->ops[i] = NULL;
    }
}

/* A binding for an op buffer; buffers that the core let be NULL (empty inputs, absent values) are
 * never read, but a binding needs some buffer, so the scratch buffer stands in. */
static bd_vk_bind bind(bd_vk_dev *d, const bd_buffer *b)
{
    return (bd_vk_bind){b ? bd_vk_buffer(b) : &d->scratch, 0};
}

static uint64_t groups_for(const bd_vk_dev *d, uint64_t items) { return (items + d->wg - 1) / d->wg; }

/* Records a zero fill of the first `bytes` of b. */
static bd_status zero(bd_vk_dev *d, const bd_buffer *b, size_t bytes)
{
    VkCommandBuffer cmd;
    bd_status st = bd_vk_record(d, &cmd);
    if (st != BD_OK) return st;
    bd_vk_buf *vb = bd_vk_buffer(b);
    bd_vk.vkCmdFillBuffer(cmd, vb->buf, 0, (bytes + 3) & ~(size_t)3, 0);
    bd_vk_use(d, vb);
    return bd_vk_recorded(d, 1);
}

static int is_f64(const bd_op *op) { return op->dtype == BD_F64; }

/* The shader variant of an accumulating op: native float atomics where the device has them. */
static bd_vk_shader atomic_variant(const bd_vk_dev *d, const bd_op *op, bd_vk_shader native, bd_vk_shader cas,
                                   bd_vk_shader f64)
{
    return is_f64(op) ? f64 : d->phys->float_atomics ? native : cas;
}

/* First pass: up to 1024 groups fold strided shares into partials in scratch; a second one-group
 * pass folds those. Small inputs take one group and one pass. */
static bd_status run_reduce(bd_vk_dev *d, const bd_op *op)
{
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, is_f64(op) ? BD_VK_SH_reduce_f64 : BD_VK_SH_reduce_f32, 2, PUSH_REDUCE, &p);
    if (st != BD_OK) return st;
    uint64_t groups = (op->n + 4ull * d->wg - 1) / (4ull * d->wg);
    if (groups > 1024) groups = 1024;
    if (groups == 0) groups = 1;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)op->n);
    put_u32(&pc, 8, (uint32_t)op->red);
    put_u32(&pc, 12, (uint32_t)op->n);
    put_u32(&pc, 16, groups == 1);
    bd_vk_bind b[2] = {bind(d, op->in), groups == 1 ? bind(d, op->out) : (bd_vk_bind){&d->scratch, 0}};
    if ((st = bd_vk_dispatch(d, p, b, &pc, groups, 1, 0)) != BD_OK || groups == 1) return st;
    put_u32(&pc, 4, (uint32_t)groups);
    put_u32(&pc, 16, 1);
    bd_vk_bind b2[2] = {{&d->scratch, 0}, bind(d, op->out)};
    return bd_vk_dispatch(d, p, b2, &pc, 1, 1, 0);
}

static bd_status run_reduce_segments(bd_vk_dev *d, const bd_op *op)
{
    bd_vk_pipe *p;
    bd_vk_shader sh = is_f64(op) ? BD_VK_SH_reduce_segments_f64 : BD_VK_SH_reduce_segments_f32;
    bd_status st = op_pipe(d, sh, 3, PUSH_SEGMENTS, &p);
    if (st != BD_OK) return st;
    size_t nseg = op->m;
    /* A work group per segment pays off once segments are long enough to keep it busy. */
    int per_group = op->n / nseg >= 64;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)nseg);
    put_u32(&pc, 8, (uint32_t)op->red);
    put_u32(&pc, 12, (uint32_t)op->n);
    put_u32(&pc, 16, (uint32_t)per_group);
    bd_vk_bind b[3] = {bind(d, op->in), bind(d, op->idx), bind(d, op->out)};
    return per_group ? bd_vk_dispatch(d, p, b, &pc, nseg, 1, 1)
                     : bd_vk_dispatch(d, p, b, &pc, groups_for(d, nseg), 1, d->wg);
}

/* gather and scatter_add: in, idx, out with (n, other count). */
static bd_status run_indexed(bd_vk_dev *d, const bd_op *op, bd_vk_shader sh)
{
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, sh, 3, PUSH_INDEXED, &p);
    if (st != BD_OK) return st;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)op->n);
    put_u32(&pc, 8, (uint32_t)op->m);
    bd_vk_bind b[3] = {bind(d, op->in), bind(d, op->idx), bind(d, op->out)};
    return bd_vk_dispatch(d, p, b, &pc, groups_for(d, op->n), 1, d->wg);
}

/* The CSR family: rowptr, colidx, values, then in (x or spikes) and out, one invocation per row. */
static bd_status run_csr(bd_vk_dev *d, const bd_op *op, bd_vk_shader sh)
{
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, sh, 5, PUSH_CSR, &p);
    if (st != BD_OK) return st;
    const bd_csr *a = &op->csr;
    if (op->kind == BD_OP_CSR_SPMV_T && (st = zero(d, op->out, a->cols * bd_dtype_size(op->dtype))) != BD_OK)
        return st;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)a->rows);
    put_u32(&pc, 8, (uint32_t)a->cols);
    put_u32(&pc, 12, (uint32_t)a->nnz);
    put_u32(&pc, 16, a->values != NULL);
    put_real(&pc, 24, op->dtype, a->weight);
    bd_vk_bind b[5] = {bind(d, a->rowptr), bind(d, a->colidx), bind(d, a->values), bind(d, op->in), bind(d, op->out)};
    return bd_vk_dispatch(d, p, b, &pc, groups_for(d, a->rows), 1, d->wg);
}

static bd_status run_spike_compact(bd_vk_dev *d, const bd_op *op)
{
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, BD_VK_SH_spike_compact, 3, PUSH_COMPACT, &p);
    if (st == BD_OK) st = zero(d, op->out2, 4);
    if (st != BD_OK) return st;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)op->n);
    bd_vk_bind b[3] = {bind(d, op->in), bind(d, op->out), bind(d, op->out2)};
    return bd_vk_dispatch(d, p, b, &pc, groups_for(d, op->n), 1, d->wg);
}

/* The longest loop one invocation of gemv or gemm runs per dispatch; longer sums are split into
 * slices over several dispatches (llvmpipe ends an invocation after 65535 loop iterations, and GPU
 * watchdogs dislike long dispatches). */
#define SLICE_ITERATIONS 4096u

/* y = alpha op(A) x + beta y, A rows x cols stored row-major: the work of gemv and of a gemm with a
 * single row or column. The summed dimension goes in slices; after the first, beta is 1. */
static bd_status gemv(bd_vk_dev *d, bd_dtype t, int trans, size_t rows, size_t cols, double alpha, const bd_buffer *a,
                      const bd_buffer *x, double beta, const bd_buffer *y)
{
    bd_vk_shader sh = trans ? (t == BD_F64 ? BD_VK_SH_gemv_t_f64 : BD_VK_SH_gemv_t_f32)
                            : (t == BD_F64 ? BD_VK_SH_gemv_f64 : BD_VK_SH_gemv_f32);
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, sh, 3, PUSH_GEMV, &p);
    if (st != BD_OK) return st;
    /* A work group computes `tile` outputs with wg / tile lanes each: as many lanes as the sum has
     * terms, up to wg; transposed, few enough that up to 32 neighbouring columns are read together. */
    size_t sum = trans ? rows : cols, outputs = trans ? cols : rows;
    uint32_t lanes = d->wg;
    while (lanes > 1 && lanes / 2 >= sum) lanes /= 2;
    if (trans) {
        uint32_t cover = 1;
        while (cover < 32 && cover < outputs) cover *= 2;
        if (lanes > d->wg / cover) lanes = d->wg / cover;
    }
    uint32_t tile = d->wg / lanes;
    size_t slice = (size_t)lanes * SLICE_ITERATIONS;
    uint64_t groups = (outputs + tile - 1) / tile;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)rows);
    put_u32(&pc, 8, (uint32_t)cols);
    put_real(&pc, 16, t, alpha);
    put_u32(&pc, 40, tile);
    bd_vk_bind b[3] = {bind(d, a), bind(d, x), bind(d, y)};
    size_t start = 0;
    do {
        size_t count = sum - start < slice ? sum - start : slice;
        put_u32(&pc, 12, start == 0 && beta == 0);
        put_real(&pc, 24, t, start == 0 ? beta : 1.0);
        put_u32(&pc, 32, (uint32_t)start);
        put_u32(&pc, 36, (uint32_t)count);
        st = bd_vk_dispatch(d, p, b, &pc, groups, 1, 1);
        start += count;
    } while (st == BD_OK && start < sum);
    return st;
}

#define GEMM_TILE 64u
#define GEMM_DEPTH 16u

static bd_status run_gemm(bd_vk_dev *d, const bd_op *op)
{
    /* A single column or row of C is a matrix-vector product: gemv reads each element once, where
     * the 64 x 64 tiles would compute 63 of every 64 outputs for nothing. */
    if (op->n == 1)
        return gemv(d, op->dtype, op->trans_a, op->trans_a ? op->k : op->m, op->trans_a ? op->m : op->k, op->alpha,
                    op->in_a, op->in, op->beta, op->out);
    if (op->m == 1) /* C^T = op(B)^T a */
        return gemv(d, op->dtype, !op->trans_b, op->trans_b ? op->n : op->k, op->trans_b ? op->k : op->n, op->alpha,
                    op->in, op->in_a, op->beta, op->out);
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, is_f64(op) ? BD_VK_SH_gemm_f64 : BD_VK_SH_gemm_f32, 3, PUSH_GEMM, &p);
    if (st != BD_OK) return st;
    push pc = {0};
    put_u32(&pc, 8, (uint32_t)op->m);
    put_u32(&pc, 12, (uint32_t)op->n);
    put_u32(&pc, 16, (uint32_t)op->k);
    put_real(&pc, 24, op->dtype, op->alpha);
    bd_vk_bind b[3] = {bind(d, op->in_a), bind(d, op->in), bind(d, op->out)};
    uint64_t tiles_x = (op->n + GEMM_TILE - 1) / GEMM_TILE, tiles_y = (op->m + GEMM_TILE - 1) / GEMM_TILE;
    const uint32_t max_y = d->phys->props.limits.maxComputeWorkGroupCount[1];
    const size_t slice = GEMM_DEPTH * SLICE_ITERATIONS;
    size_t k0 = 0;
    do {
        size_t k1 = op->k - k0 < slice ? op->k : k0 + slice;
        put_u32(&pc, 20, (op->trans_a ? 1u : 0u) | (op->trans_b ? 2u : 0u) | (k0 == 0 && op->beta == 0 ? 4u : 0u));
        put_real(&pc, 32, op->dtype, k0 == 0 ? op->beta : 1.0);
        put_u32(&pc, 40, (uint32_t)k0);
        put_u32(&pc, 44, (uint32_t)k1);
        /* bd_vk_dispatch splits along x (tile_x at offset 0); rows of tiles beyond the y limit go in
         * further dispatches with tile_y. */
        for (uint64_t y = 0; y < tiles_y && st == BD_OK; y += max_y) {
            put_u32(&pc, 4, (uint32_t)y);
            st = bd_vk_dispatch(d, p, b, &pc, tiles_x, (uint32_t)(tiles_y - y < max_y ? tiles_y - y : max_y), 1);
        }
        k0 = k1;
    } while (st == BD_OK && k0 < op->k);
    return st;
}

/* One invocation per Philox block: 4 elements of u32 or f32, 2 of f64 (docs/rng.md). */
static bd_status run_rng(bd_vk_dev *d, const bd_op *op)
{
    bd_vk_shader sh = op->dtype == BD_U32 ? BD_VK_SH_rng_u32 : is_f64(op) ? BD_VK_SH_rng_f64 : BD_VK_SH_rng_f32;
    bd_vk_pipe *p;
    bd_status st = op_pipe(d, sh, 1, PUSH_RNG, &p);
    if (st != BD_OK) return st;
    const bd_rng_key *key = &op->rng_key;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)op->n);
    put_u32(&pc, 8, key->k0);
    put_u32(&pc, 12, key->k1);
    put_u32(&pc, 16, key->c2);
    put_u32(&pc, 20, key->c3);
    put_u32(&pc, 24, (uint32_t)op->rng_dist);
    size_t per_block = is_f64(op) ? 2 : 4;
    bd_vk_bind b[1] = {bind(d, op->out)};
    return bd_vk_dispatch(d, p, b, &pc, groups_for(d, (op->n + per_block - 1) / per_block), 1, d->wg);
}

static bd_status run_procedural(bd_vk_dev *d, const bd_op *op)
{
    const bd_procedural *c = &op->proc;
    /* p = 0 has no targets at all (and its log1p(-p) = 0 would divide the gaps by zero). */
    if (c->conn == BD_PROC_FIXED_PROB && c->p <= 0.0) return BD_OK;
    bd_vk_pipe *p;
    bd_status st = op_pipe(d,
                           atomic_variant(d, op, BD_VK_SH_event_procedural_f32_native,
                                          BD_VK_SH_event_procedural_f32_cas, BD_VK_SH_event_procedural_f64_cas),
                           2, PUSH_PROCEDURAL, &p);
    if (st != BD_OK) return st;
    push pc = {0};
    put_u32(&pc, 4, (uint32_t)c->n_pre);
    put_u32(&pc, 8, (uint32_t)c->n_post);
    put_u32(&pc, 12, c->seed);
    put_u32(&pc, 16, c->proj_id);
    put_u32(&pc, 20, (uint32_t)c->conn);
    put_u32(&pc, 24, c->outdegree);
    put_u32(&pc, 28, (uint32_t)c->weight);
    /* The host computes log(1 - p) once, in double, exactly as bd_procedural_row does. */
    put_real(&pc, 32, BD_F32, c->p >= 1.0 ? -INFINITY : log1p(-c->p));
    put_real(&pc, 36, BD_F32, c->w0);
    put_real(&pc, 40, BD_F32, c->w1);
    bd_vk_bind b[2] = {bind(d, op->in), bind(d, op->out)};
    return bd_vk_dispatch(d, p, b, &pc, groups_for(d, c->n_pre), 1, d->wg);
}

/* One invocation regenerates a whole row, at one loop iteration per target and at least one more
 * per compare-and-swap add, which llvmpipe's budget of 65535 iterations per invocation must cover
 * with room for CAS retries. (CSR rows are bounded the same way, but their lengths live on the
 * device; BD_FOR4 stretches the budget for them to about 260 000 entries.) */
static bd_status procedural_fits_llvmpipe(const bd_vk_dev *d, const bd_op *op)
{
    const bd_procedural *c = &op->proc;
    double budget = op->dtype == BD_F64 || !d->phys->float_atomics ? 20000 : 40000;
    double mean = c->conn == BD_PROC_FIXED_OUTDEGREE ? c->outdegree : c->p * (double)c->n_post;
    /* Fixed-probability rows are binomial: eight standard deviations above the mean is never reached. */
    double longest = c->conn == BD_PROC_FIXED_OUTDEGREE ? mean : mean + 8 * sqrt(mean);
    if (longest <= budget) return BD_OK;
    return bd_fail(BD_ERR_LIMIT,
                   "%s: event_procedural rows of up to %.0f targets exceed what llvmpipe runs in one shader "
                   "invocation (65535 loop iterations in all, about %.0f targets here)",
                   d->name, longest, budget);
}

/* The longest row (or segment) of an offsets array on the device, read back to the host. */
static bd_status longest_row(bd_device *dev, const bd_buffer *offsets, size_t rows, size_t total, size_t *longest)
{
    uint32_t *off = malloc((rows + 1) * sizeof *off);
    if (!off) return bd_fail(BD_ERR_NOMEM, "vulkan: out of memory reading row offsets");
    bd_status st = bd_vk_download(dev, (bd_buffer *)offsets, 0, off, (rows + 1) * sizeof *off);
    *longest = 0;
    for (size_t r = 0; st == BD_OK && r < rows; r++) {
        size_t lo = off[r] < total ? off[r] : total, hi = off[r + 1] < total ? off[r + 1] : total;
        if (hi > lo && hi - lo > *longest) *longest = hi - lo;
    }
    free(off);
    return st;
}

/* On llvmpipe one invocation loops over a whole CSR row (unrolled x4) or, for short segments, a
 * whole segment; a longer one would be cut short silently, so it is refused instead. Only when the
 * total could hold such a row are the offsets read back (llvmpipe is a correctness device). */
static bd_status rows_fit_llvmpipe(bd_device *dev, const bd_vk_dev *d, const bd_op *op)
{
    int segments = op->kind == BD_OP_REDUCE_SEGMENTS;
    if (segments && op->n / op->m >= 64) return BD_OK; /* a work group per segment: no long loop */
    size_t budget = 250000;
    size_t rows = segments ? op->m : op->csr.rows, total = segments ? op->n : op->csr.nnz, longest = 0;
    if (total <= budget) return BD_OK;
    bd_status st = longest_row(dev, segments ? op->idx : op->csr.rowptr, rows, total, &longest);
    if (st != BD_OK || longest <= budget) return st;
    return bd_fail(BD_ERR_LIMIT,
                   "%s: %s has a %s of %zu entries, more than llvmpipe runs in one shader invocation (65535 "
                   "loop iterations in all, about %zu entries here)",
                   d->name, bd_op_name(op->kind), segments ? "segment" : "row", longest, budget);
}

bd_status bd_vk_supports(bd_device *dev, const bd_op *op)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    const bd_vk_phys *ph = d->phys;
    const char *name = bd_op_name(op->kind);
    if (op->dtype == BD_F64 && !ph->fp64)
        return bd_fail(BD_ERR_UNSUPPORTED, "%s: %s in f64 needs shaderFloat64, which the device lacks", d->name, name);
    switch (op->kind) {
    case BD_OP_SCATTER_ADD:
    case BD_OP_CSR_SPMV_T:
    case BD_OP_EVENT_CSR:
    case BD_OP_EVENT_PROCEDURAL:
        if (op->dtype == BD_F64 && !ph->int64_atomics)
            return bd_fail(BD_ERR_UNSUPPORTED,
                           "%s: %s in f64 accumulates with 64-bit atomics (shaderBufferInt64Atomics), which the "
                           "device lacks",
                           d->name, name);
        if (op->kind == BD_OP_EVENT_PROCEDURAL) return ph->llvmpipe ? procedural_fits_llvmpipe(d, op) : BD_OK;
        return ph->llvmpipe ? rows_fit_llvmpipe(dev, d, op) : BD_OK;
    case BD_OP_CSR_SPMV:
    case BD_OP_EVENT_CSR_PULL:
    case BD_OP_REDUCE_SEGMENTS:
        return ph->llvmpipe ? rows_fit_llvmpipe(dev, d, op) : BD_OK;
    case BD_OP_GEMM:
        if (ph->props.limits.maxComputeWorkGroupInvocations < 256 || ph->props.limits.maxComputeWorkGroupSize[0] < 256)
            return bd_fail(BD_ERR_UNSUPPORTED, "%s: gemm needs work groups of 256 invocations, above the device's "
                           "maxComputeWorkGroupInvocations", d->name);
        return BD_OK;
    default: return BD_OK;
    }
}

bd_status bd_vk_run_op(bd_device *dev, const bd_op *op)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    switch (op->kind) {
    case BD_OP_REDUCE: return run_reduce(d, op);
    case BD_OP_REDUCE_SEGMENTS: return run_reduce_segments(d, op);
    case BD_OP_GATHER:
        return run_indexed(d, op, bd_dtype_size(op->dtype) == 8 ? BD_VK_SH_gather_64 : BD_VK_SH_gather_32);
    case BD_OP_SCATTER_ADD:
        return run_indexed(d, op, atomic_variant(d, op, BD_VK_SH_scatter_add_f32_native, BD_VK_SH_scatter_add_f32_cas,
                                                 BD_VK_SH_scatter_add_f64_cas));
    case BD_OP_CSR_SPMV: return run_csr(d, op, is_f64(op) ? BD_VK_SH_csr_spmv_f64 : BD_VK_SH_csr_spmv_f32);
    case BD_OP_CSR_SPMV_T:
        return run_csr(d, op, atomic_variant(d, op, BD_VK_SH_csr_spmv_t_f32_native, BD_VK_SH_csr_spmv_t_f32_cas,
                                             BD_VK_SH_csr_spmv_t_f64_cas));
    case BD_OP_EVENT_CSR:
        return run_csr(d, op, atomic_variant(d, op, BD_VK_SH_event_csr_f32_native, BD_VK_SH_event_csr_f32_cas,
                                             BD_VK_SH_event_csr_f64_cas));
    case BD_OP_EVENT_CSR_PULL:
        return run_csr(d, op, is_f64(op) ? BD_VK_SH_event_csr_pull_f64 : BD_VK_SH_event_csr_pull_f32);
    case BD_OP_SPIKE_COMPACT: return run_spike_compact(d, op);
    case BD_OP_GEMV:
        return gemv(d, op->dtype, op->trans_a, op->m, op->n, op->alpha, op->in_a, op->in, op->beta, op->out);
    case BD_OP_GEMM: return run_gemm(d, op);
    case BD_OP_RNG: return run_rng(d, op);
    case BD_OP_EVENT_PROCEDURAL: return run_procedural(d, op);
    case BD_OP_COUNT: break;
    }
    return bd_fail(BD_ERR_UNSUPPORTED, "%s: unknown operator %d", d->name, (int)op->kind);
}
