/* Devices (cpu, opencl:N, vulkan:N), their buffers and their queue.
 * All work on a device is queued in order; bd_device_sync waits for it once. */
#ifndef BDYN_DEVICE_H
#define BDYN_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bd_device bd_device;
typedef struct bd_buffer bd_buffer;

typedef enum bd_backend_kind { BD_BACKEND_CPU, BD_BACKEND_OPENCL, BD_BACKEND_VULKAN } bd_backend_kind;

typedef enum bd_device_type {
    BD_DEVICE_CPU,
    BD_DEVICE_GPU_DISCRETE,
    BD_DEVICE_GPU_INTEGRATED,
    BD_DEVICE_GPU_VIRTUAL,
    BD_DEVICE_OTHER
} bd_device_type;

typedef struct bd_device_info {
    char name[32];               /* stable name: "cpu", "opencl:0", "vulkan:1" */
    bd_backend_kind backend;
    char description[128];       /* the driver's device name */
    char vendor[64];
    bd_device_type device_type;
    uint64_t memory_bytes;       /* global memory (host RAM for cpu) */
    uint64_t max_alloc_bytes;    /* largest single buffer */
    uint64_t max_binding_bytes;  /* largest range one kernel argument may bind (UINT64_MAX if none) */
    int fp64;                    /* 1 if double precision kernels are supported */
    int float_atomics;           /* 1 if native 32-bit float atomic add exists (else emulated by CAS) */
    uint32_t max_workgroup;      /* largest work-group (1 for cpu) */
    uint32_t subgroup_size;      /* 0 if unknown or not exposed */
    uint32_t compute_units;      /* cores / compute units */
    char driver[64];             /* driver / platform version string */
} bd_device_info;

/* Names of the enums, as printed by `bdyn devices` ("cpu", "opencl", "vulkan"; "cpu", "gpu", ...). */
BD_API const char *bd_backend_name(bd_backend_kind k);
BD_API const char *bd_device_type_name(bd_device_type t);

/* Enumerates every device of every compiled-in backend (probed once, lazily). A backend whose runtime
 * library or driver is absent contributes no devices; bd_backend_status() says why. */
BD_API size_t bd_device_count(void);
BD_API bd_status bd_device_info_get(size_t index, bd_device_info *out);
/* The default device's name into name: the first discrete GPU, else the first integrated GPU, else "cpu". */
BD_API void bd_device_default(char *name, size_t cap);
/* Why a compiled-in backend has no devices (BD_OK and "" if it has some or is not compiled in). */
BD_API bd_status bd_backend_status(bd_backend_kind k, const char **why);

/* Opens a device by stable name ("cpu", "opencl:0", "vulkan:0"). */
BD_API bd_status bd_device_open(const char *name, bd_device **out);
BD_API void bd_device_close(bd_device *dev);
BD_API const bd_device_info *bd_device_get_info(const bd_device *dev);
/* Threads used by the cpu device (default: $BDYN_THREADS or 1); other devices ignore it. */
BD_API bd_status bd_device_set_threads(bd_device *dev, int threads);
/* Waits until all queued work on the device has finished. */
BD_API bd_status bd_device_sync(bd_device *dev);

/* Buffers are plain byte arrays in device memory. Transfers are ordered with queued work: an upload
 * happens after earlier launches, a download waits for them. */
BD_API bd_status bd_buffer_alloc(bd_device *dev, size_t bytes, bd_buffer **out);
BD_API void bd_buffer_free(bd_buffer *buf);
BD_API size_t bd_buffer_size(const bd_buffer *buf);
BD_API bd_status bd_buffer_upload(bd_buffer *buf, size_t offset, const void *src, size_t bytes);
BD_API bd_status bd_buffer_download(bd_buffer *buf, size_t offset, void *dst, size_t bytes);
/* Repeats a 4- or 8-byte pattern over [offset, offset + bytes); both must be multiples of its size. */
BD_API bd_status bd_buffer_fill(bd_buffer *buf, size_t offset, size_t bytes, const void *pattern,
                                size_t pattern_size);
BD_API bd_status bd_buffer_copy(bd_buffer *dst, size_t dst_offset, const bd_buffer *src,
                                size_t src_offset, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
