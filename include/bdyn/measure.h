/* Measures of recorded activity (docs/measures.md): population firing rate, raster <-> spike matrix, ISI
 * coefficient of variation, Fano factor, spike-train coherence, voltage-fluctuation synchrony, functional
 * connectivity and the power spectrum of a population rate. They follow the definitions of BrainPy's
 * `bp.measure` / braintools.metric where those exist.
 *
 * Inputs are plain arrays. Spike trains are two arrays of `count` entries: the neuron index (int32,
 * 0 <= i < n) and the spike time in ms, exactly as `bdyn run` writes a spike monitor (<mon>_i.npy,
 * <mon>_t.npy). Spike measures work on a time grid of `steps` bins of dt: bin k is the time t0 + k*dt,
 * and a spike at time t falls into bin round((t - t0) / dt) (the runner stamps a spike of step s with the
 * step's end time (s + 1) * dt, so a run's grid is t0 = (start_step + 1) * dt). A spike outside the grid,
 * an index outside [0, n) or a NaN is an error, not silently dropped. Signals (voltages, activities) are
 * row-major (samples x signals) matrices: column j is signal j, as a var monitor's <mon>.npy.
 *
 * Every call returns BD_OK or an error with a message (bd_last_error): BD_ERR_INVALID_ARG for NULL
 * pointers, empty input, sizes that do not fit, NaN or Inf in the data; BD_ERR_NOMEM. Outputs are only
 * written on success. */
#ifndef BDYN_MEASURE_H
#define BDYN_MEASURE_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The bins that spike times are counted in: bin k is time t0_ms + k * dt_ms, k < steps. */
typedef struct bd_time_grid {
    double t0_ms, dt_ms;
    size_t steps;
} bd_time_grid;

/* The time of bin k: (m + k) * dt when t0 is a whole number m of steps (so the runner's spike times, (s + 1)
 * * dt, come back bit for bit), else t0 + k * dt. */
BD_API double bd_time_grid_time(const bd_time_grid *g, size_t k);

/* Population firing rate in Hz per bin: the mean over the n neurons of the spike count per bin, averaged
 * over a centred box window of w = 2*floor(width_ms / (2 dt)) + 1 bins (BrainPy's width rule), divided by
 * dt. At the edges the average is over the part of the window inside the grid, so a constant rate stays
 * constant up to the ends (BrainPy pads with zeros instead). width_ms < dt gives the unsmoothed rate.
 * rate_hz: g->steps values. */
BD_API bd_status bd_measure_rate(const int32_t *idx, const double *t_ms, size_t count, size_t n,
                                 const bd_time_grid *g, double width_ms, double *rate_hz);

/* Spike matrix -> raster: every nonzero entry of the (g->steps x n) matrix becomes one (index, time) pair,
 * in row order (time, then index). With idx and t_ms NULL it only counts; otherwise at most cap pairs are
 * written and BD_ERR_INVALID_ARG is returned when more are needed. *count: the number of pairs. */
BD_API bd_status bd_measure_raster(const double *matrix, size_t n, const bd_time_grid *g, int32_t *idx, double *t_ms,
                                   size_t cap, size_t *count);

/* Raster -> spike matrix: matrix (g->steps x n) gets the number of spikes of neuron i in bin k. */
BD_API bd_status bd_measure_spike_matrix(const int32_t *idx, const double *t_ms, size_t count, size_t n,
                                         const bd_time_grid *g, double *matrix);

/* ISI coefficient of variation per neuron: std/mean of its inter-spike intervals (population standard
 * deviation, ddof 0, as Elephant's cv). Neurons with fewer than 3 spikes (under 2 intervals) are excluded:
 * cv[i] = NaN. mean_cv: the mean over included neurons (NaN when none); used: their number. Spike times
 * need not be sorted. cv may be NULL. */
BD_API bd_status bd_measure_cv(const int32_t *idx, const double *t_ms, size_t count, size_t n, double *cv,
                               double *mean_cv, size_t *used);

/* Fano factor of spike counts: the grid is cut into bins of round(bin_ms / dt) steps (a trailing partial
 * bin is dropped; at least 2 bins needed); per neuron F = Var(counts) / mean(counts) (ddof 0), NaN for a
 * neuron without spikes. mean_fano over neurons with spikes (used: their number); pop_fano: the Fano factor
 * of the population's summed count. fano and pop_fano may be NULL. */
BD_API bd_status bd_measure_fano(const int32_t *idx, const double *t_ms, size_t count, size_t n,
                                 const bd_time_grid *g, double bin_ms, double *fano, double *mean_fano,
                                 size_t *used, double *pop_fano);

/* Spike-train coherence kappa (Wang & Buzsaki 1996): trains binned into round(bin_ms / dt)-step bins
 * (trailing partial bin dropped), X_i(l) = 1 if neuron i fired in bin l; kappa = mean over all pairs i < j
 * of sum_l X_i X_j / sqrt(sum_l X_i * sum_l X_j), a pair with a silent neuron counting 0 (braintools).
 * n >= 2. silent: the number of neurons without spikes (may be NULL). Independent trains give about the
 * probability of a spike per bin, identical ones 1. */
BD_API bd_status bd_measure_coherence(const int32_t *idx, const double *t_ms, size_t count, size_t n,
                                      const bd_time_grid *g, double bin_ms, double *kappa, size_t *silent);

/* Voltage-fluctuation synchrony (Golomb & Rinzel 1993; Golomb 2007, Scholarpedia 2:1347):
 * chi^2 = Var_t(mean_i V_i) / mean_i Var_t(V_i), variances over the samples (ddof 0). v: (samples x n),
 * samples >= 2. 1 for identical traces, about 1/n for independent ones. Fails when every trace is
 * constant (0/0). */
BD_API bd_status bd_measure_synchrony(const double *v, size_t samples, size_t n, double *chi2);

/* Functional connectivity: the (n x n) Pearson correlation matrix of the columns of x (samples x n),
 * samples >= 2. A constant column has no correlation: its row and column are 0, the diagonal included
 * (braintools: nan_to_num of numpy's corrcoef). */
BD_API bd_status bd_measure_fc(const double *x, size_t samples, size_t n, double *fc);

/* Power spectral density of a signal sampled every dt_ms (typically a population rate in Hz), one-sided,
 * in (signal unit)^2/Hz, frequencies in Hz. The mean is removed first (detrend "constant").
 * Periodogram (segment_len 0): one Hann-windowed segment of the whole signal. Welch: segments of
 * segment_len samples overlapping by half, each Hann-windowed, periodograms averaged. Each segment is
 * zero-padded to nfft, the next power of two >= its length, so frequencies are k / (nfft * dt), k = 0 ..
 * nfft/2. Scaling as scipy.signal's "density": sum(power) * df is the signal's variance (for a signal
 * longer than its correlations). */
typedef struct bd_spectrum_opts {
    double dt_ms;
    size_t segment_len; /* 0: periodogram of the whole signal; else Welch with this segment length (samples) */
} bd_spectrum_opts;

/* The number of frequencies bd_measure_spectrum returns for these sizes (0 when they are invalid). */
BD_API size_t bd_measure_spectrum_size(size_t samples, const bd_spectrum_opts *o);
/* freq_hz and power: bd_measure_spectrum_size values each (either may be NULL); peak_hz: the frequency of
 * the largest power above 0 Hz (may be NULL). */
BD_API bd_status bd_measure_spectrum(const double *x, size_t samples, const bd_spectrum_opts *o, double *freq_hz,
                                     double *power, double *peak_hz);

#ifdef __cplusplus
}
#endif
#endif
