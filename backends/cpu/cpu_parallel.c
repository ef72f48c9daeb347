/* Splitting loops across the cpu device's threads (the backend's only OpenMP region), and the
 * atomic-free scheme for loops whose chunks add into shared outputs. */
#include "cpu_backend.h"

#include <stdlib.h>

int bd_cpu_chunks(int threads, size_t n, size_t grain)
{
    if (threads <= 1 || n < 2 * grain) return 1;
    size_t c = n / grain;
    if (threads > CPU_MAX_CHUNKS) threads = CPU_MAX_CHUNKS;
    return c < (size_t)threads ? (int)c : threads;
}

/* Chunk boundary c of `chunks` over n, rounded down to a multiple of 16 elements (64 bytes of f32)
 * so that neighbouring threads never share a cache line of the output and each loop starts aligned. */
size_t bd_cpu_bound(size_t n, int c, int chunks)
{
    if (c >= chunks) return n;
    size_t k = (size_t)chunks;
    size_t b = n / k * (size_t)c + n % k * (size_t)c / k; /* n * c / k without overflow */
    return b & ~(size_t)15;
}

void bd_cpu_parallel(int chunks, size_t n, cpu_range_fn fn, void *arg)
{
    if (chunks <= 1) {
        fn(arg, 0, 0, n);
        return;
    }
    /* One chunk per thread, statically; if the runtime grants fewer threads (nested call, thread
     * limit) the loop still covers every chunk. */
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
    for (int c = 0; c < chunks; c++) fn(arg, c, bd_cpu_bound(n, c, chunks), bd_cpu_bound(n, c + 1, chunks));
}

typedef struct combine_job {
    bd_dtype t;
    int copies;
    void *out;
    void *const *dst;
} combine_job;

static void combine_range(void *arg, int chunk, size_t b, size_t e)
{
    const combine_job *j = arg;
    (void)chunk;
    if (j->t == BD_F64) {
        double *restrict y = j->out;
        for (int c = 1; c <= j->copies; c++) {
            const double *restrict p = j->dst[c];
            for (size_t i = b; i < e; i++) y[i] += p[i];
        }
    } else {
        float *restrict y = j->out;
        for (int c = 1; c <= j->copies; c++) {
            const float *restrict p = j->dst[c];
            for (size_t i = b; i < e; i++) y[i] += p[i];
        }
    }
}

void bd_cpu_scatter(int threads, size_t n, size_t work, bd_dtype t, void *out, size_t m, void **dst, cpu_range_fn fn,
                    void *arg)
{
    int chunks = bd_cpu_chunks(threads, work, m > CPU_GRAIN ? m : CPU_GRAIN);
    if ((size_t)chunks > n / 16) chunks = 1;
    size_t es = bd_dtype_size(t);
    /* calloc of a large block maps fresh zero pages: no memset pass over the copies. */
    unsigned char *copies = chunks > 1 ? calloc((size_t)(chunks - 1) * m, es) : NULL;
    if (!copies) chunks = 1;
    dst[0] = out;
    for (int c = 1; c < chunks; c++) dst[c] = copies + (size_t)(c - 1) * m * es;
    bd_cpu_parallel(chunks, n, fn, arg);
    if (chunks > 1) {
        combine_job cj = {t, chunks - 1, out, dst};
        bd_cpu_parallel(bd_cpu_chunks(threads, m * (size_t)chunks, CPU_GRAIN), m, combine_range, &cj);
    }
    free(copies);
}
