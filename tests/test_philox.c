/* Philox4x32-10 against Random123's known-answer vectors, and the layout of the RNG fills
 * (docs/rng.md) as the reference operators produce them, checked against formulas written out here. */
#include "test_common.h"
#include "philox.h"
#include "ref_ops.h"

#include <math.h>

static void test_known_answers(void)
{
    /* kat_vectors of Random123 1.09: philox4x32 10 <ctr[4]> <key[2]> <out[4]>. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {~0u, ~0u, ~0u, ~0u, ~0u, ~0u, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        bd_philox4x32_10(kat[v], kat[v] + 4, out);
        tc_check(memcmp(out, kat[v] + 6, sizeof out) == 0, "philox4x32-10 known answer %d: %08x %08x %08x %08x", v,
                 out[0], out[1], out[2], out[3]);
    }
}

/* Runs a reference rng fill of n elements into host memory. */
static bd_status fill(bd_rng_dist dist, bd_dtype t, const bd_rng_key *key, void *out, size_t n)
{
    bd_buffer buf = {.dev = NULL, .size = n * bd_dtype_size(t), .ctx = out};
    bd_op op;
    memset(&op, 0, sizeof op);
    op.kind = BD_OP_RNG;
    op.dtype = t;
    op.n = n;
    op.out = &buf;
    op.rng_dist = dist;
    op.rng_key = *key;
    return bd_ref_run_op(&op);
}

static void block(const bd_rng_key *key, uint32_t b, uint32_t w[4])
{
    uint32_t ctr[4] = {b, 0, key->c2, key->c3}, k[2] = {key->k0, key->k1};
    bd_philox4x32_10(ctr, k, w);
}

static void test_layout(void)
{
    const bd_rng_key key = {.k0 = 42, .k1 = 7, .c2 = 1000, .c3 = 3};
    enum { N = 22 };
    uint32_t u[N];
    float f[N], g[N];
    double d[N], e[N];
    bd_status s = fill(BD_RNG_U32, BD_U32, &key, u, N);
    s = s ? s : fill(BD_RNG_UNIFORM, BD_F32, &key, f, N);
    s = s ? s : fill(BD_RNG_NORMAL, BD_F32, &key, g, N);
    s = s ? s : fill(BD_RNG_UNIFORM, BD_F64, &key, d, N);
    s = s ? s : fill(BD_RNG_NORMAL, BD_F64, &key, e, N);
    if (!tc_check(s == BD_OK, "rng fills run: %s", s ? bd_last_error() : "ok")) return;

    int bad_u = 0, bad_f = 0, bad_g = 0, bad_d = 0, bad_e = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint32_t w[4], w2[4];
        block(&key, i / 4, w);
        bad_u += u[i] != w[i % 4];
        bad_f += f[i] != (float)(w[i % 4] >> 8) * 0x1p-24f;
        /* Box-Muller in long double from the same words: x,y feed elements 0 and 1, z,w 2 and 3. */
        uint32_t a = i % 4 < 2 ? w[0] : w[2], b = i % 4 < 2 ? w[1] : w[3];
        long double u1 = ((a >> 8) + 1) * 0x1p-24L, u2 = (b >> 8) * 0x1p-24L;
        long double r = sqrtl(-2 * logl(u1)), th = 6.2831855L * u2; /* the f32 angle constant */
        long double want = i % 2 ? r * sinl(th) : r * cosl(th);
        bad_g += fabsl(g[i] - want) > 4e-7L * (1 + fabsl(want));

        block(&key, i / 2, w2);
        uint32_t hi = i % 2 ? w2[2] : w2[0], lo = i % 2 ? w2[3] : w2[1];
        bad_d += d[i] != ((double)(hi >> 5) * 67108864.0 + (double)(lo >> 6)) * 0x1p-53;
        long double v1 = ((long double)(w2[0] >> 5) * 67108864.0L + (w2[1] >> 6) + 1) * 0x1p-53L;
        long double v2 = ((long double)(w2[2] >> 5) * 67108864.0L + (w2[3] >> 6)) * 0x1p-53L;
        long double rr = sqrtl(-2 * logl(v1)), tt = 6.283185307179586476925L * v2;
        long double want64 = i % 2 ? rr * sinl(tt) : rr * cosl(tt);
        bad_e += fabsl(e[i] - want64) > 1e-14L * (1 + fabsl(want64));
    }
    tc_check(!bad_u, "u32 fill: element i is word i %% 4 of block i / 4 (%d wrong)", bad_u);
    tc_check(!bad_f, "uniform f32 fill: (w >> 8) 2^-24 (%d wrong)", bad_f);
    tc_check(!bad_g, "normal f32 fill: Box-Muller on (x, y) and (z, w) (%d off)", bad_g);
    tc_check(!bad_d, "uniform f64 fill: 53 bits from (x, y) or (z, w) of block i / 2 (%d wrong)", bad_d);
    tc_check(!bad_e, "normal f64 fill: Box-Muller on the whole block (%d off)", bad_e);

    /* The counter is the element's block, so a fill's prefix does not depend on n. */
    uint32_t shorter[5];
    s = fill(BD_RNG_U32, BD_U32, &key, shorter, 5);
    tc_check(s == BD_OK && memcmp(shorter, u, sizeof shorter) == 0, "a shorter fill is a prefix of a longer one");

    /* Uniform ranges and moments over many draws. */
    enum { M = 1 << 16 };
    float *fu = malloc(M * sizeof *fu), *fn = malloc(M * sizeof *fn);
    double *du = malloc(M * sizeof *du);
    if (!fu || !fn || !du) {
        tc_line(TC_FAIL, "out of memory");
        free(fu), free(fn), free(du);
        return;
    }
    s = fill(BD_RNG_UNIFORM, BD_F32, &key, fu, M);
    s = s ? s : fill(BD_RNG_NORMAL, BD_F32, &key, fn, M);
    s = s ? s : fill(BD_RNG_UNIFORM, BD_F64, &key, du, M);
    double lo = 1, hi = 0, dlo = 1, dhi = 0, mean = 0, var = 0;
    for (int i = 0; i < M; i++) {
        lo = fmin(lo, fu[i]), hi = fmax(hi, fu[i]);
        dlo = fmin(dlo, du[i]), dhi = fmax(dhi, du[i]);
        mean += fn[i], var += (double)fn[i] * fn[i];
    }
    mean /= M, var = var / M - mean * mean;
    tc_check(s == BD_OK && lo >= 0 && hi < 1 && dlo >= 0 && dhi < 1, "uniforms lie in [0, 1): f32 [%g, %g], f64 [%g, %g]",
             lo, hi, dlo, dhi);
    tc_check(fabs(mean) < 0.02 && fabs(var - 1) < 0.03, "normal f32: mean %.4f, variance %.4f over %d", mean, var, M);
    free(fu), free(fn), free(du);
}

int main(void)
{
    tc_begin();
    test_known_answers();
    test_layout();
    return tc_finish();
}
