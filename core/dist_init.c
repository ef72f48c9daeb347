/* Initializers on the host (docs/toolbox.md, core/dist_init.h). Every draw is a function of the run's
 * Philox key and the element's counter only, never of the order of calls, so values are reproducible and
 * any subset can be computed alone. */
#include "dist_init.h"
#include "conn_gen.h"
#include "error.h"
#include "philox.h"

#include <math.h>
#include <stdlib.h>

#define TWO_PI 6.283185307179586

static void ph(const uint32_t key[2], uint32_t stream, uint32_t a, uint32_t b, uint32_t c, uint32_t out[4])
{
    const uint32_t ctr[4] = {a, b, c, stream};
    bd_philox4x32_10(ctr, key, out);
}

/* 53-bit uniform in [0, 1) from two words (the runner's historical conversion, kept bit for bit). */
static double u53(uint32_t hi, uint32_t lo) { return (double)(((uint64_t)hi << 21) ^ (lo >> 11)) * 0x1.0p-53; }

/* Box-Muller on one block: the standard normal of the original "normal" initializer. */
static double normal_of(const uint32_t w[4])
{
    return sqrt(-2 * log(1 - u53(w[0], w[1]))) * cos(TWO_PI * u53(w[2], w[3]));
}

double bd_norm_quantile(double p)
{
    if (!(p > 0)) return p == 0 ? -INFINITY : NAN;
    if (!(p < 1)) return p == 1 ? INFINITY : NAN;
    /* Acklam's rational approximation (relative error 1.2e-9), then two Halley steps on erfc. */
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    double x;
    if (p < 0.02425 || p > 1 - 0.02425) {
        double q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        if (p > 0.5) x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    for (int it = 0; it < 2; it++) {
        /* the residual in the tail where it is small: Q(-x) = 1 - p for the upper half */
        double e = p < 0.5 ? 0.5 * erfc(-x / sqrt(2.0)) - p : (1 - p) - 0.5 * erfc(x / sqrt(2.0));
        double u = e * sqrt(TWO_PI) * exp(x * x / 2);
        x = x - u / (1 + x * u / 2);
    }
    return x;
}

/* A truncated standard normal on [al, be] by inverting the CDF (no rejection: one block per value). The
 * side where both bounds are positive is mirrored, so the CDF values stay small and exact in the tail. */
static double trunc_std(double al, double be, double u)
{
    int flip = al > 0;
    if (flip) {
        double t = al;
        al = -be, be = -t;
    }
    double pa = 0.5 * erfc(-al / sqrt(2.0)), pb = 0.5 * erfc(-be / sqrt(2.0));
    double z = bd_norm_quantile(pa + u * (pb - pa));
    if (z < al) z = al;
    if (z > be) z = be;
    return flip ? -z : z;
}

/* Marsaglia & Tsang (2000), ACM TOMS 26:363: Gamma(k, 1) for k >= 1 by squeeze-free rejection; k < 1 via
 * Gamma(k + 1) * U^(1/k). Attempt t uses counters c = 2t + 1 and 2t + 2; the U of k < 1 uses c = 0. */
static double gamma_draw(double k, const uint32_t key[2], uint32_t stream, uint32_t a, uint32_t b)
{
    uint32_t w[4];
    double boost = 1;
    if (k < 1) {
        ph(key, stream, a, b, 0, w);
        boost = pow(1 - u53(w[0], w[1]), 1 / k);
        k += 1;
    }
    double dd = k - 1.0 / 3, cc = 1 / sqrt(9 * dd);
    for (uint32_t t = 0; t < 4096; t++) {
        ph(key, stream, a, b, 2 * t + 1, w);
        double z = normal_of(w), v = 1 + cc * z;
        if (v <= 0) continue;
        v = v * v * v;
        ph(key, stream, a, b, 2 * t + 2, w);
        double u = 1 - u53(w[0], w[1]); /* (0, 1] */
        if (log(u) < 0.5 * z * z + dd - dd * v + dd * log(v)) return dd * v * boost;
    }
    return dd * boost; /* unreachable in practice: the acceptance rate is above 95 % */
}

double bd_dist_draw(const bd_dist *d, const uint32_t key[2], uint32_t stream, uint32_t a, uint32_t b)
{
    uint32_t w[4];
    switch (d->kind) {
    case BD_DIST_CONST: return d->a;
    case BD_DIST_FILE: return a < d->nvalues ? d->values[a] : NAN;
    case BD_DIST_UNIFORM:
        ph(key, stream, a, b, 0, w);
        return d->a + (d->b - d->a) * u53(w[0], w[1]);
    case BD_DIST_NORMAL:
        ph(key, stream, a, b, 0, w);
        return d->a + d->b * normal_of(w);
    case BD_DIST_TRUNC_NORMAL: {
        if (!(d->b > 0)) return d->a;
        ph(key, stream, a, b, 0, w);
        double u = ((double)(((uint64_t)w[0] << 21) ^ (w[1] >> 11)) + 0.5) * 0x1.0p-53; /* (0, 1) */
        return d->a + d->b * trunc_std((d->lo - d->a) / d->b, (d->hi - d->a) / d->b, u);
    }
    case BD_DIST_LOGNORMAL:
        ph(key, stream, a, b, 0, w);
        return d->scale * exp(d->a + d->b * normal_of(w));
    case BD_DIST_GAMMA: return d->b * gamma_draw(d->a, key, stream, a, b);
    case BD_DIST_EXPONENTIAL:
        ph(key, stream, a, b, 0, w);
        return -d->a * log(1 - u53(w[0], w[1]));
    default: return NAN;
    }
}

int bd_dist_is_pair(const bd_dist *d)
{
    return d->kind == BD_DIST_ORTHOGONAL || d->kind == BD_DIST_GAUSS_DECAY || d->kind == BD_DIST_DOG_DECAY ||
           d->kind == BD_DIST_MATRIX;
}

double bd_dist_pair(const bd_dist *d, size_t pre, size_t post)
{
    if (d->kind == BD_DIST_MATRIX) return pre < d->nrows && post < d->ncols ? d->values[pre * d->ncols + post] : NAN;
    if (d->kind != BD_DIST_GAUSS_DECAY && d->kind != BD_DIST_DOG_DECAY) return NAN;
    if (!d->include_self && pre == post) return 0;
    double d2 = bd_geom_dist2(&d->geom, pre, post);
    double w = d->amp[0] * exp(-d2 / (2 * d->sigma[0] * d->sigma[0]));
    if (d->kind == BD_DIST_DOG_DECAY) w -= d->amp[1] * exp(-d2 / (2 * d->sigma[1] * d->sigma[1]));
    return fabs(w) < d->min_w ? 0 : w;
}

bd_status bd_dist_orthogonal(size_t n_pre, size_t n_post, double gain, const uint32_t key[2], uint32_t stream,
                             double **out)
{
    size_t r = n_pre >= n_post ? n_pre : n_post, c = n_pre >= n_post ? n_post : n_pre;
    *out = NULL;
    if ((double)r * c > (double)(1u << 26) || (double)r * c * c > 4e10)
        return bd_fail(BD_ERR_LIMIT, "orthogonal weights of %zu x %zu: too large for the host QR (at most 2^26 "
                       "entries and r*c^2 <= 4e10)", n_pre, n_post);
    /* q holds the c columns of length r, column-major: the Gaussian matrix, then Q in place */
    size_t cells = r * c > 0 ? r * c : 1;
    double *q = malloc(cells * sizeof *q), *m = malloc(cells * sizeof *m);
    if (!q || !m) {
        free(q), free(m);
        return bd_fail(BD_ERR_NOMEM, "orthogonal weights: out of memory for %zu x %zu", n_pre, n_post);
    }
    uint32_t w[4];
    for (size_t j = 0; j < c; j++)
        for (size_t i = 0; i < r; i++) {
            ph(key, stream, (uint32_t)i, (uint32_t)j, 1, w);
            q[j * r + i] = normal_of(w);
        }
    /* modified Gram-Schmidt, each column orthogonalised twice ("twice is enough", Giraud et al. 2005), so
     * Q^T Q = I to rounding; the norms are R's diagonal, positive, which makes Q Haar-distributed */
    for (size_t j = 0; j < c; j++) {
        double *v = q + j * r;
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < j; k++) {
                const double *u = q + k * r;
                double dot = 0;
                for (size_t i = 0; i < r; i++) dot += u[i] * v[i];
                for (size_t i = 0; i < r; i++) v[i] -= dot * u[i];
            }
        double nn = 0;
        for (size_t i = 0; i < r; i++) nn += v[i] * v[i];
        nn = sqrt(nn);
        if (!(nn > 0)) nn = 1; /* probability zero with Gaussian entries */
        for (size_t i = 0; i < r; i++) v[i] /= nn;
    }
    /* W[pre][post]: n_pre >= n_post: W = Q (r = n_pre rows); else W = Q^T */
    for (size_t pre = 0; pre < n_pre; pre++)
        for (size_t post = 0; post < n_post; post++)
            m[pre * n_post + post] = gain * (n_pre >= n_post ? q[post * r + pre] : q[pre * r + post]);
    free(q);
    *out = m;
    return BD_OK;
}

void bd_dist_varscale(bd_dist *d, double fan_in, double fan_out)
{
    if (d->kind != BD_DIST_VARSCALE) return;
    if (d->fan_in > 0) fan_in = d->fan_in;
    if (d->fan_out > 0) fan_out = d->fan_out;
    double fan = d->vs_fan == 0 ? fan_in : d->vs_fan == 1 ? fan_out : (fan_in + fan_out) / 2;
    double var = d->vs_scale / (fan > 0 ? fan : 1);
    if (d->vs_uniform) {
        double lim = sqrt(3 * var);
        d->kind = BD_DIST_UNIFORM, d->a = -lim, d->b = lim;
    } else {
        d->kind = BD_DIST_NORMAL, d->a = 0, d->b = sqrt(var);
    }
}
