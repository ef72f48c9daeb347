/* Model files (docs/model-format.md): reads the JSON of a model and the files it includes and builds the
 * model tree with the calls of include/bdyn/model.h. This layer checks the shape of the JSON (keys, value
 * types, the format version); names, units and equations are checked when the tree is resolved. */
#include "model_impl.h"
#include "error.h"
#include "jsonpos.h"
#include "nearest.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BDYN_MODELS_DIR
#define BDYN_MODELS_DIR "models"
#endif

#define MAX_INCLUDE_DEPTH 32

typedef struct loader {
    bd_model *m;
    const char *path, *text; /* the file being read */
    int src;
    char *stack[MAX_INCLUDE_DEPTH]; /* canonical paths of the files being read, for include cycles */
    int depth;
} loader;

/* "file:line:col: at $.path: msg" about the file being read. */
static bd_status fail(const loader *L, const char *jpath, bd_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bd_status fail(const loader *L, const char *jpath, bd_status st, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    morigin o = {L->src, (char *)jpath};
    return bd_model_fail(L->m, &o, "", st, "%s", msg);
}

/* An API call failed for the value at jpath: its message gets the location. */
static bd_status ctx(const loader *L, const char *jpath, bd_status st)
{
    if (st == BD_OK) return st;
    if (strstr(bd_last_error(), ": at $")) return st; /* the builder already named the place */
    morigin o = {L->src, (char *)jpath};
    return bd_model_context(L->m, &o, "", st);
}

static bd_status check_keys(const loader *L, const cJSON *obj, const char *jpath, const char *const *keys, size_t n)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        size_t i = 0;
        while (i < n && keys[i] && strcmp(it->string, keys[i]) != 0) i++;
        if (i < n && keys[i]) continue;
        char sub[600];
        if (snprintf(sub, sizeof sub, "%s.%s", jpath, it->string) >= (int)sizeof sub) sub[0] = '\0';
        const char *near = bd_nearest_name(it->string, keys, n);
        return fail(L, sub, BD_ERR_PARSE, "unknown key '%s'%s%s%s", it->string, near ? "; did you mean '" : "",
                    near ? near : "", near ? "'?" : "");
    }
    return BD_OK;
}

static void sub_path(char *out, size_t cap, const char *jpath, const char *key)
{
    if (snprintf(out, cap, "%s.%s", jpath, key) >= (int)cap) out[0] = '\0'; /* no position rather than a wrong one */
}

static const cJSON *get(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

/* A JSON scalar as the text the tree stores: strings as they are, numbers in full precision. */
static bd_status scalar_text(const loader *L, const cJSON *v, const char *jpath, const char *what, char *buf,
                             size_t cap, const char **out)
{
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
        return BD_OK;
    }
    if (cJSON_IsNumber(v)) {
        snprintf(buf, cap, "%.17g", v->valuedouble);
        *out = buf;
        return BD_OK;
    }
    if (cJSON_IsBool(v) && strcmp(what, "a boolean") == 0) {
        snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
        *out = buf;
        return BD_OK;
    }
    return fail(L, jpath, BD_ERR_PARSE, "expected %s", what);
}

static bd_status string_value(const loader *L, const cJSON *v, const char *jpath, const char **out)
{
    if (!cJSON_IsString(v)) return fail(L, jpath, BD_ERR_PARSE, "expected a string");
    *out = v->valuestring;
    return BD_OK;
}

/* A quantity, or an initializer {"uniform": [lo, hi]} | {"normal": [mean, sd]} | {"file": "x.npy"} |
 * {"constant": q} | any other initializer of docs/toolbox.md, kept as its JSON text (BD_INIT_SPEC) and
 * checked when the model is resolved, where the units and sizes are known. */
static bd_status init_value(const loader *L, const cJSON *v, const char *jpath, bd_init_kind *kind, char *a, char *b,
                            size_t cap)
{
    const char *s = NULL;
    bd_status st;
    *kind = BD_INIT_VALUE;
    b[0] = '\0';
    if (!cJSON_IsObject(v)) {
        if ((st = scalar_text(L, v, jpath, "a quantity (a string such as \"20 ms\" or a number) or an initializer",
                              a, cap, &s)))
            return st;
        if (s != a) snprintf(a, cap, "%s", s);
        return BD_OK;
    }
    static const char *const keys[] = {"uniform", "normal", "file", "constant", "truncated_normal", "lognormal",
                                       "gamma", "exponential", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                       "kaiming_normal", "lecun_uniform", "lecun_normal", "orthogonal",
                                       "gaussian_decay", "dog_decay", "from_conn", "matrix"};
    const size_t nkeys = sizeof keys / sizeof keys[0];
    if ((st = check_keys(L, v, jpath, keys, nkeys))) return st;
    const cJSON *it = v->child;
    if (!it || it->next)
        return fail(L, jpath, BD_ERR_PARSE, "an initializer has one key, such as \"uniform\", \"normal\", \"file\" or "
                    "\"gamma\" (docs/toolbox.md)");
    char sub[600];
    sub_path(sub, sizeof sub, jpath, it->string);
    if (strcmp(it->string, "file") == 0) {
        if ((st = string_value(L, it, sub, &s))) return st;
        *kind = BD_INIT_FILE;
        snprintf(a, cap, "%s", s);
        return BD_OK;
    }
    if (strcmp(it->string, "constant") == 0) {
        if ((st = scalar_text(L, it, sub, "a quantity", a, cap, &s))) return st;
        if (s != a) snprintf(a, cap, "%s", s);
        return BD_OK;
    }
    if (strcmp(it->string, "uniform") != 0 && strcmp(it->string, "normal") != 0) {
        char *text = cJSON_PrintUnformatted(v);
        if (!text) return fail(L, jpath, BD_ERR_NOMEM, "out of memory");
        size_t n = strlen(text);
        if (n < cap) memcpy(a, text, n + 1);
        free(text);
        if (n >= cap) return fail(L, jpath, BD_ERR_LIMIT, "initializer longer than %zu characters of JSON", cap - 1);
        *kind = BD_INIT_SPEC;
        return BD_OK;
    }
    *kind = it->string[0] == 'u' ? BD_INIT_UNIFORM : BD_INIT_NORMAL;
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2)
        return fail(L, sub, BD_ERR_PARSE, "expected an array of two quantities (%s)",
                    *kind == BD_INIT_UNIFORM ? "[low, high]" : "[mean, sd]");
    for (int k = 0; k < 2; k++) {
        char el[640];
        snprintf(el, sizeof el, "%s[%d]", sub, k);
        if ((st = scalar_text(L, cJSON_GetArrayItem(it, k), el, "a quantity", k ? b : a, cap, &s))) return st;
        if (s != (k ? b : a)) snprintf(k ? b : a, cap, "%s", s);
    }
    return BD_OK;
}

/* "params"/"init" of an instance: name -> quantity or initializer. */
static bd_status values(const loader *L, const cJSON *obj, const char *jpath, bd_minst *i, int init)
{
    if (!obj) return BD_OK;
    if (!cJSON_IsObject(obj)) return fail(L, jpath, BD_ERR_PARSE, "expected an object of name: value");
    char a[512], b[512], sub[600];
    for (const cJSON *it = obj->child; it; it = it->next) {
        sub_path(sub, sizeof sub, jpath, it->string);
        bd_init_kind kind;
        bd_status st = init_value(L, it, sub, &kind, a, b, sizeof a);
        if (st) return st;
        st = init ? bd_minst_init(i, it->string, kind, a, b[0] ? b : NULL)
                  : bd_minst_param(i, it->string, kind, a, b[0] ? b : NULL);
        if (st) return ctx(L, sub, st);
    }
    return BD_OK;
}

/* A list key of a type: one string or an array of strings. */
static bd_status string_list(const loader *L, const cJSON *v, const char *jpath, bd_mtype *t, const char *key,
                             int one_ok)
{
    if (!v) return BD_OK;
    if (one_ok && cJSON_IsString(v)) return ctx(L, jpath, bd_mtype_add(t, key, v->valuestring));
    if (!cJSON_IsArray(v)) return fail(L, jpath, BD_ERR_PARSE, "expected %san array of strings", one_ok ? "a string or " : "");
    int k = 0;
    for (const cJSON *it = v->child; it; it = it->next, k++) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s[%d]", jpath, k);
        if (!cJSON_IsString(it)) return fail(L, sub, BD_ERR_PARSE, "expected a string");
        bd_status st = bd_mtype_add(t, key, it->valuestring);
        if (st) return ctx(L, sub, st);
    }
    if (k == 0 && strcmp(key, "on_spike") == 0) t->has_on_spike = 1;
    if (k == 0 && strcmp(key, "reads") == 0) t->has_reads = 1;
    if (k == 0 && strcmp(key, "inputs") == 0) t->has_inputs = 1;
    return BD_OK;
}

static bd_status instances(loader *L, const cJSON *obj, bd_mtype *group);

static bd_status load_type(loader *L, const char *name, const cJSON *def, const char *jpath)
{
    static const char *const kinds[] = {"neuron", "channel", "synapse", "output", "rate", "input", "group", "plasticity"};
    static const char *const common[] = {"kind", "doc", "params", "equations"};
    static const char *const extra[][6] = {
        {"threshold", "reset", "refractory", "method", "channels", "inputs"},
        {"current", "reads", "into"},
        {"on_spike", "state", "scale"},
        {"current", "reads", "into"},
        {"method", "inputs"},
        {"into"},
        {"populations", "projections", "inputs", "groups"},
        {"pre", "post", "on_pre", "on_post"},
    };
    if (!cJSON_IsObject(def)) return fail(L, jpath, BD_ERR_PARSE, "expected a type definition object");
    char sub[600];
    sub_path(sub, sizeof sub, jpath, "kind");
    const cJSON *k = get(def, "kind");
    if (!k) return fail(L, jpath, BD_ERR_PARSE, "missing \"kind\" (neuron, channel, synapse, output, rate, input, group, "
                        "plasticity)");
    int kind = 0;
    while (kind < 8 && !(cJSON_IsString(k) && strcmp(k->valuestring, kinds[kind]) == 0)) kind++;
    if (kind == 8) {
        const char *near = cJSON_IsString(k) ? bd_nearest_name(k->valuestring, kinds, 8) : NULL;
        return fail(L, sub, BD_ERR_PARSE, "unknown kind (neuron, channel, synapse, output, rate, input, group, plasticity)%s%s%s",
                    near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    const char *keys[10];
    size_t nk = 0;
    for (size_t i = 0; i < 4; i++)
        if (!(kind == BD_TYPE_GROUP && i == 3)) keys[nk++] = common[i];
    for (size_t i = 0; i < 6 && extra[kind][i]; i++) keys[nk++] = extra[kind][i];
    bd_status st = check_keys(L, def, jpath, keys, nk);
    if (st) return st;
    bd_mtype *t;
    if ((st = bd_model_add_type(L->m, name, (bd_type_kind)kind, &t))) return st;
    static const char *const scalars[] = {"doc", "threshold", "refractory", "method", "current", "into", "state", "scale"};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        const cJSON *v = get(def, scalars[i]);
        if (!v) continue;
        char buf[64];
        const char *s = NULL;
        sub_path(sub, sizeof sub, jpath, scalars[i]);
        int quantity = strcmp(scalars[i], "refractory") == 0;
        if ((st = scalar_text(L, v, sub, quantity ? "a quantity or a condition" : "a string", buf, sizeof buf, &s)))
            return st;
        if (!quantity && !cJSON_IsString(v)) return fail(L, sub, BD_ERR_PARSE, "expected a string");
        if ((st = bd_mtype_set(t, scalars[i], s))) return ctx(L, sub, st);
    }
    const cJSON *eq = get(def, "equations");
    sub_path(sub, sizeof sub, jpath, "equations");
    if (cJSON_IsString(eq)) st = ctx(L, sub, bd_mtype_set(t, "equations", eq->valuestring));
    else if (eq) st = string_list(L, eq, sub, t, "equations", 0);
    if (st) return st;
    static const char *const lists[] = {"reset", "on_spike", "reads", "inputs", "pre", "post", "on_pre", "on_post"};
    for (size_t i = 0; i < 8; i++) {
        if (kind == BD_TYPE_GROUP) break; /* a group's "inputs" are instances */
        sub_path(sub, sizeof sub, jpath, lists[i]);
        if ((st = string_list(L, get(def, lists[i]), sub, t, lists[i], 0))) return st;
    }
    const cJSON *params = get(def, "params");
    sub_path(sub, sizeof sub, jpath, "params");
    if (params && !cJSON_IsObject(params)) return fail(L, sub, BD_ERR_PARSE, "expected an object of name: value");
    for (const cJSON *p = params ? params->child : NULL; p; p = p->next) {
        char buf[64], ps[700];
        const char *s = NULL;
        sub_path(ps, sizeof ps, sub, p->string);
        if ((st = scalar_text(L, p, ps, "a quantity (a string such as \"20 ms\" or a number)", buf, sizeof buf, &s)))
            return st;
        if ((st = bd_mtype_param(t, p->string, s))) return ctx(L, ps, st);
    }
    const cJSON *ch = get(def, "channels");
    sub_path(sub, sizeof sub, jpath, "channels");
    if (ch && !cJSON_IsObject(ch)) return fail(L, sub, BD_ERR_PARSE, "expected an object of name: {\"type\", \"params\"}");
    for (const cJSON *c = ch ? ch->child : NULL; c; c = c->next) {
        static const char *const ckeys[] = {"type", "params"};
        char cs[700], ts[720];
        sub_path(cs, sizeof cs, sub, c->string);
        if (!cJSON_IsObject(c)) return fail(L, cs, BD_ERR_PARSE, "expected {\"type\": T, \"params\": {...}}");
        if ((st = check_keys(L, c, cs, ckeys, 2))) return st;
        const char *ty = NULL;
        sub_path(ts, sizeof ts, cs, "type");
        if (!get(c, "type")) return fail(L, cs, BD_ERR_PARSE, "missing \"type\"");
        if ((st = string_value(L, get(c, "type"), ts, &ty))) return st;
        bd_minst *ci;
        if ((st = bd_mtype_add_channel(t, c->string, ty, &ci))) return st;
        sub_path(ts, sizeof ts, cs, "params");
        if ((st = values(L, get(c, "params"), ts, ci, 0))) return st;
    }
    return kind == BD_TYPE_GROUP ? instances(L, def, t) : BD_OK;
}

/* {"type": T, "params": {...}} of a projection's synapse or output. */
static bd_status part(loader *L, const cJSON *v, const char *jpath, bd_minst *proj, const char *name)
{
    static const char *const keys[] = {"type", "params"};
    if (!cJSON_IsObject(v)) return fail(L, jpath, BD_ERR_PARSE, "expected {\"type\": T, \"params\": {...}}");
    bd_status st = check_keys(L, v, jpath, keys, 2);
    if (st) return st;
    char sub[600];
    const char *ty = NULL;
    sub_path(sub, sizeof sub, jpath, "type");
    if (!get(v, "type")) return fail(L, jpath, BD_ERR_PARSE, "missing \"type\"");
    if ((st = string_value(L, get(v, "type"), sub, &ty))) return st;
    bd_minst *p;
    if ((st = bd_minst_add_part(proj, name, ty, &p))) return ctx(L, jpath, st);
    sub_path(sub, sizeof sub, jpath, "params");
    return values(L, get(v, "params"), sub, p, 0);
}

/* The connectivity object: one rule and the options include_self and storage. The rules of format 1 keep
 * their scalar text; the toolbox rules (docs/toolbox.md) are stored as the JSON text of their value and
 * checked when the model is resolved (${name} substitution works on that text). */
static bd_status conn(loader *L, const cJSON *v, const char *jpath, bd_minst *i)
{
    static const char *const keys[] = {"all2all", "one2one", "fixed_prob", "fixed_outdegree", "file", "fixed_pre_num",
                                       "fixed_post_num", "fixed_total_num", "gaussian_prob", "grid4", "grid8",
                                       "gridN", "small_world", "scale_free_ba", "ij", "csr", "matrix",
                                       "include_self", "storage"};
    const size_t nkeys = sizeof keys / sizeof keys[0];
    if (!cJSON_IsObject(v)) return fail(L, jpath, BD_ERR_PARSE, "expected a connectivity object such as {\"fixed_prob\": 0.02}");
    bd_status st = check_keys(L, v, jpath, keys, nkeys);
    if (st) return st;
    int nkinds = 0;
    char sub[600], buf[64];
    const char *s = NULL;
    for (const cJSON *it = v->child; it; it = it->next) {
        sub_path(sub, sizeof sub, jpath, it->string);
        if (strcmp(it->string, "include_self") == 0 || strcmp(it->string, "storage") == 0) {
            int self = it->string[0] == 'i';
            if ((st = scalar_text(L, it, sub, self ? "a boolean" : "a string", buf, sizeof buf, &s))) return st;
            if (self && !cJSON_IsBool(it)) return fail(L, sub, BD_ERR_PARSE, "expected true or false");
            if ((st = bd_minst_set(i, it->string, s))) return ctx(L, sub, st);
            continue;
        }
        if (nkinds++)
            return fail(L, sub, BD_ERR_PARSE, "a second connectivity rule: give one rule (all2all, one2one, fixed_prob, "
                        "fixed_outdegree, fixed_pre_num, ..., docs/toolbox.md)");
        s = NULL;
        char *text = NULL;
        int classic = !strcmp(it->string, "fixed_prob") || !strcmp(it->string, "fixed_outdegree");
        if (classic && !cJSON_IsObject(it)) {
            if ((st = scalar_text(L, it, sub, "a number", buf, sizeof buf, &s))) return st;
        } else if (!strcmp(it->string, "file")) {
            if ((st = string_value(L, it, sub, &s))) return st;
        } else if (!strcmp(it->string, "all2all") || !strcmp(it->string, "one2one")) {
            if (!cJSON_IsObject(it) || it->child) return fail(L, sub, BD_ERR_PARSE, "expected {}");
        } else {
            if (!(text = cJSON_PrintUnformatted(it))) return fail(L, sub, BD_ERR_NOMEM, "out of memory");
            s = text;
        }
        st = bd_minst_set_conn(i, it->string, s);
        free(text);
        if (st) return ctx(L, sub, st);
    }
    if (!nkinds)
        return fail(L, jpath, BD_ERR_PARSE, "missing the rule: all2all, one2one, fixed_prob, fixed_outdegree, ... "
                    "(docs/toolbox.md)");
    return BD_OK;
}

/* "spike_times" of a population: {"indices": [i...], "times": [t...]} (equal lengths) or {"file": "s.npy"}; the
 * shape is checked here, the values (ranges, units) when the model is resolved (model_resolve.c spike_table). */
static bd_status spike_times(loader *L, const cJSON *v, const char *jpath, bd_minst *i)
{
    static const char *const keys[] = {"indices", "times", "file"};
    if (!cJSON_IsObject(v))
        return fail(L, jpath, BD_ERR_PARSE, "expected {\"indices\": [...], \"times\": [...]} or {\"file\": \"spikes.npy\"}");
    bd_status st = check_keys(L, v, jpath, keys, 3);
    if (st) return st;
    const cJSON *ix = get(v, "indices"), *tm = get(v, "times"), *f = get(v, "file");
    char sub[600];
    if (f) {
        if (ix || tm) return fail(L, jpath, BD_ERR_PARSE, "\"file\" replaces \"indices\" and \"times\"");
        sub_path(sub, sizeof sub, jpath, "file");
        const char *s;
        if ((st = string_value(L, f, sub, &s))) return st;
    } else {
        if (!ix || !tm) return fail(L, jpath, BD_ERR_PARSE, "missing \"%s\"", ix ? "times" : "indices");
        for (int k = 0; k < 2; k++) {
            sub_path(sub, sizeof sub, jpath, keys[k]);
            if (!cJSON_IsArray(k ? tm : ix)) return fail(L, sub, BD_ERR_PARSE, "expected an array");
        }
        if (cJSON_GetArraySize(ix) != cJSON_GetArraySize(tm))
            return fail(L, sub, BD_ERR_PARSE, "%d times for %d indices", cJSON_GetArraySize(tm), cJSON_GetArraySize(ix));
    }
    char *text = cJSON_PrintUnformatted(v);
    if (!text) return fail(L, jpath, BD_ERR_NOMEM, "out of memory");
    st = bd_minst_set(i, "spike_times", text);
    free(text);
    return st ? ctx(L, jpath, st) : BD_OK;
}

static bd_status population(loader *L, const cJSON *v, const char *jpath, const char *name, bd_mtype *group)
{
    static const char *const keys[] = {"type", "size", "params", "init", "spike_times"};
    bd_status st = check_keys(L, v, jpath, keys, 5);
    if (st) return st;
    char sub[600], buf[64];
    const char *ty = NULL, *size = NULL;
    const cJSON *spk = get(v, "spike_times");
    if (spk && get(v, "type")) return fail(L, jpath, BD_ERR_PARSE, "a population has \"type\" or \"spike_times\", not both");
    if (!spk && !get(v, "type")) return fail(L, jpath, BD_ERR_PARSE, "missing \"type\"");
    if (!get(v, "size")) return fail(L, jpath, BD_ERR_PARSE, "missing \"size\"");
    sub_path(sub, sizeof sub, jpath, "type");
    if (spk && (st = bd_model_spike_type(L->m, &ty))) return ctx(L, jpath, st);
    if (!spk && (st = string_value(L, get(v, "type"), sub, &ty))) return st;
    sub_path(sub, sizeof sub, jpath, "size");
    if ((st = scalar_text(L, get(v, "size"), sub, "a positive integer", buf, sizeof buf, &size))) return st;
    bd_minst *i;
    if ((st = bd_model_add_population(L->m, group, name, ty, 0, &i))) return st;
    if ((st = bd_minst_set(i, "size", size))) return st;
    sub_path(sub, sizeof sub, jpath, "spike_times");
    if (spk && (st = spike_times(L, spk, sub, i))) return st;
    sub_path(sub, sizeof sub, jpath, "params");
    if ((st = values(L, get(v, "params"), sub, i, 0))) return st;
    sub_path(sub, sizeof sub, jpath, "init");
    return values(L, get(v, "init"), sub, i, 1);
}

/* {"source": "V", "mode": "diffusive" | "additive", "into": "I_syn"}: a continuous projection. */
static bd_status coupling(loader *L, const cJSON *v, const char *jpath, bd_minst *i)
{
    static const char *const keys[] = {"source", "mode", "into"};
    if (!cJSON_IsObject(v))
        return fail(L, jpath, BD_ERR_PARSE, "expected {\"source\": \"V\", \"mode\": \"diffusive\", \"into\": \"I_syn\"}");
    bd_status st = check_keys(L, v, jpath, keys, 3);
    if (st) return st;
    if (!get(v, "source")) return fail(L, jpath, BD_ERR_PARSE, "missing \"source\" (a variable of the pre population)");
    static const char *const slots[] = {"coupling_source", "coupling_mode", "into"};
    for (int k = 0; k < 3; k++) {
        const cJSON *x = get(v, keys[k]);
        char sub[600];
        const char *s = NULL;
        sub_path(sub, sizeof sub, jpath, keys[k]);
        if (!x) continue;
        if ((st = string_value(L, x, sub, &s))) return st;
        if (k == 1 && strcmp(s, "diffusive") && strcmp(s, "additive"))
            return fail(L, sub, BD_ERR_PARSE, "expected \"diffusive\" or \"additive\"");
        if ((st = bd_minst_set(i, slots[k], s))) return ctx(L, sub, st);
    }
    return BD_OK;
}

static bd_status projection(loader *L, const cJSON *v, const char *jpath, const char *name, bd_mtype *group)
{
    static const char *const keys[] = {"pre", "post", "conn", "weight", "delay", "target", "synapse", "output", "stp",
                                       "plasticity", "coupling"};
    bd_status st = check_keys(L, v, jpath, keys, 11);
    if (st) return st;
    char sub[600], buf[64], a[512], b[512];
    const char *pre = NULL, *post = NULL, *s = NULL;
    if (!get(v, "pre")) return fail(L, jpath, BD_ERR_PARSE, "missing \"pre\"");
    if (!get(v, "post")) return fail(L, jpath, BD_ERR_PARSE, "missing \"post\"");
    if (!get(v, "conn")) return fail(L, jpath, BD_ERR_PARSE, "missing \"conn\"");
    sub_path(sub, sizeof sub, jpath, "pre");
    if ((st = string_value(L, get(v, "pre"), sub, &pre))) return st;
    sub_path(sub, sizeof sub, jpath, "post");
    if ((st = string_value(L, get(v, "post"), sub, &post))) return st;
    bd_minst *i;
    if ((st = bd_model_add_projection(L->m, group, name, pre, post, &i))) return st;
    sub_path(sub, sizeof sub, jpath, "conn");
    if ((st = conn(L, get(v, "conn"), sub, i))) return st;
    const cJSON *w = get(v, "weight");
    sub_path(sub, sizeof sub, jpath, "weight");
    if (w) {
        bd_init_kind kind;
        if ((st = init_value(L, w, sub, &kind, a, b, sizeof a))) return st;
        if ((st = bd_minst_weight(i, kind, a, b[0] ? b : NULL))) return ctx(L, sub, st);
    }
    static const char *const scalars[] = {"delay", "target"};
    for (int k = 0; k < 2; k++) {
        const cJSON *x = get(v, scalars[k]);
        if (!x) continue;
        sub_path(sub, sizeof sub, jpath, scalars[k]);
        if (k == 1 && !cJSON_IsString(x)) return fail(L, sub, BD_ERR_PARSE, "expected the name of a state variable");
        if (k == 0 && cJSON_IsObject(x)) { /* per-connection delays */
            bd_init_kind kind;
            if ((st = init_value(L, x, sub, &kind, a, b, sizeof a))) return st;
            if ((st = bd_minst_delays(i, kind, a, b[0] ? b : NULL))) return ctx(L, sub, st);
            continue;
        }
        if ((st = scalar_text(L, x, sub, "a quantity or an initializer", buf, sizeof buf, &s))) return st;
        if ((st = bd_minst_set(i, scalars[k], s))) return ctx(L, sub, st);
    }
    static const char *const parts[] = {"synapse", "output", "stp", "plasticity"};
    for (int k = 0; k < 4; k++) {
        const cJSON *x = get(v, parts[k]);
        sub_path(sub, sizeof sub, jpath, parts[k]);
        if (x && (st = part(L, x, sub, i, parts[k]))) return st;
    }
    const cJSON *c = get(v, "coupling");
    sub_path(sub, sizeof sub, jpath, "coupling");
    return c ? coupling(L, c, sub, i) : BD_OK;
}

/* {"file": "I.npy", "dt": "1 ms", "into": "E", "target": "I_ext"}: a time series from an NPY file (kind "file" with
 * the parameters "file" and "dt"; read and checked against the population when the model is resolved). */
static bd_status file_input(loader *L, const cJSON *v, const char *jpath, const char *name, bd_mtype *group,
                            const char *into)
{
    char sub[600], buf[64];
    const char *s = NULL;
    bd_minst *i;
    bd_status st;
    if (get(v, "params")) return fail(L, jpath, BD_ERR_PARSE, "\"params\" belongs to inputs of a \"type\"");
    if (!get(v, "dt")) return fail(L, jpath, BD_ERR_PARSE, "missing \"dt\" (the interval between the file's rows)");
    if ((st = bd_model_add_input(L->m, group, name, "file", into, &i))) return st;
    sub_path(sub, sizeof sub, jpath, "file");
    if ((st = string_value(L, get(v, "file"), sub, &s))) return st;
    if ((st = bd_minst_param(i, "file", BD_INIT_FILE, s, NULL))) return ctx(L, sub, st);
    sub_path(sub, sizeof sub, jpath, "dt");
    if ((st = scalar_text(L, get(v, "dt"), sub, "a quantity", buf, sizeof buf, &s))) return st;
    if ((st = bd_minst_param(i, "dt", BD_INIT_VALUE, s, NULL))) return ctx(L, sub, st);
    const cJSON *t = get(v, "target");
    if (!t) return BD_OK;
    sub_path(sub, sizeof sub, jpath, "target");
    if (!cJSON_IsString(t)) return fail(L, sub, BD_ERR_PARSE, "expected the name of an input variable");
    return ctx(L, sub, bd_minst_set(i, "target", t->valuestring));
}

static bd_status input(loader *L, const cJSON *v, const char *jpath, const char *name, bd_mtype *group)
{
    static const char *const keys[] = {"type", "into", "params", "constant", "poisson", "file", "dt", "target"};
    bd_status st = check_keys(L, v, jpath, keys, 8);
    if (st) return st;
    char sub[600], buf[64];
    const char *into = NULL, *s = NULL;
    if (!get(v, "into")) return fail(L, jpath, BD_ERR_PARSE, "missing \"into\" (the population)");
    sub_path(sub, sizeof sub, jpath, "into");
    if ((st = string_value(L, get(v, "into"), sub, &into))) return st;
    const cJSON *ty = get(v, "type"), *c = get(v, "constant"), *p = get(v, "poisson"), *f = get(v, "file");
    if (!!ty + !!c + !!p + !!f != 1)
        return fail(L, jpath, BD_ERR_PARSE, "an input has one of \"type\", \"constant\", \"poisson\" or \"file\"");
    bd_minst *i;
    if (f) return file_input(L, v, jpath, name, group, into);
    for (int k = 6; k < 8; k++)
        if (get(v, keys[k])) {
            sub_path(sub, sizeof sub, jpath, keys[k]);
            return fail(L, sub, BD_ERR_PARSE, "\"%s\" belongs to inputs read from a \"file\"", keys[k]);
        }
    if (ty) {
        sub_path(sub, sizeof sub, jpath, "type");
        if ((st = string_value(L, ty, sub, &s))) return st;
        if ((st = bd_model_add_input(L->m, group, name, s, into, &i))) return st;
        sub_path(sub, sizeof sub, jpath, "params");
        return values(L, get(v, "params"), sub, i, 0);
    }
    if (get(v, "params")) return fail(L, jpath, BD_ERR_PARSE, "\"params\" belongs to inputs of a \"type\"");
    if ((st = bd_model_add_input(L->m, group, name, c ? "constant" : "poisson", into, &i))) return st;
    if (c) {
        sub_path(sub, sizeof sub, jpath, "constant");
        if ((st = scalar_text(L, c, sub, "a quantity", buf, sizeof buf, &s))) return st;
        return ctx(L, sub, bd_minst_param(i, "value", BD_INIT_VALUE, s, NULL));
    }
    static const char *const pkeys[] = {"rate", "weight", "target", "count"};
    sub_path(sub, sizeof sub, jpath, "poisson");
    if (!cJSON_IsObject(p)) return fail(L, sub, BD_ERR_PARSE, "expected {\"rate\", \"weight\", \"target\", \"count\"}");
    if ((st = check_keys(L, p, sub, pkeys, 4))) return st;
    for (int k = 0; k < 4; k++) {
        char ps[700];
        const cJSON *x = get(p, pkeys[k]);
        if (!x && k != 3) return fail(L, sub, BD_ERR_PARSE, "missing \"%s\"", pkeys[k]);
        if (!x) continue;
        sub_path(ps, sizeof ps, sub, pkeys[k]);
        if ((st = scalar_text(L, x, ps, k == 2 ? "a string" : "a quantity", buf, sizeof buf, &s))) return st;
        if (k == 2 && !cJSON_IsString(x)) return fail(L, ps, BD_ERR_PARSE, "expected the name of a state variable");
        st = k == 2 ? bd_minst_set(i, "target", s) : bd_minst_param(i, pkeys[k], BD_INIT_VALUE, s, NULL);
        if (st) return ctx(L, ps, st);
    }
    return BD_OK;
}

static bd_status group_inst(loader *L, const cJSON *v, const char *jpath, const char *name, bd_mtype *group)
{
    static const char *const keys[] = {"type", "params"};
    bd_status st = check_keys(L, v, jpath, keys, 2);
    if (st) return st;
    char sub[600];
    const char *ty = NULL;
    if (!get(v, "type")) return fail(L, jpath, BD_ERR_PARSE, "missing \"type\" (a group type)");
    sub_path(sub, sizeof sub, jpath, "type");
    if ((st = string_value(L, get(v, "type"), sub, &ty))) return st;
    bd_minst *i;
    if ((st = bd_model_add_group(L->m, group, name, ty, &i))) return st;
    const cJSON *params = get(v, "params");
    sub_path(sub, sizeof sub, jpath, "params");
    if (params && !cJSON_IsObject(params)) return fail(L, sub, BD_ERR_PARSE, "expected an object of name: value");
    for (const cJSON *p = params ? params->child : NULL; p; p = p->next) {
        char buf[64], ps[700];
        const char *s = NULL;
        sub_path(ps, sizeof ps, sub, p->string);
        if ((st = scalar_text(L, p, ps, "a string or a number", buf, sizeof buf, &s))) return st;
        if ((st = bd_minst_param(i, p->string, BD_INIT_VALUE, s, NULL))) return ctx(L, ps, st);
    }
    return BD_OK;
}

/* "populations", "projections", "inputs", "groups" of obj (the top level, or a group type). */
static bd_status instances(loader *L, const cJSON *obj, bd_mtype *group)
{
    static const char *const keys[] = {"populations", "projections", "inputs", "groups"};
    static bd_status (*const fns[])(loader *, const cJSON *, const char *, const char *, bd_mtype *) = {
        population, projection, input, group_inst};
    for (int k = 0; k < 4; k++) {
        const cJSON *o = get(obj, keys[k]);
        if (!o) continue;
        char jp[600], sub[700];
        snprintf(jp, sizeof jp, "%s.%s", group ? group->at.jpath : "$", keys[k]);
        if (!cJSON_IsObject(o)) return fail(L, jp, BD_ERR_PARSE, "expected an object of name: definition");
        for (const cJSON *it = o->child; it; it = it->next) {
            sub_path(sub, sizeof sub, jp, it->string);
            if (!cJSON_IsObject(it)) return fail(L, sub, BD_ERR_PARSE, "expected an object");
            bd_status st = fns[k](L, it, sub, it->string, group);
            if (st) return st;
        }
    }
    return BD_OK;
}

static bd_status monitors(loader *L, const cJSON *obj)
{
    if (!obj) return BD_OK;
    if (!cJSON_IsObject(obj)) return fail(L, "$.monitors", BD_ERR_PARSE, "expected an object of name: monitor");
    static const char *const keys[] = {"spikes", "var", "rate", "indices", "every", "window"};
    for (const cJSON *it = obj->child; it; it = it->next) {
        char jp[600], sub[700];
        sub_path(jp, sizeof jp, "$.monitors", it->string);
        if (!cJSON_IsObject(it)) return fail(L, jp, BD_ERR_PARSE, "expected a monitor object such as {\"spikes\": \"E\"}");
        bd_status st = check_keys(L, it, jp, keys, 6);
        if (st) return st;
        const cJSON *what = NULL;
        int nwhat = 0;
        for (int k = 0; k < 3; k++)
            if (get(it, keys[k])) what = get(it, keys[k]), nwhat++;
        if (nwhat != 1) return fail(L, jp, BD_ERR_PARSE, "a monitor has one of \"spikes\", \"var\" or \"rate\"");
        const char *target = NULL;
        sub_path(sub, sizeof sub, jp, what->string);
        if ((st = string_value(L, what, sub, &target))) return st;
        bd_mmonitor *mon;
        if ((st = bd_model_add_monitor(L->m, it->string, what->string, target, &mon))) return st;
        for (int k = 4; k < 6; k++) {
            const cJSON *x = get(it, keys[k]);
            char buf[64];
            const char *s = NULL;
            if (!x) continue;
            sub_path(sub, sizeof sub, jp, keys[k]);
            if ((st = scalar_text(L, x, sub, "a time", buf, sizeof buf, &s))) return st;
            if ((st = bd_mmonitor_set(mon, keys[k], s))) return ctx(L, sub, st);
        }
        const cJSON *idx = get(it, "indices");
        sub_path(sub, sizeof sub, jp, "indices");
        if (idx && !cJSON_IsArray(idx)) return fail(L, sub, BD_ERR_PARSE, "expected an array of element indices");
        int k = 0;
        for (const cJSON *x = idx ? idx->child : NULL; x; x = x->next, k++) {
            char el[720];
            snprintf(el, sizeof el, "%s[%d]", sub, k);
            double d = cJSON_IsNumber(x) ? x->valuedouble : -1;
            if (!(d >= 0 && d == floor(d) && d < 9e15)) return fail(L, el, BD_ERR_PARSE, "expected a non-negative integer");
            if ((st = bd_mmonitor_index(mon, (long long)d))) return st;
        }
        if (idx && k == 0) mon->has_idx = 1;
    }
    return BD_OK;
}

static bd_status run_settings(loader *L, const cJSON *run)
{
    if (!run) return BD_OK;
    if (!cJSON_IsObject(run)) return fail(L, "$.run", BD_ERR_PARSE, "expected an object of run settings");
    bd_status st = check_keys(L, run, "$.run", bd_model_run_keys, RUN_NKEYS);
    for (const cJSON *it = run->child; it && !st; it = it->next) {
        char sub[600], buf[64];
        const char *s;
        sub_path(sub, sizeof sub, "$.run", it->string);
        int textual = !strcmp(it->string, "precision") || !strcmp(it->string, "device");
        if ((st = scalar_text(L, it, sub, textual ? "a string" : "a number or a quantity", buf, sizeof buf, &s))) break;
        if (textual && !cJSON_IsString(it)) st = fail(L, sub, BD_ERR_PARSE, "expected a string");
        else st = ctx(L, sub, bd_model_set(L->m, it->string, s));
    }
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * Files and includes */


static int readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Where an include is: next to the including file, then in each folder of $BDYN_MODEL_PATH (':'-separated),
 * then in the library's models folder (so "lib/x.json" is models/lib/x.json). */
static int find_include(const char *from, const char *name, char *out, size_t cap)
{
    if (name[0] == '/') return snprintf(out, cap, "%s", name), readable(out);
    const char *slash = strrchr(from, '/');
    snprintf(out, cap, "%.*s%s", slash ? (int)(slash - from + 1) : 0, from, name);
    if (readable(out)) return 1;
    const char *env = getenv("BDYN_MODEL_PATH");
    while (env && *env) {
        size_t n = strcspn(env, ":");
        if (n) {
            snprintf(out, cap, "%.*s/%s", (int)n, env, name);
            if (readable(out)) return 1;
        }
        env += n + (env[n] == ':');
    }
    snprintf(out, cap, "%s/%s", BDYN_MODELS_DIR, name);
    return readable(out);
}

static bd_status load_text(loader *L, const char *path, const char *text, int included);

static bd_status includes(loader *L, const cJSON *inc)
{
    if (!inc) return BD_OK;
    if (!cJSON_IsArray(inc)) return fail(L, "$.include", BD_ERR_PARSE, "expected an array of file paths");
    int k = 0;
    for (const cJSON *it = inc->child; it; it = it->next, k++) {
        char sub[64], path[PATH_MAX], canon[PATH_MAX];
        snprintf(sub, sizeof sub, "$.include[%d]", k);
        if (!cJSON_IsString(it)) return fail(L, sub, BD_ERR_PARSE, "expected a file path");
        if (!find_include(L->path, it->valuestring, path, sizeof path))
            return fail(L, sub, BD_ERR_NOT_FOUND, "include '%s' not found (looked next to the file, in $BDYN_MODEL_PATH "
                        "and in %s)", it->valuestring, BDYN_MODELS_DIR);
        if (!realpath(path, canon)) snprintf(canon, sizeof canon, "%s", path);
        for (int d = 0; d < L->depth; d++) {
            if (strcmp(L->stack[d], canon) != 0) continue;
            char cycle[2048] = "";
            for (int e = d; e < L->depth; e++) {
                size_t n = strlen(cycle);
                snprintf(cycle + n, sizeof cycle - n, "%s -> ", L->stack[e]);
            }
            size_t n = strlen(cycle);
            if (snprintf(cycle + n, sizeof cycle - n, "%s", canon) < 0) cycle[0] = '\0';
            return fail(L, sub, BD_ERR_MODEL, "include cycle: %s", cycle);
        }
        /* A file reached twice without a cycle (a diamond) contributes its types once. */
        int seen = 0;
        for (int s = 0; s < L->m->nsrcs && !seen; s++) {
            char c2[PATH_MAX];
            seen = realpath(L->m->srcs[s].path, c2) && strcmp(c2, canon) == 0;
        }
        if (seen) continue;
        if (L->depth >= MAX_INCLUDE_DEPTH) return fail(L, sub, BD_ERR_LIMIT, "includes nested deeper than %d", MAX_INCLUDE_DEPTH);
        char *text;
        bd_status st = bd_read_text(path, "model file", &text);
        if (st) return ctx(L, sub, st);
        loader sub_l = *L;
        st = load_text(&sub_l, path, text, 1);
        free(text);
        if (st) return st;
    }
    return BD_OK;
}

/* One file: the main model (included = 0) or an included one, which contributes types only. */
static bd_status load_text(loader *L, const char *path, const char *text, int included)
{
    int src = bd_model_add_source(L->m, path, text);
    if (src < 0) return bd_fail(BD_ERR_NOMEM, "out of memory reading %s", path);
    L->path = L->m->srcs[src].path;
    L->text = L->m->srcs[src].text;
    L->src = src;
    char canon[PATH_MAX];
    if (!realpath(path, canon)) snprintf(canon, sizeof canon, "%s", path);
    if (!(L->stack[L->depth] = strdup(canon))) return bd_fail(BD_ERR_NOMEM, "out of memory reading %s", path);
    L->depth++;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(L->text, &end, 1);
    bd_status st = BD_OK;
    if (!root) {
        int line, col;
        bd_json_line_col(L->text, end ? end : L->text, &line, &col);
        st = bd_fail(BD_ERR_PARSE, "%s:%d:%d: malformed JSON", path, line, col);
    } else if (!cJSON_IsObject(root)) {
        st = fail(L, "$", BD_ERR_PARSE, "a model file holds one JSON object");
    } else {
        static const char *const keys[] = {"bdyn", "name", "doc", "include", "run", "types", "populations",
                                           "projections", "inputs", "groups", "monitors"};
        const cJSON *v = get(root, "bdyn");
        if (!(st = check_keys(L, root, "$", keys, included ? 6 : 11))) {
            if (!v) st = fail(L, "$", BD_ERR_PARSE, "missing \"bdyn\": the format version (1)");
            else if (!cJSON_IsNumber(v) || v->valuedouble != 1)
                st = fail(L, "$.bdyn", BD_ERR_PARSE, "unsupported format version (this bdyn reads format 1)");
        }
        const cJSON *name = get(root, "name"), *doc = get(root, "doc");
        if (!st && name && !cJSON_IsString(name)) st = fail(L, "$.name", BD_ERR_PARSE, "expected a string");
        if (!st && doc && !cJSON_IsString(doc)) st = fail(L, "$.doc", BD_ERR_PARSE, "expected a string");
        if (!st && !included && name) st = bd_model_set(L->m, "name", name->valuestring);
        if (!st && !included && doc) st = bd_model_set(L->m, "doc", doc->valuestring);
        if (!st) st = includes(L, get(root, "include"));
        /* the includes moved the current file: put it back */
        L->path = L->m->srcs[src].path, L->text = L->m->srcs[src].text, L->src = src;
        L->m->cur_src = src;
        const cJSON *types = get(root, "types");
        if (!st && types && !cJSON_IsObject(types)) st = fail(L, "$.types", BD_ERR_PARSE, "expected an object of name: type");
        for (const cJSON *t = types ? types->child : NULL; t && !st; t = t->next) {
            char jp[600];
            sub_path(jp, sizeof jp, "$.types", t->string);
            st = load_type(L, t->string, t, jp);
        }
        if (!st && !included) st = run_settings(L, get(root, "run"));
        if (!st && !included) st = instances(L, root, NULL);
        if (!st && !included) st = monitors(L, get(root, "monitors"));
    }
    cJSON_Delete(root);
    free(L->stack[--L->depth]);
    return st;
}

static bd_status load(const char *text, const char *name, bd_model **out)
{
    bd_model *m;
    const char *base = strrchr(name, '/');
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : name);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = '\0';
    bd_status st = bd_model_new(stem, &m);
    if (st) return st;
    if (!(m->base_dir = strdup(name))) {
        bd_model_free(m);
        return bd_fail(BD_ERR_NOMEM, "out of memory");
    }
    char *slash = strrchr(m->base_dir, '/');
    if (slash) slash[1] = '\0';
    else m->base_dir[0] = '\0';
    loader L = {.m = m};
    st = load_text(&L, name, text, 0);
    m->cur_src = -1; /* later calls from code build nodes without a file */
    if (st) {
        bd_model_free(m);
        return st;
    }
    *out = m;
    return BD_OK;
}

bd_status bd_model_load_text(const char *text, const char *name, bd_model **out)
{
    if (!text || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_load_text: NULL argument");
    *out = NULL;
    return load(text, name ? name : "<model>", out);
}

bd_status bd_model_load(const char *path, bd_model **out)
{
    if (!path || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_load: NULL argument");
    *out = NULL;
    char *text;
    bd_status st = bd_read_text(path, "model file", &text);
    if (st) return st;
    st = load(text, path, out);
    free(text);
    return st;
}
