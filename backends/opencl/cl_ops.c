/* Fixed operators on OpenCL: the hand-written kernels of backends/opencl/kernels, built lazily per
 * device and precision with the mathlib prelude, and the host side of each operator. */
#include "cl_internal.h"
#include "error.h"
#include "mathlib.h"

#include "backends/opencl/cl_src_blas.h"
#include "backends/opencl/cl_src_common.h"
#include "backends/opencl/cl_src_index.h"
#include "backends/opencl/cl_src_procedural.h"
#include "backends/opencl/cl_src_reduce.h"
#include "backends/opencl/cl_src_rng.h"
#include "backends/opencl/cl_src_sparse.h"
#include "backends/opencl/cl_src_spikes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *file;
    const char *source;
} programs[BD_CL_PROG_COUNT] = {
    [BD_CL_PROG_REDUCE] = {"reduce.cl", bd_cl_src_reduce},
    [BD_CL_PROG_INDEX] = {"index.cl", bd_cl_src_index},
    [BD_CL_PROG_SPARSE] = {"sparse.cl", bd_cl_src_sparse},
    [BD_CL_PROG_SPIKES] = {"spikes.cl", bd_cl_src_spikes},
    [BD_CL_PROG_RNG] = {"rng.cl", bd_cl_src_rng},
    [BD_CL_PROG_PROC] = {"procedural.cl", bd_cl_src_procedural},
    [BD_CL_PROG_BLAS] = {"blas.cl", bd_cl_src_blas},
};

static const struct {
    enum bd_cl_prog prog;
    const char *name;
} kernels[BD_CL_K_COUNT] = {
    [BD_CL_K_REDUCE_PARTIAL] = {BD_CL_PROG_REDUCE, "reduce_partial"},
    [BD_CL_K_REDUCE_FINAL] = {BD_CL_PROG_REDUCE, "reduce_final"},
    [BD_CL_K_REDUCE_SEGMENTS] = {BD_CL_PROG_REDUCE, "reduce_segments"},
    [BD_CL_K_GATHER] = {BD_CL_PROG_INDEX, "gather"},
    [BD_CL_K_SCATTER_ADD] = {BD_CL_PROG_INDEX, "scatter_add"},
    [BD_CL_K_CSR_SPMV] = {BD_CL_PROG_SPARSE, "csr_spmv"},
    [BD_CL_K_CSR_SPMV_T] = {BD_CL_PROG_SPARSE, "csr_spmv_t"},
    [BD_CL_K_EVENT_CSR] = {BD_CL_PROG_SPARSE, "event_csr"},
    [BD_CL_K_EVENT_CSR_PULL] = {BD_CL_PROG_SPARSE, "event_csr_pull"},
    [BD_CL_K_SPIKE_COMPACT] = {BD_CL_PROG_SPIKES, "spike_compact"},
    [BD_CL_K_RNG_U32] = {BD_CL_PROG_RNG, "rng_u32"},
    [BD_CL_K_RNG_UNIFORM] = {BD_CL_PROG_RNG, "rng_uniform"},
    [BD_CL_K_RNG_NORMAL] = {BD_CL_PROG_RNG, "rng_normal"},
    [BD_CL_K_EVENT_PROCEDURAL] = {BD_CL_PROG_PROC, "event_procedural"},
    [BD_CL_K_SCALE] = {BD_CL_PROG_BLAS, "scale"},
};

/* Most partial sums a full reduction produces: enough work-groups to fill a large GPU, few enough
 * that one work-group folds them quickly. */
#define MAX_PARTIALS 1024

static bd_status build_program(struct bd_cl_device *d, enum bd_cl_prog p, int f64)
{
    /* Laid out like a printed IR kernel: BD_ENABLE_F64 first (it switches on the prelude's fp64
     * half), then the mathlib prelude, then common.cl and the kernel file. */
    const char *head = f64 ? "#define BD_ENABLE_F64 1\n" : "";
    const char *prelude = bd_mathlib_source(BD_DIALECT_OPENCL);
    size_t len = strlen(head) + strlen(prelude) + strlen(bd_cl_src_common) + strlen(programs[p].source) + 4;
    char *src = malloc(len);
    if (!src) return bd_fail(BD_ERR_NOMEM, "%s: out of host memory", d->name);
    snprintf(src, len, "%s%s\n%s\n%s", head, prelude, bd_cl_src_common, programs[p].source);
    char options[sizeof d->options + 16];
    snprintf(options, sizeof options, "%s -DT=%s", d->options, f64 ? "double" : "float");
    char name[32];
    snprintf(name, sizeof name, "%s (%s)", programs[p].file, f64 ? "f64" : "f32");
    bd_status s = bd_cl_program_build(d, name, src, options, &d->programs[p][f64]);
    free(src);
    return s;
}

bd_status bd_cl_get_kernel(struct bd_cl_device *d, enum bd_cl_kern k, int f64, cl_kernel *out)
{
    if (!d->kernels[k][f64]) {
        enum bd_cl_prog p = kernels[k].prog;
        if (!d->programs[p][f64]) {
            bd_status s = build_program(d, p, f64);
            if (s != BD_OK) return s;
        }
        cl_int err;
        cl_kernel kern = bd_cl.clCreateKernel(d->programs[p][f64], kernels[k].name, &err);
        if (!kern) {
            char what[64];
            snprintf(what, sizeof what, "clCreateKernel(%s)", kernels[k].name);
            return bd_cl_fail(d, err, what);
        }
        d->kernels[k][f64] = kern;
        d->local[k][f64] = bd_cl_local_size(d, kern);
    }
    *out = d->kernels[k][f64];
    return BD_OK;
}

void bd_cl_ops_release(struct bd_cl_device *d)
{
    for (int k = 0; k < BD_CL_K_COUNT; k++)
        for (int f = 0; f < 2; f++)
            if (d->kernels[k][f]) bd_cl.clReleaseKernel(d->kernels[k][f]);
    for (int p = 0; p < BD_CL_PROG_COUNT; p++)
        for (int f = 0; f < 2; f++)
            if (d->programs[p][f]) bd_cl.clReleaseProgram(d->programs[p][f]);
    if (d->scratch) bd_cl.clReleaseMemObject(d->scratch);
}

/* A kernel call in progress: the kernel, its argument list and its precision. */
struct call {
    struct bd_cl_device *d;
    enum bd_cl_kern k;
    int f64;
    struct bd_cl_args a;
};

static bd_status call_begin(struct call *c, struct bd_cl_device *d, enum bd_cl_kern k, int f64)
{
    c->d = d;
    c->k = k;
    c->f64 = f64;
    memset(&c->a, 0, sizeof c->a);
    return bd_cl_get_kernel(d, k, f64, &c->a.kernel);
}

static void arg_mem(struct call *c, const bd_buffer *b)
{
    cl_mem m = bd_cl_mem(b);
    bd_cl_arg(&c->a, sizeof m, &m);
}
static void arg_u32(struct call *c, size_t v)
{
    cl_uint u = (cl_uint)v;
    bd_cl_arg(&c->a, sizeof u, &u);
}
static void arg_u64(struct call *c, size_t v)
{
    cl_ulong u = v;
    bd_cl_arg(&c->a, sizeof u, &u);
}
/* A value of the kernel's element type T. */
static void arg_t(struct call *c, double v)
{
    cl_float f = (cl_float)v;
    if (c->f64) bd_cl_arg(&c->a, sizeof v, &v);
    else bd_cl_arg(&c->a, sizeof f, &f);
}
static void arg_local(struct call *c, size_t bytes) { bd_cl_arg(&c->a, bytes, NULL); }

static bd_status call_launch(struct call *c, size_t items)
{
    return bd_cl_launch(c->d, &c->a, kernels[c->k].name, items, c->d->local[c->k][c->f64]);
}

static bd_status zero(struct bd_cl_device *d, const bd_buffer *buf, size_t bytes)
{
    const cl_uint pattern = 0;
    if (bytes == 0) return BD_OK;
    cl_int err = bd_cl.clEnqueueFillBuffer(d->queue, bd_cl_mem(buf), &pattern, sizeof pattern, 0, bytes, 0, NULL, NULL);
    return err == CL_SUCCESS ? BD_OK : bd_cl_fail(d, err, "clEnqueueFillBuffer (zeroing)");
}

static unsigned reduce_code(bd_reduce_kind r) { return r == BD_REDUCE_MIN ? 1u : r == BD_REDUCE_MAX ? 2u : 0u; }

static bd_status run_reduce(struct bd_cl_device *d, const bd_op *op, int f64)
{
    size_t esize = f64 ? sizeof(cl_double) : sizeof(cl_float);
    struct call c;
    bd_status s;
    size_t groups = 0;
    if (op->n > 0) {
        if ((s = call_begin(&c, d, BD_CL_K_REDUCE_PARTIAL, f64)) != BD_OK) return s;
        if (!d->scratch) {
            cl_int err;
            d->scratch = bd_cl.clCreateBuffer(d->context, CL_MEM_READ_WRITE, MAX_PARTIALS * sizeof(cl_double), NULL,
                                              &err);
            if (!d->scratch) return bd_cl_fail(d, err, "clCreateBuffer (reduction partials)");
        }
        /* About 8 work-groups per compute unit keep every unit busy without many partials. */
        size_t local = d->local[c.k][f64], cap = (size_t)d->desc->info.compute_units * 8;
        if (cap < 16) cap = 16;
        if (cap > MAX_PARTIALS) cap = MAX_PARTIALS;
        groups = (op->n + local - 1) / local;
        if (groups > cap) groups = cap;
        cl_mem scratch = d->scratch;
        size_t items = groups * local;
        int contiguous = d->desc->info.device_type == BD_DEVICE_CPU;
        arg_mem(&c, op->in);
        arg_u64(&c, op->n);
        /* A multiple of 8 keeps the kernel's 8-wide loads aligned. */
        arg_u64(&c, contiguous ? ((op->n + items - 1) / items + 7) / 8 * 8 : 0);
        arg_u32(&c, reduce_code(op->red));
        bd_cl_arg(&c.a, sizeof scratch, &scratch);
        arg_local(&c, local * esize);
        if ((s = call_launch(&c, items)) != BD_OK) return s;
    }
    if ((s = call_begin(&c, d, BD_CL_K_REDUCE_FINAL, f64)) != BD_OK) return s;
    cl_mem scratch = d->scratch;
    bd_cl_arg(&c.a, sizeof scratch, &scratch);
    arg_u32(&c, groups);
    arg_u32(&c, reduce_code(op->red));
    arg_u64(&c, op->n);
    arg_u32(&c, op->red == BD_REDUCE_MEAN);
    arg_mem(&c, op->out);
    arg_local(&c, d->local[c.k][f64] * esize);
    return call_launch(&c, d->local[c.k][f64]);
}

/* The CSR arguments every sparse kernel takes first: rowptr, colidx, values, has_values, w, rows, cols,
 * nnz. */
static void arg_csr(struct call *c, const bd_csr *m)
{
    arg_mem(c, m->rowptr);
    arg_mem(c, m->colidx);
    arg_mem(c, m->values);
    arg_u32(c, m->values != NULL);
    arg_t(c, m->weight);
    arg_u32(c, m->rows);
    arg_u32(c, m->cols);
    arg_u32(c, m->nnz);
}

static bd_status run_sparse(struct bd_cl_device *d, const bd_op *op, int f64)
{
    enum bd_cl_kern k = op->kind == BD_OP_CSR_SPMV     ? BD_CL_K_CSR_SPMV
                        : op->kind == BD_OP_CSR_SPMV_T ? BD_CL_K_CSR_SPMV_T
                        : op->kind == BD_OP_EVENT_CSR  ? BD_CL_K_EVENT_CSR
                                                       : BD_CL_K_EVENT_CSR_PULL;
    struct call c;
    bd_status s = call_begin(&c, d, k, f64);
    if (s != BD_OK) return s;
    /* A^T x accumulates into y with atomics, so y starts from zero. */
    if (k == BD_CL_K_CSR_SPMV_T && (s = zero(d, op->out, op->csr.cols * (f64 ? 8 : 4))) != BD_OK) return s;
    arg_csr(&c, &op->csr);
    arg_mem(&c, op->in);
    arg_mem(&c, op->out);
    return call_launch(&c, op->csr.rows);
}

static bd_status run_spike_compact(struct bd_cl_device *d, const bd_op *op)
{
    struct call c;
    bd_status s = call_begin(&c, d, BD_CL_K_SPIKE_COMPACT, 0);
    if (s == BD_OK) s = zero(d, op->out2, sizeof(cl_uint));
    if (s != BD_OK) return s;
    /* Flags per work-item (see kernels/spikes.cl): on PoCL 16 ran 4-10x faster than 1, and beat 4-8
     * and 32-256. */
    size_t chunk = d->desc->info.device_type == BD_DEVICE_CPU ? 16 : 1;
    arg_mem(&c, op->in);
    arg_u32(&c, op->n);
    arg_u32(&c, chunk);
    arg_mem(&c, op->out);
    arg_mem(&c, op->out2);
    return call_launch(&c, (op->n + chunk - 1) / chunk);
}

static bd_status run_rng(struct bd_cl_device *d, const bd_op *op)
{
    int f64 = op->dtype == BD_F64;
    enum bd_cl_kern k = op->rng_dist == BD_RNG_U32       ? BD_CL_K_RNG_U32
                        : op->rng_dist == BD_RNG_UNIFORM ? BD_CL_K_RNG_UNIFORM
                                                         : BD_CL_K_RNG_NORMAL;
    struct call c;
    bd_status s = call_begin(&c, d, k, f64);
    if (s != BD_OK) return s;
    arg_mem(&c, op->out);
    arg_u64(&c, op->n);
    arg_u32(&c, op->rng_key.k0);
    arg_u32(&c, op->rng_key.k1);
    arg_u32(&c, op->rng_key.c2);
    arg_u32(&c, op->rng_key.c3);
    /* One work-item per Philox block: four values per block, two in f64 (docs/rng.md). */
    size_t per = f64 ? 2 : 4;
    return call_launch(&c, (op->n + per - 1) / per);
}

static bd_status run_procedural(struct bd_cl_device *d, const bd_op *op, int f64)
{
    const bd_procedural *p = &op->proc;
    int prob = p->conn == BD_PROC_FIXED_PROB;
    if (prob && p->p <= 0.0) return BD_OK; /* rows are empty */
    struct call c;
    bd_status s = call_begin(&c, d, BD_CL_K_EVENT_PROCEDURAL, f64);
    if (s != BD_OK) return s;
    /* The skip constant exactly as bd_procedural_row computes it, so the rows are the same. */
    cl_float logq = !prob ? 0.0f : p->p >= 1.0 ? -INFINITY : (cl_float)log1p(-p->p);
    cl_float w0 = (cl_float)p->w0, w1 = (cl_float)p->w1;
    arg_mem(&c, op->in);
    arg_mem(&c, op->out);
    arg_u32(&c, p->n_pre);
    arg_u32(&c, p->n_post);
    arg_u32(&c, p->seed);
    arg_u32(&c, p->proj_id);
    arg_u32(&c, prob ? 0 : 1);
    bd_cl_arg(&c.a, sizeof logq, &logq);
    arg_u32(&c, p->outdegree);
    arg_u32(&c, p->weight);
    bd_cl_arg(&c.a, sizeof w0, &w0);
    bd_cl_arg(&c.a, sizeof w1, &w1);
    return call_launch(&c, p->n_pre);
}

static int needs_atomic_add(bd_op_kind k)
{
    return k == BD_OP_SCATTER_ADD || k == BD_OP_CSR_SPMV_T || k == BD_OP_EVENT_CSR || k == BD_OP_EVENT_PROCEDURAL;
}

bd_status bd_cl_supports(bd_device *dev, const bd_op *op)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (op->kind == BD_OP_GEMV || op->kind == BD_OP_GEMM) return bd_cl_blas_supports(d, op);
    if (op->dtype == BD_F64 && needs_atomic_add(op->kind) && !d->desc->int64_atomics)
        return bd_fail(BD_ERR_UNSUPPORTED,
                       "%s: %s in f64 needs 64-bit atomics (cl_khr_int64_base_atomics), which the device lacks",
                       d->name, bd_op_name(op->kind));
    if (op->kind == BD_OP_REDUCE_SEGMENTS && op->m > UINT32_MAX)
        return bd_fail(BD_ERR_LIMIT, "%s: reduce_segments: %zu segments exceed 2^32 - 1", d->name, op->m);
    return BD_OK;
}

bd_status bd_cl_run_op(bd_device *dev, const bd_op *op)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    int f64 = op->dtype == BD_F64;
    struct call c;
    bd_status s;
    switch (op->kind) {
    case BD_OP_REDUCE: return run_reduce(d, op, f64);
    case BD_OP_REDUCE_SEGMENTS:
        if ((s = call_begin(&c, d, BD_CL_K_REDUCE_SEGMENTS, f64)) != BD_OK) return s;
        arg_mem(&c, op->in);
        arg_mem(&c, op->idx);
        arg_u32(&c, op->n);
        arg_u32(&c, op->m);
        arg_u32(&c, reduce_code(op->red));
        arg_u32(&c, op->red == BD_REDUCE_MEAN);
        arg_mem(&c, op->out);
        return call_launch(&c, op->m);
    case BD_OP_GATHER:
        if ((s = call_begin(&c, d, BD_CL_K_GATHER, f64)) != BD_OK) return s;
        arg_mem(&c, op->in);
        arg_u64(&c, op->m);
        arg_mem(&c, op->idx);
        arg_u64(&c, op->n);
        arg_mem(&c, op->out);
        return call_launch(&c, op->n);
    case BD_OP_SCATTER_ADD:
        if ((s = call_begin(&c, d, BD_CL_K_SCATTER_ADD, f64)) != BD_OK) return s;
        arg_mem(&c, op->in);
        arg_mem(&c, op->idx);
        arg_u64(&c, op->n);
        arg_mem(&c, op->out);
        arg_u64(&c, op->m);
        return call_launch(&c, op->n);
    case BD_OP_CSR_SPMV:
    case BD_OP_CSR_SPMV_T:
    case BD_OP_EVENT_CSR:
    case BD_OP_EVENT_CSR_PULL: return run_sparse(d, op, f64);
    case BD_OP_SPIKE_COMPACT: return run_spike_compact(d, op);
    case BD_OP_GEMV:
    case BD_OP_GEMM: return bd_cl_blas_run(d, op);
    case BD_OP_RNG: return run_rng(d, op);
    case BD_OP_EVENT_PROCEDURAL: return run_procedural(d, op, f64);
    case BD_OP_COUNT: break;
    }
    return bd_fail(BD_ERR_INVALID_ARG, "%s: unknown operator %d", d->name, (int)op->kind);
}
