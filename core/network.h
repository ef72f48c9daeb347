/* A network after its model tree has been resolved (docs/model-format.md): flat populations, projections,
 * inputs and monitors, every name bound, every quantity converted, every equation parsed. This is the
 * contract between the model loader (JSON or the C API of include/bdyn/model.h, which build and resolve the
 * tree) and the runner (which lowers a network to a per-device step plan and runs it).
 *
 * Resolution flattens composition into plain equations, so the runner knows only three mechanisms:
 *  - a population integrates its equations (channels already merged in, synapse states of align-post
 *    projections already added as state variables, synaptic outputs and inputs already summed into the
 *    population's input variables as algebraic definitions), then tests its threshold, resets and holds
 *    refractory variables;
 *  - a projection delivers each presynaptic spike, after its delay, to its postsynaptic targets by adding
 *    the synapse's weight to one state variable of the post population (`target`);
 *  - a generator input adds Poisson events the same way, or is an algebraic term already in the equations.
 * Names are full paths ("area1.E", "area1.EE"). */
#ifndef BD_NETWORK_H
#define BD_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "bdyn/ir.h"
#include "expr.h"

/* A per-element value: constant, random (Philox with the run seed, stream = owner and variable), or from
 * a file of `size` values. Values are in the declared unit of the variable it initialises. */
typedef enum bd_dist_kind { BD_DIST_CONST, BD_DIST_UNIFORM, BD_DIST_NORMAL, BD_DIST_FILE } bd_dist_kind;
typedef struct bd_dist {
    bd_dist_kind kind;
    double a, b;    /* CONST: a; UNIFORM: [a, b); NORMAL: mean a, sd b */
    double *values; /* FILE: the values read (owned) */
    size_t nvalues;
} bd_dist;

typedef struct bd_net_reset {
    int sym;         /* state variable assigned */
    bd_expr *value;  /* in the variable's unit (normalised like a definition) */
} bd_net_reset;

typedef struct bd_net_pop {
    char *path;            /* "E", "area1.E" */
    size_t size;
    bd_eqs *eqs;           /* flattened; CONST and PARAM symbols with a shared value have it in syms[].value */
    bd_dist *param_init;   /* per symbol: BD_DIST_CONST with NaN a = shared value in syms[].value; else how
                            * the per-element parameter is drawn */
    bd_dist *state_init;   /* per state variable (eqs->odes order) */
    bd_expr *threshold;    /* condition; NULL = never spikes */
    bd_net_reset *reset;
    int nreset;
    double refractory_ms;  /* 0 = none; variables flagged (unless refractory) are held while refractory */
    bd_expr *refractory_cond; /* alternative: refractory while this holds (NULL unless given) */
    char method[32];
    int file_line;         /* where the population is defined, for messages */
} bd_net_pop;

typedef enum bd_conn_kind {
    BD_CONN_ALL2ALL, BD_CONN_ONE2ONE, BD_CONN_FIXED_PROB, BD_CONN_FIXED_OUTDEGREE, BD_CONN_EXPLICIT
} bd_conn_kind;
typedef enum bd_storage { BD_STORE_AUTO, BD_STORE_CSR, BD_STORE_DENSE, BD_STORE_PROCEDURAL } bd_storage;

typedef struct bd_net_proj {
    char *path;
    int pre, post;         /* population indices */
    bd_conn_kind conn;
    double p;              /* FIXED_PROB */
    uint32_t k;            /* FIXED_OUTDEGREE */
    int include_self;      /* when pre == post */
    uint32_t *rows, *cols; /* EXPLICIT: nnz pairs (owned) */
    size_t nnz;
    bd_storage storage;
    bd_dist weight;        /* in the unit of the target variable */
    double delay_ms;
    int target;            /* state variable of the post population that a spike increments */
    uint32_t id;           /* stable projection number: the Philox stream of its connectivity and weights */
} bd_net_proj;

/* External Poisson events: count independent sources at `rate_hz` per neuron, each adding `weight` to
 * `target` of the population (a binomial count per step). */
typedef struct bd_net_poisson {
    char *path;
    int pop, target;
    double rate_hz, weight;
    uint32_t count, id;
} bd_net_poisson;

typedef enum bd_monitor_kind { BD_MON_SPIKES, BD_MON_VAR, BD_MON_RATE } bd_monitor_kind;
typedef struct bd_net_monitor {
    char *name;            /* file stem */
    bd_monitor_kind kind;
    int pop;
    int sym;               /* VAR: state or algebraic symbol of the population */
    uint32_t *indices;     /* VAR: recorded elements (owned); NULL with n = 0 means all */
    size_t nindices;
    double every_ms;       /* VAR: sampling interval (0 = every step) */
    double window_ms;      /* RATE: smoothing window (0 = none) */
} bd_net_monitor;

typedef struct bd_network {
    char *name, *source;   /* model name and file */
    double dt_ms, duration_ms;
    uint64_t seed;
    bd_dtype precision;
    char device[64];       /* "" = default */
    int threads;           /* 0 = default */
    bd_net_pop *pops;
    int npops;
    bd_net_proj *projs;
    int nprojs;
    bd_net_poisson *poisson;
    int npoisson;
    bd_net_monitor *monitors;
    int nmonitors;
} bd_network;

void bd_network_free(bd_network *net);

#endif
