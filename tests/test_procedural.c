/* Procedural connectivity rows (bd_procedural_row): argument checks, the edge cases p = 0 and p = 1,
 * the row algorithm of docs/rng.md re-derived here from Philox words, and the weight distributions. */
#include "test_common.h"
#include "mathlib.h"
#include "philox.h"

#include <math.h>

static bd_procedural make(bd_proc_conn kind, size_t n_pre, size_t n_post, double p, uint32_t k)
{
    bd_procedural c;
    memset(&c, 0, sizeof c);
    c.seed = 1234;
    c.proj_id = 5;
    c.n_pre = n_pre;
    c.n_post = n_post;
    c.conn = kind;
    c.p = p;
    c.outdegree = k;
    c.weight = BD_WEIGHT_CONSTANT;
    c.w0 = 0.5;
    return c;
}

static uint32_t word(const bd_procedural *c, uint32_t pre, uint32_t stream, uint32_t j)
{
    uint32_t ctr[4] = {pre, j >> 2, stream, 0}, key[2] = {c->seed, c->proj_id}, out[4];
    bd_philox4x32_10(ctr, key, out);
    return out[j & 3];
}

static void test_errors(void)
{
    bd_procedural c = make(BD_PROC_FIXED_PROB, 10, 10, 0.5, 0);
    size_t len;
    tc_expect_status(bd_procedural_row(NULL, 0, NULL, NULL, 0, &len), BD_ERR_INVALID_ARG, "NULL connectivity");
    tc_expect_status(bd_procedural_row(&c, 0, NULL, NULL, 0, NULL), BD_ERR_INVALID_ARG, "NULL length");
    tc_expect_status(bd_procedural_row(&c, 10, NULL, NULL, 0, &len), BD_ERR_INVALID_ARG, "pre == n_pre");
    static const double bad_p[] = {-0.1, 1.5, NAN};
    for (int i = 0; i < 3; i++) {
        c.p = bad_p[i];
        tc_expect_status(bd_procedural_row(&c, 0, NULL, NULL, 0, &len), BD_ERR_INVALID_ARG, "p outside [0, 1]");
    }
}

static void test_edges(void)
{
    uint32_t t[100];
    size_t len = 99;
    bd_procedural c = make(BD_PROC_FIXED_PROB, 4, 100, 0.0, 0);
    bd_status s = bd_procedural_row(&c, 3, t, NULL, 100, &len);
    tc_check(s == BD_OK && len == 0, "p = 0: empty row (len %zu)", len);

    c.p = 1.0;
    s = bd_procedural_row(&c, 3, t, NULL, 100, &len);
    int all = s == BD_OK && len == 100;
    for (size_t i = 0; all && i < len; i++) all = t[i] == i;
    tc_check(all, "p = 1: every target in order (len %zu)", len);

    c.n_post = 0;
    s = bd_procedural_row(&c, 3, t, NULL, 100, &len);
    tc_check(s == BD_OK && len == 0, "n_post = 0: empty row");
    c = make(BD_PROC_FIXED_OUTDEGREE, 4, 0, 0, 7);
    s = bd_procedural_row(&c, 3, t, NULL, 100, &len);
    tc_check(s == BD_OK && len == 0, "n_post = 0 with out-degree 7: empty row");
}

/* The fixed-probability row of docs/rng.md, written out again. */
static size_t expected_row(const bd_procedural *c, uint32_t pre, uint32_t *t, size_t cap)
{
    float logq = (float)log1p(-c->p);
    uint32_t n = (uint32_t)c->n_post, cur = 0;
    size_t m = 0;
    for (uint32_t j = 0; cur < n; j++) {
        float u = (float)((word(c, pre, 0, j) >> 8) + 1) * 0x1p-24f;
        float g = floorf(bd_log_f32(u) / logq);
        uint32_t gap = g < 4294967296.0f ? (uint32_t)g : 0xFFFFFFFFu;
        if (gap >= n - cur) break;
        if (m < cap) t[m] = cur + gap;
        m++;
        cur += gap + 1;
    }
    return m;
}

static void test_fixed_prob(void)
{
    enum { N = 20000 };
    static uint32_t t[N], want[N], part[10];
    bd_procedural c = make(BD_PROC_FIXED_PROB, 100, N, 0.05, 0);
    size_t total = 0, bad_rows = 0, unsorted = 0;
    for (uint32_t pre = 0; pre < 100; pre++) {
        size_t len, wlen = expected_row(&c, pre, want, N);
        bd_status s = bd_procedural_row(&c, pre, t, NULL, N, &len);
        if (s || len != wlen || memcmp(t, want, len * sizeof *t)) bad_rows++;
        for (size_t i = 1; i < len; i++) unsorted += t[i] <= t[i - 1] || t[i] >= N;
        total += len;
    }
    tc_check(!bad_rows && !unsorted, "fixed probability: rows follow the documented algorithm (%zu differ, %zu unsorted)",
             bad_rows, unsorted);
    /* 100 rows of Binomial(20000, 0.05): mean 100000, standard deviation 308. */
    tc_check(fabs((double)total - 100000.0) < 5 * 308.0, "fixed probability: %zu synapses, expected 100000 +- 1540",
             total);

    size_t len, len2;
    bd_status s = bd_procedural_row(&c, 7, part, NULL, 10, &len);
    bd_procedural_row(&c, 7, t, NULL, N, &len2);
    tc_check(s == BD_OK && len == len2 && len > 10 && memcmp(part, t, sizeof part) == 0,
             "cap = 10: the first 10 targets, the full length (%zu)", len);
    s = bd_procedural_row(&c, 7, NULL, NULL, 0, &len);
    tc_check(s == BD_OK && len == len2, "NULL outputs: just the length");

    bd_procedural other = c;
    other.proj_id = 6;
    bd_procedural_row(&other, 7, want, NULL, N, &len);
    tc_check(len != len2 || memcmp(want, t, len * sizeof *t) != 0, "another projection id gives another row");
}

static void test_outdegree(void)
{
    uint32_t t[64];
    bd_procedural c = make(BD_PROC_FIXED_OUTDEGREE, 10, 1000, 0, 64);
    size_t len;
    bd_status s = bd_procedural_row(&c, 9, t, NULL, 64, &len);
    int ok = s == BD_OK && len == 64;
    for (uint32_t m = 0; ok && m < 64; m++) ok = t[m] == (uint32_t)(((uint64_t)word(&c, 9, 0, m) * 1000) >> 32);
    tc_check(ok, "fixed out-degree: target m = hi32(word m * n_post)");
}

static void test_weights(void)
{
    enum { K = 40000 };
    static uint32_t t[K];
    static float w[K];
    bd_procedural c = make(BD_PROC_FIXED_OUTDEGREE, 1, 100, 0, K);
    size_t len;
    bd_procedural_row(&c, 0, t, w, K, &len);
    int ok = len == K;
    for (int i = 0; ok && i < K; i++) ok = w[i] == 0.5f;
    tc_check(ok, "constant weights: all w0");

    c.weight = BD_WEIGHT_UNIFORM;
    c.w0 = -1;
    c.w1 = 3;
    bd_procedural_row(&c, 0, t, w, K, &len);
    ok = 1;
    double mean = 0;
    for (int i = 0; i < K; i++) {
        float u = (float)(word(&c, 0, 1, (uint32_t)i) >> 8) * 0x1p-24f;
        ok &= w[i] == -1.0f + 4.0f * u && w[i] >= -1 && w[i] < 3;
        mean += w[i];
    }
    tc_check(ok && fabs(mean / K - 1) < 0.05, "uniform weights: w0 + (w1 - w0) u from stream 1, mean %.4f", mean / K);

    c.weight = BD_WEIGHT_NORMAL;
    c.w0 = 2;
    c.w1 = 0.5;
    bd_procedural_row(&c, 0, t, w, K, &len);
    double m1 = 0, m2 = 0, far = 0;
    for (int i = 0; i < K; i++) {
        double u1 = ((word(&c, 0, 1, 2u * i) >> 8) + 1) * 0x1p-24, u2 = (word(&c, 0, 1, 2u * i + 1) >> 8) * 0x1p-24;
        double want = 2 + 0.5 * sqrt(-2 * log(u1)) * cos(6.2831855 * u2);
        far = fmax(far, fabs(w[i] - want));
        m1 += w[i], m2 += (double)w[i] * w[i];
    }
    m1 /= K, m2 = m2 / K - m1 * m1;
    tc_check(far < 1e-5 && fabs(m1 - 2) < 0.02 && fabs(sqrt(m2) - 0.5) < 0.02,
             "normal weights: Box-Muller on words 2m, 2m+1 (max dev %.2g), mean %.4f, sd %.4f", far, m1, sqrt(m2));
}

int main(void)
{
    tc_begin();
    test_errors();
    test_edges();
    test_fixed_prob();
    test_outdegree();
    test_weights();
    return tc_finish();
}
