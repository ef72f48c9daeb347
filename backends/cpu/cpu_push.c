/* bd_event_csr on several threads with the one-thread result, bit for bit.
 *
 * Two threads adding into one post element would change the order of its additions, so each post
 * element is added to by one thread, in the sequential push's order. Two ways:
 *  - every row's targets ascend (op->rows_sorted: the runner's matrices): thread c owns a post range,
 *    walks every spiking row and adds the part of it inside its range (bd_cpu_event_push_split, at the
 *    end). The rows are read by every thread; the scattered additions, which wait on memory, are split.
 *  - any rows, in two phases:
 *    1. thread c walks its share of the ascending list of spiking rows and sorts each synapse
 *       (target, entry) into bucket[c][o], o the thread that owns the target's post range;
 *    2. thread o adds bucket[0][o], bucket[1][o], ... in that order into its own targets.
 *    The ranges of phase 1 ascend with c, so each post element receives its additions in ascending
 *    presynaptic order and, within a row, in stored order: the sequential push's, and the pull's. */
#include "cpu_backend.h"
#include "error.h"

#include <stdlib.h>

#define PUSH_MAX_CHUNKS 16

typedef struct bucket {
    uint32_t *tp; /* targets, each followed by its entry when the weights are per synapse */
    size_t n, cap;
} bucket;

/* Lives in the device's ctx between calls, so that the buckets' memory is allocated once. */
typedef struct push_job {
    const bd_op *op;
    int chunks;
    size_t owner_end[PUSH_MAX_CHUNKS]; /* post range of owner o: [owner_end[o - 1], owner_end[o]) */
    bucket b[PUSH_MAX_CHUNKS][PUSH_MAX_CHUNKS];
    int nomem[PUSH_MAX_CHUNKS];
} push_job;

void bd_cpu_push_free(void *scratch)
{
    push_job *j = scratch;
    if (!j) return;
    for (int c = 0; c < PUSH_MAX_CHUNKS; c++)
        for (int o = 0; o < PUSH_MAX_CHUNKS; o++) free(j->b[c][o].tp);
    free(j);
}

/* Sorts the synapses of the spiking rows at list positions [lo, hi) into the buckets of chunk c. */
static void sort_range(void *arg, int c, size_t lo, size_t hi)
{
    push_job *j = arg;
    const bd_csr *a = &j->op->csr;
    const uint32_t *rp = a->rowptr->ctx, *restrict col = a->colidx->ctx, *restrict spiking = j->op->spiking;
    const size_t words = a->values ? 2 : 1;
    for (size_t k = lo; k < hi; k++) {
        /* the next spiking row's entries are fetched while this one is sorted: the rows are cache misses */
        if (k + 1 < hi && rp[spiking[k + 1]] < a->nnz) __builtin_prefetch(col + rp[spiking[k + 1]]);
        size_t r = spiking[k];
        size_t p0 = rp[r] < a->nnz ? rp[r] : a->nnz, p1 = rp[r + 1] < a->nnz ? rp[r + 1] : a->nnz;
        for (size_t p = p0; p < p1; p++) {
            uint32_t t = col[p];
            if (t >= a->cols) continue;
            int o = 0;
            while (t >= j->owner_end[o]) o++;
            bucket *bk = &j->b[c][o];
            if (bk->n + words > bk->cap) {
                size_t cap = bk->cap ? 2 * bk->cap : 4096;
                uint32_t *g = realloc(bk->tp, cap * sizeof *g);
                if (!g) {
                    j->nomem[c] = 1;
                    return;
                }
                bk->tp = g, bk->cap = cap;
            }
            bk->tp[bk->n++] = t;
            if (words == 2) bk->tp[bk->n++] = (uint32_t)p;
        }
    }
}

static void add_range(void *arg, int o, size_t lo, size_t hi)
{
    const push_job *j = arg;
    const bd_csr *a = &j->op->csr;
    (void)lo, (void)hi;
    for (int c = 0; c < j->chunks; c++) {
        const bucket *bk = &j->b[c][o];
        const uint32_t *restrict tp = bk->tp;
        if (j->op->dtype == BD_F64) {
            double *restrict y = j->op->out->ctx;
            const double *restrict v = a->values ? a->values->ctx : NULL;
            if (v)
                for (size_t k = 0; k < bk->n; k += 2) y[tp[k]] += v[tp[k + 1]];
            else
                for (size_t k = 0; k < bk->n; k++) y[tp[k]] += a->weight;
        } else {
            float *restrict y = j->op->out->ctx;
            const float *restrict v = a->values ? a->values->ctx : NULL;
            const float w = (float)a->weight;
            if (v)
                for (size_t k = 0; k < bk->n; k += 2) y[tp[k]] += v[tp[k + 1]];
            else
                for (size_t k = 0; k < bk->n; k++) y[tp[k]] += w;
        }
    }
}

bd_status bd_cpu_event_push(void **scratch, int threads, const bd_op *op)
{
    if (!*scratch && !(*scratch = calloc(1, sizeof(push_job))))
        return bd_fail(BD_ERR_NOMEM, "cpu: event_csr: out of host memory");
    push_job *j = *scratch;
    const bd_csr *a = &op->csr;
    j->op = op;
    j->chunks = threads < PUSH_MAX_CHUNKS ? threads : PUSH_MAX_CHUNKS;
    if ((size_t)j->chunks > a->cols / 16) j->chunks = 1;
    for (int o = 0; o < j->chunks; o++) j->owner_end[o] = bd_cpu_bound(a->cols, o + 1, j->chunks);
    bd_cpu_parallel(j->chunks, op->nspiking, sort_range, j);
    int nomem = 0;
    for (int c = 0; c < j->chunks; c++) nomem |= j->nomem[c], j->nomem[c] = 0;
    if (!nomem) bd_cpu_parallel(j->chunks, a->cols, add_range, j);
    for (int c = 0; c < j->chunks; c++)
        for (int o = 0; o < j->chunks; o++) j->b[c][o].n = 0;
    return nomem ? bd_fail(BD_ERR_NOMEM, "cpu: event_csr: out of host memory for the per-thread buckets") : BD_OK;
}

/* bd_cpu_event_push_split: thread c owns the post range [lo, hi) and adds, row after spiking row, the
 * entries of the row that fall into it, found by a binary search in the ascending row. (A search without
 * branches and prefetching whole rows were both slower on COBA 400k.) */
static void split_range(void *arg, int c, size_t lo, size_t hi)
{
    const bd_op *op = arg;
    const bd_csr *a = &op->csr;
    const uint32_t *rp = a->rowptr->ctx, *restrict col = a->colidx->ctx, *restrict spiking = op->spiking;
    (void)c;
    for (size_t k = 0; k < op->nspiking; k++) {
        if (k + 1 < op->nspiking && rp[spiking[k + 1]] < a->nnz) __builtin_prefetch(col + rp[spiking[k + 1]]);
        size_t r = spiking[k];
        size_t p0 = rp[r] < a->nnz ? rp[r] : a->nnz, p1 = rp[r + 1] < a->nnz ? rp[r + 1] : a->nnz;
        for (size_t end = p1; p0 < end;) { /* p0: the first entry >= lo */
            size_t mid = p0 + (end - p0) / 2;
            if (col[mid] < lo) p0 = mid + 1;
            else end = mid;
        }
        if (op->dtype == BD_F64) {
            double *restrict y = op->out->ctx;
            const double *restrict v = a->values ? a->values->ctx : NULL;
            for (size_t p = p0; p < p1 && col[p] < hi; p++) y[col[p]] += v ? v[p] : a->weight;
        } else {
            float *restrict y = op->out->ctx;
            const float *restrict v = a->values ? a->values->ctx : NULL;
            const float w = (float)a->weight;
            for (size_t p = p0; p < p1 && col[p] < hi; p++) y[col[p]] += v ? v[p] : w;
        }
    }
}

bd_status bd_cpu_event_push_split(int threads, const bd_op *op)
{
    bd_cpu_parallel(threads < PUSH_MAX_CHUNKS ? threads : PUSH_MAX_CHUNKS, op->csr.cols, split_range, (void *)op);
    return BD_OK;
}
