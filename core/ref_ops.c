/* Plain serial reference implementations of the fixed operators on host buffers: the definition of
 * what each operator computes, in the simplest order, against which every device is tested.
 *
 * Arithmetic happens in the op's dtype. The code computes in double and rounds every single result
 * to the dtype (rnd): for +, -, * and / of two floats the double result rounded to float is exactly
 * the float operation's result (double has more than 2 * 24 + 2 bits), so this is f32 arithmetic,
 * written once for both dtypes. */
#include "ref_ops.h"
#include "error.h"
#include "mathlib_c.h"
#define BD_ENABLE_F64 1
#include "mathlib.inc"

#include <math.h>
#include <stdlib.h>

static double rnd(bd_dtype t, double v)
{
    return t == BD_F32 ? (double)(float)v : v;
}

static double ld(const bd_buffer *b, bd_dtype t, size_t i)
{
    return t == BD_F32 ? (double)((const float *)b->ctx)[i] : ((const double *)b->ctx)[i];
}

static void st(bd_buffer *b, bd_dtype t, size_t i, double v)
{
    if (t == BD_F32)
        ((float *)b->ctx)[i] = (float)v;
    else
        ((double *)b->ctx)[i] = v;
}

static const uint32_t *u32(const bd_buffer *b)
{
    return (const uint32_t *)b->ctx;
}

/* Entries [*b, *e) of CSR row r; pointers beyond nnz are clamped and a decreasing pair is empty. */
static void row_range(const bd_csr *a, size_t r, size_t *b, size_t *e)
{
    const uint32_t *rp = u32(a->rowptr);
    *b = rp[r] < a->nnz ? rp[r] : a->nnz;
    *e = rp[r + 1] < a->nnz ? rp[r + 1] : a->nnz;
    if (*e < *b) *e = *b;
}

static double csr_value(const bd_csr *a, bd_dtype t, size_t e)
{
    return a->values ? ld(a->values, t, e) : rnd(t, a->weight);
}

/* NaNs are skipped by min and max (the fmin/fmax rule); an empty range gives the identity, and NaN
 * for the mean. Sums run in index order. */
static double reduce_range(const bd_op *op, size_t b, size_t e)
{
    bd_dtype t = op->dtype;
    double acc = op->red == BD_REDUCE_MIN ? INFINITY : op->red == BD_REDUCE_MAX ? -INFINITY : 0.0;
    for (size_t i = b; i < e; i++) {
        double v = ld(op->in, t, i);
        if (op->red == BD_REDUCE_MIN)
            acc = v < acc ? v : acc;
        else if (op->red == BD_REDUCE_MAX)
            acc = v > acc ? v : acc;
        else
            acc = rnd(t, acc + v);
    }
    if (op->red == BD_REDUCE_MEAN) acc = e > b ? rnd(t, acc / rnd(t, (double)(e - b))) : NAN;
    return acc;
}

static void reduce_segments(const bd_op *op)
{
    const uint32_t *off = u32(op->idx);
    for (size_t s = 0; s < op->m; s++) {
        size_t b = off[s] < op->n ? off[s] : op->n, e = off[s + 1] < op->n ? off[s + 1] : op->n;
        st(op->out, op->dtype, s, reduce_range(op, b, e < b ? b : e));
    }
}

static void gather(const bd_op *op)
{
    const uint32_t *idx = u32(op->idx);
    for (size_t i = 0; i < op->n; i++) st(op->out, op->dtype, i, idx[i] < op->m ? ld(op->in, op->dtype, idx[i]) : 0.0);
}

static void scatter_add(const bd_op *op)
{
    const uint32_t *idx = u32(op->idx);
    bd_dtype t = op->dtype;
    for (size_t i = 0; i < op->n; i++)
        if (idx[i] < op->m) st(op->out, t, idx[i], rnd(t, ld(op->out, t, idx[i]) + ld(op->in, t, i)));
}

/* y = A x, each row summed from 0 in stored order; y = A^T x, y zeroed, rows visited in order. */
static void spmv(const bd_op *op)
{
    const bd_csr *a = &op->csr;
    const uint32_t *col = a->nnz ? u32(a->colidx) : NULL;
    bd_dtype t = op->dtype;
    for (size_t r = 0; r < a->rows; r++) {
        size_t b, e;
        row_range(a, r, &b, &e);
        double acc = 0.0;
        for (size_t k = b; k < e; k++)
            if (col[k] < a->cols) acc = rnd(t, acc + rnd(t, csr_value(a, t, k) * ld(op->in, t, col[k])));
        st(op->out, t, r, acc);
    }
}

static void spmv_t(const bd_op *op)
{
    const bd_csr *a = &op->csr;
    const uint32_t *col = a->nnz ? u32(a->colidx) : NULL;
    bd_dtype t = op->dtype;
    for (size_t c = 0; c < a->cols; c++) st(op->out, t, c, 0.0);
    for (size_t r = 0; r < a->rows; r++) {
        size_t b, e;
        row_range(a, r, &b, &e);
        double x = ld(op->in, t, r);
        for (size_t k = b; k < e; k++)
            if (col[k] < a->cols)
                st(op->out, t, col[k], rnd(t, ld(op->out, t, col[k]) + rnd(t, csr_value(a, t, k) * x)));
    }
}

/* Push: spiking rows (pre) in ascending order, each row's entries in stored order, y[post] += w. */
static void event_csr(const bd_op *op)
{
    const bd_csr *a = &op->csr;
    const uint32_t *col = a->nnz ? u32(a->colidx) : NULL, *spk = u32(op->in);
    bd_dtype t = op->dtype;
    for (size_t r = 0; r < a->rows; r++) {
        if (!spk[r]) continue;
        size_t b, e;
        row_range(a, r, &b, &e);
        for (size_t k = b; k < e; k++)
            if (col[k] < a->cols) st(op->out, t, col[k], rnd(t, ld(op->out, t, col[k]) + csr_value(a, t, k)));
    }
}

/* Pull, the deterministic form that every device reproduces bit for bit. For each post row r of At:
 *     acc = y[r] (in dtype);
 *     for each stored entry k of row r, in stored order:
 *         if colidx[k] < cols (the pre index) and spikes[colidx[k]] != 0: acc = acc + w[k];
 *     y[r] = acc.
 * These are a sequential push's additions: the spiking rows of A in ascending order, each row's
 * entries in stored order (At's rows keep that order, bd_csr_transpose_host). */
static void event_csr_pull(const bd_op *op)
{
    const bd_csr *a = &op->csr;
    const uint32_t *col = a->nnz ? u32(a->colidx) : NULL, *spk = u32(op->in);
    bd_dtype t = op->dtype;
    for (size_t r = 0; r < a->rows; r++) {
        size_t b, e;
        row_range(a, r, &b, &e);
        double acc = ld(op->out, t, r);
        for (size_t k = b; k < e; k++)
            if (col[k] < a->cols && spk[col[k]]) acc = rnd(t, acc + csr_value(a, t, k));
        st(op->out, t, r, acc);
    }
}

static void spike_compact(const bd_op *op)
{
    const uint32_t *flags = op->n ? u32(op->in) : NULL;
    uint32_t *out = op->n ? (uint32_t *)op->out->ctx : NULL, count = 0;
    for (size_t i = 0; i < op->n; i++)
        if (flags[i]) out[count++] = (uint32_t)i;
    ((uint32_t *)op->out2->ctx)[0] = count;
}

/* out = alpha * sum + beta * out, each product and the final sum rounded once; beta == 0 never reads
 * out, so a NaN there is overwritten. */
static double axpby(bd_dtype t, double alpha, double acc, double beta, double old)
{
    double ax = rnd(t, rnd(t, alpha) * acc);
    return beta == 0.0 ? ax : rnd(t, ax + rnd(t, rnd(t, beta) * old));
}

/* y = alpha op(A) x + beta y with A m x n row-major; each dot product runs in index order. */
static void gemv(const bd_op *op)
{
    bd_dtype t = op->dtype;
    size_t ny = op->trans_a ? op->n : op->m, nk = op->trans_a ? op->m : op->n;
    for (size_t i = 0; i < ny; i++) {
        double acc = 0.0;
        for (size_t k = 0; k < nk; k++) {
            size_t ai = op->trans_a ? k * op->n + i : i * op->n + k;
            acc = rnd(t, acc + rnd(t, ld(op->in_a, t, ai) * ld(op->in, t, k)));
        }
        st(op->out, t, i, axpby(t, op->alpha, acc, op->beta, op->beta == 0.0 ? 0.0 : ld(op->out, t, i)));
    }
}

/* C = alpha op(A) op(B) + beta C; op(A) is m x k (A stored k x m when transposed), op(B) k x n. */
static void gemm(const bd_op *op)
{
    bd_dtype t = op->dtype;
    for (size_t i = 0; i < op->m; i++)
        for (size_t j = 0; j < op->n; j++) {
            double acc = 0.0;
            for (size_t l = 0; l < op->k; l++) {
                double a = ld(op->in_a, t, op->trans_a ? l * op->m + i : i * op->k + l);
                double b = ld(op->in, t, op->trans_b ? j * op->k + l : l * op->n + j);
                acc = rnd(t, acc + rnd(t, a * b));
            }
            size_t ci = i * op->n + j;
            st(op->out, t, ci, axpby(t, op->alpha, acc, op->beta, op->beta == 0.0 ? 0.0 : ld(op->out, t, ci)));
        }
}

static bd_u32x4 rng_block(const bd_rng_key *key, uint64_t b)
{
    return bd_philox(BD_MAKE_U32X4((uint32_t)b, (uint32_t)(b >> 32), key->c2, key->c3), key->k0, key->k1);
}

static uint32_t word(bd_u32x4 v, size_t c)
{
    return c == 0 ? v.x : c == 1 ? v.y : c == 2 ? v.z : v.w;
}

/* The layout of docs/rng.md: four u32 or f32 elements per Philox block, two f64 elements per block. */
static bd_status rng(const bd_op *op)
{
    const bd_rng_key *key = &op->rng_key;
    void *out = op->out ? op->out->ctx : NULL;
    for (size_t i = 0; i < op->n; i++) {
        if (op->dtype == BD_U32 && op->rng_dist == BD_RNG_U32) {
            ((uint32_t *)out)[i] = word(rng_block(key, i / 4), i % 4);
        } else if (op->dtype == BD_F32 && op->rng_dist == BD_RNG_UNIFORM) {
            ((float *)out)[i] = bd_u01_f32(word(rng_block(key, i / 4), i % 4));
        } else if (op->dtype == BD_F32 && op->rng_dist == BD_RNG_NORMAL) {
            ((float *)out)[i] = bd_normal_f32(rng_block(key, i / 4), (uint32_t)(i % 4));
        } else if (op->dtype == BD_F64 && op->rng_dist == BD_RNG_UNIFORM) {
            bd_u32x4 v = rng_block(key, i / 2);
            ((double *)out)[i] = i % 2 ? bd_u01_f64(v.z, v.w) : bd_u01_f64(v.x, v.y);
        } else if (op->dtype == BD_F64 && op->rng_dist == BD_RNG_NORMAL) {
            ((double *)out)[i] = bd_normal_f64(rng_block(key, i / 2), (uint32_t)(i % 2));
        } else {
            return bd_fail(BD_ERR_UNSUPPORTED, "cpu:ref: rng_fill of distribution %d as %s", (int)op->rng_dist,
                           bd_dtype_name(op->dtype));
        }
    }
    return BD_OK;
}

/* Spiking presynaptic neurons in ascending order, each row's targets in generation order, y[t] += w
 * with the f32 weight converted to the dtype. */
static bd_status event_procedural(const bd_op *op)
{
    const bd_procedural *c = &op->proc;
    const uint32_t *spk = u32(op->in);
    bd_dtype t = op->dtype;
    uint32_t *tg = NULL;
    float *w = NULL;
    size_t cap = 0;
    for (size_t pre = 0; pre < c->n_pre; pre++) {
        if (!spk[pre]) continue;
        size_t len;
        bd_status s = bd_procedural_row(c, (uint32_t)pre, tg, w, cap, &len);
        if (!s && len > cap) {
            free(tg), free(w);
            cap = len;
            tg = malloc(cap * sizeof *tg);
            w = malloc(cap * sizeof *w);
            if (!tg || !w) s = bd_fail(BD_ERR_NOMEM, "cpu:ref: event_procedural: no memory for a row of %zu", len);
            if (!s) s = bd_procedural_row(c, (uint32_t)pre, tg, w, cap, &len);
        }
        if (s) {
            free(tg), free(w);
            return s;
        }
        for (size_t m = 0; m < len; m++) st(op->out, t, tg[m], rnd(t, ld(op->out, t, tg[m]) + (double)w[m]));
    }
    free(tg), free(w);
    return BD_OK;
}

bd_status bd_ref_run_op(const bd_op *op)
{
    if (!op) return bd_fail(BD_ERR_INVALID_ARG, "cpu:ref: op is NULL");
    int float_op = op->kind != BD_OP_SPIKE_COMPACT && op->kind != BD_OP_RNG;
    if (float_op && op->dtype != BD_F32 && op->dtype != BD_F64)
        return bd_fail(BD_ERR_UNSUPPORTED, "cpu:ref: %s on %s data", bd_op_name(op->kind), bd_dtype_name(op->dtype));
    switch (op->kind) {
    case BD_OP_REDUCE:
        st(op->out, op->dtype, 0, reduce_range(op, 0, op->n));
        return BD_OK;
    case BD_OP_REDUCE_SEGMENTS: reduce_segments(op); return BD_OK;
    case BD_OP_GATHER: gather(op); return BD_OK;
    case BD_OP_SCATTER_ADD: scatter_add(op); return BD_OK;
    case BD_OP_CSR_SPMV: spmv(op); return BD_OK;
    case BD_OP_CSR_SPMV_T: spmv_t(op); return BD_OK;
    case BD_OP_EVENT_CSR: event_csr(op); return BD_OK;
    case BD_OP_EVENT_CSR_PULL: event_csr_pull(op); return BD_OK;
    case BD_OP_SPIKE_COMPACT: spike_compact(op); return BD_OK;
    case BD_OP_GEMV: gemv(op); return BD_OK;
    case BD_OP_GEMM: gemm(op); return BD_OK;
    case BD_OP_RNG: return rng(op);
    case BD_OP_EVENT_PROCEDURAL: return event_procedural(op);
    case BD_OP_COUNT: break;
    }
    return bd_fail(BD_ERR_UNSUPPORTED, "cpu:ref: unknown operator %d", (int)op->kind);
}
