/* The model tree behind include/bdyn/model.h, shared by the builder (model.c), the JSON loader
 * (model_load.c) and the resolver (model_resolve.c, model_flatten.c, model_conn.c, model_proj.c), and the
 * resolver's entry point for the runner. Every node remembers where it was defined (file and JSON path), so
 * that resolution, which runs long after the JSON is gone, still names file:line:col and $.path in its
 * messages. */
#ifndef BD_MODEL_IMPL_H
#define BD_MODEL_IMPL_H

#include "bdyn/model.h"
#include "network.h"

#include <stdarg.h>

/* Where a node was defined: a file of the model (index into bd_model.srcs, -1 = built in code) and the
 * JSON path of the node in it ("$.types.LIF"; code-built nodes get the path the same JSON would have). */
typedef struct morigin {
    int src;
    char *jpath;
} morigin;

typedef struct mval {
    bd_init_kind kind;
    char *a, *b;
} mval;

typedef struct mentry {
    char *name;
    mval v;
} mentry;

/* A small ordered map of names to values (parameters, initial values). */
typedef struct mmap {
    mentry *e;
    int n;
} mmap;

typedef struct strlist {
    char **s;
    int n;
} strlist;

typedef enum minst_kind { MI_POP, MI_PROJ, MI_INPUT, MI_GROUP, MI_PART } minst_kind;

struct bd_minst {
    bd_model *m;
    minst_kind kind;
    char *name, *type;
    char *size, *pre, *post, *target, *delay, *include_self, *storage, *into;
    char *conn_kind, *conn_value;
    char *coupling_source, *coupling_mode; /* a coupling projection (source NULL: an event projection) */
    char *spike_times; /* a spike-time source population: its "spike_times" object as JSON text */
    mval weight; /* a = NULL: not given */
    mval delays; /* per-connection delays (an initializer; a = NULL: the scalar `delay`) */
    mmap params, init;
    bd_minst *synapse, *output, *stp, *plasticity;
    morigin at;
};

struct bd_mtype {
    bd_model *m;
    char *name;
    bd_type_kind kind;
    char *doc, *threshold, *refractory, *method, *current, *into, *state, *scale;
    strlist equations;   /* statements, or one text of several lines */
    int equations_is_list;
    strlist reset, on_spike, reads, inputs, pre, post, on_pre, on_post; /* pre..on_post: plasticity */
    int has_on_spike, has_reads, has_inputs;
    mmap params;
    bd_minst **channels;
    int nchannels;
    bd_minst **insts; /* group types: the body */
    int ninsts;
    morigin at;
};

struct bd_mmonitor {
    char *name, *kind, *target, *every, *window;
    long long *idx;
    size_t nidx;
    int has_idx;
    morigin at;
};

typedef struct msource {
    char *path, *text;
} msource;

enum { RUN_DT, RUN_DURATION, RUN_SEED, RUN_PRECISION, RUN_DEVICE, RUN_THREADS, RUN_NKEYS };
extern const char *const bd_model_run_keys[RUN_NKEYS];

struct bd_model {
    char *name, *doc;
    char *run[RUN_NKEYS];
    bd_mtype **types;
    int ntypes;
    bd_minst **insts; /* the top-level group */
    int ninsts;
    bd_mmonitor **mons;
    int nmons;
    msource *srcs;    /* srcs[0] is the model file when loaded from JSON */
    int nsrcs;
    int cur_src;      /* the file new nodes come from (-1: code) */
    char *base_dir;   /* folder of the model file: relative paths of data files start here */
};

/* Resolves the tree into the flat network of core/network.h (docs/model-format.md). */
bd_status bd_model_resolve(const bd_model *m, bd_network **out);

/* --- helpers shared by the model modules (model.c) --- */

/* Fails with "file:line:col: at <jpath><sub>: <message>" (the position of the deepest part of the path
 * that the file holds), or "<model>: at <jpath><sub>: <message>" for nodes built in code. */
bd_status bd_model_fail(const bd_model *m, const morigin *o, const char *sub, bd_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same around the message already set (bd_last_error), e.g. a quantity or an equation error. */
bd_status bd_model_context(const bd_model *m, const morigin *o, const char *sub, bd_status st);
/* "file:line:col" of o's path + sub, or the model's label; into out. */
void bd_model_where(const bd_model *m, const morigin *o, const char *sub, char *out, size_t cap);
const char *bd_model_src_path(const bd_model *m, const morigin *o);
const char *bd_model_src_text(const bd_model *m, const morigin *o);
/* 1 if name is [A-Za-z_][A-Za-z0-9_]*, shorter than BD_EQ_NAME_MAX. */
int bd_model_valid_name(const char *name);
const mentry *bd_mmap_get(const mmap *mp, const char *name);
const bd_mtype *bd_model_find_type(const bd_model *m, const char *name);
/* Appends a source file (path, text: both copied); its index, or -1 when out of memory. */
int bd_model_add_source(bd_model *m, const char *path, const char *text);
const char *bd_type_kind_name(bd_type_kind k);
/* The built-in neuron type of spike-time sources, "__spike_times" (`spike : 1`, threshold `spike > 0.5`), added to
 * m on first use; its name in *name. A population of it gets its spike times with bd_minst_set_conn(i,
 * "spike_times", JSON text of {"indices", "times"} or {"file"}). */
bd_status bd_model_spike_type(bd_model *m, const char **name);

/* --- the resolver's working state (model_resolve.c, model_flatten.c, model_conn.c, model_proj.c) --- */

/* The parameters of one group instance, for `${name}` substitution (values already substituted). */
typedef struct genv {
    char **name, **val;
    int n;
} genv;

typedef struct rpop {
    char *path;
    const bd_minst *i;
    const genv *env;
    const bd_mtype *type;
    size_t size;
    char **resets; /* renamed spike statements of projection parts living here (align-pre state, stp, plasticity) */
    int nresets;
} rpop;

typedef struct rproj {
    char *path, *pfx; /* pfx: the identifier prefix of its synapse symbols ("area1_EE") */
    char *pre_path, *post_path;
    const bd_minst *i;
    const genv *env;
    int pre, post;
    const bd_mtype *syn, *out, *stp, *pl; /* stp: pre-side event scaling; pl: plasticity */
    int syn_pre;      /* the synapse's state lives per presynaptic neuron: delivered as a coupling */
    char syn_var[BD_EQ_NAME_MAX]; /* syn_pre: the synapse symbol its output reads */
} rproj;

typedef enum rinput_kind { RIN_TYPE, RIN_CONSTANT, RIN_POISSON, RIN_TABLE } rinput_kind; /* TABLE: {"file": "x.npy"} */
typedef struct rinput {
    char *path, *pfx, *into_path;
    const bd_minst *i;
    const genv *env;
    int pop;
    rinput_kind kind;
    const bd_mtype *type;
} rinput;

/* A value for a parameter of the flattened equations, from a type default or an instance; later ones win. */
typedef struct pval {
    char name[BD_EQ_NAME_MAX];
    const mval *v;
    const morigin *at;
    char sub[160];
    const genv *env;
} pval;

typedef struct rctx {
    const bd_model *m;
    bd_eqs **teqs; /* per type of m->types: its own equations, parsed and checked (NULL until needed) */
    rpop *pops;
    int npops;
    rproj *projs;
    int nprojs;
    rinput *ins;
    int nins;
    genv **envs;
    int nenvs;
    pval *pv; /* of the population being built */
    int npv;
} rctx;

/* text with `${name}` replaced from env, malloc'd into *out; errors at o + sub. */
bd_status bd_mr_subst(rctx *R, const genv *env, const char *text, const morigin *o, const char *sub, char **out);
const bd_mtype *bd_mr_type(rctx *R, const char *name, const morigin *o, const char *sub, int kind, bd_status *st);
/* A type's own equations, parsed where they stand in their file; threshold and resets are checked too. */
bd_status bd_mr_type_eqs(rctx *R, const bd_mtype *t, const bd_eqs **out);
/* The flattened equations of population p (docs/model-format.md), and in R->pv the values of its parameters. */
bd_status bd_mr_pop_text(rctx *R, int p, char **text);
/* The input variables of a neuron or rate type: "inputs", or I_syn when its equations declare it. */
int bd_mr_is_input(const bd_mtype *t, const bd_eqs *e, const char *name);

/* --- shared by the resolver's core (model_resolve.c), its toolbox (model_conn.c) and projections (model_proj.c) --- */

struct cJSON;

/* Fails with BD_ERR_NOMEM, "out of memory resolving the model" (model_resolve.c, as are the next four). */
bd_status bd_mr_nomem(void);
/* An integer >= lo (at most 4e9) from text (sizes, counts); errors name `what`. */
bd_status bd_mr_integer(rctx *R, const char *text, const morigin *o, const char *sub, const char *what, long long lo,
                        long long *out);
/* A quantity in unit u: `${}` substituted from env, then converted (dimension-checked). */
bd_status bd_mr_quantity(rctx *R, const char *text, const genv *env, const bd_unit *u, const morigin *o,
                         const char *sub, double *out);
/* The same in ms. */
bd_status bd_mr_ms_quantity(rctx *R, const char *text, const genv *env, const morigin *o, const char *sub, double *out);
/* A symbol of a population of kind `want` (bit mask over bd_sym_kind), with the nearest such name on failure. */
bd_status bd_mr_var_ref(rctx *R, const bd_eqs *e, const char *name, unsigned want, const char *what, const char *pop,
                        const morigin *o, const char *sub, int *out);
/* A 1-D or 2-D NPY file (relative to the model's folder) of at most max_cols columns as doubles (model_conn.c). */
bd_status bd_mr_read_npy_cols(rctx *R, const char *name, const morigin *o, const char *sub, double **vals, size_t *n,
                              size_t *cols, size_t max_cols);
/* A toolbox text with `${}` substituted, parsed; text that is not JSON is a string. */
bd_status bd_mr_spec_parse(rctx *R, const char *text, const genv *env, const morigin *o, const char *sub,
                           struct cJSON **out);
/* A plain number: a JSON number or a string holding one. */
bd_status bd_mr_spec_num(rctx *R, const struct cJSON *v, const morigin *o, const char *sub, double *out);
/* A quantity in unit u from a JSON string or number (already substituted). */
bd_status bd_mr_spec_quantity(rctx *R, const struct cJSON *v, const bd_unit *u, const morigin *o, const char *sub,
                              double *out);
/* A per-element value in unit u (quantity, uniform, normal, NPY file, toolbox initializer); size 0: weights. */
bd_status bd_mr_dist(rctx *R, const mval *v, const genv *env, const bd_unit *u, const morigin *o, const char *sub,
                     size_t size, bd_dist *out);
/* The connectivity rule and storage of projection j, then what its weights need of it (model_conn.c). */
bd_status bd_mr_build_conn(rctx *R, int j, bd_network *net, bd_net_proj *np);
/* Projection j, event or continuous, with its delay, weights, plasticity and connectivity (model_proj.c). */
bd_status bd_mr_build_proj(rctx *R, int j, bd_network *net, bd_net_proj *np);
/* 1 if `name` of population p is written every step by a continuous projection (no value needed). */
int bd_mr_fed_param(const rctx *R, int p, const char *name);

#endif
