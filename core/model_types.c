/* The built-in type library and a flat, self-contained view of a model's type definitions
 * (include/bdyn/model_types.h), for `bdyn list-types` and docs/models.md. Reads the model tree only: the
 * loader and the resolver are not involved beyond loading. */
#include "bdyn/model_types.h"
#include "model_impl.h"
#include "expr.h"
#include "error.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef BDYN_MODELS_DIR
#define BDYN_MODELS_DIR "models"
#endif

/* ------------------------------------------------------------------------------------------------ */
/* The library                                                                                      */

typedef struct libfile {
    char name[256];
    char path[PATH_MAX];
} libfile;

static int libfile_cmp(const void *a, const void *b) { return strcmp(((const libfile *)a)->name, ((const libfile *)b)->name); }

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Adds the *.json files of dir/lib whose names are not yet listed (earlier folders win, as for includes). */
static bd_status scan(const char *dir, size_t dlen, libfile **files, size_t *n, size_t *cap, int *found)
{
    char lib[PATH_MAX];
    if (snprintf(lib, sizeof lib, "%.*s/lib", (int)dlen, dir) >= (int)sizeof lib || !is_dir(lib)) return BD_OK;
    DIR *d = opendir(lib);
    if (!d) return BD_OK;
    *found = 1;
    bd_status st = BD_OK;
    for (struct dirent *e; !st && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || len >= sizeof((*files)->name) || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        int dup = 0;
        for (size_t k = 0; k < *n && !dup; k++) dup = strcmp((*files)[k].name, e->d_name) == 0;
        if (dup) continue;
        if (*n == *cap) {
            size_t nc = *cap ? 2 * *cap : 16;
            libfile *f = realloc(*files, nc * sizeof *f);
            if (!f) {
                st = bd_fail(BD_ERR_NOMEM, "bd_model_load_library: out of memory");
                break;
            }
            *files = f, *cap = nc;
        }
        libfile *f = &(*files)[(*n)++];
        snprintf(f->name, sizeof f->name, "%s", e->d_name);
        if (snprintf(f->path, sizeof f->path, "%s/%s", lib, e->d_name) >= (int)sizeof f->path) (*n)--;
    }
    closedir(d);
    return st;
}

bd_status bd_model_load_library(bd_model **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_load_library: NULL argument");
    *out = NULL;
    libfile *files = NULL;
    size_t n = 0, cap = 0;
    int found = 0;
    bd_status st = BD_OK;
    const char *env = getenv("BDYN_MODEL_PATH");
    while (!st && env && *env) {
        size_t len = strcspn(env, ":");
        if (len) st = scan(env, len, &files, &n, &cap, &found);
        env += len + (env[len] == ':');
    }
    if (!st) st = scan(BDYN_MODELS_DIR, strlen(BDYN_MODELS_DIR), &files, &n, &cap, &found);
    if (!st && !found)
        st = bd_fail(BD_ERR_NOT_FOUND, "no built-in type library: no lib folder in $BDYN_MODEL_PATH or in %s",
                     BDYN_MODELS_DIR);
    if (st) return free(files), st;
    qsort(files, n, sizeof *files, libfile_cmp);
    /* a generated model that only includes the files (absolute paths: found exactly where listed) */
    cJSON *root = cJSON_CreateObject(), *inc = root ? cJSON_AddArrayToObject(root, "include") : NULL;
    int ok = root && inc && cJSON_AddNumberToObject(root, "bdyn", 1) && cJSON_AddStringToObject(root, "name", "library");
    for (size_t k = 0; k < n && ok; k++) {
        char abs[PATH_MAX];
        cJSON *s = cJSON_CreateString(realpath(files[k].path, abs) ? abs : files[k].path);
        ok = s && cJSON_AddItemToArray(inc, s);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    free(files);
    if (!text) return bd_fail(BD_ERR_NOMEM, "bd_model_load_library: out of memory");
    st = bd_model_load_text(text, "built-in library", out);
    cJSON_free(text);
    return st ? bd_fail_context(st, "loading the built-in type library") : BD_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Type views                                                                                       */

/* The public struct first, so that the pointer handed out is the allocation; the rest owns the strings. */
typedef struct info_box {
    bd_type_info info;
    bd_type_param *params;
    const char **keys, **values;
    char **owned;
    int nowned, capowned;
    int oom; /* an allocation failed on the way */
} info_box;

/* Takes ownership of s, a fresh allocation: NULL means it failed. */
static const char *own(info_box *b, char *s)
{
    if (!s) return b->oom = 1, NULL;
    if (b->nowned == b->capowned) {
        int nc = b->capowned ? 2 * b->capowned : 32;
        char **o = realloc(b->owned, (size_t)nc * sizeof *o);
        if (!o) return free(s), b->oom = 1, NULL;
        b->owned = o, b->capowned = nc;
    }
    return b->owned[b->nowned++] = s;
}

static const char *sdup(info_box *b, const char *s) { return own(b, strdup(s ? s : "")); }

/* The items of a list joined by sep, owned by b. */
static const char *join(info_box *b, const strlist *l, const char *sep)
{
    size_t len = 1;
    for (int k = 0; k < l->n; k++) len += strlen(l->s[k]) + strlen(sep);
    char *s = malloc(len);
    if (!s) return own(b, NULL);
    s[0] = '\0';
    for (int k = 0; k < l->n; k++) {
        if (k) strcat(s, sep);
        strcat(s, l->s[k]);
    }
    return own(b, s);
}

void bd_type_info_free(bd_type_info *info)
{
    if (!info) return;
    info_box *b = (info_box *)info;
    for (int k = 0; k < b->nowned; k++) free(b->owned[k]);
    free(b->owned), free(b->params), free(b->keys), free(b->values);
    free(b);
}

int bd_model_type_count(const bd_model *m) { return m ? m->ntypes : 0; }

static int in_list(const strlist *l, const char *name)
{
    for (int k = 0; k < l->n; k++)
        if (strcmp(l->s[k], name) == 0) return 1;
    return 0;
}

/* What a declared parameter is, from the type's kind and its lists (docs/model-format.md). */
static const char *role_of(const bd_mtype *t, const char *name, int is_const, int has_default)
{
    int neuronish = t->kind == BD_TYPE_NEURON || t->kind == BD_TYPE_RATE;
    if (neuronish && (t->has_inputs ? in_list(&t->inputs, name) : strcmp(name, "I_syn") == 0)) return "input";
    if (t->kind == BD_TYPE_NEURON && strcmp(name, "I_channels") == 0) return "channels";
    if (t->kind == BD_TYPE_CHANNEL || t->kind == BD_TYPE_OUTPUT) {
        if (t->has_reads ? in_list(&t->reads, name) : strcmp(name, "V") == 0) return "read";
        if (t->kind == BD_TYPE_OUTPUT && !has_default) return "synapse";
    }
    return is_const ? "constant" : "parameter";
}

/* A default as text: the loader writes bare JSON numbers with %.17g ("0.10000000000000001"); the shortest
 * text that reads back as the same double is what the file most likely said. */
static const char *default_text(info_box *b, const char *v)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end) return sdup(b, v);
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return sdup(b, buf);
}

static void add_key(info_box *b, int *nk, const char *key, const char *value)
{
    if (!value) return; /* not set, or out of memory (b->oom says which) */
    b->keys[*nk] = key;
    b->values[*nk] = value;
    (*nk)++;
}

bd_status bd_model_type_info(const bd_model *m, int index, bd_type_info **out)
{
    static const char fn[] = "bd_model_type_info";
    if (!m || !out) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL argument", fn);
    if (index < 0 || index >= m->ntypes)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: index %d outside [0, %d)", fn, index, m->ntypes);
    const bd_mtype *t = m->types[index];
    info_box *b = calloc(1, sizeof *b);
    if (!b) return bd_fail(BD_ERR_NOMEM, "%s: out of memory", fn);
    bd_type_info *I = &b->info;
    int ok = 1;
    /* the equations' text: statements of a list one per line, or the one text as written */
    const char *eq = t->equations.n ? join(b, &t->equations, "\n") : sdup(b, "");
    ok = eq != NULL;
    I->name = sdup(b, t->name);
    I->kind = sdup(b, bd_type_kind_name(t->kind));
    I->doc = sdup(b, t->doc);
    I->file = sdup(b, bd_model_src_path(m, &t->at));
    I->equations = eq;
    ok = ok && I->name && I->kind && I->doc && I->file;

    /* units from the parsed equations (a type's own equations parse alone: docs/model-format.md); when they do
     * not, the parameters are still listed, without units */
    bd_eqs *e = NULL;
    if (ok && eq[0] && bd_eqs_parse(eq, t->name, &e) != BD_OK) e = NULL;
    int cap = t->params.n + (e ? e->nsyms : 0);
    b->params = calloc((size_t)(cap ? cap : 1), sizeof *b->params);
    ok = ok && b->params;
    int np = 0;
    for (int s = 1; ok && e && s < e->nsyms; s++) {
        const bd_symbol *y = &e->syms[s];
        if (y->kind != BD_SYM_PARAM && y->kind != BD_SYM_CONST) continue;
        const mentry *d = bd_mmap_get(&t->params, y->name);
        bd_type_param *p = &b->params[np++];
        p->name = sdup(b, y->name);
        p->unit = sdup(b, y->unit_text);
        p->default_value = d ? default_text(b, d->v.a) : NULL;
        p->role = role_of(t, y->name, y->kind == BD_SYM_CONST, d != NULL);
        ok = p->name && p->unit && (!d || p->default_value);
    }
    for (int k = 0; ok && k < t->params.n; k++) {
        const char *nm = t->params.e[k].name;
        if (e && bd_eqs_find(e, nm) >= 0) continue;
        bd_type_param *p = &b->params[np++];
        p->name = sdup(b, nm);
        p->unit = sdup(b, "");
        p->default_value = default_text(b, t->params.e[k].v.a);
        p->role = "parameter";
        ok = p->name && p->unit && p->default_value;
    }
    bd_eqs_free(e);
    I->nparams = np;
    I->params = b->params;

    enum { NKEYS = 16 };
    b->keys = calloc(NKEYS, sizeof *b->keys);
    b->values = calloc(NKEYS, sizeof *b->values);
    ok = ok && b->keys && b->values;
    int nk = 0;
    if (ok) {
        add_key(b, &nk, "threshold", t->threshold ? sdup(b, t->threshold) : NULL);
        add_key(b, &nk, "reset", t->reset.n ? join(b, &t->reset, "; ") : NULL);
        add_key(b, &nk, "refractory", t->refractory ? sdup(b, t->refractory) : NULL);
        add_key(b, &nk, "method", t->method ? sdup(b, t->method) : NULL);
        add_key(b, &nk, "current", t->current ? sdup(b, t->current) : NULL);
        add_key(b, &nk, "reads", t->has_reads ? join(b, &t->reads, ", ") : NULL);
        add_key(b, &nk, "into", t->into ? sdup(b, t->into) : NULL);
        add_key(b, &nk, "inputs", t->has_inputs ? join(b, &t->inputs, ", ") : NULL);
        add_key(b, &nk, "on_spike", t->has_on_spike ? join(b, &t->on_spike, "; ") : NULL);
        add_key(b, &nk, "state", t->state ? sdup(b, t->state) : NULL);
        add_key(b, &nk, "scale", t->scale ? sdup(b, t->scale) : NULL);
        /* plasticity rules: traces of each side and what a spike on each side does */
        add_key(b, &nk, "pre", t->pre.n ? join(b, &t->pre, ", ") : NULL);
        add_key(b, &nk, "post", t->post.n ? join(b, &t->post, ", ") : NULL);
        add_key(b, &nk, "on_pre", t->on_pre.n ? join(b, &t->on_pre, "; ") : NULL);
        add_key(b, &nk, "on_post", t->on_post.n ? join(b, &t->on_post, "; ") : NULL);
        if (t->nchannels) {
            size_t len = 1;
            for (int c = 0; c < t->nchannels; c++) len += strlen(t->channels[c]->name) + strlen(t->channels[c]->type) + 4;
            char *s = malloc(len);
            if (s) {
                s[0] = '\0';
                for (int c = 0; c < t->nchannels; c++)
                    snprintf(s + strlen(s), len - strlen(s), "%s%s: %s", c ? ", " : "", t->channels[c]->name,
                             t->channels[c]->type);
            }
            add_key(b, &nk, "channels", own(b, s));
        }
    }
    ok = ok && !b->oom;
    I->nkeys = nk;
    I->keys = b->keys;
    I->values = b->values;
    if (!ok) {
        bd_type_info_free(I);
        return bd_fail(BD_ERR_NOMEM, "%s: out of memory", fn);
    }
    *out = I;
    return BD_OK;
}
