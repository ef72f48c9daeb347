/* The device registry (every device of every compiled-in backend under a stable name), device
 * handles, buffers and kernel launches. Arguments are checked here so backends can trust them. */
#include "backend.h"
#include "error.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Listing order: cpu first, then the GPU APIs. */
static const struct bd_backend_i *const backends[] = {
    &bd_cpu_backend,
#ifdef BD_HAVE_OPENCL
    &bd_opencl_backend,
#endif
#ifdef BD_HAVE_VULKAN
    &bd_vulkan_backend,
#endif
};
#define NBACKENDS (sizeof backends / sizeof backends[0])

typedef struct entry {
    const struct bd_backend_i *be;
    size_t index;
    bd_device_info info;
} entry;

static struct {
    pthread_once_t once;
    entry *list;
    size_t count;
    bd_status why_status[3];
    char why[3][512];
} registry = {PTHREAD_ONCE_INIT, NULL, 0, {BD_OK, BD_OK, BD_OK}, {"", "", ""}};

/* Some drivers abort() instead of returning an error (PoCL does when /sys is not mounted), which would take
 * the whole program down. So a GPU API's devices are first listed in a child process; if the child dies of a
 * signal or hangs, the backend is reported unavailable with the reason and never loaded here. The check
 * costs one fork per process; BDYN_SAFE_PROBE=0 skips it. Returns 1 (and the reason) if the driver crashed. */
static int driver_crashes(const struct bd_backend_i *be, char *why, size_t cap)
{
    const char *env = getenv("BDYN_SAFE_PROBE");
    if (be->kind == BD_BACKEND_CPU || (env && strcmp(env, "0") == 0)) return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 0; /* cannot check: list in-process as before */
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY); /* the parent lists again; say things once */
        if (null >= 0) dup2(null, 1), dup2(null, 2);
        bd_status s;
        const char *w;
        be->probe(&s, &w);
        _exit(0);
    }
    int status = 0;
    const struct timespec tick = {0, 2000000};
    for (int waited = 0;; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return 0;
        if (waited >= 30000) { /* 60 s */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(why, cap, "%s: the driver did not finish listing its devices within 60 s; its devices are not used",
                     bd_backend_name(be->kind));
            return 1;
        }
        nanosleep(&tick, NULL);
    }
    if (!WIFSIGNALED(status)) return 0;
    snprintf(why, cap, "%s: the driver crashed while listing its devices (%s); its devices are not used "
             "(BDYN_SAFE_PROBE=0 lists them in-process anyway)", bd_backend_name(be->kind), strsignal(WTERMSIG(status)));
    return 1;
}

static void probe_all(void)
{
    for (size_t b = 0; b < NBACKENDS; b++) {
        const struct bd_backend_i *be = backends[b];
        bd_status why_status = BD_OK;
        const char *why = "";
        char crash[512];
        if (driver_crashes(be, crash, sizeof crash)) {
            registry.why_status[be->kind] = BD_ERR_DEVICE;
            snprintf(registry.why[be->kind], sizeof registry.why[0], "%s", crash);
            continue;
        }
        size_t n = be->probe(&why_status, &why);
        if (n == 0) {
            registry.why_status[be->kind] = why_status ? why_status : BD_ERR_NOT_FOUND;
            snprintf(registry.why[be->kind], sizeof registry.why[0], "%s", why && *why ? why : "no devices found");
            continue;
        }
        entry *grown = realloc(registry.list, (registry.count + n) * sizeof *grown);
        if (!grown) return;
        registry.list = grown;
        for (size_t i = 0; i < n; i++) {
            entry *e = &registry.list[registry.count];
            memset(e, 0, sizeof *e);
            e->be = be;
            e->index = i;
            if (be->info(i, &e->info) != BD_OK) continue; /* a device we cannot describe is not listed */
            if (be->kind == BD_BACKEND_CPU) snprintf(e->info.name, sizeof e->info.name, "cpu");
            else snprintf(e->info.name, sizeof e->info.name, "%s:%zu", bd_backend_name(be->kind), i);
            e->info.backend = be->kind;
            registry.count++;
        }
    }
}

static void ensure_probed(void) { pthread_once(&registry.once, probe_all); }

void bd_device_default(char *name, size_t cap)
{
    if (!name || cap == 0) return;
    int best = -1;
    snprintf(name, cap, "cpu");
    for (size_t i = 0; i < bd_device_count(); i++) {
        bd_device_info d;
        if (bd_device_info_get(i, &d) != BD_OK) continue;
        int rank = d.device_type == BD_DEVICE_GPU_DISCRETE ? 2 : d.device_type == BD_DEVICE_GPU_INTEGRATED ? 1 : -1;
        if (rank > best) {
            best = rank;
            snprintf(name, cap, "%s", d.name);
        }
    }
}

const char *bd_backend_name(bd_backend_kind k)
{
    return k == BD_BACKEND_CPU ? "cpu" : k == BD_BACKEND_OPENCL ? "opencl" : k == BD_BACKEND_VULKAN ? "vulkan" : "?";
}

const char *bd_device_type_name(bd_device_type t)
{
    static const char *names[] = {"cpu", "discrete_gpu", "integrated_gpu", "virtual_gpu", "other"};
    return (unsigned)t <= BD_DEVICE_OTHER ? names[t] : "other";
}

size_t bd_device_count(void)
{
    ensure_probed();
    return registry.count;
}

bd_status bd_device_info_get(size_t index, bd_device_info *out)
{
    ensure_probed();
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_device_info_get: out is NULL");
    if (index >= registry.count)
        return bd_fail(BD_ERR_NOT_FOUND, "bd_device_info_get: no device %zu (there are %zu)", index, registry.count);
    *out = registry.list[index].info;
    return BD_OK;
}

bd_status bd_backend_status(bd_backend_kind k, const char **why)
{
    ensure_probed();
    if ((unsigned)k > BD_BACKEND_VULKAN) return bd_fail(BD_ERR_INVALID_ARG, "bd_backend_status: unknown backend");
    int compiled = 0;
    for (size_t b = 0; b < NBACKENDS; b++) compiled |= backends[b]->kind == k;
    if (why) *why = compiled ? registry.why[k] : "not compiled into this build";
    return compiled ? registry.why_status[k] : BD_ERR_UNSUPPORTED;
}

static int default_threads(void)
{
    const char *env = getenv("BDYN_THREADS");
    int t = env ? atoi(env) : 1;
    return t > 0 ? t : 1;
}

bd_status bd_device_open(const char *name, bd_device **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_device_open: out is NULL");
    *out = NULL;
    if (!name) return bd_fail(BD_ERR_INVALID_ARG, "bd_device_open: name is NULL");
    ensure_probed();
    int reference = strcmp(name, "cpu:ref") == 0;
    const entry *found = NULL;
    for (size_t i = 0; i < registry.count && !found; i++)
        if (strcmp(registry.list[i].info.name, reference ? "cpu" : name) == 0) found = &registry.list[i];
    if (!found) {
        char known[512] = "";
        for (size_t i = 0; i < registry.count; i++) {
            size_t len = strlen(known);
            snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", registry.list[i].info.name);
        }
        for (unsigned k = BD_BACKEND_OPENCL; k <= BD_BACKEND_VULKAN; k++) {
            size_t len = strlen(bd_backend_name(k));
            if (strncmp(name, bd_backend_name(k), len) == 0 && name[len] == ':' && registry.why[k][0])
                return bd_fail(registry.why_status[k] ? registry.why_status[k] : BD_ERR_NOT_FOUND,
                               "device '%s' is not available: %s (devices: %s)", name, registry.why[k], known);
        }
        return bd_fail(BD_ERR_NOT_FOUND, "unknown device '%s' (devices: %s)", name, known);
    }
    bd_device *dev = calloc(1, sizeof *dev);
    if (!dev) return bd_fail(BD_ERR_NOMEM, "bd_device_open: out of memory");
    dev->be = found->be;
    dev->info = found->info;
    dev->index = (int)found->index;
    dev->threads = default_threads();
    dev->reference = reference;
    if (reference) snprintf(dev->info.name, sizeof dev->info.name, "cpu:ref");
    bd_status st = dev->be->open(dev);
    if (st != BD_OK) {
        free(dev);
        return st;
    }
    *out = dev;
    return BD_OK;
}

void bd_device_close(bd_device *dev)
{
    if (!dev) return;
    dev->be->sync(dev);
    dev->be->close(dev);
    free(dev);
}

const bd_device_info *bd_device_get_info(const bd_device *dev) { return dev ? &dev->info : NULL; }

bd_status bd_device_set_threads(bd_device *dev, int threads)
{
    if (!dev || threads < 1) return bd_fail(BD_ERR_INVALID_ARG, "bd_device_set_threads: need a device and threads >= 1");
    dev->threads = threads;
    return BD_OK;
}

bd_status bd_device_sync(bd_device *dev)
{
    if (!dev) return bd_fail(BD_ERR_INVALID_ARG, "bd_device_sync: device is NULL");
    return dev->be->sync(dev);
}

bd_status bd_buffer_alloc(bd_device *dev, size_t bytes, bd_buffer **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_buffer_alloc: out is NULL");
    *out = NULL;
    if (!dev) return bd_fail(BD_ERR_INVALID_ARG, "bd_buffer_alloc: device is NULL");
    if (bytes > dev->info.max_alloc_bytes)
        return bd_fail(BD_ERR_LIMIT, "%s: a buffer of %zu bytes exceeds the device's largest allocation (%llu bytes)",
                       dev->info.name, bytes, (unsigned long long)dev->info.max_alloc_bytes);
    bd_buffer *buf = calloc(1, sizeof *buf);
    if (!buf) return bd_fail(BD_ERR_NOMEM, "bd_buffer_alloc: out of memory");
    buf->dev = dev;
    buf->size = bytes;
    bd_status st = dev->be->buffer_alloc(dev, buf);
    if (st != BD_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return BD_OK;
}

void bd_buffer_free(bd_buffer *buf)
{
    if (!buf) return;
    buf->dev->be->buffer_free(buf->dev, buf);
    free(buf);
}

size_t bd_buffer_size(const bd_buffer *buf) { return buf ? buf->size : 0; }

static bd_status check_range(const char *what, const bd_buffer *buf, size_t offset, size_t bytes)
{
    if (!buf) return bd_fail(BD_ERR_INVALID_ARG, "%s: buffer is NULL", what);
    if (offset > buf->size || bytes > buf->size - offset)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: range [%zu, +%zu) is outside the buffer of %zu bytes on %s", what,
                       offset, bytes, buf->size, buf->dev->info.name);
    return BD_OK;
}

bd_status bd_buffer_upload(bd_buffer *buf, size_t offset, const void *src, size_t bytes)
{
    bd_status st = check_range("bd_buffer_upload", buf, offset, bytes);
    if (st) return st;
    if (!src && bytes) return bd_fail(BD_ERR_INVALID_ARG, "bd_buffer_upload: source is NULL");
    return bytes ? buf->dev->be->upload(buf->dev, buf, offset, src, bytes) : BD_OK;
}

bd_status bd_buffer_download(bd_buffer *buf, size_t offset, void *dst, size_t bytes)
{
    bd_status st = check_range("bd_buffer_download", buf, offset, bytes);
    if (st) return st;
    if (!dst && bytes) return bd_fail(BD_ERR_INVALID_ARG, "bd_buffer_download: destination is NULL");
    return bytes ? buf->dev->be->download(buf->dev, buf, offset, dst, bytes) : BD_OK;
}

bd_status bd_buffer_fill(bd_buffer *buf, size_t offset, size_t bytes, const void *pattern, size_t pattern_size)
{
    bd_status st = check_range("bd_buffer_fill", buf, offset, bytes);
    if (st) return st;
    if (!pattern || (pattern_size != 4 && pattern_size != 8) || offset % pattern_size || bytes % pattern_size)
        return bd_fail(BD_ERR_INVALID_ARG,
                       "bd_buffer_fill: the pattern must be 4 or 8 bytes and divide both offset and size");
    return bytes ? buf->dev->be->fill(buf->dev, buf, offset, bytes, pattern, pattern_size) : BD_OK;
}

bd_status bd_buffer_copy(bd_buffer *dst, size_t dst_offset, const bd_buffer *src, size_t src_offset, size_t bytes)
{
    bd_status st = check_range("bd_buffer_copy (destination)", dst, dst_offset, bytes);
    if (!st) st = check_range("bd_buffer_copy (source)", src, src_offset, bytes);
    if (st) return st;
    if (src->dev != dst->dev) return bd_fail(BD_ERR_INVALID_ARG, "bd_buffer_copy: buffers are on different devices");
    if (src == dst && src_offset < dst_offset + bytes && dst_offset < src_offset + bytes)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_buffer_copy: source and destination ranges overlap");
    return bytes ? dst->dev->be->copy(dst->dev, dst, dst_offset, src, src_offset, bytes) : BD_OK;
}

bd_status bd_kernel_compile(bd_device *dev, const bd_ir *k, bd_kernel **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_kernel_compile: out is NULL");
    *out = NULL;
    if (!dev || !k) return bd_fail(BD_ERR_INVALID_ARG, "bd_kernel_compile: device or kernel is NULL");
    if (k->error) return bd_fail(k->error, "kernel '%s' was built with an error; see bd_ir_status", k->name);
    if (k->depth != 0) return bd_fail(BD_ERR_INVALID_ARG, "kernel '%s': %d block(s) not closed", k->name, k->depth);
    if (bd_ir_uses_f64(k) && !dev->info.fp64)
        return bd_fail(BD_ERR_UNSUPPORTED, "%s: kernel '%s' uses f64, which the device does not support",
                       dev->info.name, k->name);
    bd_kernel *kern = calloc(1, sizeof *kern);
    if (!kern) return bd_fail(BD_ERR_NOMEM, "bd_kernel_compile: out of memory");
    kern->dev = dev;
    bd_status st = bd_ir_copy(k, &kern->ir);
    if (st == BD_OK) st = dev->be->kernel_compile(dev, kern);
    if (st != BD_OK) {
        bd_ir_free(kern->ir);
        free(kern);
        return st;
    }
    *out = kern;
    return BD_OK;
}

void bd_kernel_free(bd_kernel *kern)
{
    if (!kern) return;
    kern->dev->be->kernel_free(kern->dev, kern);
    bd_ir_free(kern->ir);
    free(kern);
}

bd_status bd_kernel_launch(bd_kernel *kern, size_t n, bd_buffer *const *buffers, size_t nbuffers,
                           const bd_value *scalars, size_t nscalars)
{
    if (!kern) return bd_fail(BD_ERR_INVALID_ARG, "bd_kernel_launch: kernel is NULL");
    const bd_ir *k = kern->ir;
    const char *dn = kern->dev->info.name;
    if (nbuffers != (size_t)k->nbuffers || nscalars != (size_t)k->nscalars || (nbuffers && !buffers) ||
        (nscalars && !scalars))
        return bd_fail(BD_ERR_INVALID_ARG, "kernel '%s' takes %d buffers and %d scalars, got %zu and %zu", k->name,
                       k->nbuffers, k->nscalars, nbuffers, nscalars);
    if (n > UINT32_MAX) return bd_fail(BD_ERR_LIMIT, "kernel '%s': n = %zu exceeds 2^32 - 1", k->name, n);
    for (int s = 0; s < k->nbuffers; s++) {
        const bd_buffer *b = buffers[s];
        if (!b || b->dev != kern->dev)
            return bd_fail(BD_ERR_INVALID_ARG, "kernel '%s': buffer %d is NULL or on another device than %s", k->name,
                           s, dn);
        size_t elems = b->size / bd_dtype_size(k->buffer_type[s]);
        if (k->buffer_by_i[s] && elems < n)
            return bd_fail(BD_ERR_INVALID_ARG, "kernel '%s': buffer %d holds %zu %s elements, fewer than n = %zu",
                           k->name, s, elems, bd_dtype_name(k->buffer_type[s]), n);
        if (b->size > kern->dev->info.max_binding_bytes)
            return bd_fail(BD_ERR_LIMIT, "%s: kernel '%s': buffer %d of %zu bytes exceeds the per-binding limit of %llu bytes",
                           dn, k->name, s, b->size, (unsigned long long)kern->dev->info.max_binding_bytes);
    }
    return n ? kern->dev->be->kernel_launch(kern->dev, kern, n, buffers, scalars) : BD_OK;
}
