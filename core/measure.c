/* Measures of recorded activity (include/bdyn/measure.h, docs/measures.md). Plain host code on arrays:
 * results are small next to a run, and the inputs are what a run has already written to disk. Every
 * entry point validates all of its input before writing any output, so a failed call leaves the outputs
 * untouched. */
#include "bdyn/measure.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static bd_status nomem(const char *fn) { return bd_fail(BD_ERR_NOMEM, "%s: out of memory", fn); }

/* ------------------------------------------------------------------------------------------------ */
/* Input checks                                                                                     */

static bd_status check_grid(const char *fn, const bd_time_grid *g)
{
    if (!g) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL time grid", fn);
    if (!(g->dt_ms > 0) || !isfinite(g->dt_ms))
        return bd_fail(BD_ERR_INVALID_ARG, "%s: dt must be a positive finite number of ms (got %g)", fn, g->dt_ms);
    if (!isfinite(g->t0_ms)) return bd_fail(BD_ERR_INVALID_ARG, "%s: t0 must be finite (got %g)", fn, g->t0_ms);
    if (g->steps == 0) return bd_fail(BD_ERR_INVALID_ARG, "%s: empty time grid (0 steps)", fn);
    /* per-bin arrays are allocated: a size near SIZE_MAX is a caller's mistake, not a request */
    if (g->steps > ((size_t)1 << 40)) return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu steps is too many", fn, g->steps);
    return BD_OK;
}

/* Checks every spike (index in [0, n), finite time inside the grid when g is given) and, when bins is not
 * NULL, stores each spike's bin. */
static bd_status check_spikes(const char *fn, const int32_t *idx, const double *t, size_t count, size_t n,
                              const bd_time_grid *g, size_t *bins)
{
    if (n == 0) return bd_fail(BD_ERR_INVALID_ARG, "%s: no neurons (n = 0)", fn);
    if (n > INT32_MAX) return bd_fail(BD_ERR_INVALID_ARG, "%s: n = %zu is above the int32 index range", fn, n);
    if (count && (!idx || !t)) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL spike arrays", fn);
    for (size_t k = 0; k < count; k++) {
        if (idx[k] < 0 || (size_t)idx[k] >= n)
            return bd_fail(BD_ERR_INVALID_ARG, "%s: spike %zu has neuron index %d, outside [0, %zu)", fn, k, (int)idx[k], n);
        if (!isfinite(t[k])) return bd_fail(BD_ERR_INVALID_ARG, "%s: spike %zu has time %g", fn, k, t[k]);
        if (!g) continue;
        double b = floor((t[k] - g->t0_ms) / g->dt_ms + 0.5);
        if (b < 0 || b >= (double)g->steps)
            return bd_fail(BD_ERR_INVALID_ARG, "%s: spike %zu at %g ms lies outside the time grid [%g, %g] ms "
                           "(t0 %g ms, %zu steps of %g ms)", fn, k, t[k], g->t0_ms,
                           g->t0_ms + (double)(g->steps - 1) * g->dt_ms, g->t0_ms, g->steps, g->dt_ms);
        if (bins) bins[k] = (size_t)b;
    }
    return BD_OK;
}

static bd_status check_matrix(const char *fn, const double *x, size_t samples, size_t n, size_t min_samples)
{
    if (!x) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL data", fn);
    if (n == 0 || samples == 0) return bd_fail(BD_ERR_INVALID_ARG, "%s: empty input (%zu samples x %zu signals)", fn, samples, n);
    if (samples < min_samples)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu samples; at least %zu needed", fn, samples, min_samples);
    if (n > SIZE_MAX / samples) return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu x %zu values overflow", fn, samples, n);
    for (size_t k = 0; k < samples * n; k++)
        if (!isfinite(x[k]))
            return bd_fail(BD_ERR_INVALID_ARG, "%s: value %g at sample %zu, signal %zu", fn, x[k], k / n, k % n);
    return BD_OK;
}

/* Steps per bin for a bin width in ms (at least 1) and the number of whole bins in the grid. */
static bd_status bin_steps(const char *fn, const bd_time_grid *g, double bin_ms, size_t min_bins, size_t *per,
                           size_t *nbins)
{
    if (!(bin_ms > 0) || !isfinite(bin_ms))
        return bd_fail(BD_ERR_INVALID_ARG, "%s: the bin width must be a positive number of ms (got %g)", fn, bin_ms);
    double s = floor(bin_ms / g->dt_ms + 0.5);
    *per = s < 1 ? 1 : s > (double)g->steps ? g->steps + 1 : (size_t)s;
    *nbins = g->steps / *per;
    if (*nbins < min_bins)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: a %g ms bin (%zu steps) leaves %zu whole bins in %zu steps of %g ms; "
                       "at least %zu needed", fn, bin_ms, *per, *nbins, g->steps, g->dt_ms, min_bins);
    return BD_OK;
}

double bd_time_grid_time(const bd_time_grid *g, size_t k)
{
    double m = g->t0_ms / g->dt_ms, r = floor(m + 0.5);
    if (fabs(m - r) < 1e-9 && fabs(r) < 9e15) return (r + (double)k) * g->dt_ms;
    return g->t0_ms + (double)k * g->dt_ms;
}

/* ------------------------------------------------------------------------------------------------ */
/* Firing rate, raster                                                                              */

bd_status bd_measure_rate(const int32_t *idx, const double *t_ms, size_t count, size_t n, const bd_time_grid *g,
                          double width_ms, double *rate_hz)
{
    static const char fn[] = "bd_measure_rate";
    bd_status st = check_grid(fn, g);
    if (st) return st;
    if (!rate_hz) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    if (!(width_ms >= 0) || !isfinite(width_ms))
        return bd_fail(BD_ERR_INVALID_ARG, "%s: the window width must be >= 0 ms (got %g)", fn, width_ms);
    size_t *bins = malloc((count ? count : 1) * sizeof *bins);
    double *pre = malloc((g->steps + 1) * sizeof *pre);
    if (!bins || !pre) {
        free(bins), free(pre);
        return nomem(fn);
    }
    st = check_spikes(fn, idx, t_ms, count, n, g, bins);
    if (st) {
        free(bins), free(pre);
        return st;
    }
    /* pre: prefix sums of the population count per bin, so each window is one difference */
    memset(pre, 0, (g->steps + 1) * sizeof *pre);
    for (size_t k = 0; k < count; k++) pre[bins[k] + 1] += 1;
    for (size_t k = 0; k < g->steps; k++) pre[k + 1] += pre[k];
    size_t h = (size_t)floor(width_ms / (2 * g->dt_ms) + 1e-9); /* half width in bins; w = 2h + 1 */
    double scale = 1000.0 / ((double)n * g->dt_ms);          /* spikes per neuron per bin -> Hz */
    for (size_t k = 0; k < g->steps; k++) {
        size_t a = k >= h ? k - h : 0, b = k + h + 1 < g->steps ? k + h + 1 : g->steps;
        rate_hz[k] = (pre[b] - pre[a]) / (double)(b - a) * scale;
    }
    free(bins), free(pre);
    return BD_OK;
}

bd_status bd_measure_raster(const double *matrix, size_t n, const bd_time_grid *g, int32_t *idx, double *t_ms,
                            size_t cap, size_t *count)
{
    static const char fn[] = "bd_measure_raster";
    bd_status st = check_grid(fn, g);
    if (st) return st;
    if (!count) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL count", fn);
    if (n > INT32_MAX) return bd_fail(BD_ERR_INVALID_ARG, "%s: n = %zu is above the int32 index range", fn, n);
    if ((st = check_matrix(fn, matrix, g->steps, n, 1))) return st;
    if ((idx == NULL) != (t_ms == NULL)) return bd_fail(BD_ERR_INVALID_ARG, "%s: give both output arrays or neither", fn);
    size_t c = 0;
    for (size_t k = 0; k < g->steps * n; k++) c += matrix[k] != 0;
    if (idx && c > cap) return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu spikes do not fit the %zu places given", fn, c, cap);
    if (idx) {
        size_t j = 0;
        for (size_t k = 0; k < g->steps; k++)
            for (size_t i = 0; i < n; i++)
                if (matrix[k * n + i] != 0) {
                    idx[j] = (int32_t)i;
                    t_ms[j++] = bd_time_grid_time(g, k);
                }
    }
    *count = c;
    return BD_OK;
}

bd_status bd_measure_spike_matrix(const int32_t *idx, const double *t_ms, size_t count, size_t n,
                                  const bd_time_grid *g, double *matrix)
{
    static const char fn[] = "bd_measure_spike_matrix";
    bd_status st = check_grid(fn, g);
    if (st) return st;
    if (!matrix) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    if (n && g->steps > SIZE_MAX / n) return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu x %zu overflows", fn, g->steps, n);
    if ((st = check_spikes(fn, idx, t_ms, count, n, g, NULL))) return st;
    memset(matrix, 0, g->steps * n * sizeof *matrix);
    for (size_t k = 0; k < count; k++) {
        size_t b = (size_t)floor((t_ms[k] - g->t0_ms) / g->dt_ms + 0.5);
        matrix[b * n + (size_t)idx[k]] += 1;
    }
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* ISI CV, Fano factor, coherence                                                                   */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Spike times grouped by neuron (counting sort): neuron i's times are times[start[i] .. start[i+1]). */
static bd_status group_by_neuron(const int32_t *idx, const double *t, size_t count, size_t n, size_t **start,
                                 double **times)
{
    *start = calloc(n + 1, sizeof **start);
    *times = malloc((count ? count : 1) * sizeof **times);
    size_t *fill = malloc((n ? n : 1) * sizeof *fill);
    if (!*start || !*times || !fill) {
        free(*start), free(*times), free(fill);
        *start = NULL, *times = NULL;
        return BD_ERR_NOMEM;
    }
    for (size_t k = 0; k < count; k++) (*start)[idx[k] + 1]++;
    for (size_t i = 0; i < n; i++) (*start)[i + 1] += (*start)[i];
    memcpy(fill, *start, n * sizeof *fill);
    for (size_t k = 0; k < count; k++) (*times)[fill[idx[k]]++] = t[k];
    free(fill);
    return BD_OK;
}

bd_status bd_measure_cv(const int32_t *idx, const double *t_ms, size_t count, size_t n, double *cv, double *mean_cv,
                        size_t *used)
{
    static const char fn[] = "bd_measure_cv";
    if (!mean_cv || !used) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    bd_status st = check_spikes(fn, idx, t_ms, count, n, NULL, NULL);
    if (st) return st;
    size_t *start;
    double *times;
    if (group_by_neuron(idx, t_ms, count, n, &start, &times)) return nomem(fn);
    double sum = 0;
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = start[i], m = start[i + 1] - a;
        double c = NAN;
        if (m >= 3) {
            qsort(times + a, m, sizeof *times, cmp_double);
            /* two passes over the intervals: mean, then the squared deviations (no cancellation) */
            double mean = (times[a + m - 1] - times[a]) / (double)(m - 1), ss = 0;
            for (size_t k = a + 1; k < a + m; k++) {
                double d = times[k] - times[k - 1] - mean;
                ss += d * d;
            }
            /* two spikes at the same time give a zero mean only when all coincide: CV undefined then */
            if (mean > 0) {
                c = sqrt(ss / (double)(m - 1)) / mean;
                sum += c;
                u++;
            }
        }
        if (cv) cv[i] = c;
    }
    free(start), free(times);
    *mean_cv = u ? sum / (double)u : NAN;
    *used = u;
    return BD_OK;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Each neuron's spikes as sorted indices of whole bins of `per` steps: neuron i's are b[start[i] .. start[i+1]).
 * Spikes in a trailing partial bin (index >= nb) are kept; callers skip them. */
static bd_status bins_by_neuron(const int32_t *idx, const size_t *steps, size_t count, size_t n, size_t per,
                                size_t **start, size_t **b)
{
    *start = calloc(n + 1, sizeof **start);
    *b = malloc((count ? count : 1) * sizeof **b);
    size_t *fill = malloc(n * sizeof *fill);
    if (!*start || !*b || !fill) {
        free(*start), free(*b), free(fill);
        *start = NULL, *b = NULL;
        return BD_ERR_NOMEM;
    }
    for (size_t k = 0; k < count; k++) (*start)[idx[k] + 1]++;
    for (size_t i = 0; i < n; i++) (*start)[i + 1] += (*start)[i];
    memcpy(fill, *start, n * sizeof *fill);
    for (size_t k = 0; k < count; k++) (*b)[fill[idx[k]]++] = steps[k] / per;
    for (size_t i = 0; i < n; i++) qsort(*b + (*start)[i], (*start)[i + 1] - (*start)[i], sizeof **b, cmp_size);
    free(fill);
    return BD_OK;
}

bd_status bd_measure_fano(const int32_t *idx, const double *t_ms, size_t count, size_t n, const bd_time_grid *g,
                          double bin_ms, double *fano, double *mean_fano, size_t *used, double *pop_fano)
{
    static const char fn[] = "bd_measure_fano";
    bd_status st = check_grid(fn, g);
    if (st) return st;
    if (!mean_fano || !used) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    size_t per, nb;
    if ((st = bin_steps(fn, g, bin_ms, 2, &per, &nb))) return st;
    size_t *steps = malloc((count ? count : 1) * sizeof *steps);
    if (!steps) return nomem(fn);
    if ((st = check_spikes(fn, idx, t_ms, count, n, g, steps))) return free(steps), st;
    /* sums of counts and of squared counts per neuron from the sorted bins (runs of equal bins are one count),
     * so memory is O(n + nb + spikes), not O(n * nb) */
    double *pop = calloc(nb, sizeof *pop);
    size_t *start = NULL, *b = NULL;
    if (!pop || bins_by_neuron(idx, steps, count, n, per, &start, &b)) {
        free(steps), free(pop);
        return nomem(fn);
    }
    double sum = 0;
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        double s1 = 0, s2 = 0;
        for (size_t k = start[i]; k < start[i + 1];) {
            size_t bin = b[k], r = 0;
            while (k < start[i + 1] && b[k] == bin) k++, r++;
            if (bin >= nb) continue; /* in the dropped partial bin */
            s1 += (double)r, s2 += (double)r * (double)r;
            pop[bin] += (double)r;
        }
        double mean = s1 / (double)nb, f = NAN;
        if (mean > 0) {
            double var = s2 / (double)nb - mean * mean;
            f = (var > 0 ? var : 0) / mean;
            sum += f;
            u++;
        }
        if (fano) fano[i] = f;
    }
    if (pop_fano) {
        double mean = 0, var = 0;
        for (size_t k = 0; k < nb; k++) mean += pop[k];
        mean /= (double)nb;
        for (size_t k = 0; k < nb; k++) var += (pop[k] - mean) * (pop[k] - mean);
        *pop_fano = mean > 0 ? var / (double)nb / mean : NAN;
    }
    *mean_fano = u ? sum / (double)u : NAN;
    *used = u;
    free(steps), free(pop), free(start), free(b);
    return BD_OK;
}

/* With binary trains, sum_l X_i X_j is the number of bins where both fire, so the sum over pairs of
 * C_ij / sqrt(n_i n_j) is, bin by bin, the sum over pairs of active neurons of a_i a_j with
 * a_i = 1/sqrt(n_i): ((sum a)^2 - sum a^2) / 2 per bin. That costs O(spikes), not O(n^2 * bins). */
bd_status bd_measure_coherence(const int32_t *idx, const double *t_ms, size_t count, size_t n,
                               const bd_time_grid *g, double bin_ms, double *kappa, size_t *silent)
{
    static const char fn[] = "bd_measure_coherence";
    bd_status st = check_grid(fn, g);
    if (st) return st;
    if (!kappa) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    if (n < 2) return bd_fail(BD_ERR_INVALID_ARG, "%s: coherence needs at least 2 neurons (n = %zu)", fn, n);
    size_t per, nb;
    if ((st = bin_steps(fn, g, bin_ms, 1, &per, &nb))) return st;
    size_t *steps = malloc((count ? count : 1) * sizeof *steps);
    if (!steps) return nomem(fn);
    if ((st = check_spikes(fn, idx, t_ms, count, n, g, steps))) return free(steps), st;
    double *s1 = calloc(nb, sizeof *s1), *s2 = calloc(nb, sizeof *s2);
    size_t *start = NULL, *b = NULL;
    if (!s1 || !s2 || bins_by_neuron(idx, steps, count, n, per, &start, &b)) {
        free(steps), free(s1), free(s2);
        return nomem(fn);
    }
    size_t nsilent = 0;
    for (size_t i = 0; i < n; i++) {
        /* X_i is binary: count each whole bin once */
        size_t ni = 0;
        for (size_t k = start[i]; k < start[i + 1]; k++)
            ni += b[k] < nb && (k == start[i] || b[k] != b[k - 1]);
        if (!ni) {
            nsilent++;
            continue;
        }
        double a = 1 / sqrt((double)ni);
        for (size_t k = start[i]; k < start[i + 1]; k++)
            if (b[k] < nb && (k == start[i] || b[k] != b[k - 1])) s1[b[k]] += a, s2[b[k]] += a * a;
    }
    double total = 0;
    for (size_t k = 0; k < nb; k++) total += (s1[k] * s1[k] - s2[k]) / 2;
    *kappa = total / ((double)n * (double)(n - 1) / 2);
    if (silent) *silent = nsilent;
    free(steps), free(s1), free(s2), free(start), free(b);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Synchrony, functional connectivity                                                               */

bd_status bd_measure_synchrony(const double *v, size_t samples, size_t n, double *chi2)
{
    static const char fn[] = "bd_measure_synchrony";
    if (!chi2) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    bd_status st = check_matrix(fn, v, samples, n, 2);
    if (st) return st;
    double *mean = calloc(n, sizeof *mean), *var = calloc(n, sizeof *var);
    if (!mean || !var) return free(mean), free(var), nomem(fn);
    /* per-trace means first, then deviations: two passes keep the variances accurate for voltages near -65 mV */
    double pm = 0;
    for (size_t k = 0; k < samples; k++) {
        double row = 0;
        for (size_t i = 0; i < n; i++) mean[i] += v[k * n + i], row += v[k * n + i];
        pm += row / (double)n;
    }
    for (size_t i = 0; i < n; i++) mean[i] /= (double)samples;
    pm /= (double)samples;
    double pv = 0;
    for (size_t k = 0; k < samples; k++) {
        double row = 0;
        for (size_t i = 0; i < n; i++) {
            double d = v[k * n + i] - mean[i];
            var[i] += d * d;
            row += v[k * n + i];
        }
        row = row / (double)n - pm;
        pv += row * row;
    }
    double mv = 0;
    for (size_t i = 0; i < n; i++) mv += var[i] / (double)samples;
    mv /= (double)n;
    pv /= (double)samples;
    free(mean), free(var);
    if (!(mv > 0)) return bd_fail(BD_ERR_INVALID_ARG, "%s: every trace is constant, so chi^2 = 0/0 is undefined", fn);
    *chi2 = pv / mv;
    return BD_OK;
}

bd_status bd_measure_fc(const double *x, size_t samples, size_t n, double *fc)
{
    static const char fn[] = "bd_measure_fc";
    if (!fc) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL output", fn);
    bd_status st = check_matrix(fn, x, samples, n, 2);
    if (st) return st;
    if (n > SIZE_MAX / n / sizeof *fc) return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu x %zu matrix overflows", fn, n, n);
    double *mean = calloc(n, sizeof *mean), *sd = calloc(n, sizeof *sd);
    if (!mean || !sd) return free(mean), free(sd), nomem(fn);
    for (size_t k = 0; k < samples; k++)
        for (size_t i = 0; i < n; i++) mean[i] += x[k * n + i];
    for (size_t i = 0; i < n; i++) mean[i] /= (double)samples;
    for (size_t k = 0; k < samples; k++)
        for (size_t i = 0; i < n; i++) {
            double d = x[k * n + i] - mean[i];
            sd[i] += d * d;
        }
    for (size_t i = 0; i < n; i++) sd[i] = sqrt(sd[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            double c = 0;
            if (sd[i] > 0 && sd[j] > 0) {
                for (size_t k = 0; k < samples; k++) c += (x[k * n + i] - mean[i]) * (x[k * n + j] - mean[j]);
                c /= sd[i] * sd[j];
                /* rounding can push |r| a hair past 1 */
                c = c > 1 ? 1 : c < -1 ? -1 : c;
                if (i == j) c = 1;
            }
            fc[i * n + j] = fc[j * n + i] = c;
        }
    free(mean), free(sd);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Power spectrum                                                                                   */

static size_t next_pow2(size_t n)
{
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

/* In-place iterative radix-2 FFT of length nfft (a power of two), re/im separate. Twiddles from sin/cos of
 * each index (not by repeated multiplication), so the error does not grow with the length. */
static void fft(double *re, double *im, size_t nfft)
{
    for (size_t i = 1, j = 0; i < nfft; i++) {
        size_t bit = nfft >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double tr = re[i], ti = im[i];
            re[i] = re[j], im[i] = im[j], re[j] = tr, im[j] = ti;
        }
    }
    for (size_t len = 2; len <= nfft; len <<= 1) {
        size_t half = len / 2;
        for (size_t k = 0; k < half; k++) {
            double ang = -2 * M_PI * (double)k / (double)len, wr = cos(ang), wi = sin(ang);
            for (size_t s = 0; s < nfft; s += len) {
                size_t a = s + k, b = a + half;
                double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr, im[b] = im[a] - xi;
                re[a] += xr, im[a] += xi;
            }
        }
    }
}

static bd_status spectrum_sizes(const char *fn, size_t samples, const bd_spectrum_opts *o, size_t *seg, size_t *nfft,
                                size_t *nseg)
{
    if (!o) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL options", fn);
    if (!(o->dt_ms > 0) || !isfinite(o->dt_ms))
        return bd_fail(BD_ERR_INVALID_ARG, "%s: dt must be a positive finite number of ms (got %g)", fn, o->dt_ms);
    *seg = o->segment_len ? o->segment_len : samples;
    if (samples < 2) return bd_fail(BD_ERR_INVALID_ARG, "%s: %zu samples; at least 2 needed", fn, samples);
    if (*seg < 2 || *seg > samples)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: a segment of %zu samples does not fit a signal of %zu (2 .. %zu)", fn,
                       *seg, samples, samples);
    if (*seg > ((size_t)1 << 40)) return bd_fail(BD_ERR_INVALID_ARG, "%s: segment of %zu samples is too long", fn, *seg);
    *nfft = next_pow2(*seg);
    size_t step = *seg / 2 ? *seg / 2 : 1;
    *nseg = o->segment_len ? (samples - *seg) / step + 1 : 1;
    return BD_OK;
}

size_t bd_measure_spectrum_size(size_t samples, const bd_spectrum_opts *o)
{
    /* the same rules as spectrum_sizes, without touching the caller's last message */
    if (!o || !(o->dt_ms > 0) || !isfinite(o->dt_ms) || samples < 2) return 0;
    size_t seg = o->segment_len ? o->segment_len : samples;
    if (seg < 2 || seg > samples || seg > ((size_t)1 << 40)) return 0;
    return next_pow2(seg) / 2 + 1;
}

bd_status bd_measure_spectrum(const double *x, size_t samples, const bd_spectrum_opts *o, double *freq_hz,
                              double *power, double *peak_hz)
{
    static const char fn[] = "bd_measure_spectrum";
    size_t seg = 0, nfft = 0, nseg = 0;
    bd_status st = spectrum_sizes(fn, samples, o, &seg, &nfft, &nseg);
    if (st) return st;
    if ((st = check_matrix(fn, x, samples, 1, 2))) return st;
    size_t nf = nfft / 2 + 1, step = seg / 2 ? seg / 2 : 1;
    double *re = malloc(nfft * sizeof *re), *im = malloc(nfft * sizeof *im), *w = malloc(seg * sizeof *w);
    double *acc = calloc(nf, sizeof *acc);
    if (!re || !im || !w || !acc) {
        free(re), free(im), free(w), free(acc);
        return nomem(fn);
    }
    double mean = 0;
    for (size_t k = 0; k < samples; k++) mean += x[k];
    mean /= (double)samples;
    /* periodic Hann window (scipy's get_window("hann", n) default) */
    double w2 = 0;
    for (size_t k = 0; k < seg; k++) {
        w[k] = 0.5 - 0.5 * cos(2 * M_PI * (double)k / (double)seg);
        w2 += w[k] * w[k];
    }
    double fs = 1000.0 / o->dt_ms; /* Hz */
    for (size_t s = 0; s < nseg; s++) {
        const double *xs = x + s * step;
        memset(im, 0, nfft * sizeof *im);
        for (size_t k = 0; k < nfft; k++) re[k] = k < seg ? (xs[k] - mean) * w[k] : 0;
        fft(re, im, nfft);
        for (size_t k = 0; k < nf; k++) {
            /* one-sided: every frequency but 0 and Nyquist holds the power of its negative twin too */
            double p = (re[k] * re[k] + im[k] * im[k]) / (fs * w2);
            acc[k] += (k == 0 || (k == nfft / 2 && nfft % 2 == 0)) ? p : 2 * p;
        }
    }
    double best = -1;
    size_t kbest = nf > 1 ? 1 : 0;
    for (size_t k = 0; k < nf; k++) {
        double p = acc[k] / (double)nseg;
        if (power) power[k] = p;
        if (freq_hz) freq_hz[k] = (double)k * fs / (double)nfft;
        if (k > 0 && p > best) best = p, kbest = k;
    }
    if (peak_hz) *peak_hz = (double)kbest * fs / (double)nfft;
    free(re), free(im), free(w), free(acc);
    return BD_OK;
}
