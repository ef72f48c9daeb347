/* Internals shared by the cpu backend's files: what it knows about the host, its thread splitting,
 * the runtime C compiler and the fast operators. Nothing here is visible outside the backend. */
#ifndef BD_CPU_BACKEND_H
#define BD_CPU_BACKEND_H

#include "backend.h"

/* Read once per process from /proc/cpuinfo and sysconf; never changes afterwards. */
typedef struct cpu_host {
    char model[128];   /* "model name" (or a fallback naming the architecture) */
    char vendor[64];   /* readable vendor ("Intel", "AMD", "ARM", ...) */
    char flags[2048];  /* the ISA feature line: part of the kernel cache key, as -march=native depends on it */
    uint64_t memory;   /* physical memory in bytes */
    uint32_t cpus;     /* online CPUs */
    uint32_t f32_lanes; /* SIMD f32 lanes (16 with AVX-512F, 8 with AVX2, ...), 0 if unknown */
} cpu_host;

const cpu_host *bd_cpu_host(void);

/* The C compiler used for kernels: $CC split on blanks (default "cc"), and the first line of its
 * `--version` (computed once; "" if the compiler could not be run). */
typedef struct cpu_compiler {
    char cmd[512];       /* $CC as given */
    char *argv[16];      /* its words, pointing into a private copy of cmd */
    int argc;
    char version[256];   /* first line of `$CC --version` */
    char short_name[64]; /* "gcc 12.2.0", "clang 14.0.6", or the version line truncated */
} cpu_compiler;

const cpu_compiler *bd_cpu_compiler(void);

/* Runs fn over [0, n) in `chunks` contiguous pieces (chunk c gets [begin, end) with boundaries on
 * multiples of 16 elements, so vector loops stay aligned). One chunk is a plain call: no OpenMP
 * region is entered, which matters for the many small per-step calls of a simulation. */
typedef void (*cpu_range_fn)(void *arg, int chunk, size_t begin, size_t end);
void bd_cpu_parallel(int chunks, size_t n, cpu_range_fn fn, void *arg);
/* Where chunk c of `chunks` over n starts (bd_cpu_parallel's split; c = chunks gives n). */
size_t bd_cpu_bound(size_t n, int c, int chunks);
/* bd_event_csr on several threads, with the one-thread result (cpu_push.c); *scratch keeps its buckets
 * between calls (in the device's ctx), released by bd_cpu_push_free. op->spiking is set. */
bd_status bd_cpu_event_push(void **scratch, int threads, const bd_op *op);
void bd_cpu_push_free(void *scratch);
/* The same when every row's targets ascend (op->rows_sorted): each thread walks all spiking rows and adds
 * the part of each row that falls into its own post range. */
bd_status bd_cpu_event_push_split(int threads, const bd_op *op);
/* How many chunks to use: at most `threads` (and CPU_MAX_CHUNKS), none smaller than `grain` elements. */
int bd_cpu_chunks(int threads, size_t n, size_t grain);
#define CPU_MAX_CHUNKS 256

/* Scatter-style loops (outputs indexed by data: scatter_add, spmv_t, event push, procedural) run
 * without atomics, which cost ~5x a plain add here, so they would lose below ~6 threads: chunk 0 adds
 * into out itself, every other chunk into a private zeroed copy of it, and the copies are added to
 * out afterwards in chunk order. The result then depends only on the thread count. dst[c] is set to
 * chunk c's target before fn runs. Each chunk must carry more work than its copy of m outputs costs;
 * if the copies cannot be allocated, one chunk does everything. */
void bd_cpu_scatter(int threads, size_t n, size_t work, bd_dtype t, void *out, size_t m, void **dst, cpu_range_fn fn,
                    void *arg);

/* Copies of a hot loop for AVX-512, AVX2 and the baseline, chosen when the library loads (GNU ifunc; not
 * under AddressSanitizer, whose start-up the resolvers would precede). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif

/* Elements per thread below which splitting a bandwidth-bound loop costs more than it saves
 * (an OpenMP fork/join is ~1 µs at best and can be far worse on a loaded machine). */
#define CPU_GRAIN 16384

bd_status bd_cpu_kernel_compile(bd_device *dev, bd_kernel *kern);
void bd_cpu_kernel_free(bd_device *dev, bd_kernel *kern);
bd_status bd_cpu_kernel_launch(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                               const bd_value *scalars);

/* Writes the indices of the non-zero flags among n to out in ascending order, on any thread count;
 * returns how many (bd_spike_compact, and the spiking rows of event ops given without a list). */
size_t bd_cpu_compact(int threads, const uint32_t *flags, size_t n, uint32_t *out);

/* The fixed operators (validated by core/ops.c), on `threads` threads. */
bd_status bd_cpu_op(int threads, const bd_op *op);        /* reductions, gather/scatter, sparse, compaction */
bd_status bd_cpu_op_blas(int threads, const bd_op *op);   /* gemv, gemm through OpenBLAS */
bd_status bd_cpu_op_random(int threads, const bd_op *op); /* rng fill, procedural events */
/* The event ops (EVENT_CSR, EVENT_PROCEDURAL) get their spiking rows from op->spiking, which cpu_backend.c
 * fills from the flags when the caller gave no list. */

#endif
