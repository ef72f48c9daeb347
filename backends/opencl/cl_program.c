/* Building OpenCL programs through bdyn's on-disk binary cache, and enqueueing their kernels. */
#include "cl_internal.h"
#include "cache.h"
#include "error.h"
#include "kernel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* The driver's binary is only valid for the exact source, options, device and driver that made it. */
static uint64_t program_key(const struct bd_cl_device *d, const char *source, const char *options)
{
    uint64_t h = bd_hash_str(BD_HASH_INIT, source);
    h = bd_hash_str(h, options);
    h = bd_hash_str(h, d->desc->device_name);
    h = bd_hash_str(h, d->desc->driver_version);
    return bd_hash_str(h, d->desc->platform_version);
}

static cl_program from_binary(struct bd_cl_device *d, const char *path, const char *options)
{
    void *bin;
    size_t len;
    if (bd_cache_read(path, &bin, &len) != BD_OK) return NULL;
    cl_int err, bin_status = CL_SUCCESS;
    const unsigned char *bins[1] = {bin};
    cl_program prog = bd_cl.clCreateProgramWithBinary(d->context, 1, &d->desc->id, &len, bins, &bin_status, &err);
    free(bin);
    if (!prog) return NULL;
    /* A stale or foreign binary is not an error: the caller rebuilds from source. */
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS ||
        bd_cl.clBuildProgram(prog, 1, &d->desc->id, options, NULL, NULL) != CL_SUCCESS) {
        bd_cl.clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

static void store_binary(cl_program prog, const char *path)
{
    size_t len = 0;
    if (bd_cl.clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || len == 0) return;
    unsigned char *bin = malloc(len);
    unsigned char *bins[1] = {bin};
    /* A cache that cannot be written only costs the next process a rebuild. */
    if (bin && bd_cl.clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS &&
        bd_file_write_atomic(path, bin, len) != BD_OK)
        bd_clear_error();
    free(bin);
}

static bd_status build_failure(struct bd_cl_device *d, cl_program prog, const char *name, const char *source)
{
    size_t len = 0;
    char *log = NULL;
    if (bd_cl.clGetProgramBuildInfo(prog, d->desc->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS &&
        (log = malloc(len + 1))) {
        if (bd_cl.clGetProgramBuildInfo(prog, d->desc->id, CL_PROGRAM_BUILD_LOG, len, log, NULL) != CL_SUCCESS) len = 0;
        log[len] = '\0';
    }
    bd_status s = bd_compile_error(d->name, name, source, log ? log : "(no build log)");
    free(log);
    return s;
}

bd_status bd_cl_program_build(struct bd_cl_device *d, const char *name, const char *source, const char *options,
                              cl_program *out)
{
    char path[PATH_MAX];
    uint64_t key = program_key(d, source, options);
    int cached = bd_cache_enabled() && bd_cache_path(path, sizeof path, "cl", key, "bin") == BD_OK;
    if (cached && (*out = from_binary(d, path, options))) return BD_OK;

    cl_int err;
    cl_program prog = bd_cl.clCreateProgramWithSource(d->context, 1, &source, NULL, &err);
    if (!prog) return bd_cl_fail(d, err, "clCreateProgramWithSource");
    err = bd_cl.clBuildProgram(prog, 1, &d->desc->id, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        bd_status s = err == CL_BUILD_PROGRAM_FAILURE ? build_failure(d, prog, name, source)
                                                      : bd_cl_fail(d, err, "clBuildProgram");
        bd_cl.clReleaseProgram(prog);
        return s;
    }
    if (cached) store_binary(prog, path);
    *out = prog;
    return BD_OK;
}

void bd_cl_arg(struct bd_cl_args *a, size_t size, const void *value)
{
    cl_uint index = a->n++;
    if (a->err != CL_SUCCESS) return;
    a->err = bd_cl.clSetKernelArg(a->kernel, index, size, value);
    a->bad = index;
}

size_t bd_cl_local_size(const struct bd_cl_device *d, cl_kernel k)
{
    size_t wg = 0;
    if (bd_cl.clGetKernelWorkGroupInfo(k, d->desc->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) != CL_SUCCESS ||
        wg == 0)
        wg = d->desc->info.max_workgroup ? d->desc->info.max_workgroup : 1;
    /* 256 is a whole number of warps and wavefronts everywhere; on PoCL 64..4096 perform alike. */
    size_t local = 256;
    while (local > wg) local /= 2;
    return local ? local : 1;
}

bd_status bd_cl_launch(struct bd_cl_device *d, const struct bd_cl_args *a, const char *name, size_t items,
                       size_t local)
{
    char what[96];
    if (a->err != CL_SUCCESS) {
        snprintf(what, sizeof what, "clSetKernelArg(%s, argument %u)", name, (unsigned)a->bad);
        return bd_cl_fail(d, a->err, what);
    }
    if (items == 0) return BD_OK;
    size_t global = (items + local - 1) / local * local;
    cl_int err = bd_cl.clEnqueueNDRangeKernel(d->queue, a->kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err == CL_SUCCESS) return BD_OK;
    snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s, %zu items)", name, items);
    return bd_cl_fail(d, err, what);
}
