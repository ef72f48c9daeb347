/* Network models (docs/model-format.md): a tree of type definitions and instances (populations,
 * projections, inputs, groups), monitors and run settings, built from a JSON model file or in code with the
 * calls below. The JSON loader itself builds the tree with these calls, so both ways are equivalent.
 *
 * Values are text, exactly as in a model file: quantities ("20 ms", "-65 mV", "0.6"), names, and inside a
 * group type `${param}` placeholders, which are substituted when the group is instantiated. Nothing is
 * checked against equations until bd_model_check (or the runner) resolves the tree. */
#ifndef BDYN_MODEL_H
#define BDYN_MODEL_H

#include <stddef.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bd_model bd_model;
typedef struct bd_mtype bd_mtype; /* a type definition (neuron, channel, ..., or a group type) */
typedef struct bd_minst bd_minst; /* an instance: population, projection, input, group, or a part of one
                                     (a neuron's channel, a projection's synapse or output) */

typedef enum bd_type_kind {
    BD_TYPE_NEURON, BD_TYPE_CHANNEL, BD_TYPE_SYNAPSE, BD_TYPE_OUTPUT, BD_TYPE_RATE, BD_TYPE_INPUT, BD_TYPE_GROUP,
    BD_TYPE_PLASTICITY
} bd_type_kind;

/* How a per-element value is given: one quantity (a), uniform in [a, b), normal (mean a, sd b), a file of
 * values (a: the path, relative to the model file), or any initializer of docs/toolbox.md as its JSON text
 * (BD_INIT_SPEC, a: '{"gamma": {"shape": 2, "scale": "5 ms"}}'; `${name}` is substituted in the text). */
typedef enum bd_init_kind { BD_INIT_VALUE, BD_INIT_UNIFORM, BD_INIT_NORMAL, BD_INIT_FILE, BD_INIT_SPEC } bd_init_kind;

BD_API bd_status bd_model_new(const char *name, bd_model **out);
BD_API void bd_model_free(bd_model *m);
/* Reads a model file and every file it includes. Messages: "file:line:col: at $.json.path: what". */
BD_API bd_status bd_model_load(const char *path, bd_model **out);
/* The same from memory; `name` labels messages and anchors relative paths (includes, files). */
BD_API bd_status bd_model_load_text(const char *text, const char *name, bd_model **out);

/* Top-level settings: "doc", and the run settings "dt", "duration", "seed", "precision", "device",
 * "threads" (docs/model-format.md). */
BD_API bd_status bd_model_set(bd_model *m, const char *key, const char *value);

/* A type. Scalar keys (bd_mtype_set): "doc", "equations" (the whole text), "threshold", "refractory",
 * "method", "current", "into", "state". List keys (bd_mtype_add appends one item): "equations" (one
 * statement), "reset", "on_spike", "reads", "inputs". Group types hold instances: pass the type as the
 * `group` argument of the bd_model_add_* calls. */
BD_API bd_status bd_model_add_type(bd_model *m, const char *name, bd_type_kind kind, bd_mtype **out);
BD_API bd_status bd_mtype_set(bd_mtype *t, const char *key, const char *value);
BD_API bd_status bd_mtype_add(bd_mtype *t, const char *key, const char *item);
/* The default of a parameter (a quantity; for group types any text substituted for `${name}`). */
BD_API bd_status bd_mtype_param(bd_mtype *t, const char *name, const char *value);
/* A neuron's channel: an instance of a channel type, whose parameters bd_minst_param overrides. */
BD_API bd_status bd_mtype_add_channel(bd_mtype *t, const char *name, const char *channel_type, bd_minst **out);

/* Instances, in `group` (a group type) or at the model's top level (group NULL). */
BD_API bd_status bd_model_add_population(bd_model *m, bd_mtype *group, const char *name, const char *type,
                                         size_t size, bd_minst **out);
BD_API bd_status bd_model_add_projection(bd_model *m, bd_mtype *group, const char *name, const char *pre,
                                         const char *post, bd_minst **out);
/* type: an input type, or the built-in generators "constant" (parameter "value") and "poisson"
 * (parameters "rate", "weight", "count"; key "target"). into: the population. */
BD_API bd_status bd_model_add_input(bd_model *m, bd_mtype *group, const char *name, const char *type,
                                    const char *into, bd_minst **out);
BD_API bd_status bd_model_add_group(bd_model *m, bd_mtype *group, const char *name, const char *group_type,
                                    bd_minst **out);

/* Instance keys: "size" (populations, also "${n}"), "target", "delay", "include_self" ("true"/"false"),
 * "storage", "weight" (a quantity), "into" (inputs, couplings), "coupling_source" and "coupling_mode"
 * ("additive"/"diffusive": a coupling projection), "spike_times" (a spike-time source: the JSON text of
 * {"indices": [...], "times": [...]} or {"file": ...}). */
BD_API bd_status bd_minst_set(bd_minst *i, const char *key, const char *value);
/* Connectivity: "all2all", "one2one" (value NULL), "fixed_prob" (p), "fixed_outdegree" (k), "file" (path of
 * an (nnz, 2) integer NPY array of pre, post pairs), or any rule of docs/toolbox.md with its value as JSON
 * text ("small_world", '{"num_neighbor": 4, "prob": 0.1}'; "matrix", "m.npy"). */
BD_API bd_status bd_minst_set_conn(bd_minst *i, const char *kind, const char *value);
BD_API bd_status bd_minst_param(bd_minst *i, const char *name, bd_init_kind kind, const char *a, const char *b);
BD_API bd_status bd_minst_init(bd_minst *i, const char *var, bd_init_kind kind, const char *a, const char *b);
BD_API bd_status bd_minst_weight(bd_minst *i, bd_init_kind kind, const char *a, const char *b);
/* Per-connection delays of a coupling projection: an initializer in ms (instead of one "delay"). */
BD_API bd_status bd_minst_delays(bd_minst *i, bd_init_kind kind, const char *a, const char *b);
/* A projection's synapse or output (part "synapse" / "output"), whose parameters bd_minst_param sets. */
BD_API bd_status bd_minst_add_part(bd_minst *proj, const char *part, const char *type, bd_minst **out);

/* Monitors: kind "spikes" (target a population path), "var" ("E.V"), "rate"; then keys "every",
 * "window", and bd_model_monitor_index for recorded elements (default all). */
typedef struct bd_mmonitor bd_mmonitor;
BD_API bd_status bd_model_add_monitor(bd_model *m, const char *name, const char *kind, const char *target,
                                      bd_mmonitor **out);
BD_API bd_status bd_mmonitor_set(bd_mmonitor *mon, const char *key, const char *value);
BD_API bd_status bd_mmonitor_index(bd_mmonitor *mon, long long index);

/* Resolves the whole tree (every name, unit and equation), keeping nothing: BD_OK for a valid model. */
BD_API bd_status bd_model_check(const bd_model *m);
/* A readable one-paragraph summary of a valid model (populations with sizes, projections, inputs,
 * monitors), malloc'd; resolves the tree as bd_model_check does. */
BD_API bd_status bd_model_describe(const bd_model *m, char **text);

#ifdef __cplusplus
}
#endif
#endif
