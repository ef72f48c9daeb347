/* Running a resolved spiking network (core/network.h, produced by the model loader) on one device:
 * a per-device step plan (one fused kernel per population and step, deterministic event-driven
 * propagation per projection, delays through rings of spike flags, Poisson inputs), monitors copied
 * to the host every chunk of steps, result files and bit-exact checkpoints. docs/runner.md. */
#ifndef BDYN_RUN_H
#define BDYN_RUN_H

#include <stddef.h>
#include <stdint.h>
#include "device.h"
#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A resolved network (core/network.h; the model loader builds it). It must outlive the run. */
typedef struct bd_network bd_network;
typedef struct bd_run bd_run;

typedef struct bd_run_opts {
    double duration_ms;   /* total simulated time; <= 0: the network's duration_ms */
    uint32_t chunk_steps; /* steps queued between two synchronisations (monitor downloads, NaN check);
                           * 0 = default (200, fewer when the monitor buffers would pass 64 MiB) */
    /* Called after every chunk with the steps done and the total (may be NULL). */
    void (*progress)(void *user, uint64_t step, uint64_t total);
    void *user;
    /* 1: bit-identical results on every device and thread count: every event projection pulls (each post
     * element sums its synapses in stored order), the same arithmetic everywhere; 0: the cpu pushes the
     * spiking rows instead (fewer operations; with several threads the partial sums combine in another
     * order, so the last bits of the inputs may differ) */
    int deterministic;
} bd_run_opts;

BD_API void bd_run_opts_init(bd_run_opts *o);

/* Resolves a model (include/bdyn/model.h) and plans its run: device `device` (NULL or "": the model's
 * "device" setting, else the first GPU, discrete before integrated, else cpu), `threads` cpu threads (0:
 * the model's setting, else the device default). The run owns the network and the device it opened. */
typedef struct bd_model bd_model;
BD_API bd_status bd_run_open(const bd_model *m, const char *device, int threads, const bd_run_opts *opts, bd_run **out);
/* The stable name of the run's device ("cpu", "opencl:0", ...) and the model's name. */
BD_API const char *bd_run_device_name(const bd_run *r);
BD_API const char *bd_run_model_name(const bd_run *r);
BD_API double bd_run_dt(const bd_run *r); /* ms */
BD_API int bd_run_pop_count(const bd_run *r);
BD_API const char *bd_run_pop_name(const bd_run *r, int p); /* NULL when out of range */

/* Plans, compiles and allocates the run on dev, drawing initial states and connectivity from the
 * network's seed (Philox: the same numbers on every device). Precision: net->precision. */
BD_API bd_status bd_run_new(bd_device *dev, const bd_network *net, const bd_run_opts *opts, bd_run **out);
BD_API void bd_run_free(bd_run *r);

/* Advances by `steps` steps (clipped to the end of the run), queueing chunk_steps steps between
 * synchronisations. Returns BD_ERR_NUMERIC, naming the population, variable, element and step, when a
 * state becomes NaN or infinite. */
BD_API bd_status bd_run_advance(bd_run *r, uint64_t steps);
/* Runs to the end (duration / dt steps). */
BD_API bd_status bd_run_to_end(bd_run *r);
BD_API uint64_t bd_run_step(const bd_run *r);        /* steps done (including those of a restored checkpoint) */
BD_API uint64_t bd_run_total_steps(const bd_run *r); /* round(duration / dt) */
BD_API uint64_t bd_run_start_step(const bd_run *r);  /* 0, or the step of the restored checkpoint */

/* Checkpoints: every buffer that carries state (variables, refractory counters, spike-flag rings,
 * pending synaptic input, NaN flags) and the step counter, with a hash of the model. The random
 * streams are counter-based (keyed by the step), so a resumed run continues bit-identically, also on
 * another device of the same precision. Monitors restart empty at the restored step. */
BD_API bd_status bd_run_save(const bd_run *r, const char *path);
BD_API bd_status bd_run_restore(bd_run *r, const char *path);

/* Writes DIR/manifest.json and the monitor files (docs/runner.md), each atomically, creating DIR.
 * The manifest is written last and lists a figure "<name>.png" per monitor when that file exists in
 * DIR (the CLI draws them first). */
BD_API bd_status bd_run_write(const bd_run *r, const char *dir);

/* Results. Monitor m in the network's order; pointers stay valid until the next advance or free. */
typedef enum bd_run_monitor_kind { BD_RUN_SPIKES, BD_RUN_VAR, BD_RUN_RATE } bd_run_monitor_kind;
typedef struct bd_run_monitor {
    const char *name, *pop, *var; /* var: VAR monitors only */
    bd_run_monitor_kind kind;
    size_t pop_size;
    size_t n;          /* SPIKES: spikes; VAR, RATE: samples */
    size_t cols;       /* VAR: recorded elements; else 1 */
    const int32_t *i;  /* SPIKES: neuron indices */
    const double *t;   /* SPIKES: spike times; VAR, RATE: sample times (ms) */
    const double *x;   /* VAR: n x cols values in the variable's unit; RATE: n rates in Hz (smoothed) */
    const uint32_t *elements; /* VAR: the cols recorded element indices */
} bd_run_monitor;
BD_API int bd_run_monitor_count(const bd_run *r);
BD_API bd_status bd_run_monitor_get(const bd_run *r, int m, bd_run_monitor *out);

/* Spikes of population p since the start (or the restored step), and the population's size. */
BD_API bd_status bd_run_pop_spikes(const bd_run *r, int p, uint64_t *spikes, size_t *size);
/* Downloads the current values of state variable `var` of population p (size values, declared unit). */
BD_API bd_status bd_run_state(bd_run *r, int p, const char *var, double *out, size_t n);
/* Timings: setup (connectivity, buffers), kernel compilation, and stepping wall time, in seconds. */
/* The current weights of projection `proj` (its path) with their pre and post indices, ordered by post
 * then pre (arrays of n entries, allocated with malloc; free them). Plastic projections change them. */
BD_API bd_status bd_run_weights(const bd_run *r, const char *proj, double **w, int32_t **pre, int32_t **post, size_t *n);
BD_API void bd_run_times(const bd_run *r, double *setup_s, double *compile_s, double *wall_s);

#ifdef __cplusplus
}
#endif
#endif
