/* The interface every backend implements, and the core objects it sees.
 * The core validates every call (sizes, types, buffer ranges, fp64 support) before it reaches a
 * backend, so backends may trust their arguments. Backends never include each other. */
#ifndef BD_BACKEND_H
#define BD_BACKEND_H

#include "bdyn/bdyn.h"
#include "bd_config.h"
#include "ir_impl.h"

struct bd_device {
    const struct bd_backend_i *be;
    bd_device_info info;
    int index;   /* index within its backend */
    int threads;   /* cpu thread count */
    int reference; /* cpu opened as "cpu:ref": plain serial reference operators (core/ref_ops.c) */
    void *ctx;   /* backend-owned */
};

struct bd_buffer {
    bd_device *dev;
    size_t size; /* bytes */
    void *ctx;   /* backend-owned (cpu: the host pointer) */
};

struct bd_kernel {
    bd_device *dev;
    bd_ir *ir;   /* a private copy of the IR it was compiled from */
    void *ctx;   /* backend-owned */
};

/* A fixed operator call, as validated by core/ops.c. Field use per kind is given in the comments;
 * sizes are element counts. Unused buffer fields are NULL. */
typedef enum bd_op_kind {
    BD_OP_REDUCE,           /* red; in[n] -> out[1] */
    BD_OP_REDUCE_SEGMENTS,  /* red; in[n], idx = offsets[nseg + 1] (u32) -> out[nseg]; nseg in m */
    BD_OP_GATHER,           /* out[i] = in[idx[i]], i < n; in has m elements */
    BD_OP_SCATTER_ADD,      /* out[idx[i]] += in[i], i < n; out has m elements */
    BD_OP_CSR_SPMV,         /* out = csr * in (out: csr.rows) */
    BD_OP_CSR_SPMV_T,       /* out = csr^T * in (out: csr.cols) */
    BD_OP_EVENT_CSR,        /* out[post] += w for rows with in_u32 spike flag (push, atomics) */
    BD_OP_EVENT_CSR_PULL,   /* the same with csr transposed (rows = post), gathered in stored order */
    BD_OP_SPIKE_COMPACT,    /* in = flags[n] (u32) -> out = indices, out2 = count[1] (u32) */
    BD_OP_GEMV,             /* out = alpha op(in_a) in + beta out; m x n; trans_a */
    BD_OP_GEMM,             /* out = alpha op(in_a) op(in) + beta out; m, n, k; trans_a, trans_b */
    BD_OP_RNG,              /* out[n] from rng_dist and rng_key; dtype BD_U32, BD_F32 or BD_F64 */
    BD_OP_EVENT_PROCEDURAL, /* out[post] += w over rows of proc for spike flags in (n = proc.n_pre) */
    BD_OP_COUNT
} bd_op_kind;

typedef struct bd_op {
    bd_op_kind kind;
    bd_dtype dtype;
    size_t n, m, k;
    const bd_buffer *in, *in_a, *idx;
    bd_buffer *out, *out2;
    bd_reduce_kind red;
    bd_csr csr;
    int trans_a, trans_b;
    double alpha, beta;
    bd_rng_dist rng_dist;
    bd_rng_key rng_key;
    bd_procedural proc;
    /* EVENT_CSR and EVENT_PROCEDURAL (optional, host memory, cpu only): the indices of in's set flags in
     * ascending order, nspiking of them. The runner compacts a population's flags once per step and hands
     * the list to each of its projections (bd_op_run below); other backends ignore it. */
    const uint32_t *spiking;
    size_t nspiking;
    int rows_sorted; /* EVENT_CSR (optional, cpu): every row's column indices ascend (the runner's matrices) */
} bd_op;

const char *bd_op_name(bd_op_kind k);

/* The runner's per-step ops on the cpu, checked once: each _prepare fills *op as the public call of the same
 * name would submit it, and bd_op_run submits it, as often as wanted. Between runs the caller may point in
 * and out at other buffers of the same size and device (the ring slots) and set spiking / nspiking. */
bd_status bd_event_csr_prepare(bd_device *dev, bd_dtype t, const bd_csr *a, const bd_buffer *spikes, bd_buffer *y,
                               bd_op *op);
bd_status bd_event_procedural_prepare(bd_device *dev, bd_dtype t, const bd_procedural *conn, const bd_buffer *spikes,
                                      bd_buffer *y, bd_op *op);
bd_status bd_spike_compact_prepare(bd_device *dev, const bd_buffer *flags, size_t n, bd_buffer *indices,
                                   bd_buffer *count, bd_op *op);
bd_status bd_op_run(bd_device *dev, const bd_op *op);

/* Members marked (optional) may be NULL; the core then does what the comment says. */
struct bd_backend_i {
    bd_backend_kind kind;
    /* Probes devices once; returns how many there are. On 0, *why says why (e.g. the library is
     * missing, or no platform), with *why_status the code to report. */
    size_t (*probe)(bd_status *why_status, const char **why);
    /* Fills the info of device `index` (name is filled by the core). */
    bd_status (*info)(size_t index, bd_device_info *info);
    bd_status (*open)(bd_device *dev); /* dev->index, dev->info set; sets dev->ctx */
    void (*close)(bd_device *dev);     /* after a sync; frees everything */

    bd_status (*buffer_alloc)(bd_device *dev, bd_buffer *buf); /* buf->size set; sets buf->ctx */
    void (*buffer_free)(bd_device *dev, bd_buffer *buf);
    bd_status (*upload)(bd_device *dev, bd_buffer *buf, size_t offset, const void *src, size_t bytes);
    bd_status (*download)(bd_device *dev, bd_buffer *buf, size_t offset, void *dst, size_t bytes);
    bd_status (*fill)(bd_device *dev, bd_buffer *buf, size_t offset, size_t bytes, const void *pattern,
                      size_t pattern_size);
    bd_status (*copy)(bd_device *dev, bd_buffer *dst, size_t dst_offset, const bd_buffer *src, size_t src_offset,
                      size_t bytes);
    bd_status (*sync)(bd_device *dev);

    /* Compiles kern->ir into kern->ctx; on failure the message holds the backend's log and the
     * offending generated line (see bd_compile_error in core/kernel.h). */
    bd_status (*kernel_compile)(bd_device *dev, bd_kernel *kern);
    void (*kernel_free)(bd_device *dev, bd_kernel *kern);
    bd_status (*kernel_launch)(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                               const bd_value *scalars);

    /* BD_OK if the device can run this op, else BD_ERR_UNSUPPORTED / BD_ERR_LIMIT with a message
     * naming the device and the reason. (optional: everything supported) */
    bd_status (*supports)(bd_device *dev, const bd_op *op);
    bd_status (*run_op)(bd_device *dev, const bd_op *op);
};

/* Backends compiled into this library. */
extern const struct bd_backend_i bd_cpu_backend;
#ifdef BD_HAVE_OPENCL
extern const struct bd_backend_i bd_opencl_backend;
#endif
#ifdef BD_HAVE_VULKAN
extern const struct bd_backend_i bd_vulkan_backend;
#endif

#endif
