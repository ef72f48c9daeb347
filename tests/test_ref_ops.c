/* The reference operators (core/ref_ops.c) on small hand-computed cases, in f32 and f64: empty
 * inputs, out-of-range indices, decreasing offsets, beta == 0 over NaN, and the orders of summation
 * that the devices must reproduce. */
#include "test_common.h"
#include "ref_ops.h"

#include <math.h>

#define MAXB 8

/* Host buffers for one op: values given as doubles are stored in the op's dtype. */
typedef struct hb {
    bd_buffer b;
    unsigned char data[256];
} hb;

static bd_buffer *fbuf(hb *h, bd_dtype t, const double *v, size_t n)
{
    h->b.dev = NULL;
    h->b.size = n * bd_dtype_size(t);
    h->b.ctx = h->data;
    for (size_t i = 0; i < n; i++) {
        if (t == BD_F32)
            ((float *)h->data)[i] = (float)v[i];
        else
            ((double *)h->data)[i] = v[i];
    }
    return &h->b;
}

static bd_buffer *ubuf(hb *h, const uint32_t *v, size_t n)
{
    h->b.dev = NULL;
    h->b.size = n * 4;
    h->b.ctx = h->data;
    memcpy(h->data, v, n * 4);
    return &h->b;
}

static double at(const bd_buffer *b, bd_dtype t, size_t i)
{
    return t == BD_F32 ? ((const float *)b->ctx)[i] : ((const double *)b->ctx)[i];
}

/* Output i equals want[i] exactly (NaN matches NaN). */
static void expect(const char *what, bd_dtype t, bd_status s, const bd_buffer *out, const double *want, size_t n)
{
    int ok = s == BD_OK;
    for (size_t i = 0; ok && i < n; i++) ok = at(out, t, i) == want[i] || (isnan(want[i]) && isnan(at(out, t, i)));
    tc_check(ok, "%s (%s)%s%s", what, bd_dtype_name(t), s ? ": " : "", s ? bd_last_error() : "");
    for (size_t i = 0; !ok && s == BD_OK && i < n; i++) printf("    [%zu] = %.9g, want %.9g\n", i, at(out, t, i), want[i]);
}

static bd_op make(bd_op_kind kind, bd_dtype t)
{
    bd_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.dtype = t;
    return op;
}

static void test_reduce(bd_dtype t)
{
    hb in, out;
    const double x[] = {1, 2, 3, 4}, nanx[] = {3, NAN, 1, 5};
    const char *names[] = {"sum", "min", "max", "mean"};
    const double want[] = {10, 1, 4, 2.5}, empty[] = {0, INFINITY, -INFINITY, NAN};
    for (int k = 0; k < 4; k++) {
        bd_op op = make(BD_OP_REDUCE, t);
        op.red = (bd_reduce_kind)k;
        op.n = 4;
        op.in = fbuf(&in, t, x, 4);
        op.out = fbuf(&out, t, (const double[]){-7}, 1);
        char what[64];
        snprintf(what, sizeof what, "reduce %s of 1 2 3 4", names[k]);
        expect(what, t, bd_ref_run_op(&op), op.out, &want[k], 1);
        op.n = 0;
        op.in = NULL;
        snprintf(what, sizeof what, "reduce %s of nothing", names[k]);
        expect(what, t, bd_ref_run_op(&op), op.out, &empty[k], 1);
    }
    /* The sum runs in index order in the dtype: big + 1 is big again before -big comes. */
    double big = t == BD_F32 ? 1e8 : 1e17;
    bd_op op = make(BD_OP_REDUCE, t);
    op.n = 4;
    op.in = fbuf(&in, t, (const double[]){big, 1, -big, 1}, 4);
    op.out = fbuf(&out, t, (const double[]){0}, 1);
    expect("sum of big, 1, -big, 1 in index order is 1", t, bd_ref_run_op(&op), op.out, (const double[]){1}, 1);
    op.red = BD_REDUCE_MIN;
    op.in = fbuf(&in, t, nanx, 4);
    expect("min skips NaN", t, bd_ref_run_op(&op), op.out, (const double[]){1}, 1);
    op.red = BD_REDUCE_MAX;
    expect("max skips NaN", t, bd_ref_run_op(&op), op.out, (const double[]){5}, 1);
}

static void test_reduce_segments(bd_dtype t)
{
    hb in, off, out;
    /* Segments [0,2) [2,2) [2,5) (5,4) and [4,9) clamped to [4,5). */
    bd_op op = make(BD_OP_REDUCE_SEGMENTS, t);
    op.n = 5;
    op.m = 5;
    op.in = fbuf(&in, t, (const double[]){1, 2, 3, 4, 5}, 5);
    op.idx = ubuf(&off, (const uint32_t[]){0, 2, 2, 5, 4, 9}, 6);
    op.out = fbuf(&out, t, (const double[]){-1, -1, -1, -1, -1}, 5);
    expect("segment sums with an empty, a decreasing and a clamped segment", t, bd_ref_run_op(&op), op.out,
           (const double[]){3, 0, 12, 0, 5}, 5);
    op.red = BD_REDUCE_MIN;
    expect("segment minima", t, bd_ref_run_op(&op), op.out, (const double[]){1, INFINITY, 3, INFINITY, 5}, 5);
    op.red = BD_REDUCE_MEAN;
    expect("segment means", t, bd_ref_run_op(&op), op.out, (const double[]){1.5, NAN, 4, NAN, 5}, 5);
}

static void test_gather_scatter(bd_dtype t)
{
    hb in, idx, out;
    bd_op op = make(BD_OP_GATHER, t);
    op.n = 4;
    op.m = 3;
    op.in = fbuf(&in, t, (const double[]){10, 20, 30}, 3);
    op.idx = ubuf(&idx, (const uint32_t[]){2, 0, 7, 1}, 4);
    op.out = fbuf(&out, t, (const double[]){-1, -1, -1, -1}, 4);
    expect("gather, index 7 out of range gives 0", t, bd_ref_run_op(&op), op.out, (const double[]){30, 10, 0, 20}, 4);

    op = make(BD_OP_SCATTER_ADD, t);
    op.n = 4;
    op.m = 3;
    op.in = fbuf(&in, t, (const double[]){1, 2, 3, 4}, 4);
    op.idx = ubuf(&idx, (const uint32_t[]){0, 2, 2, 9}, 4);
    op.out = fbuf(&out, t, (const double[]){100, 0, 0}, 3);
    expect("scatter_add, index 9 skipped", t, bd_ref_run_op(&op), op.out, (const double[]){101, 0, 5}, 3);
}

/* A 3 x 3 matrix: row 0 = (0: 1, 2: 2), row 1 empty, row 2 = (1: 3, col 5 out of range: 4, 0: 5). */
static bd_csr matrix(bd_dtype t, hb *rp, hb *ci, hb *v, int with_values)
{
    bd_csr a = {.rows = 3, .cols = 3, .nnz = 5, .weight = 0.5};
    a.rowptr = ubuf(rp, (const uint32_t[]){0, 2, 2, 5}, 4);
    a.colidx = ubuf(ci, (const uint32_t[]){0, 2, 1, 5, 0}, 5);
    a.values = with_values ? fbuf(v, t, (const double[]){1, 2, 3, 4, 5}, 5) : NULL;
    return a;
}

static void test_spmv(bd_dtype t)
{
    hb rp, ci, v, x, y;
    bd_op op = make(BD_OP_CSR_SPMV, t);
    op.csr = matrix(t, &rp, &ci, &v, 1);
    op.in = fbuf(&x, t, (const double[]){1, 10, 100}, 3);
    op.out = fbuf(&y, t, (const double[]){NAN, NAN, NAN}, 3);
    expect("spmv overwrites y, skips column 5", t, bd_ref_run_op(&op), op.out, (const double[]){201, 0, 35}, 3);
    op.csr = matrix(t, &rp, &ci, &v, 0);
    expect("spmv without values uses the weight", t, bd_ref_run_op(&op), op.out, (const double[]){50.5, 0, 5.5}, 3);

    op = make(BD_OP_CSR_SPMV_T, t);
    op.csr = matrix(t, &rp, &ci, &v, 1);
    op.in = fbuf(&x, t, (const double[]){1, 10, 100}, 3);
    op.out = fbuf(&y, t, (const double[]){7, 7, 7}, 3);
    expect("spmv_t zeroes then accumulates", t, bd_ref_run_op(&op), op.out, (const double[]){501, 300, 2}, 3);

    /* Row pointers beyond nnz are clamped: row 1 is [2, 5), row 2 is [5, 5). */
    op = make(BD_OP_CSR_SPMV, t);
    op.csr = matrix(t, &rp, &ci, &v, 1);
    ((uint32_t *)rp.data)[1] = 2;
    ((uint32_t *)rp.data)[2] = 9;
    ((uint32_t *)rp.data)[3] = 9;
    op.in = fbuf(&x, t, (const double[]){1, 10, 100}, 3);
    op.out = fbuf(&y, t, (const double[]){NAN, NAN, NAN}, 3);
    expect("spmv clamps row pointers to nnz", t, bd_ref_run_op(&op), op.out, (const double[]){201, 35, 0}, 3);
}

static void test_events(bd_dtype t)
{
    hb rp, ci, v, s, y;
    bd_op op = make(BD_OP_EVENT_CSR, t);
    op.csr = matrix(t, &rp, &ci, &v, 1);
    op.in = ubuf(&s, (const uint32_t[]){1, 0, 7}, 3);
    op.out = fbuf(&y, t, (const double[]){1, 1, 1}, 3);
    expect("event_csr push from rows 0 and 2", t, bd_ref_run_op(&op), op.out, (const double[]){7, 4, 3}, 3);

    /* The transpose (rows = post): post 0 = (pre 0: 1, pre 2: 5), post 1 = (pre 2: 3),
     * post 2 = (pre 0: 2, pre 9 out of range: 100). */
    hb trp, tci, tv;
    bd_csr at = {.rows = 3, .cols = 3, .nnz = 5};
    at.rowptr = ubuf(&trp, (const uint32_t[]){0, 2, 3, 5}, 4);
    at.colidx = ubuf(&tci, (const uint32_t[]){0, 2, 2, 0, 9}, 5);
    at.values = fbuf(&tv, t, (const double[]){1, 5, 3, 2, 100}, 5);
    op = make(BD_OP_EVENT_CSR_PULL, t);
    op.csr = at;
    op.in = ubuf(&s, (const uint32_t[]){1, 0, 7}, 3);
    op.out = fbuf(&y, t, (const double[]){1, 1, 1}, 3);
    expect("event_csr_pull gathers the same sums", t, bd_ref_run_op(&op), op.out, (const double[]){7, 4, 3}, 3);

    /* The pull adds a row's weights to y one by one, as a push does: big + 1 + 1 loses both ones (ties to
     * even at 2^24 in f32, 2^53 in f64), where a local sum first, big + (1 + 1), would keep them. */
    double big = t == BD_F32 ? 16777216.0 : 9007199254740992.0;
    at.nnz = 2;
    at.rowptr = ubuf(&trp, (const uint32_t[]){0, 2}, 2);
    at.colidx = ubuf(&tci, (const uint32_t[]){0, 1}, 2);
    at.values = fbuf(&tv, t, (const double[]){1, 1}, 2);
    at.rows = 1;
    at.cols = 2;
    op.csr = at;
    op.in = ubuf(&s, (const uint32_t[]){1, 1}, 2);
    op.out = fbuf(&y, t, &big, 1);
    expect("event_csr_pull: one add to y per synapse, in stored order", t, bd_ref_run_op(&op), op.out,
           (const double[]){big}, 1);
}

static void test_compact(void)
{
    hb f, idx, cnt;
    bd_op op = make(BD_OP_SPIKE_COMPACT, BD_U32);
    op.n = 6;
    op.in = ubuf(&f, (const uint32_t[]){0, 3, 0, 0, 1, 0xFFFFFFFFu}, 6);
    op.out = ubuf(&idx, (const uint32_t[]){9, 9, 9, 9, 9, 9}, 6);
    op.out2 = ubuf(&cnt, (const uint32_t[]){77}, 1);
    bd_status s = bd_ref_run_op(&op);
    const uint32_t *i = idx.b.ctx, *c = cnt.b.ctx;
    tc_check(s == BD_OK && c[0] == 3 && i[0] == 1 && i[1] == 4 && i[2] == 5 && i[3] == 9,
             "spike_compact: ascending indices 1 4 5, count 3");
    op.n = 0;
    op.in = op.out = NULL;
    s = bd_ref_run_op(&op);
    tc_check(s == BD_OK && c[0] == 0, "spike_compact of nothing: count 0");
}

static void test_blas(bd_dtype t)
{
    hb a, x, y;
    bd_op op = make(BD_OP_GEMV, t);
    op.m = 2;
    op.n = 3;
    op.alpha = 2;
    op.in_a = fbuf(&a, t, (const double[]){1, 2, 3, 4, 5, 6}, 6);
    op.in = fbuf(&x, t, (const double[]){1, 1, 1}, 3);
    op.out = fbuf(&y, t, (const double[]){NAN, NAN}, 2);
    expect("gemv, beta 0 overwrites NaN", t, bd_ref_run_op(&op), op.out, (const double[]){12, 30}, 2);
    op.beta = 1;
    op.out = fbuf(&y, t, (const double[]){1, -1}, 2);
    expect("gemv, beta 1", t, bd_ref_run_op(&op), op.out, (const double[]){13, 29}, 2);
    op.trans_a = 1;
    op.alpha = 1;
    op.beta = 0;
    op.in = fbuf(&x, t, (const double[]){1, 2}, 2);
    op.out = fbuf(&y, t, (const double[]){NAN, NAN, NAN}, 3);
    expect("gemv transposed", t, bd_ref_run_op(&op), op.out, (const double[]){9, 12, 15}, 3);

    hb b, c;
    op = make(BD_OP_GEMM, t);
    op.m = op.n = op.k = 2;
    op.alpha = 1;
    op.in_a = fbuf(&a, t, (const double[]){1, 2, 3, 4}, 4);
    op.in = fbuf(&b, t, (const double[]){5, 6, 7, 8}, 4);
    op.out = fbuf(&c, t, (const double[]){NAN, NAN, NAN, NAN}, 4);
    expect("gemm", t, bd_ref_run_op(&op), op.out, (const double[]){19, 22, 43, 50}, 4);
    op.trans_a = 1;
    expect("gemm, A transposed", t, bd_ref_run_op(&op), op.out, (const double[]){26, 30, 38, 44}, 4);
    op.trans_a = 0;
    op.trans_b = 1;
    expect("gemm, B transposed", t, bd_ref_run_op(&op), op.out, (const double[]){17, 23, 39, 53}, 4);
    op = make(BD_OP_GEMM, t);
    op.m = 1;
    op.n = 2;
    op.k = 3;
    op.alpha = 1;
    op.beta = 0.5;
    op.in_a = fbuf(&a, t, (const double[]){1, 2, 3}, 3);
    op.in = fbuf(&b, t, (const double[]){1, 0, 0, 1, 1, 1}, 6);
    op.out = fbuf(&c, t, (const double[]){2, 4}, 2);
    expect("gemm 1x3 by 3x2, beta 0.5", t, bd_ref_run_op(&op), op.out, (const double[]){5, 7}, 2);
}

static void test_procedural(bd_dtype t)
{
    hb s, y;
    bd_op op = make(BD_OP_EVENT_PROCEDURAL, t);
    bd_procedural *c = &op.proc;
    c->seed = 1;
    c->proj_id = 2;
    c->n_pre = 3;
    c->n_post = 4;
    c->conn = BD_PROC_FIXED_PROB;
    c->p = 1.0;
    c->weight = BD_WEIGHT_CONSTANT;
    c->w0 = 0.25;
    op.n = 3;
    op.in = ubuf(&s, (const uint32_t[]){1, 0, 1}, 3);
    op.out = fbuf(&y, t, (const double[]){1, 2, 3, 4}, 4);
    expect("event_procedural with p = 1: every post gets two spikes of 0.25", t, bd_ref_run_op(&op), op.out,
           (const double[]){1.5, 2.5, 3.5, 4.5}, 4);
    c->p = 0.0;
    expect("event_procedural with p = 0 changes nothing", t, bd_ref_run_op(&op), op.out,
           (const double[]){1.5, 2.5, 3.5, 4.5}, 4);
}

static void test_unsupported(void)
{
    hb in, out;
    bd_op op = make(BD_OP_REDUCE, BD_I32);
    op.n = 1;
    op.in = ubuf(&in, (const uint32_t[]){1}, 1);
    op.out = ubuf(&out, (const uint32_t[]){0}, 1);
    tc_expect_status(bd_ref_run_op(&op), BD_ERR_UNSUPPORTED, "reduce on i32");
    op = make(BD_OP_RNG, BD_F32);
    op.rng_dist = BD_RNG_U32;
    op.n = 1;
    op.out = ubuf(&out, (const uint32_t[]){0}, 1);
    tc_expect_status(bd_ref_run_op(&op), BD_ERR_UNSUPPORTED, "raw u32 words as f32");
    op = make(BD_OP_COUNT, BD_F32);
    tc_expect_status(bd_ref_run_op(&op), BD_ERR_UNSUPPORTED, "unknown operator");
}

int main(void)
{
    tc_begin();
    const bd_dtype types[] = {BD_F32, BD_F64};
    for (int i = 0; i < 2; i++) {
        test_reduce(types[i]);
        test_reduce_segments(types[i]);
        test_gather_scatter(types[i]);
        test_spmv(types[i]);
        test_events(types[i]);
        test_blas(types[i]);
        test_procedural(types[i]);
    }
    test_compact();
    test_unsupported();
    return tc_finish();
}
