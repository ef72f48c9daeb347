/* The cpu backend's device, buffers and vtable. One device, the host itself; buffers are host memory
 * and every call runs synchronously on the calling thread (plus OpenMP workers for large loops). */
#include "cpu_backend.h"
#include "error.h"
#include "ref_ops.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Buffers from this size on are mapped directly: the kernel hands out zeroed pages lazily, so a large
 * buffer costs nothing until it is touched, and it can be backed by transparent huge pages. */
#define CPU_MAP_THRESHOLD ((size_t)1 << 20)

static size_t cpu_probe(bd_status *why_status, const char **why)
{
    (void)why_status;
    (void)why;
    return 1;
}

static bd_status cpu_info(size_t index, bd_device_info *info)
{
    (void)index;
    const cpu_host *h = bd_cpu_host();
    info->backend = BD_BACKEND_CPU;
    snprintf(info->description, sizeof info->description, "%s", h->model);
    snprintf(info->vendor, sizeof info->vendor, "%s", h->vendor);
    info->device_type = BD_DEVICE_CPU;
    info->memory_bytes = h->memory;
    info->max_alloc_bytes = h->memory;
    info->max_binding_bytes = UINT64_MAX;
    info->fp64 = 1;
    info->float_atomics = 1;
    info->max_workgroup = 1;
    info->subgroup_size = h->f32_lanes;
    info->compute_units = h->cpus;
    snprintf(info->driver, sizeof info->driver, "%s", bd_cpu_compiler()->short_name);
    return BD_OK;
}

/* The device's ctx: scratch kept from call to call. */
typedef struct cpu_dev {
    void *push;     /* the parallel push's buckets (cpu_push.c) */
    uint32_t *list; /* the spiking rows of an event op given without a list */
    size_t cap;
} cpu_dev;

static bd_status cpu_open(bd_device *dev)
{
    dev->ctx = calloc(1, sizeof(cpu_dev));
    return dev->ctx ? BD_OK : bd_fail(BD_ERR_NOMEM, "cpu: out of host memory opening the device");
}

static void cpu_close(bd_device *dev)
{
    cpu_dev *d = dev->ctx;
    if (d) bd_cpu_push_free(d->push), free(d->list);
    free(d);
    dev->ctx = NULL;
}

/* Buffers of a page or more start at staggered offsets within their first page ("colours" 20 cache lines
 * apart, modulo 64): a kernel loads element i of some buffers and stores element i of others, and when their
 * addresses agree in the low 12 bits the core takes the loads for reads of the pending stores and stalls
 * them (4K aliasing). With every buffer page-aligned, as large allocations are, a population kernel ran
 * at half speed. */
#define CPU_COLOUR_MIN 4096

static size_t next_colour(void)
{
    static unsigned counter;
    unsigned k = __atomic_fetch_add(&counter, 1u, __ATOMIC_RELAXED);
    return (size_t)(k * 20u % 64u) * 64u;
}

static bd_status cpu_buffer_alloc(bd_device *dev, bd_buffer *buf)
{
    (void)dev;
    size_t size = buf->size;
    /* Linux overcommits: an absurd request would "succeed" and kill the process on first touch, so
     * anything beyond physical memory is refused up front. */
    uint64_t mem = bd_cpu_host()->memory;
    if (mem && (uint64_t)size > mem)
        return bd_fail(BD_ERR_DEVICE_NOMEM, "cpu: cannot allocate a buffer of %zu bytes: the host has %llu bytes of memory",
                       size, (unsigned long long)mem);
    int coloured = size >= CPU_COLOUR_MIN;
    size_t colour = coloured ? next_colour() : 0, total = size + (coloured ? 4096 : 0);
    char *p;
    if (size >= CPU_MAP_THRESHOLD) {
        p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) p = NULL;
#ifdef MADV_HUGEPAGE
        else if (size >= ((size_t)2 << 20)) madvise(p, total, MADV_HUGEPAGE); /* fewer TLB misses in gathers */
#endif
    } else {
        /* 64-byte aligned (one cache line, one AVX-512 vector), page-aligned under a colour; zeroed like the
         * mapped buffers. C11 wants the size a multiple of the alignment. */
        size_t align = coloured ? 4096 : 64, rounded = (total + align - 1) & ~(align - 1);
        p = aligned_alloc(align, rounded ? rounded : align);
        if (p) memset(p, 0, rounded);
    }
    if (!p) return bd_fail(BD_ERR_DEVICE_NOMEM, "cpu: out of host memory allocating a buffer of %zu bytes", size);
    buf->ctx = p + colour;
    return BD_OK;
}

static void cpu_buffer_free(bd_device *dev, bd_buffer *buf)
{
    (void)dev;
    if (!buf->ctx) return;
    /* a coloured allocation is page-aligned and its colour below a page: it starts at the page of ctx */
    int coloured = buf->size >= CPU_COLOUR_MIN;
    char *base = coloured ? (char *)((uintptr_t)buf->ctx & ~(uintptr_t)4095) : buf->ctx;
    if (buf->size >= CPU_MAP_THRESHOLD) munmap(base, buf->size + 4096);
    else free(base);
    buf->ctx = NULL;
}

static bd_status cpu_upload(bd_device *dev, bd_buffer *buf, size_t offset, const void *src, size_t bytes)
{
    (void)dev;
    memcpy((char *)buf->ctx + offset, src, bytes);
    return BD_OK;
}

static bd_status cpu_download(bd_device *dev, bd_buffer *buf, size_t offset, void *dst, size_t bytes)
{
    (void)dev;
    memcpy(dst, (const char *)buf->ctx + offset, bytes);
    return BD_OK;
}

static bd_status cpu_fill(bd_device *dev, bd_buffer *buf, size_t offset, size_t bytes, const void *pattern,
                          size_t pattern_size)
{
    (void)dev;
    unsigned char *p = (unsigned char *)buf->ctx + offset;
    /* memcpy of a constant size compiles to plain (vectorised) stores without type punning. */
    if (pattern_size == 8)
        for (size_t i = 0; i < bytes; i += 8) memcpy(p + i, pattern, 8);
    else
        for (size_t i = 0; i < bytes; i += 4) memcpy(p + i, pattern, 4);
    return BD_OK;
}

static bd_status cpu_copy(bd_device *dev, bd_buffer *dst, size_t dst_offset, const bd_buffer *src, size_t src_offset,
                          size_t bytes)
{
    (void)dev;
    /* memmove: source and destination may be overlapping ranges of one buffer. */
    memmove((char *)dst->ctx + dst_offset, (const char *)src->ctx + src_offset, bytes);
    return BD_OK;
}

static bd_status cpu_sync(bd_device *dev)
{
    (void)dev;
    return BD_OK; /* every call has finished when it returns */
}

static bd_status cpu_supports(bd_device *dev, const bd_op *op)
{
    (void)dev;
    /* OpenBLAS here uses 32-bit integers for dimensions. */
    if ((op->kind == BD_OP_GEMV || op->kind == BD_OP_GEMM) &&
        (op->m > INT_MAX || op->n > INT_MAX || op->k > INT_MAX))
        return bd_fail(BD_ERR_LIMIT, "cpu: %s dimensions %zu x %zu x %zu exceed OpenBLAS's 32-bit index range",
                       bd_op_name(op->kind), op->m, op->n, op->k);
    return BD_OK;
}

/* Fills op->spiking from the flags of an event op given without a list (the public bd_event_* calls). */
static bd_status list_spiking(cpu_dev *d, int threads, bd_op *op)
{
    size_t n = op->kind == BD_OP_EVENT_CSR ? op->csr.rows : op->proc.n_pre;
    if (n > d->cap) {
        uint32_t *l = realloc(d->list, n * sizeof *l);
        if (!l) return bd_fail(BD_ERR_NOMEM, "cpu: %s: out of host memory for %zu spiking rows", bd_op_name(op->kind), n);
        d->list = l, d->cap = n;
    }
    op->nspiking = bd_cpu_compact(threads, op->in->ctx, n, d->list);
    op->spiking = d->list;
    return BD_OK;
}

static bd_status cpu_run_op(bd_device *dev, const bd_op *op)
{
    if (dev->reference) return bd_ref_run_op(op);
    int threads = dev->threads > 1 ? dev->threads : 1;
    switch (op->kind) {
    case BD_OP_GEMV:
    case BD_OP_GEMM: return bd_cpu_op_blas(threads, op);
    case BD_OP_RNG: return bd_cpu_op_random(threads, op);
    case BD_OP_EVENT_PROCEDURAL:
    case BD_OP_EVENT_CSR: {
        bd_op listed = *op;
        bd_status st = op->spiking ? BD_OK : list_spiking(dev->ctx, threads, &listed);
        if (st) return st;
        if (op->kind == BD_OP_EVENT_PROCEDURAL) return bd_cpu_op_random(threads, &listed);
        /* threads pay off once the targets outgrow the caches and each addition waits on memory: at 40k
         * neurons the two parallel phases cost more than they save (2 threads were slower than 1), at 400k
         * they halve the push even with few spikes (CUBA) */
        if (threads > 1 && op->csr.cols >= 4 * CPU_GRAIN)
            return op->rows_sorted ? bd_cpu_event_push_split(threads, &listed)
                                   : bd_cpu_event_push(&((cpu_dev *)dev->ctx)->push, threads, &listed);
        return bd_cpu_op(1, &listed);
    }
    default: return bd_cpu_op(threads, op);
    }
}

const struct bd_backend_i bd_cpu_backend = {
    .kind = BD_BACKEND_CPU,
    .probe = cpu_probe,
    .info = cpu_info,
    .open = cpu_open,
    .close = cpu_close,
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .fill = cpu_fill,
    .copy = cpu_copy,
    .sync = cpu_sync,
    .kernel_compile = bd_cpu_kernel_compile,
    .kernel_free = bd_cpu_kernel_free,
    .kernel_launch = bd_cpu_kernel_launch,
    .supports = cpu_supports,
    .run_op = cpu_run_op,
};
