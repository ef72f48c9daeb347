/* The OpenCL backend: device discovery, the per-device context and in-order queue, buffers, and
 * the vtable. Kernels, fixed operators and CLBlast live in their own files. */
#include "cl_internal.h"
#include "cache.h"
#include "error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct bd_cl_desc *descs;
static size_t ndescs;
static char probe_why[512];

bd_status bd_cl_fail(const struct bd_cl_device *d, cl_int err, const char *what)
{
    bd_status s = BD_ERR_DEVICE;
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES) s = BD_ERR_DEVICE_NOMEM;
    else if (err == CL_OUT_OF_HOST_MEMORY) s = BD_ERR_NOMEM;
    return bd_fail(s, "%s: %s failed: %s", d->name, what, bd_cl_error_name(err));
}

static int writable_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && access(path, W_OK | X_OK) == 0;
}

/* PoCL lists its platform but reports no device when it cannot create its kernel cache
 * ($XDG_CACHE_HOME or $HOME/.cache), e.g. for a user whose HOME is missing or read-only. Point it
 * at a directory beside bdyn's own cache before the first OpenCL call. */
static void ensure_pocl_cache_dir(void)
{
    if (getenv("POCL_CACHE_DIR")) return;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int usable = 0;
    if (xdg && *xdg) {
        usable = writable_dir(xdg);
    } else if (home && *home) {
        char dot[PATH_MAX];
        struct stat st;
        snprintf(dot, sizeof dot, "%s/.cache", home);
        usable = stat(dot, &st) == 0 ? writable_dir(dot) : writable_dir(home);
    }
    if (usable) return;
    char dir[PATH_MAX];
    /* bd_cache_path names a file in bdyn's cache directory; its directory part is what we want. */
    if (bd_cache_path(dir, sizeof dir, "pocl", 0, "d") == BD_OK) {
        char *slash = strrchr(dir, '/');
        if (slash) snprintf(slash, sizeof dir - (size_t)(slash - dir), "/pocl");
    } else {
        bd_clear_error();
        snprintf(dir, sizeof dir, "/tmp/bdyn-pocl-%u", (unsigned)getuid());
    }
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) setenv("POCL_CACHE_DIR", dir, 0);
}

static int has_word(const char *list, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
    return 0;
}

static void device_string(cl_device_id id, cl_device_info what, char *out, size_t cap)
{
    out[0] = '\0';
    if (bd_cl.clGetDeviceInfo(id, what, cap, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[cap - 1] = '\0';
}

static uint64_t device_u64(cl_device_id id, cl_device_info what, size_t size)
{
    union { cl_ulong u64; cl_uint u32; size_t sz; cl_bool b; } v;
    memset(&v, 0, sizeof v);
    if (bd_cl.clGetDeviceInfo(id, what, size, &v, NULL) != CL_SUCCESS) return 0;
    return size == sizeof(cl_ulong) ? v.u64 : v.u32; /* size_t and cl_bool have one of these sizes */
}

static void describe(struct bd_cl_desc *c, size_t index)
{
    cl_device_id id = c->id;
    bd_device_info *info = &c->info;
    memset(info, 0, sizeof *info);
    info->backend = BD_BACKEND_OPENCL;
    snprintf(info->name, sizeof info->name, "opencl:%zu", index);
    device_string(id, CL_DEVICE_NAME, c->device_name, sizeof c->device_name);
    device_string(id, CL_DRIVER_VERSION, c->driver_version, sizeof c->driver_version);
    if (bd_cl.clGetPlatformInfo(c->platform, CL_PLATFORM_VERSION, sizeof c->platform_version, c->platform_version,
                                NULL) != CL_SUCCESS)
        c->platform_version[0] = '\0';
    c->platform_version[sizeof c->platform_version - 1] = '\0';
    /* Truncation to the public fields' sizes is intended; the full strings stay in the cache key. */
    snprintf(info->description, sizeof info->description, "%.*s", (int)sizeof info->description - 1, c->device_name);
    device_string(id, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    snprintf(info->driver, sizeof info->driver, "%.20s; %.41s", c->driver_version, c->platform_version);

    cl_device_type type = device_u64(id, CL_DEVICE_TYPE, sizeof(cl_device_type));
    if (type & CL_DEVICE_TYPE_GPU)
        info->device_type = device_u64(id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof(cl_bool)) ? BD_DEVICE_GPU_INTEGRATED
                                                                                           : BD_DEVICE_GPU_DISCRETE;
    else if (type & CL_DEVICE_TYPE_CPU) info->device_type = BD_DEVICE_CPU;
    else info->device_type = BD_DEVICE_OTHER;

    info->memory_bytes = device_u64(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(cl_ulong));
    info->max_alloc_bytes = device_u64(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(cl_ulong));
    info->max_binding_bytes = info->max_alloc_bytes;
    info->max_workgroup = (uint32_t)device_u64(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(size_t));
    info->compute_units = (uint32_t)device_u64(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cl_uint));
    info->float_atomics = 0; /* OpenCL 1.2 has no float atomics: they are emulated by compare-and-swap */

    size_t ext_len = 0;
    char *ext = NULL;
    if (bd_cl.clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_len) == CL_SUCCESS &&
        (ext = malloc(ext_len + 1))) {
        if (bd_cl.clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, ext_len, ext, NULL) != CL_SUCCESS) ext_len = 0;
        ext[ext_len] = '\0';
    }
    info->fp64 = (ext && has_word(ext, "cl_khr_fp64")) || device_u64(id, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof(cl_ulong));
    c->int64_atomics = ext && has_word(ext, "cl_khr_int64_base_atomics");
    /* Sub-groups are not part of OpenCL 1.2; the warp and wavefront widths are vendor facts. */
    if (strstr(info->vendor, "NVIDIA")) info->subgroup_size = 32;
    else if (ext && has_word(ext, "cl_amd_device_attribute_query"))
        info->subgroup_size = (uint32_t)device_u64(id, CL_DEVICE_WAVEFRONT_WIDTH_AMD, sizeof(cl_uint));
    free(ext);
    c->correct_sqrt = (device_u64(id, CL_DEVICE_SINGLE_FP_CONFIG, sizeof(cl_ulong)) &
                       CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
}

static size_t cl_probe(bd_status *why_status, const char **why)
{
    ensure_pocl_cache_dir();
    if ((*why_status = bd_cl_load(why)) != BD_OK) return 0;

    cl_uint nplat = 0;
    cl_int err = bd_cl.clGetPlatformIDs(0, NULL, &nplat);
    if (err != CL_SUCCESS || nplat == 0) {
        snprintf(probe_why, sizeof probe_why, "opencl: no OpenCL platform is installed (clGetPlatformIDs: %s)",
                 err != CL_SUCCESS ? bd_cl_error_name(err) : "0 platforms");
        *why_status = BD_ERR_BACKEND_MISSING;
        *why = probe_why;
        return 0;
    }
    cl_platform_id *plats = calloc(nplat, sizeof *plats);
    if (!plats || bd_cl.clGetPlatformIDs(nplat, plats, NULL) != CL_SUCCESS) {
        free(plats);
        snprintf(probe_why, sizeof probe_why, "opencl: cannot list the OpenCL platforms");
        *why_status = BD_ERR_DEVICE;
        *why = probe_why;
        return 0;
    }
    /* Remember one failure to explain an empty list (PoCL without a cache dir says DEVICE_NOT_FOUND). */
    cl_int last_err = CL_SUCCESS;
    for (cl_uint p = 0; p < nplat; p++) {
        cl_uint ndev = 0;
        err = bd_cl.clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (err != CL_SUCCESS || ndev == 0) {
            last_err = err;
            continue;
        }
        cl_device_id *ids = calloc(ndev, sizeof *ids);
        struct bd_cl_desc *grown = ids ? realloc(descs, (ndescs + ndev) * sizeof *descs) : NULL;
        if (!grown || bd_cl.clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL) != CL_SUCCESS) {
            free(ids);
            if (grown) descs = grown;
            continue;
        }
        descs = grown;
        for (cl_uint i = 0; i < ndev; i++) {
            struct bd_cl_desc *c = &descs[ndescs];
            memset(c, 0, sizeof *c);
            c->platform = plats[p];
            c->id = ids[i];
            describe(c, ndescs);
            ndescs++;
        }
        free(ids);
    }
    free(plats);
    if (ndescs == 0) {
        snprintf(probe_why, sizeof probe_why,
                 "opencl: %u platform(s) but no device (clGetDeviceIDs: %s; PoCL needs a writable POCL_CACHE_DIR)",
                 (unsigned)nplat, bd_cl_error_name(last_err));
        *why_status = BD_ERR_DEVICE;
        *why = probe_why;
    }
    return ndescs;
}

static bd_status cl_info(size_t index, bd_device_info *info)
{
    if (index >= ndescs) return bd_fail(BD_ERR_NOT_FOUND, "opencl:%zu: no such device", index);
    *info = descs[index].info;
    return BD_OK;
}

static void cl_close(bd_device *dev)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (!d) return;
    bd_cl_ops_release(d);
    if (d->queue) bd_cl.clReleaseCommandQueue(d->queue);
    if (d->context) bd_cl.clReleaseContext(d->context);
    free(d);
    dev->ctx = NULL;
}

static bd_status cl_open(bd_device *dev)
{
    if (dev->index < 0 || (size_t)dev->index >= ndescs)
        return bd_fail(BD_ERR_NOT_FOUND, "opencl:%d: no such device", dev->index);
    struct bd_cl_device *d = calloc(1, sizeof *d);
    if (!d) return bd_fail(BD_ERR_NOMEM, "opencl:%d: out of host memory", dev->index);
    d->desc = &descs[dev->index];
    snprintf(d->name, sizeof d->name, "opencl:%d", dev->index);
    /* Never -cl-fast-relaxed-math or -cl-mad-enable: results must match the other backends. */
    snprintf(d->options, sizeof d->options, "-cl-std=CL1.2%s",
             d->desc->correct_sqrt ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
    dev->ctx = d;

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->desc->platform, 0};
    d->context = bd_cl.clCreateContext(props, 1, &d->desc->id, NULL, NULL, &err);
    if (!d->context) {
        bd_status s = bd_cl_fail(d, err, "clCreateContext");
        cl_close(dev);
        return s;
    }
    d->queue = bd_cl.clCreateCommandQueue(d->context, d->desc->id, 0, &err);
    if (!d->queue) {
        bd_status s = bd_cl_fail(d, err, "clCreateCommandQueue");
        cl_close(dev);
        return s;
    }
    return BD_OK;
}

static bd_status cl_buffer_alloc(bd_device *dev, bd_buffer *buf)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    const bd_device_info *info = &d->desc->info;
    if (buf->size > info->max_alloc_bytes)
        return bd_fail(BD_ERR_LIMIT,
                       "%s: a buffer of %zu bytes exceeds the device's largest allocation "
                       "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes)",
                       d->name, buf->size, (unsigned long long)info->max_alloc_bytes);
    /* Drivers such as PoCL only allocate at first use, so an over-subscription would surface later
     * inside some enqueue; counting live bytes reports it here instead. */
    if (buf->size > info->memory_bytes - d->allocated)
        return bd_fail(BD_ERR_DEVICE_NOMEM,
                       "%s: out of device memory: %zu bytes requested, %llu of %llu bytes "
                       "(CL_DEVICE_GLOBAL_MEM_SIZE) already in use",
                       d->name, buf->size, (unsigned long long)d->allocated,
                       (unsigned long long)info->memory_bytes);
    cl_int err;
    /* OpenCL has no empty buffers; a zero-sized bdyn buffer still needs a valid handle. */
    cl_mem mem = bd_cl.clCreateBuffer(d->context, CL_MEM_READ_WRITE, buf->size ? buf->size : 4, NULL, &err);
    if (!mem) return bd_cl_fail(d, err, "clCreateBuffer");
    buf->ctx = mem;
    d->allocated += buf->size;
    return BD_OK;
}

static void cl_buffer_free(bd_device *dev, bd_buffer *buf)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (!buf->ctx) return;
    bd_cl.clReleaseMemObject(bd_cl_mem(buf));
    buf->ctx = NULL;
    d->allocated -= buf->size;
}

static bd_status cl_upload(bd_device *dev, bd_buffer *buf, size_t offset, const void *src, size_t bytes)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (bytes == 0) return BD_OK;
    cl_int err = bd_cl.clEnqueueWriteBuffer(d->queue, bd_cl_mem(buf), CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    return err == CL_SUCCESS ? BD_OK : bd_cl_fail(d, err, "clEnqueueWriteBuffer (upload)");
}

static bd_status cl_download(bd_device *dev, bd_buffer *buf, size_t offset, void *dst, size_t bytes)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (bytes == 0) return BD_OK;
    cl_int err = bd_cl.clEnqueueReadBuffer(d->queue, bd_cl_mem(buf), CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    return err == CL_SUCCESS ? BD_OK : bd_cl_fail(d, err, "clEnqueueReadBuffer (download)");
}

static bd_status cl_fill(bd_device *dev, bd_buffer *buf, size_t offset, size_t bytes, const void *pattern,
                         size_t pattern_size)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (bytes == 0) return BD_OK;
    cl_int err = bd_cl.clEnqueueFillBuffer(d->queue, bd_cl_mem(buf), pattern, pattern_size, offset, bytes, 0, NULL,
                                           NULL);
    return err == CL_SUCCESS ? BD_OK : bd_cl_fail(d, err, "clEnqueueFillBuffer");
}

static bd_status cl_copy(bd_device *dev, bd_buffer *dst, size_t dst_offset, const bd_buffer *src, size_t src_offset,
                         size_t bytes)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    if (bytes == 0) return BD_OK;
    /* The core rejects overlapping ranges, which OpenCL forbids too (CL_MEM_COPY_OVERLAP). */
    cl_int err = bd_cl.clEnqueueCopyBuffer(d->queue, bd_cl_mem(src), bd_cl_mem(dst), src_offset, dst_offset, bytes, 0,
                                           NULL, NULL);
    return err == CL_SUCCESS ? BD_OK : bd_cl_fail(d, err, "clEnqueueCopyBuffer");
}

static bd_status cl_sync(bd_device *dev)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    cl_int err = bd_cl.clFinish(d->queue);
    return err == CL_SUCCESS ? BD_OK : bd_cl_fail(d, err, "clFinish");
}

const struct bd_backend_i bd_opencl_backend = {
    .kind = BD_BACKEND_OPENCL,
    .probe = cl_probe,
    .info = cl_info,
    .open = cl_open,
    .close = cl_close,
    .buffer_alloc = cl_buffer_alloc,
    .buffer_free = cl_buffer_free,
    .upload = cl_upload,
    .download = cl_download,
    .fill = cl_fill,
    .copy = cl_copy,
    .sync = cl_sync,
    .kernel_compile = bd_cl_kernel_compile,
    .kernel_free = bd_cl_kernel_free,
    .kernel_launch = bd_cl_kernel_launch,
    .supports = bd_cl_supports,
    .run_op = bd_cl_run_op,
};
