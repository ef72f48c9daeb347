/* Dense gemv and gemm on the cpu through OpenBLAS (row-major CBLAS), on the device's thread count.
 * The degenerate cases (beta == 0, an empty inner dimension) are handled here so that the result
 * never depends on how a BLAS build treats them: with beta == 0 the old output is never read. */
#include "cpu_backend.h"

#include <cblas.h>
#include <string.h>

/* y = beta y over n elements; beta == 0 writes zeros without reading (NaN * 0 would stay NaN). */
static void scale(const bd_op *op, void *y, size_t n)
{
    if (op->beta == 1.0) return;
    if (op->beta == 0.0) {
        memset(y, 0, n * bd_dtype_size(op->dtype));
    } else if (op->dtype == BD_F64) {
        double *restrict v = y;
        for (size_t i = 0; i < n; i++) v[i] *= op->beta;
    } else {
        float *restrict v = y;
        const float b = (float)op->beta;
        for (size_t i = 0; i < n; i++) v[i] *= b;
    }
}

/* CBLAS rejects a leading dimension of 0 even when the matrix is empty. */
static int ld(size_t n) { return n ? (int)n : 1; }

static void gemv(const bd_op *op)
{
    size_t ny = op->trans_a ? op->n : op->m;
    if (op->m == 0 || op->n == 0 || op->beta == 0.0) {
        scale(op, op->out->ctx, ny);
        if (op->m == 0 || op->n == 0) return;
    }
    const enum CBLAS_TRANSPOSE ta = op->trans_a ? CblasTrans : CblasNoTrans;
    const int m = (int)op->m, n = (int)op->n;
    if (op->dtype == BD_F64)
        cblas_dgemv(CblasRowMajor, ta, m, n, op->alpha, op->in_a->ctx, ld(op->n), op->in->ctx, 1, op->beta,
                    op->out->ctx, 1);
    else
        cblas_sgemv(CblasRowMajor, ta, m, n, (float)op->alpha, op->in_a->ctx, ld(op->n), op->in->ctx, 1,
                    (float)op->beta, op->out->ctx, 1);
}

static void gemm(const bd_op *op)
{
    if (op->k == 0 || op->beta == 0.0) {
        scale(op, op->out->ctx, op->m * op->n);
        if (op->k == 0) return;
    }
    const enum CBLAS_TRANSPOSE ta = op->trans_a ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE tb = op->trans_b ? CblasTrans : CblasNoTrans;
    const int m = (int)op->m, n = (int)op->n, k = (int)op->k;
    const int lda = ld(op->trans_a ? op->m : op->k), ldb = ld(op->trans_b ? op->k : op->n), ldc = ld(op->n);
    if (op->dtype == BD_F64)
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, op->alpha, op->in_a->ctx, lda, op->in->ctx, ldb, op->beta,
                    op->out->ctx, ldc);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float)op->alpha, op->in_a->ctx, lda, op->in->ctx, ldb,
                    (float)op->beta, op->out->ctx, ldc);
}

bd_status bd_cpu_op_blas(int threads, const bd_op *op)
{
    /* OpenBLAS keeps one global thread count; set it per call so each device's setting applies. */
    openblas_set_num_threads(threads);
    if (op->kind == BD_OP_GEMV) gemv(op);
    else gemm(op);
    return BD_OK;
}
