/* Initializers (core/dist_init.c, docs/toolbox.md) against their definitions: sample means and variances of
 * every random kind within 4 standard deviations of theory (the sd of a sample variance from the fourth
 * central moment), truncation bounds respected and the truncated mean and variance from the closed forms,
 * the normal quantile against erfc, xavier/kaiming/lecun variances, orthogonal matrices with Q^T Q = I to
 * 1e-10, Gaussian and difference-of-Gaussian decays at known distances on a periodic ring and a 2-D grid,
 * and identical values for the same key, different for another. */
#include "test_common.h"
#include "dist_init.h"
#include "conn_gen.h"

#include <math.h>

#define N 200000
static const uint32_t KEY[2] = {2027u, 7u}, KEY2[2] = {2028u, 7u};
static double xs[N];

/* Draws N values of d (element e: counter (e, 0)), their mean and variance. */
static void sample(const bd_dist *d, const uint32_t key[2], double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) xs[i] = bd_dist_draw(d, key, 0x01000003u, (uint32_t)i, 0), s += xs[i];
    *mean = s / N;
    for (int i = 0; i < N; i++) s2 += (xs[i] - *mean) * (xs[i] - *mean);
    *var = s2 / (N - 1);
}

/* Mean and variance within 4 sd of (mu, var) with fourth central moment m4. */
static void check_moments(const char *what, const bd_dist *d, double mu, double var, double m4)
{
    double m, v;
    sample(d, KEY, &m, &v);
    double sm = sqrt(var / N), sv = sqrt((m4 - var * var) / N);
    tc_check(fabs(m - mu) < 4 * sm && fabs(v - var) < 4 * sv, "%s: mean %.5f (theory %.5f, sd %.1e), variance %.5f "
             "(theory %.5f, sd %.1e)", what, m, mu, sm, v, var, sv);
}

static double phi(double x) { return exp(-x * x / 2) / sqrt(2 * M_PI); }
static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2)); }

static void test_random(void)
{
    bd_dist d = {.kind = BD_DIST_UNIFORM, .a = -2, .b = 3};
    check_moments("uniform [-2, 3)", &d, 0.5, 25.0 / 12, 625.0 / 80);
    d = (bd_dist){.kind = BD_DIST_NORMAL, .a = -65, .b = 5};
    check_moments("normal (-65, 5)", &d, -65, 25, 3 * 625);
    d = (bd_dist){.kind = BD_DIST_EXPONENTIAL, .a = 4};
    check_moments("exponential scale 4", &d, 4, 16, 9 * 256);
    double ks[] = {0.5, 2, 9.5};
    for (int i = 0; i < 3; i++) {
        double k = ks[i], th = 1.5;
        d = (bd_dist){.kind = BD_DIST_GAMMA, .a = k, .b = th};
        char what[64];
        snprintf(what, sizeof what, "gamma shape %g scale 1.5", k);
        check_moments(what, &d, k * th, k * th * th, (3 * k * k + 6 * k) * pow(th, 4));
        int pos = 1;
        for (int e = 0; e < N; e++) pos &= xs[e] > 0;
        tc_check(pos, "gamma shape %g: every value > 0", k);
    }
    /* lognormal: the logs are normal (mu, sigma) */
    d = (bd_dist){.kind = BD_DIST_LOGNORMAL, .a = 0.3, .b = 0.4, .scale = 2};
    double m, v, s = 0, s2 = 0;
    sample(&d, KEY, &m, &v);
    for (int e = 0; e < N; e++) s += log(xs[e] / 2);
    s /= N;
    for (int e = 0; e < N; e++) s2 += (log(xs[e] / 2) - s) * (log(xs[e] / 2) - s);
    s2 /= N - 1;
    double mu = 2 * exp(0.3 + 0.08);
    tc_check(fabs(s - 0.3) < 4 * 0.4 / sqrt(N) && fabs(s2 - 0.16) < 4 * 0.16 * sqrt(2.0 / N) && fabs(m - mu) < 0.01 * mu,
             "lognormal (0.3, 0.4) x 2: log mean %.5f, log variance %.5f, mean %.4f (theory %.4f)", s, s2, m, mu);
    /* truncated normal: bounds, and mean / variance of the closed forms */
    struct { double mu, sd, lo, hi; } tn[] = {{0, 1, -2, 2}, {-60, 5, -62, -40}, {1, 2, 9, 30}, {0, 1, -INFINITY, -4}};
    for (int i = 0; i < 4; i++) {
        d = (bd_dist){.kind = BD_DIST_TRUNC_NORMAL, .a = tn[i].mu, .b = tn[i].sd, .lo = tn[i].lo, .hi = tn[i].hi};
        double al = (tn[i].lo - tn[i].mu) / tn[i].sd, be = (tn[i].hi - tn[i].mu) / tn[i].sd;
        double Z = Phi(be) - Phi(al), pa = isinf(al) ? 0 : phi(al), pb = isinf(be) ? 0 : phi(be);
        double aa = isinf(al) ? 0 : al * pa, bb = isinf(be) ? 0 : be * pb;
        double tm = tn[i].mu + tn[i].sd * (pa - pb) / Z;
        double tv = tn[i].sd * tn[i].sd * (1 + (aa - bb) / Z - ((pa - pb) / Z) * ((pa - pb) / Z));
        sample(&d, KEY, &m, &v);
        int in = 1;
        for (int e = 0; e < N; e++) in &= xs[e] >= tn[i].lo && xs[e] <= tn[i].hi;
        /* the variance of a bounded variable's sample variance is below var * range^2 / N: 4 sd of that */
        double range = fmin(tn[i].hi, tn[i].mu + 8 * tn[i].sd) - fmax(tn[i].lo, tn[i].mu - 8 * tn[i].sd);
        tc_check(in && fabs(m - tm) < 4 * sqrt(tv / N) && fabs(v - tv) < 4 * sqrt(tv * range * range / N),
                 "truncated_normal (%g, %g) in [%g, %g]: all inside, mean %.5f (theory %.5f), variance %.5f (theory %.5f)",
                 tn[i].mu, tn[i].sd, tn[i].lo, tn[i].hi, m, tm, v, tv);
    }
    double worst = 0;
    double ps[] = {1e-300, 1e-100, 1e-20, 1e-8, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.97575, 0.999, 1 - 1e-9, 1 - 1e-15};
    for (int i = 0; i < 14; i++) {
        double x = bd_norm_quantile(ps[i]), back = ps[i] < 0.5 ? Phi(x) : 1 - 0.5 * erfc(x / sqrt(2));
        double q = ps[i] < 0.5 ? ps[i] : 1 - ps[i], qb = ps[i] < 0.5 ? back : 0.5 * erfc(x / sqrt(2));
        double rel = fabs(qb - q) / q;
        if (rel > worst) worst = rel;
    }
    tc_check(worst < 1e-12, "normal quantile: Phi(quantile(p)) = p within %.1e relative from 1e-300 to 1 - 1e-15", worst);
    /* the same key twice: the same values; another key: others */
    d = (bd_dist){.kind = BD_DIST_GAMMA, .a = 2, .b = 1};
    int same = 1, diff = 0;
    for (uint32_t e = 0; e < 1000; e++) {
        double a = bd_dist_draw(&d, KEY, 9, e, 3), b = bd_dist_draw(&d, KEY, 9, e, 3), c = bd_dist_draw(&d, KEY2, 9, e, 3);
        same &= a == b, diff += a != c;
    }
    tc_check(same && diff == 1000, "gamma draws: identical for one key, all different for another");
}

static void test_varscale(void)
{
    struct { const char *name; int fan, uni; double scale, var; } c[] = {
        {"xavier_uniform (100 -> 50)", 2, 1, 1, 1.0 / 75}, {"xavier_normal (100 -> 50)", 2, 0, 1, 1.0 / 75},
        {"kaiming_uniform (fan_in 100)", 0, 1, 2, 2.0 / 100}, {"kaiming_normal (fan_in 100)", 0, 0, 2, 2.0 / 100},
        {"lecun_uniform (fan_in 100)", 0, 1, 1, 1.0 / 100}, {"lecun_normal (fan_in 100)", 0, 0, 1, 1.0 / 100}};
    for (int i = 0; i < 6; i++) {
        bd_dist d = {.kind = BD_DIST_VARSCALE, .vs_fan = c[i].fan, .vs_uniform = c[i].uni, .vs_scale = c[i].scale};
        bd_dist_varscale(&d, 100, 50);
        double m4 = c[i].uni ? 9.0 / 5 * c[i].var * c[i].var : 3 * c[i].var * c[i].var;
        check_moments(c[i].name, &d, 0, c[i].var, m4);
    }
    bd_dist d = {.kind = BD_DIST_VARSCALE, .vs_fan = 1, .vs_uniform = 1, .vs_scale = 3, .fan_out = 12};
    bd_dist_varscale(&d, 100, 50);
    tc_check(d.kind == BD_DIST_UNIFORM && fabs(d.b - sqrt(0.75)) < 1e-15 && d.a == -d.b,
             "an explicit fan_out 12 with scale 3: variance 3 / 12, uniform limit sqrt(3 * 0.25) = 0.866 (got %g)", d.b);
}

static void test_orthogonal(void)
{
    size_t shapes[][2] = {{60, 40}, {40, 60}, {50, 50}, {1, 7}};
    for (int c = 0; c < 4; c++) {
        size_t r = shapes[c][0], k = shapes[c][1];
        double *w = NULL, *w2 = NULL, g = 1.5;
        bd_status st = bd_dist_orthogonal(r, k, g, KEY, 0x03000001u, &w);
        if (!tc_check(st == BD_OK, "orthogonal %zu x %zu: %s", r, k, st ? bd_last_error() : "built")) continue;
        /* r >= k: W^T W = g^2 I (k x k); else W W^T = g^2 I (r x r) */
        size_t m = r >= k ? k : r;
        double worst = 0;
        for (size_t a = 0; a < m; a++)
            for (size_t b = 0; b < m; b++) {
                double s = 0;
                if (r >= k)
                    for (size_t i = 0; i < r; i++) s += w[i * k + a] * w[i * k + b];
                else
                    for (size_t j = 0; j < k; j++) s += w[a * k + j] * w[b * k + j];
                double e = fabs(s / (g * g) - (a == b));
                if (e > worst) worst = e;
            }
        bd_dist_orthogonal(r, k, g, KEY, 0x03000001u, &w2);
        tc_check(worst < 1e-10 && w2 && !memcmp(w, w2, r * k * sizeof *w),
                 "orthogonal %zu x %zu gain 1.5: %s = gain^2 I within %.1e, reproducible", r, k,
                 r >= k ? "W^T W" : "W W^T", worst);
        free(w), free(w2);
    }
    double *w;
    tc_expect_status(bd_dist_orthogonal(20000, 20000, 1, KEY, 1, &w), BD_ERR_LIMIT, "orthogonal 20000 x 20000");
}

static void test_decay(void)
{
    /* a ring of 512 on [-pi, pi), periodic: neuron k sits at -pi + 2 pi k / 512 */
    bd_dist d = {.kind = BD_DIST_GAUSS_DECAY, .amp = {2, 0}, .sigma = {0.5, 0}, .min_w = 1e-3, .include_self = 1};
    d.geom.ndim = 1, d.geom.periodic = 1;
    d.geom.shape[0] = d.geom.post_shape[0] = 512, d.geom.shape[1] = d.geom.post_shape[1] = 1;
    d.geom.lo[0] = -M_PI, d.geom.hi[0] = M_PI;
    double worst = 0;
    size_t pairs[][2] = {{0, 0}, {0, 1}, {0, 40}, {10, 500}, {3, 259}, {0, 256}, {511, 0}};
    for (int i = 0; i < 7; i++) {
        size_t a = pairs[i][0], b = pairs[i][1], k = a > b ? a - b : b - a;
        if (k > 256) k = 512 - k;
        double x = 2 * M_PI * (double)k / 512, want = 2 * exp(-x * x / (2 * 0.25));
        if (want < 1e-3) want = 0;
        double e = fabs(bd_dist_pair(&d, a, b) - want);
        if (e > worst) worst = e;
    }
    tc_check(worst < 1e-12, "gaussian_decay on a ring of 512 (periodic, sigma 0.5, max 2, min 1e-3): values at known "
             "distances within %.1e, 0 beyond the cut", worst);
    d.include_self = 0;
    tc_check(bd_dist_pair(&d, 7, 7) == 0 && bd_dist_pair(&d, 7, 8) > 1.9, "gaussian_decay without self: w(i, i) = 0");
    /* difference of Gaussians on a 2-D 10 x 10 grid at unit spacing, not periodic: distance^2 of (1, 2) -> (4, 6) is 25 */
    bd_dist g = {.kind = BD_DIST_DOG_DECAY, .amp = {3, 1}, .sigma = {2, 6}, .min_w = 0, .include_self = 1};
    g.geom.ndim = 2;
    g.geom.shape[0] = g.geom.shape[1] = g.geom.post_shape[0] = g.geom.post_shape[1] = 10;
    g.geom.hi[0] = g.geom.hi[1] = 10;
    double want = 3 * exp(-25.0 / 8) - exp(-25.0 / 72);
    double got = bd_dist_pair(&g, 12, 46);
    g.geom.periodic = 1; /* (1, 2) -> (9, 2): 8 apart, 2 across the wrap */
    double wrap = bd_dist_pair(&g, 12, 92), wwant = 3 * exp(-4.0 / 8) - exp(-4.0 / 72);
    tc_check(fabs(got - want) < 1e-12 && fabs(wrap - wwant) < 1e-12, "dog_decay on 10 x 10: w((1,2), (4,6)) = %.6f (want "
             "%.6f), periodic w((1,2), (9,2)) = %.6f (want %.6f)", got, want, wrap, wwant);
    tc_check(fabs(bd_geom_dist2(&g.geom, 0, 99) - 2) < 1e-12, "periodic grid: (0,0) and (9,9) are sqrt(2) apart");
}

int main(void)
{
    tc_begin();
    test_random();
    test_varscale();
    test_orthogonal();
    test_decay();
    return tc_finish();
}
