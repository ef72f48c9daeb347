/* The runner's internals, shared by core/runner.c (plan, stepping, results), runner_kernel.c (the fused
 * population kernel), runner_conn.c (initial values and connectivity on the host) and runner_out.c
 * (result files and checkpoints). docs/runner.md describes the step plan. */
#ifndef BD_RUNNER_IMPL_H
#define BD_RUNNER_IMPL_H

#include "bdyn/run.h"
#include "bdyn/ops.h"
#include "network.h"
#include "integrate_impl.h"
#include "backend.h"

#define RUN_MAX_TARGETS 6  /* distinct input variables of one population fed by projections */
#define RUN_MAX_VARMON 32  /* variable monitors per population (a bit each in the kernel's `due` mask) */
#define RUN_MAX_FED 16     /* parameters of one population fed by coupling projections */

/* Philox streams (counter word 3 = kind << 24 | id), so every random quantity has its own sequence. */
enum { STREAM_STATE = 1, STREAM_PARAM = 2, STREAM_WEIGHT = 3, STREAM_POISSON = 4, STREAM_NOISE = 5, STREAM_DELAY = 7 };
/* 6 is BD_CONN_STREAM (core/conn_gen.h) */

typedef struct run_pop {
    const char *path;
    size_t n;
    const bd_eqs *eqs;
    const bd_method *method;
    int nstate, npar;
    int *par;             /* per-element parameters: symbol per buffer row */
    int refractory;       /* has a refractory counter buffer */
    int32_t nref;         /* refractory steps */
    uint32_t ring_len;    /* spike-flag ring slots (longest outgoing delay in steps, >= 1) */
    int ntargets;
    int target_sym[RUN_MAX_TARGETS]; /* state-variable symbol fed by input buffer j */
    /* Target j's variable lives in in[j] itself, and the event ops add into it directly (its row of `state`
     * is unused): the kernel then neither reads nor clears a separate input, 12 bytes per element and step
     * less for a memory-bound update. Only where every projection that touches the population is delivered
     * by the bd_event_* ops: the own kernels of runner_proj.c read and write the `state` rows. */
    int direct[RUN_MAX_TARGETS];
    int spike_rec;        /* a spike or rate monitor records this population */
    int rec_rows;         /* ... and the kernel writes its spike flags into record rows (not on the cpu) */
    int nvm;              /* variable monitors of this population */
    int vm[RUN_MAX_VARMON];    /* their monitor indices */
    size_t vm_col[RUN_MAX_VARMON]; /* first column of monitor vm[j] in the record rows */
    size_t vm_cols;       /* columns of one record row */
    int *poisson;         /* indices of the network's Poisson inputs into this population */
    int npoisson;
    int nfed;             /* parameters written every step by coupling projections (runner_proj.c) */
    int fed_sym[RUN_MAX_FED], b_fed[RUN_MAX_FED];
    bd_buffer *fed[RUN_MAX_FED];
    /* kernel and buffer slots */
    bd_ir *ir;
    bd_kernel *kern;
    /* With variable monitors, a second kernel without the sampling runs on the steps where none is due:
     * the sampling's scattered stores keep the C compiler from vectorising the loop. */
    bd_ir *ir_quiet;
    bd_kernel *kern_quiet;
    int b_state, b_par, b_refr, b_spike, b_rec, b_bad, b_cnt, b_in[RUN_MAX_TARGETS], b_vrec, b_vmap;
    int s_n, s_step, s_row, s_due, s_key0, s_key1;
    int nbuf, nscal;
    bd_buffer *state, *par_buf, *refr, **ring, *rec, *bad, *cnt, *in[RUN_MAX_TARGETS], *vrec, *vmap;
    /* The cpu (bd_run.lists): the spiking elements of each ring slot as an ascending list, compacted once
     * after the kernel, which the projections and the monitors read instead of each scanning the flags. */
    bd_buffer **list, *nlist_buf;
    uint32_t *nlist;
    bd_op compact;        /* the cpu: the compaction, checked once (bd_op_run) */
    uint64_t spikes;      /* since the start or restore: the per-element counters' sum after each advance (devices),
                           * or the lists' lengths added up each step (the cpu) */
    /* Delayed terms x(t - d) and fractional methods (integrate_impl.h's history ring): the state at the start
     * of each of the last hist_len steps (0 = no ring), element i of state v at step s in
     * ((v * hist_len + s % hist_len) * n + i); FDE methods also read x(t0) from `init` ((v * n + i)). */
    uint32_t hist_len;
    int fde;              /* the method is fractional */
    double alpha;         /* FDE: the Caputo order, the population's parameter `alpha` */
    uint32_t memory;      /* FDE: steps of memory, the parameter `num_memory` (default 1000; 0 = the whole run) */
    int b_hist, b_init;
    bd_buffer *hist, *init;
    /* runner_table.c: tabulated parameters (NPY inputs, spike times), all in one buffer read by the kernel */
    int ntab, b_tab;
    size_t tab_len;       /* values in the buffer */
    struct run_tab *tabs;
    bd_buffer *tab;
} run_pop;

typedef struct run_proj {
    const bd_net_proj *np;
    uint32_t delay;       /* steps, >= 1 */
    int input;            /* input buffer index of the post population */
    size_t nnz;
    int procedural;
    bd_procedural proc;
    bd_buffer *rowptr, *colidx, *values; /* transposed CSR: rows = post */
    bd_csr at;
    /* the forward matrix (rows = pre) too, for pushing the few spiking rows (bd_event_csr) instead of
     * pulling every synapse (rows = post): on the cpu the pull's additions in the pull's order, on the
     * devices with atomics (not in deterministic mode) */
    bd_buffer *frowptr, *fcolidx, *fvalues;
    bd_csr fwd;
    int fwd_sorted;       /* every row of fwd lists its targets in ascending order */
    int push;
    bd_op ev;             /* the cpu: the push of the spiking list, checked once (bd_op_run) */
    /* runner_proj.c: projections the bd_event_* ops cannot deliver (scaled or plastic events, couplings)
     * and all2all projections with one weight (a sum over pre instead of a matrix) get kernels of their own */
    int own, fast, fed_slot;
    uint32_t hist_len;    /* coupling with a delay: slots of the ring of source values (delay + 1) */
    bd_buffer *hist, *sum, *delays; /* delays: per synapse in steps (transposed order), couplings only */
    bd_ir *ir[3];         /* 0: record the source into the ring, 1: sum over pre (fast), 2: deliver */
    bd_kernel *kern[3];
} run_proj;

typedef struct run_mon {
    const bd_net_monitor *nm;
    char *var_name;
    uint32_t *elements;   /* VAR: recorded elements */
    size_t cols;
    uint32_t every;       /* VAR: steps between samples */
    /* host results */
    int32_t *si;
    double *st, *vx, *vt;
    size_t n, cap;        /* spikes (SPIKES) or samples (VAR) */
    size_t cap_x;         /* VAR: values room in vx */
    uint32_t *counts;     /* RATE: spikes per step */
    size_t ncounts, cap_counts;
    double *rate, *rate_t; /* RATE: smoothed, built on request */
} run_mon;

struct bd_run {
    bd_device *dev;
    const bd_device_info *info;
    const bd_network *net; /* outlives the run, or owned (bd_run_open) */
    bd_network *own_net;
    bd_device *own_dev;
    bd_dtype t;
    size_t es;
    double dt;
    uint64_t step, start_step, total;
    uint32_t chunk;
    int lists;            /* the cpu: run_pop.list is kept (run_lists_rebuild after a restore) */
    bd_run_opts o;
    uint32_t key0, key1;
    run_pop *pops;
    run_proj *projs;
    run_mon *mons;
    void *host;           /* download scratch, host_bytes */
    uint32_t *row_spikes; /* the spiking elements of one record row (the largest population's size) */
    size_t host_bytes;
    uint64_t hash;
    double setup_s, compile_s, wall_s;
};

/* runner_kernel.c: builds p->ir for population pi (buffer and scalar slots into p). */
/* The population's kernel, with the variable monitors' sampling or without it. */
bd_status run_build_kernel(bd_run *r, int pi, int monitors, bd_ir **out);
/* Plans population pi's history ring (after its method and per-element parameters are known): the delays'
 * reach (`delays`: the equations contain x(t - d)) and, for a fractional method, alpha and num_memory. */
bd_status run_plan_history(bd_run *r, int pi, int delays);

/* runner.c: the state variable whose equation defines symbol sym, or -1. */
int run_state_index(const bd_eqs *e, int sym);
/* runner.c: the input j whose buffer holds state variable v (run_pop.direct), or -1. */
int run_direct_input(const run_pop *p, int v);
/* runner.c: compacts every ring slot of every population again (run_pop.list), after the flags were loaded. */
bd_status run_lists_rebuild(bd_run *r);

/* runner_conn.c */
/* Value number (a, b) of distribution d in stream `stream` (Philox counter (a, b, 0, stream), key the
 * seed; FILE: values[a]), drawn in double on the host and uploaded, so the same on every device. */
double run_dist_value(const bd_run *r, const bd_dist *d, uint32_t stream, uint32_t a, uint32_t b);
/* Allocates and uploads the state, parameters and zeroed buffers of population pi. */
bd_status run_pop_buffers(bd_run *r, int pi);
/* Builds the transposed CSR of projection j on the host and uploads it. */
bd_status run_proj_connect(bd_run *r, int j);
/* A device buffer of `bytes` from host data (or zeros); what names it in messages. */
bd_status run_buffer(bd_run *r, size_t bytes, const void *host, bd_buffer **out, const char *what, const char *owner);

/* runner_table.c */
/* Lays out population pi's tables (before its kernel is built: they set p->ntab). */
bd_status run_table_plan(bd_run *r, int pi);
/* Sets vals[sym] of each table parameter to its value at this step (in build_body, after the fed parameters). */
void run_table_emit(bd_run *r, int pi, bd_ir *k, bd_ir_val *vals);
/* Uploads every population's tables (after the population buffers). */
bd_status run_table_buffers(bd_run *r);
void run_table_free(run_pop *p);

/* runner_proj.c */
/* Plans projection j's own kernels (after plan_proj): fed parameters, fast path, ring. */
bd_status run_proj_plan(bd_run *r, int j);
/* Builds, compiles and allocates them (after the populations' buffers and the connectivity). */
bd_status run_proj_build(bd_run *r, int j);
/* Queues them for step s. */
bd_status run_proj_queue(bd_run *r, int j, uint64_t s);
void run_proj_free(run_proj *pj);
/* The buffers holding a projection's state (plastic weights, source ring) for checkpoints; count. */
int run_proj_state(const bd_run *r, int j, bd_buffer **bufs, size_t *bytes);

/* runner_out.c */
uint64_t run_model_hash(const bd_run *r);
/* The smoothed rate of a RATE monitor (built into m->rate / m->rate_t). */
bd_status run_rate_build(const bd_run *r, run_mon *m);

#endif
