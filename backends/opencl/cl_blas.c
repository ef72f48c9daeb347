/* Dense GEMV/GEMM on OpenCL devices through CLBlast, opened at run time at the first call
 * (libclblast.so.1, or $BDYN_CLBLAST_LIBRARY) so that the library neither links nor needs it. */
#include "cl_internal.h"
#include "error.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The subset of clblast_c.h we call, declared here so that building needs no CLBlast headers.
 * CLBlast's enums are C enums (int-sized) with these values. */
enum { BLAST_ROW_MAJOR = 101, BLAST_NO_TRANS = 111, BLAST_TRANS = 112 };
typedef int (*blast_sgemv_fn)(int layout, int trans, size_t m, size_t n, float alpha, cl_mem a, size_t a_off,
                              size_t lda, cl_mem x, size_t x_off, size_t incx, float beta, cl_mem y, size_t y_off,
                              size_t incy, cl_command_queue *queue, cl_event *event);
typedef int (*blast_dgemv_fn)(int layout, int trans, size_t m, size_t n, double alpha, cl_mem a, size_t a_off,
                              size_t lda, cl_mem x, size_t x_off, size_t incx, double beta, cl_mem y, size_t y_off,
                              size_t incy, cl_command_queue *queue, cl_event *event);
typedef int (*blast_sgemm_fn)(int layout, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                              cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
                              cl_mem c, size_t c_off, size_t ldc, cl_command_queue *queue, cl_event *event);
typedef int (*blast_dgemm_fn)(int layout, int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                              cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, double beta,
                              cl_mem c, size_t c_off, size_t ldc, cl_command_queue *queue, cl_event *event);

static struct {
    pthread_mutex_t lock;
    int tried;
    void *handle;
    char why[512];
    blast_sgemv_fn sgemv;
    blast_dgemv_fn dgemv;
    blast_sgemm_fn sgemm;
    blast_dgemm_fn dgemm;
} blast = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Opens CLBlast once per process; 1 if it is usable, else blast.why says why. */
static int blast_load(void)
{
    pthread_mutex_lock(&blast.lock);
    if (!blast.tried) {
        blast.tried = 1;
        const char *lib = getenv("BDYN_CLBLAST_LIBRARY");
        if (!lib || !*lib) lib = "libclblast.so.1";
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(blast.why, sizeof blast.why, "cannot load %s (%s)", lib, dlerror());
        } else {
            /* dlsym returns void *; converting it to a function pointer is what POSIX requires to work. */
            *(void **)&blast.sgemv = dlsym(h, "CLBlastSgemv");
            *(void **)&blast.dgemv = dlsym(h, "CLBlastDgemv");
            *(void **)&blast.sgemm = dlsym(h, "CLBlastSgemm");
            *(void **)&blast.dgemm = dlsym(h, "CLBlastDgemm");
            if (blast.sgemv && blast.dgemv && blast.sgemm && blast.dgemm) {
                blast.handle = h;
            } else {
                snprintf(blast.why, sizeof blast.why, "%s lacks CLBlast[SD]gem[mv]", lib);
                dlclose(h);
            }
        }
    }
    int ok = blast.handle != NULL;
    pthread_mutex_unlock(&blast.lock);
    return ok;
}

static const char *blast_status_name(int s)
{
    switch (s) {
    case -1024: return "CLBlastNotImplemented";
    case -2044: return "CLBlastNoDoublePrecision";
    case -2046: return "CLBlastInvalidLocalMemUsage";
    case -2041: return "CLBlastDatabaseError";
    case -2040: return "CLBlastUnknownError";
    case -2039: return "CLBlastUnexpectedError";
    }
    /* Other codes below -1000 are argument errors (clBLAS numbering); the rest are OpenCL errors. */
    return s > -1000 ? bd_cl_error_name(s) : "CLBlast argument error";
}

static bd_status blast_fail(const struct bd_cl_device *d, int s, const char *routine)
{
    bd_status st = BD_ERR_DEVICE;
    if (s == CL_MEM_OBJECT_ALLOCATION_FAILURE || s == CL_OUT_OF_RESOURCES) st = BD_ERR_DEVICE_NOMEM;
    else if (s == CL_OUT_OF_HOST_MEMORY) st = BD_ERR_NOMEM;
    return bd_fail(st, "%s: %s failed: %s (%d)", d->name, routine, blast_status_name(s), s);
}

bd_status bd_cl_blas_supports(struct bd_cl_device *d, const bd_op *op)
{
    if (blast_load()) return BD_OK;
    return bd_fail(BD_ERR_UNSUPPORTED, "%s: %s needs CLBlast, which is not available: %s", d->name,
                   bd_op_name(op->kind), blast.why);
}

/* y = beta y over n elements: what remains of a product whose inner dimension is 0, which CLBlast
 * rejects as an invalid dimension. */
static bd_status scale(struct bd_cl_device *d, const bd_op *op, size_t n)
{
    int f64 = op->dtype == BD_F64;
    cl_kernel k;
    bd_status s = bd_cl_get_kernel(d, BD_CL_K_SCALE, f64, &k);
    if (s != BD_OK) return s;
    struct bd_cl_args a = {k, 0, CL_SUCCESS, 0};
    cl_mem y = bd_cl_mem(op->out);
    cl_ulong nn = n;
    cl_float b32 = (cl_float)op->beta;
    bd_cl_arg(&a, sizeof y, &y);
    bd_cl_arg(&a, sizeof nn, &nn);
    if (f64) bd_cl_arg(&a, sizeof op->beta, &op->beta);
    else bd_cl_arg(&a, sizeof b32, &b32);
    return bd_cl_launch(d, &a, "scale", n, d->local[BD_CL_K_SCALE][f64]);
}

/* y = alpha op(M) v + beta y for a row-major rows x cols matrix M (op(M) = M^T when trans). */
static bd_status gemv(struct bd_cl_device *d, const bd_op *op, int trans, size_t rows, size_t cols, cl_mem m, cl_mem v,
                      cl_mem y)
{
    size_t inner = trans ? rows : cols, outer = trans ? cols : rows;
    if (inner == 0) return scale(d, op, outer);
    cl_command_queue q = d->queue;
    /* CLBlast's gemv reads y even when beta is 0 (a NaN there survives as 0 * NaN); BLAS does not. */
    if (op->beta == 0.0) {
        const cl_uint zero = 0;
        size_t bytes = outer * (op->dtype == BD_F64 ? sizeof(cl_double) : sizeof(cl_float));
        cl_int err = bd_cl.clEnqueueFillBuffer(q, y, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
        if (err != CL_SUCCESS) return bd_cl_fail(d, err, "clEnqueueFillBuffer (gemv with beta = 0)");
    }
    int t = trans ? BLAST_TRANS : BLAST_NO_TRANS;
    int s = op->dtype == BD_F64 ? blast.dgemv(BLAST_ROW_MAJOR, t, rows, cols, op->alpha, m, 0, cols, v, 0, 1, op->beta,
                                              y, 0, 1, &q, NULL)
                                : blast.sgemv(BLAST_ROW_MAJOR, t, rows, cols, (float)op->alpha, m, 0, cols, v, 0, 1,
                                              (float)op->beta, y, 0, 1, &q, NULL);
    return s == 0 ? BD_OK : blast_fail(d, s, op->dtype == BD_F64 ? "CLBlastDgemv" : "CLBlastSgemv");
}

bd_status bd_cl_blas_run(struct bd_cl_device *d, const bd_op *op)
{
    cl_mem a = bd_cl_mem(op->in_a), b = bd_cl_mem(op->in), c = bd_cl_mem(op->out);
    if (op->kind == BD_OP_GEMV) return gemv(d, op, op->trans_a, op->m, op->n, a, b, c);
    if (op->k == 0) return scale(d, op, op->m * op->n);
    /* Stored shapes: A is k x m when transposed, else m x k; B is n x k when transposed, else k x n.
     * A product with one output column or row is a matrix-vector product (the vector operand is k
     * contiguous elements either way). CLBlast's GEMM would pad the operands to 64-row tiles in
     * temporaries -- 4 GiB for 1 x 1 x 2^24 -- and take seconds. */
    if (op->n == 1) return gemv(d, op, op->trans_a, op->trans_a ? op->k : op->m, op->trans_a ? op->m : op->k, a, b, c);
    if (op->m == 1) return gemv(d, op, !op->trans_b, op->trans_b ? op->n : op->k, op->trans_b ? op->k : op->n, b, a, c);
    size_t lda = op->trans_a ? op->m : op->k, ldb = op->trans_b ? op->k : op->n;
    int ta = op->trans_a ? BLAST_TRANS : BLAST_NO_TRANS, tb = op->trans_b ? BLAST_TRANS : BLAST_NO_TRANS;
    cl_command_queue q = d->queue;
    int s = op->dtype == BD_F64 ? blast.dgemm(BLAST_ROW_MAJOR, ta, tb, op->m, op->n, op->k, op->alpha, a, 0, lda, b, 0,
                                              ldb, op->beta, c, 0, op->n, &q, NULL)
                                : blast.sgemm(BLAST_ROW_MAJOR, ta, tb, op->m, op->n, op->k, (float)op->alpha, a, 0, lda,
                                              b, 0, ldb, (float)op->beta, c, 0, op->n, &q, NULL);
    return s == 0 ? BD_OK : blast_fail(d, s, op->dtype == BD_F64 ? "CLBlastDgemm" : "CLBlastSgemm");
}
