/* Measures (include/bdyn/measure.h, docs/measures.md) against analytic values: exact rates of a known
 * pattern, raster <-> matrix round trips, CV 0 for regular and about 1 for Poisson trains, Fano 0 for one
 * spike per bin and 1 - p for Bernoulli trains, coherence 1 for identical and about q (the firing
 * probability per bin) for independent trains plus a brute-force pair sum, synchrony 1 and about 1/N,
 * Pearson +-1, spectrum peak and Parseval sums of a 40 Hz sinusoid and the flat density of white noise,
 * and the messages of bad input. Tolerances are several standard deviations of the sampling error (stated
 * at each check); the generators are seeded, so the numbers are the same on every run. */
#include "test_common.h"
#include "bdyn/measure.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double gauss(uint64_t *s)
{
    double u = tc_uniform(s), v = tc_uniform(s);
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/* Growing spike list. */
typedef struct spikes {
    int32_t *i;
    double *t;
    size_t n, cap;
} spikes;

static void push(spikes *s, int32_t i, double t)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->i = realloc(s->i, s->cap * sizeof *s->i);
        s->t = realloc(s->t, s->cap * sizeof *s->t);
        if (!s->i || !s->t) abort();
    }
    s->i[s->n] = i, s->t[s->n++] = t;
}

static void spikes_free(spikes *s) { free(s->i), free(s->t); }

/* Bernoulli trains on a grid: each neuron fires in each step with probability p. */
static spikes bernoulli(size_t n, const bd_time_grid *g, double p, uint64_t seed)
{
    spikes s = {0};
    for (size_t k = 0; k < g->steps; k++)
        for (size_t i = 0; i < n; i++)
            if (tc_uniform(&seed) < p) push(&s, (int32_t)i, g->t0_ms + (double)k * g->dt_ms);
    return s;
}

static void test_rate(void)
{
    /* 4 neurons, 20 steps of 0.5 ms from t0 = 0.5 ms (the runner's grid: step s ends at (s + 1) dt) */
    bd_time_grid g = {0.5, 0.5, 20};
    int32_t idx[] = {0, 0, 3, 1};
    double t[] = {0.5 + 2 * 0.5, 0.5 + 5 * 0.5, 0.5 + 5 * 0.5, 0.5 + 10 * 0.5};
    double r[20], want[20] = {0};
    /* unsmoothed: count / (n dt) -> one spike in a step of 0.5 ms among 4 neurons = 500 Hz */
    bd_status st = bd_measure_rate(idx, t, 4, 4, &g, 0, r);
    want[2] = 500, want[5] = 1000, want[10] = 500;
    double err = 0;
    for (int k = 0; k < 20; k++) err = fmax(err, fabs(r[k] - want[k]));
    tc_check(!st && err < 1e-9, "rate of a known pattern, no window: steps 2, 5, 10 = 500, 1000, 500 Hz, else 0 (max error %g)", err);
    /* width 1.5 ms -> w = 2*floor(1.5/1.0) + 1 = 3 bins: each spike spreads over its neighbours, a third each */
    st = bd_measure_rate(idx, t, 4, 4, &g, 1.5, r);
    double w3[20] = {0};
    w3[1] = w3[2] = w3[3] = 500.0 / 3;
    w3[4] = w3[5] = w3[6] = 1000.0 / 3;
    w3[9] = w3[10] = w3[11] = 500.0 / 3;
    err = 0;
    for (int k = 0; k < 20; k++) err = fmax(err, fabs(r[k] - w3[k]));
    tc_check(!st && err < 1e-9, "rate with a 1.5 ms box (3 bins): each spike a third in its 3 bins (max error %g)", err);
    /* every neuron every step: 1 / dt = 2000 Hz everywhere, edges included (average over the part inside) */
    spikes all = {0};
    for (size_t k = 0; k < g.steps; k++)
        for (int i = 0; i < 4; i++) push(&all, i, g.t0_ms + (double)k * g.dt_ms);
    st = bd_measure_rate(all.i, all.t, all.n, 4, &g, 5, r);
    err = 0;
    for (int k = 0; k < 20; k++) err = fmax(err, fabs(r[k] - 2000));
    tc_check(!st && err < 1e-9, "constant 2000 Hz stays 2000 Hz up to the edges with a 5 ms window (max error %g)", err);
    spikes_free(&all);
}

static void test_raster(void)
{
    bd_time_grid g = {0.1, 0.1, 50};
    size_t n = 7;
    double *m = calloc(g.steps * n, sizeof *m), *back = calloc(g.steps * n, sizeof *back);
    uint64_t seed = 11;
    size_t want = 0;
    for (size_t k = 0; k < g.steps * n; k++)
        if (tc_uniform(&seed) < 0.2) m[k] = 1, want++;
    size_t count = 0;
    bd_status st = bd_measure_raster(m, n, &g, NULL, NULL, 0, &count);
    tc_check(!st && count == want, "raster counts the nonzero entries: %zu (want %zu)", count, want);
    int32_t *idx = malloc(count * sizeof *idx);
    double *t = malloc(count * sizeof *t);
    st = bd_measure_raster(m, n, &g, idx, t, count, &count);
    int ordered = 1;
    for (size_t k = 1; k < count; k++) ordered &= t[k] > t[k - 1] || (t[k] == t[k - 1] && idx[k] > idx[k - 1]);
    tc_check(!st && ordered, "raster pairs in time, then index order");
    st = bd_measure_spike_matrix(idx, t, count, n, &g, back);
    int same = !st;
    for (size_t k = 0; k < g.steps * n && same; k++) same = back[k] == m[k];
    tc_check(same, "raster -> matrix gives the original matrix back");
    st = bd_measure_raster(m, n, &g, idx, t, count - 1, &count);
    tc_expect_status(st, BD_ERR_INVALID_ARG, "raster into too few places");
    free(m), free(back), free(idx), free(t);
}

static void test_cv(void)
{
    /* regular trains: CV exactly 0; Poisson trains (exponential ISIs): CV about 1 */
    spikes s = {0};
    for (int k = 0; k < 50; k++) push(&s, 0, 3.0 + 10.0 * k), push(&s, 1, 1.0 + 7.0 * k);
    double cv[4], mean;
    size_t used;
    bd_status st = bd_measure_cv(s.i, s.t, s.n, 2, cv, &mean, &used);
    tc_check(!st && cv[0] == 0 && fabs(cv[1]) < 1e-12 && used == 2, "regular trains: CV = %g, %g (want 0)", cv[0], cv[1]);
    spikes_free(&s);

    size_t n = 200;
    uint64_t seed = 5;
    spikes p = {0};
    for (size_t i = 0; i < n; i++) {
        double t = 0;
        for (int k = 0; k < 400; k++) {
            t += -log(1 - tc_uniform(&seed)) * 50.0; /* 20 Hz */
            push(&p, (int32_t)i, t);
        }
    }
    /* two more neurons: one with 2 spikes (one interval), one silent: both excluded */
    push(&p, (int32_t)n, 5), push(&p, (int32_t)n, 50);
    double *c = malloc((n + 2) * sizeof *c);
    st = bd_measure_cv(p.i, p.t, p.n, n + 2, c, &mean, &used);
    /* the CV of 399 exponential intervals: sd about 1/sqrt(399) = 0.05 per neuron, 0.0035 for the mean of 200;
     * bias O(1/n). Tolerance 0.02 (over 5 sd). */
    tc_check(!st && fabs(mean - 1) < 0.02 && used == n && isnan(c[n]) && isnan(c[n + 1]),
             "Poisson trains (200 x 400 exponential ISIs): mean CV %.4f (want 1 +- 0.02), %zu used, 2 excluded", mean, used);
    free(c);
    spikes_free(&p);
}

static void test_fano(void)
{
    /* one spike per 10 ms bin, at varying places in the bin: the counts are all 1, so F = 0 */
    bd_time_grid g = {0.1, 0.1, 10000};
    spikes s = {0};
    uint64_t seed = 9;
    for (int b = 0; b < 100; b++)
        for (int i = 0; i < 3; i++) push(&s, i, 0.1 + (b * 100 + (int)tc_below(&seed, 100)) * 0.1);
    double f[3], mean, pop;
    size_t used;
    bd_status st = bd_measure_fano(s.i, s.t, s.n, 3, &g, 10, f, &mean, &used, &pop);
    tc_check(!st && mean == 0 && pop == 0 && used == 3, "one spike per bin: Fano %g, population Fano %g (want 0)", mean, pop);
    spikes_free(&s);

    /* Bernoulli(p) per 0.1 ms step: counts in a bin are binomial, F = 1 - p. 100 neurons x 200 bins of 50 ms
     * with mean count 1: sd of F per neuron about sqrt((1/mu + 2)/K) = 0.12, 0.012 for the mean; tolerance 0.05 */
    g.steps = 100000;
    double p = 20 * 0.1e-3;
    spikes b = bernoulli(100, &g, p, 77);
    double *fn = malloc(100 * sizeof *fn);
    st = bd_measure_fano(b.i, b.t, b.n, 100, &g, 50, fn, &mean, &used, &pop);
    /* the summed count of 100 independent neurons is binomial too: F = 1 - p, sd about sqrt(2/200) = 0.1 */
    tc_check(!st && fabs(mean - (1 - p)) < 0.05 && used == 100 && fabs(pop - (1 - p)) < 0.4,
             "Bernoulli trains at 20 Hz: mean Fano %.4f, population %.3f (want %.4f +- 0.05, +- 0.4)", mean, pop, 1 - p);
    free(fn);
    spikes_free(&b);
}

/* kappa by the definition: every pair, binary binned trains, silent pairs count 0. */
static double kappa_brute(const spikes *s, size_t n, const bd_time_grid *g, size_t per)
{
    size_t nb = g->steps / per;
    unsigned char *x = calloc(n * nb, 1);
    for (size_t k = 0; k < s->n; k++) {
        size_t b = (size_t)floor((s->t[k] - g->t0_ms) / g->dt_ms + 0.5) / per;
        if (b < nb) x[(size_t)s->i[k] * nb + b] = 1;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double xy = 0, xx = 0, yy = 0;
            for (size_t b = 0; b < nb; b++) xy += x[i * nb + b] & x[j * nb + b], xx += x[i * nb + b], yy += x[j * nb + b];
            sum += xx * yy > 0 ? xy / sqrt(xx * yy) : 0;
        }
    free(x);
    return sum / ((double)n * (double)(n - 1) / 2);
}

static void test_coherence(void)
{
    bd_time_grid g = {0.1, 0.1, 100000};
    /* identical trains: kappa = 1 */
    spikes b1 = bernoulli(1, &g, 0.002, 3), same = {0};
    for (size_t k = 0; k < b1.n; k++)
        for (int i = 0; i < 20; i++) push(&same, i, b1.t[k]);
    double kappa;
    size_t silent;
    bd_status st = bd_measure_coherence(same.i, same.t, same.n, 20, &g, 5, &kappa, &silent);
    tc_check(!st && fabs(kappa - 1) < 1e-12 && silent == 0, "identical trains: kappa = %.15f (want 1)", kappa);
    spikes_free(&b1), spikes_free(&same);

    /* independent Bernoulli trains, 50 neurons at 20 Hz, 5 ms bins: E[kappa] is about q = 1 - (1 - p)^50, the
     * probability of a spike in a bin (0.095); sampling sd about 0.003; tolerance 0.015. Neuron 49 is silent. */
    double p = 0.002;
    spikes ind = bernoulli(49, &g, p, 21);
    st = bd_measure_coherence(ind.i, ind.t, ind.n, 50, &g, 5, &kappa, &silent);
    double q = 1 - pow(1 - p, 50), brute = kappa_brute(&ind, 50, &g, 50);
    /* with the silent neuron's pairs counting 0, the expectation is q times the fraction of live pairs */
    double want = q * (49.0 * 48 / 2) / (50.0 * 49 / 2);
    tc_check(!st && fabs(kappa - want) < 0.015 && silent == 1,
             "independent trains: kappa = %.4f (want q*live pairs = %.4f +- 0.015), %zu silent", kappa, want, silent);
    tc_check(fabs(kappa - brute) < 1e-12, "kappa equals the brute-force sum over pairs: %.15f vs %.15f", kappa, brute);
    spikes_free(&ind);
}

static void test_synchrony(void)
{
    size_t T = 20000, n = 50;
    double *v = malloc(T * n * sizeof *v), chi2;
    for (size_t k = 0; k < T; k++)
        for (size_t i = 0; i < n; i++) v[k * n + i] = -65 + 10 * sin(2 * M_PI * (double)k / 250);
    bd_status st = bd_measure_synchrony(v, T, n, &chi2);
    tc_check(!st && fabs(chi2 - 1) < 1e-9, "identical traces: chi^2 = %.12f (want 1)", chi2);
    /* independent unit-variance noise: chi^2 about 1/N; relative sd of the variance of the mean about
     * sqrt(2/T) = 1 %; tolerance 5 % */
    uint64_t seed = 4;
    for (size_t k = 0; k < T * n; k++) v[k] = -65 + 3 * gauss(&seed);
    st = bd_measure_synchrony(v, T, n, &chi2);
    tc_check(!st && fabs(chi2 * (double)n - 1) < 0.05, "independent noise (N = 50): chi^2 * N = %.4f (want 1 +- 0.05)",
             chi2 * (double)n);
    for (size_t k = 0; k < T * n; k++) v[k] = 3;
    st = bd_measure_synchrony(v, T, n, &chi2);
    tc_expect_status(st, BD_ERR_INVALID_ARG, "synchrony of constant traces");
    free(v);
}

static void test_fc(void)
{
    size_t T = 1000, n = 4;
    double *x = malloc(T * n * sizeof *x), fc[16];
    uint64_t seed = 8;
    for (size_t k = 0; k < T; k++) {
        double a = gauss(&seed);
        x[k * n + 0] = a, x[k * n + 1] = 2 * a + 1, x[k * n + 2] = -a, x[k * n + 3] = 7;
    }
    bd_status st = bd_measure_fc(x, T, n, fc);
    tc_check(!st && fabs(fc[0 * 4 + 1] - 1) < 1e-12 && fabs(fc[0 * 4 + 2] + 1) < 1e-12 && fabs(fc[1 * 4 + 2] + 1) < 1e-12,
             "FC: x vs 2x+1 = %.15f (want 1), x vs -x = %.15f (want -1)", fc[1], fc[2]);
    tc_check(fc[0] == 1 && fc[5] == 1 && fc[10] == 1 && fc[15] == 0 && fc[3] == 0 && fc[12] == 0 && fc[4] == fc[1],
             "FC: diagonal 1, a constant signal's row and column 0, symmetric");
    /* independent noise: r about 0 with sd 1/sqrt(T) = 0.03 */
    for (size_t k = 0; k < T * n; k++) x[k] = gauss(&seed);
    st = bd_measure_fc(x, T, n, fc);
    double worst = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            if (i != j) worst = fmax(worst, fabs(fc[i * 4 + j]));
    tc_check(!st && worst < 0.15, "FC of independent noise: largest |r| %.3f (want 0 +- 0.15, 5 sd)", worst);
    free(x);
}

static void test_spectrum(void)
{
    /* a 40 Hz rate, 10 +- 5 Hz, 1 s at dt = 0.1 ms (40 whole cycles) */
    size_t T = 10000;
    double *x = malloc(T * sizeof *x);
    for (size_t k = 0; k < T; k++) x[k] = 10 + 5 * sin(2 * M_PI * 40 * (double)k * 1e-4);
    bd_spectrum_opts o = {0.1, 0};
    size_t nf = bd_measure_spectrum_size(T, &o);
    double *f = malloc(nf * sizeof *f), *pw = malloc(nf * sizeof *pw), peak;
    bd_status st = bd_measure_spectrum(x, T, &o, f, pw, &peak);
    double df = f[1] - f[0], total = 0;
    for (size_t k = 0; k < nf; k++) total += pw[k] * df;
    tc_check(!st && nf == 8193 && fabs(peak - 40) <= df && fabs(f[nf - 1] - 5000) < 1e-9,
             "periodogram of a 40 Hz sinusoid: peak %.3f Hz (want 40 +- df = %.3f), %zu frequencies up to %g Hz", peak, df,
             nf, f[nf - 1]);
    /* Parseval: the one-sided density integrates to the variance, 5^2/2 = 12.5 (exact for whole cycles) */
    tc_check(fabs(total - 12.5) < 1e-6 * 12.5, "periodogram integrates to the variance: %.9f (want 12.5)", total);
    free(f), free(pw);

    o.segment_len = 2048;
    nf = bd_measure_spectrum_size(T, &o);
    f = malloc(nf * sizeof *f), pw = malloc(nf * sizeof *pw);
    st = bd_measure_spectrum(x, T, &o, f, pw, &peak);
    df = f[1] - f[0], total = 0;
    for (size_t k = 0; k < nf; k++) total += pw[k] * df;
    tc_check(!st && nf == 1025 && fabs(peak - 40) <= df && fabs(total - 12.5) < 0.02 * 12.5,
             "Welch (2048-sample Hann segments): peak %.2f Hz (want 40 +- %.2f), integral %.3f (want 12.5 +- 2 %%)", peak,
             df, total);
    free(f), free(pw);

    /* white noise of variance 4: flat one-sided density 2 * 4 / fs; the Welch average over 40 segments and
     * 1025 frequencies has a relative sd well under 1 %; tolerance 3 % */
    T = 40000;
    x = realloc(x, T * sizeof *x);
    uint64_t seed = 12;
    for (size_t k = 0; k < T; k++) x[k] = 2 * gauss(&seed);
    o.segment_len = 2048;
    nf = bd_measure_spectrum_size(T, &o);
    pw = malloc(nf * sizeof *pw);
    st = bd_measure_spectrum(x, T, &o, NULL, pw, NULL);
    double mean = 0;
    for (size_t k = 1; k + 1 < nf; k++) mean += pw[k];
    mean /= (double)(nf - 2);
    double want = 2 * 4 / 10000.0;
    tc_check(!st && fabs(mean / want - 1) < 0.03, "white noise: mean density %.4g (want 2 sigma^2 / fs = %.4g +- 3 %%)",
             mean, want);
    free(pw), free(x);
}

static void test_errors(void)
{
    bd_time_grid g = {0.1, 0.1, 100};
    int32_t idx[] = {0, 5};
    double t[] = {1.0, 2.0}, r[100], v, m[4] = {1, 2, NAN, 4};
    size_t u;
    tc_expect_status(bd_measure_rate(idx, t, 2, 3, &g, 5, r), BD_ERR_INVALID_ARG, "rate: neuron index 5 of 3");
    t[1] = NAN, idx[1] = 1;
    tc_expect_status(bd_measure_cv(idx, t, 2, 3, NULL, &v, &u), BD_ERR_INVALID_ARG, "cv: NaN spike time");
    t[1] = 50.0;
    tc_expect_status(bd_measure_rate(idx, t, 2, 3, &g, 5, r), BD_ERR_INVALID_ARG, "rate: spike at 50 ms after a 10 ms grid");
    tc_expect_status(bd_measure_rate(idx, t, 2, 0, &g, 5, r), BD_ERR_INVALID_ARG, "rate: n = 0");
    bd_time_grid empty = {0.1, 0.1, 0}, bad = {0.1, -1, 10};
    tc_expect_status(bd_measure_rate(NULL, NULL, 0, 3, &empty, 5, r), BD_ERR_INVALID_ARG, "rate: empty grid");
    tc_expect_status(bd_measure_fano(NULL, NULL, 0, 3, &bad, 5, NULL, &v, &u, NULL), BD_ERR_INVALID_ARG, "fano: dt < 0");
    tc_expect_status(bd_measure_fano(NULL, NULL, 0, 3, &g, 8, NULL, &v, &u, NULL), BD_ERR_INVALID_ARG,
                     "fano: one 8 ms bin in 10 ms");
    tc_expect_status(bd_measure_coherence(NULL, NULL, 0, 1, &g, 1, &v, NULL), BD_ERR_INVALID_ARG, "coherence: one neuron");
    tc_expect_status(bd_measure_synchrony(m, 2, 2, &v), BD_ERR_INVALID_ARG, "synchrony: NaN in the traces");
    tc_expect_status(bd_measure_fc(m, 0, 2, r), BD_ERR_INVALID_ARG, "fc: empty input");
    bd_spectrum_opts o = {0.1, 8};
    tc_expect_status(bd_measure_spectrum(m, 4, &o, NULL, r, NULL), BD_ERR_INVALID_ARG, "spectrum: segment 8 > 4 samples");
    tc_check(bd_measure_spectrum_size(4, &o) == 0, "spectrum size of bad sizes is 0");
    /* outputs stay untouched on failure */
    v = 42;
    bd_measure_cv(idx, t, 2, 1, NULL, &v, &u);
    tc_check(v == 42, "a failed call leaves its outputs alone");
    /* empty spike input is fine where it has a meaning: a silent population has rate 0 and no CV */
    int ok = bd_measure_rate(NULL, NULL, 0, 3, &g, 5, r) == BD_OK && r[0] == 0 && r[99] == 0;
    ok = ok && bd_measure_cv(NULL, NULL, 0, 3, NULL, &v, &u) == BD_OK && u == 0 && isnan(v);
    tc_check(ok, "no spikes: rate 0, CV NaN with 0 neurons used");
}

int main(void)
{
    tc_begin();
    test_rate();
    test_raster();
    test_cv();
    test_fano();
    test_coherence();
    test_synchrony();
    test_fc();
    test_spectrum();
    test_errors();
    return tc_finish();
}
