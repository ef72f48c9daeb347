/* Shared state of the OpenCL backend's files: probed devices, the open-device context, and the
 * helpers for building programs, setting arguments and enqueueing launches. */
#ifndef BD_CL_INTERNAL_H
#define BD_CL_INTERNAL_H

#include "backend.h"
#include "cl_loader.h"

#include <stddef.h>
#include <stdint.h>

/* What probing learnt about one device; kept for the life of the process. */
struct bd_cl_desc {
    cl_platform_id platform;
    cl_device_id id;
    bd_device_info info;
    char device_name[256];      /* untruncated, for the cache key */
    char driver_version[128];
    char platform_version[256];
    int int64_atomics;          /* cl_khr_int64_base_atomics: f64 atomic add by atom_cmpxchg */
    int correct_sqrt;           /* -cl-fp32-correctly-rounded-divide-sqrt is accepted */
};

/* Fixed-operator programs: one per kernel file and precision, built on first use. */
enum bd_cl_prog {
    BD_CL_PROG_REDUCE, BD_CL_PROG_INDEX, BD_CL_PROG_SPARSE, BD_CL_PROG_SPIKES, BD_CL_PROG_RNG,
    BD_CL_PROG_PROC, BD_CL_PROG_BLAS, BD_CL_PROG_COUNT
};

/* Every fixed-operator kernel, by the program that holds it. */
enum bd_cl_kern {
    BD_CL_K_REDUCE_PARTIAL, BD_CL_K_REDUCE_FINAL, BD_CL_K_REDUCE_SEGMENTS,
    BD_CL_K_GATHER, BD_CL_K_SCATTER_ADD,
    BD_CL_K_CSR_SPMV, BD_CL_K_CSR_SPMV_T, BD_CL_K_EVENT_CSR, BD_CL_K_EVENT_CSR_PULL,
    BD_CL_K_SPIKE_COMPACT,
    BD_CL_K_RNG_U32, BD_CL_K_RNG_UNIFORM, BD_CL_K_RNG_NORMAL,
    BD_CL_K_EVENT_PROCEDURAL,
    BD_CL_K_SCALE,
    BD_CL_K_COUNT
};

/* dev->ctx of an open OpenCL device. */
struct bd_cl_device {
    const struct bd_cl_desc *desc;
    char name[24]; /* "opencl:N", the prefix of every message */
    cl_context context;
    cl_command_queue queue; /* in order: every operation runs after the ones queued before it */
    char options[160];      /* build options for every program */
    uint64_t allocated;     /* bytes in live buffers, checked against global memory */
    cl_program programs[BD_CL_PROG_COUNT][2]; /* [prog][f64] */
    cl_kernel kernels[BD_CL_K_COUNT][2];
    size_t local[BD_CL_K_COUNT][2]; /* their work-group sizes */
    cl_mem scratch;                 /* reduction partials */
};

static inline struct bd_cl_device *bd_cl_dev(bd_device *dev) { return dev->ctx; }
static inline cl_mem bd_cl_mem(const bd_buffer *buf) { return buf ? (cl_mem)buf->ctx : NULL; }

/* Reports a failed OpenCL call: "opencl:N: <what> failed: CL_..." with the status that fits the
 * error (device or host out of memory, else BD_ERR_DEVICE). */
bd_status bd_cl_fail(const struct bd_cl_device *d, cl_int err, const char *what);

/* Builds a program for the device from source, through the on-disk binary cache. A compile error
 * gives BD_ERR_COMPILE with the build log (name is the kernel or file name for the message). */
bd_status bd_cl_program_build(struct bd_cl_device *d, const char *name, const char *source, const char *options,
                              cl_program *out);

/* Argument list builder: the first failing clSetKernelArg is remembered and reported by launch. */
struct bd_cl_args {
    cl_kernel kernel;
    cl_uint n;
    cl_int err;
    cl_uint bad; /* index of the failing argument */
};
void bd_cl_arg(struct bd_cl_args *a, size_t size, const void *value);
/* Enqueues items work-items, rounded up to whole work-groups of `local`; nothing for 0 items. */
bd_status bd_cl_launch(struct bd_cl_device *d, const struct bd_cl_args *a, const char *name, size_t items,
                       size_t local);
/* Local size for a kernel: the largest power of two <= 256 that the kernel allows on this device.
 * A query, so callers keep the answer. */
size_t bd_cl_local_size(const struct bd_cl_device *d, cl_kernel k);

/* IR kernels (cl_kernel.c). */
bd_status bd_cl_kernel_compile(bd_device *dev, bd_kernel *kern);
void bd_cl_kernel_free(bd_device *dev, bd_kernel *kern);
bd_status bd_cl_kernel_launch(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                              const bd_value *scalars);

/* Fixed operators (cl_ops.c) and their resources. */
bd_status bd_cl_supports(bd_device *dev, const bd_op *op);
bd_status bd_cl_run_op(bd_device *dev, const bd_op *op);
void bd_cl_ops_release(struct bd_cl_device *d);
/* The fixed-operator kernel k in precision f64 (0/1), building its program on first use. */
bd_status bd_cl_get_kernel(struct bd_cl_device *d, enum bd_cl_kern k, int f64, cl_kernel *out);

/* Dense BLAS through CLBlast, loaded at the first call (cl_blas.c); supports() loads it. */
bd_status bd_cl_blas_supports(struct bd_cl_device *d, const bd_op *op);
bd_status bd_cl_blas_run(struct bd_cl_device *d, const bd_op *op);

#endif
