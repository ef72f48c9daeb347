/* The built-in type library (the JSON files of models/lib) and a readable view of the type definitions of a loaded
 * model: what `bdyn list-types` prints and docs/models.md is generated from. */
#ifndef BDYN_MODEL_TYPES_H
#define BDYN_MODEL_TYPES_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads every built-in type: a model that includes each lib/<name>.json found, a name found in several
 * places taken where model includes find it first: each folder of $BDYN_MODEL_PATH, then the library's
 * models folder (compile-time BDYN_MODELS_DIR). Files are read in name order. BD_ERR_NOT_FOUND when no
 * lib folder exists; loader errors (file:line:col) as bd_model_load gives them. */
BD_API bd_status bd_model_load_library(bd_model **out);

/* One parameter of a type: every parameter its equations declare (`tau : ms`), in declaration order,
 * then any default without a declaration (which bd_model_check rejects). */
typedef struct bd_type_param {
    const char *name;
    const char *unit;          /* as declared ("ms", "mV/ms", "1"); "" when the equations do not declare it */
    const char *default_value; /* the type's default quantity, NULL when it has none */
    /* "parameter" (one value per element), "constant" (one shared value), "input" (an input variable:
     * replaced by the sum of what flows in), "read" (a variable of the parent neuron, channels and outputs),
     * "channels" (I_channels: the sum of the channels' currents), "synapse" (an output's parameter without a
     * default: bound to the synapse variable of that name, e.g. g) */
    const char *role;
} bd_type_param;

typedef struct bd_type_info {
    const char *name, *kind, *doc; /* doc "" when none */
    const char *file;              /* the file that defines it ("" for types built in code) */
    const char *equations;         /* the statements, one per line ("" when none) */
    int nparams;
    const bd_type_param *params;
    /* further settings as text, in a fixed order: threshold, reset, refractory, method, current, reads, into,
     * inputs, on_spike, state, scale, pre, post, on_pre, on_post, channels (only those the type sets) */
    int nkeys;
    const char *const *keys, *const *values;
} bd_type_info;

/* The number of type definitions of a model (0 for NULL). */
BD_API int bd_model_type_count(const bd_model *m);
/* The type at index (0 .. count-1, in load order: included files first, each in file order), as one
 * allocation that bd_type_info_free releases; independent of m afterwards. */
BD_API bd_status bd_model_type_info(const bd_model *m, int index, bd_type_info **out);
BD_API void bd_type_info_free(bd_type_info *info);

#ifdef __cplusplus
}
#endif
#endif
