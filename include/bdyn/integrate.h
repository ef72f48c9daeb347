/* Systems of equations and their numerical integration on any device (BrainPy's odeint / sdeint /
 * fdeint and IntegratorRunner). A system is n independent copies (elements, paths) of a set of
 * equations written in the language of docs/equations.md; a method lowers one step of it to the kernel
 * IR, so the same system runs on cpu, opencl and vulkan. Output format: docs/integrate.md. */
#ifndef BDYN_INTEGRATE_H
#define BDYN_INTEGRATE_H

#include <stddef.h>
#include <stdint.h>
#include "device.h"
#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bd_system bd_system;

/* Parses equations (one statement per line); source_name labels messages ("model.json", "<text>"). */
BD_API bd_status bd_system_new(const char *equations, const char *source_name, bd_system **out);
BD_API void bd_system_free(bd_system *s);

/* A parameter or constant from a quantity with units ("10 ms", "-65 mV", "0.5"), converted into the
 * declared unit; or a number already in the declared unit; or one number per element. */
BD_API bd_status bd_system_set(bd_system *s, const char *name, const char *quantity);
BD_API bd_status bd_system_set_value(bd_system *s, const char *name, double value);
BD_API bd_status bd_system_set_array(bd_system *s, const char *name, const double *values, size_t n);

/* Initial value of a state variable (quantity text, declared unit); default 0. Per element: _array. */
BD_API bd_status bd_system_init(bd_system *s, const char *var, const char *quantity);
BD_API bd_status bd_system_init_array(bd_system *s, const char *var, const double *values, size_t n);
/* History of a delayed state variable for t <= t0: an expression in t (ms), parameters and constants,
 * in the variable's unit (e.g. "1 + 0.5*sin(t/10)"); default: the initial value, constant. */
BD_API bd_status bd_system_history(bd_system *s, const char *var, const char *expr);

/* Names of the state variables, in equation order (valid while s lives). */
BD_API size_t bd_system_nstate(const bd_system *s);
BD_API const char *bd_system_state_name(const bd_system *s, size_t v);
BD_API const char *bd_system_state_unit(const bd_system *s, size_t v);

typedef struct bd_integrate_opts {
    const char *method;  /* see bd_integrate_methods(); default "rk4" */
    double dt;           /* ms; the initial step of adaptive methods */
    double t0;           /* ms, default 0 */
    double duration;     /* ms */
    size_t n;            /* elements (independent copies / paths), default 1 */
    double record_every; /* ms between recorded samples; 0 = every step (adaptive: every dt) */
    double atol, rtol;   /* adaptive methods; defaults 1e-6, 1e-6 */
    double alpha;        /* FDE methods: Caputo order in (0, 1] (one for every variable) */
    size_t memory;       /* FDE methods: history length in steps; 0 = the whole run */
    uint64_t seed;       /* SDE noise: Philox key; the same seed gives the same paths on every device */
    bd_dtype precision;  /* BD_F64 (default) or BD_F32 */
} bd_integrate_opts;

BD_API void bd_integrate_opts_init(bd_integrate_opts *o);

/* Loads a system file (docs/integrate.md: equations, parameters, init, history and an "integrate"
 * object of settings, which fill *opts over bd_integrate_opts_init's defaults). Errors name the file,
 * line, column and JSON path. */
/* A quantity ("10 ms", "0.5 s", or a bare number, taken as already in `unit`) in `unit` ("ms", "mV"). */
BD_API bd_status bd_quantity_in(const char *text, const char *unit, double *value);

BD_API bd_status bd_system_load(const char *path, bd_system **out, bd_integrate_opts *opts);

/* Every method name, NULL-terminated, and one line describing each. */
BD_API const char *const *bd_integrate_methods(void);
BD_API const char *bd_integrate_method_doc(const char *method);

typedef struct bd_trajectory {
    size_t nvars;     /* state variables */
    size_t n;         /* elements */
    size_t nrec;      /* recorded samples, including t0 */
    double *t;        /* nrec times, ms */
    double **x;       /* x[v][r * n + e]: variable v at sample r of element e, in its declared unit */
    char **names, **units;
    uint64_t steps;               /* steps taken (per element; adaptive: the most of any element) */
    uint64_t accepted, rejected;  /* adaptive methods: totals over all elements */
    double wall_s;                /* integration wall time (compile excluded) */
    double compile_s;
    char method[32], device[128];
    /* the run's settings, for the manifest */
    double dt, t0, duration, record_every, atol, rtol;
    bd_dtype precision;
} bd_trajectory;

BD_API bd_status bd_integrate(bd_device *dev, const bd_system *s, const bd_integrate_opts *o, bd_trajectory **out);
BD_API void bd_trajectory_free(bd_trajectory *tr);
/* Writes DIR/<var>.npy (float64, nrec x n), DIR/t.npy and DIR/manifest.json, each atomically, creating
 * DIR if needed (docs/integrate.md). */
BD_API bd_status bd_trajectory_write(const bd_trajectory *tr, const char *dir, const char *system_name);

#ifdef __cplusplus
}
#endif
#endif
