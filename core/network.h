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

/* Positions of neurons on a 1-D or 2-D grid (shape[0] x shape[1], row-major: i = r * shape[1] + c), used by
 * the geometric connectivity rules and the distance-decay initializers (docs/toolbox.md). Coordinate d of
 * grid index k along an axis of n points is lo[d] + (hi[d] - lo[d]) * k / n: the n points tile [lo, hi),
 * so that with `periodic` the distance wraps at the period hi - lo. pre and post may have their own
 * shapes (1-D only, when a range is given). */
typedef struct bd_geom {
    int ndim;                /* 1 or 2 */
    uint32_t shape[2];       /* of the presynaptic population (or the one population) */
    uint32_t post_shape[2];  /* of the postsynaptic population */
    double lo[2], hi[2];
    int periodic;
} bd_geom;

/* A per-element value: constant, random (Philox with the run seed, stream = owner and variable), or from
 * a file of `size` values. Values are in the declared unit of the variable it initialises. The kinds after
 * FILE are the toolbox initializers of docs/toolbox.md (core/dist_init.c draws them). */
typedef enum bd_dist_kind {
    BD_DIST_CONST, BD_DIST_UNIFORM, BD_DIST_NORMAL, BD_DIST_FILE,
    BD_DIST_TRUNC_NORMAL, /* mean a, sd b, within [lo, hi] */
    BD_DIST_LOGNORMAL,    /* scale * exp(a + b Z): a, b the mean and sd of the log */
    BD_DIST_GAMMA,        /* shape a, scale b */
    BD_DIST_EXPONENTIAL,  /* scale (mean) a */
    BD_DIST_VARSCALE,     /* xavier / kaiming / lecun before the fans are known (weights: build_conn) */
    BD_DIST_ORTHOGONAL,   /* weights: gain a times an orthogonal n_pre x n_post matrix */
    BD_DIST_GAUSS_DECAY,  /* weights: amp[0] exp(-d^2 / (2 sigma[0]^2)), 0 below min_w */
    BD_DIST_DOG_DECAY,    /* weights: difference of two such Gaussians (amp[0], sigma[0]) - (amp[1], sigma[1]) */
    BD_DIST_FROM_CONN,    /* weights: the values stored with the connectivity (replaced by FILE when resolved) */
    BD_DIST_MATRIX        /* per synapse: entry (pre, post) of a dense n_pre x n_post matrix (values, ncols) */
} bd_dist_kind;
/* VARSCALE: variance = vs_scale / fan, fan = fan_in, fan_out or their mean (vs_fan 0, 1, 2); uniform or normal. */
typedef struct bd_dist {
    bd_dist_kind kind;
    double a, b;    /* CONST: a; UNIFORM: [a, b); NORMAL: mean a, sd b; see the kinds above */
    double *values; /* FILE: the values read (owned) */
    size_t nvalues;
    double lo, hi;  /* TRUNC_NORMAL: the bounds */
    double scale;   /* LOGNORMAL: the factor (1 = the variable's unit) */
    double vs_scale;
    int vs_fan, vs_uniform;
    double fan_in, fan_out; /* VARSCALE: explicit fans (0 = the sizes) */
    double sigma[2], amp[2], min_w; /* GAUSS_DECAY, DOG_DECAY */
    int include_self;              /* GAUSS_DECAY, DOG_DECAY: 0 = weight 0 at equal indices */
    bd_geom geom;                  /* GAUSS_DECAY, DOG_DECAY */
    size_t nrows, ncols;           /* MATRIX: the shape of values */
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
    struct bd_net_table *tables; /* parameters read from tables every step (owned; NPY inputs, spike times) */
    int ntables;
} bd_net_pop;

/* Connectivity rules (docs/toolbox.md; core/conn_gen.c generates them). The first five keep their numbers. */
typedef enum bd_conn_kind {
    BD_CONN_ALL2ALL, BD_CONN_ONE2ONE, BD_CONN_FIXED_PROB, BD_CONN_FIXED_OUTDEGREE, BD_CONN_EXPLICIT,
    BD_CONN_FIXED_POST_NUM,  /* k distinct targets per pre (k with replacement is FIXED_OUTDEGREE) */
    BD_CONN_FIXED_PRE_NUM,   /* k sources per post, distinct unless allow_multi */
    BD_CONN_FIXED_TOTAL_NUM, /* k synapses in all, distinct pairs unless allow_multi */
    BD_CONN_GAUSSIAN_PROB,   /* Bernoulli with p = exp(-d^2 / (2 sigma^2)) on geom */
    BD_CONN_GRID,            /* lattice neighbourhood on geom: radius 1 von Neumann (grid4) or Chebyshev `radius` */
    BD_CONN_SMALL_WORLD,     /* Watts-Strogatz: ring of k neighbours, rewired with probability p */
    BD_CONN_SCALE_FREE_BA,   /* Barabasi-Albert: k edges per new node */
    BD_CONN_NKINDS
} bd_conn_kind;
typedef enum bd_storage { BD_STORE_AUTO, BD_STORE_CSR, BD_STORE_DENSE, BD_STORE_PROCEDURAL } bd_storage;

typedef struct bd_net_proj {
    char *path;
    int pre, post;         /* population indices */
    bd_conn_kind conn;
    double p;              /* FIXED_PROB; SMALL_WORLD: the rewiring probability */
    uint32_t k;            /* FIXED_OUTDEGREE, FIXED_POST/PRE/TOTAL_NUM; SMALL_WORLD: num_neighbor; BA: m */
    int include_self;      /* when pre == post (geometric rules: at equal indices) */
    uint32_t *rows, *cols; /* EXPLICIT: nnz pairs (owned) */
    size_t nnz;
    int allow_multi;       /* FIXED_PRE/TOTAL_NUM: pairs may repeat */
    int directed;          /* SMALL_WORLD, SCALE_FREE_BA: 0 = every edge both ways */
    int normalize;         /* GAUSSIAN_PROB: p divided by its largest value */
    int grid4;             /* GRID: the 4 nearest (von Neumann) instead of the Chebyshev radius */
    uint32_t radius;       /* GRID: Chebyshev radius (grid8: 1; gridN: n) */
    double sigma;          /* GAUSSIAN_PROB */
    bd_geom geom;          /* GAUSSIAN_PROB, GRID */
    bd_storage storage;
    bd_dist weight;        /* in the unit of the target variable */
    double delay_ms;
    int target;            /* state variable of the post population that a spike increments */
    uint32_t id;           /* stable projection number: the Philox stream of its connectivity and weights */
    /* Event delivery scaled per presynaptic neuron (short-term plasticity): the weight is multiplied by
     * pre's state variable scale_var (index into its odes) when the spike arrives, if `scaled`. */
    int scaled, scale_var;
    /* A coupling (continuous) projection, instead of events: every step, before the populations advance,
     * post's parameter `fed` = sum_j w_ij src_j(t - delay), minus src_i * sum_j w_ij when diffusive, where
     * src is pre's symbol src_sym (diffusive: post's symbol src_post of the same name). Gap junctions,
     * align-pre synapses (NMDA), rate-network coupling. */
    int coupling, diffusive;
    bd_dist *delays;       /* coupling: per-connection delays in ms (owned; NULL = delay_ms for all) */
    int src_sym, src_post, fed;
    /* Spike-timing-dependent plasticity: weights change per synapse (NULL = fixed weights). */
    struct bd_net_plastic *plastic;
} bd_net_proj;

/* A weight rule: `rule` holds w, the pre and post variables it reads (declared as parameters), the rule's
 * own parameters (values set) and the algebraic new weights `on_pre` (at an arriving presynaptic spike)
 * and `on_post` (at a postsynaptic spike); -1 where the rule has none. */
typedef struct bd_net_plastic {
    bd_eqs *rule;
    int w, on_pre, on_post;
    int *pre_var, *post_var; /* per rule symbol: index into pre's / post's odes, or -1 */
} bd_net_plastic;

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

/* A tabulated parameter of a population (docs/model-format.md "Input", "Population"): every step the runner
 * sets parameter `sym` (a shared parameter declared with value 0) from a table uploaded once
 * (core/runner_table.c). Two kinds:
 *  - samples (spikes = 0): values[k * width + (width > 1 ? i : 0)], k < rows, in the parameter's unit, holds
 *    for t in [k dt_ms, (k + 1) dt_ms), and 0 from rows * dt_ms on (an NPY time series; width 1 or the size);
 *  - spike times (spikes = 1): rows pairs (element, time in ms) in values; the parameter is 1 during the step
 *    that ends at round(time / dt) * dt for that element, else 0 (a spike-time source's `spike > 0.5`). */
typedef struct bd_net_table {
    int sym;
    int spikes;
    double *values;
    size_t rows, width;
    double dt_ms;
} bd_net_table;

void bd_network_free(bd_network *net);

#endif
