/* Building a model tree in code (include/bdyn/model.h): the nodes, their setters and the messages that
 * name where a node was defined. The JSON loader (model_load.c) builds its trees with these calls too. */
#include "model_impl.h"
#include "error.h"
#include "jsonpos.h"
#include "nearest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bd_model_run_keys[RUN_NKEYS] = {"dt", "duration", "seed", "precision", "device", "threads"};

static bd_status nomem(void) { return bd_fail(BD_ERR_NOMEM, "out of memory building the model"); }

/* Replaces *slot with a copy of value (NULL clears it). */
static bd_status set_str(char **slot, const char *value)
{
    char *c = value ? strdup(value) : NULL;
    if (value && !c) return nomem();
    free(*slot);
    *slot = c;
    return BD_OK;
}

static bd_status list_add(strlist *l, const char *item)
{
    char **s = realloc(l->s, (size_t)(l->n + 1) * sizeof *s);
    if (!s) return nomem();
    l->s = s;
    if (!(s[l->n] = strdup(item))) return nomem();
    l->n++;
    return BD_OK;
}

static void list_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    l->s = NULL, l->n = 0;
}

static void mval_free(mval *v) { free(v->a), free(v->b); }

static bd_status mval_set(mval *v, bd_init_kind kind, const char *a, const char *b)
{
    mval n = {kind, a ? strdup(a) : NULL, b ? strdup(b) : NULL};
    if ((a && !n.a) || (b && !n.b)) {
        mval_free(&n);
        return nomem();
    }
    mval_free(v);
    *v = n;
    return BD_OK;
}

static void mmap_free(mmap *mp)
{
    for (int i = 0; i < mp->n; i++) free(mp->e[i].name), mval_free(&mp->e[i].v);
    free(mp->e);
    mp->e = NULL, mp->n = 0;
}

const mentry *bd_mmap_get(const mmap *mp, const char *name)
{
    for (int i = 0; i < mp->n; i++)
        if (strcmp(mp->e[i].name, name) == 0) return &mp->e[i];
    return NULL;
}

/* Sets name in the map (a second value for a name replaces the first). */
static bd_status mmap_set(mmap *mp, const char *name, bd_init_kind kind, const char *a, const char *b)
{
    for (int i = 0; i < mp->n; i++)
        if (strcmp(mp->e[i].name, name) == 0) return mval_set(&mp->e[i].v, kind, a, b);
    mentry *e = realloc(mp->e, (size_t)(mp->n + 1) * sizeof *e);
    if (!e) return nomem();
    mp->e = e;
    mentry *n = &e[mp->n];
    memset(n, 0, sizeof *n);
    if (!(n->name = strdup(name))) return nomem();
    mp->n++;
    return mval_set(&n->v, kind, a, b);
}

int bd_model_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= BD_EQ_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

/* The name rule of docs/model-format.md: an identifier, not starting with "__" (reserved for flattening). */
static bd_status check_name(const bd_model *m, const morigin *o, const char *what, const char *name)
{
    if (!bd_model_valid_name(name))
        return bd_model_fail(m, o, "", BD_ERR_PARSE, "invalid %s name '%s' (letters, digits and '_', not starting "
                             "with a digit, at most %d characters)", what, name ? name : "", BD_EQ_NAME_MAX - 1);
    if (strncmp(name, "__", 2) == 0)
        return bd_model_fail(m, o, "", BD_ERR_PARSE, "%s name '%s': names starting with '__' are reserved", what, name);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * Messages */

const char *bd_model_src_path(const bd_model *m, const morigin *o)
{
    return o && o->src >= 0 && o->src < m->nsrcs ? m->srcs[o->src].path : NULL;
}

const char *bd_model_src_text(const bd_model *m, const morigin *o)
{
    return o && o->src >= 0 && o->src < m->nsrcs ? m->srcs[o->src].text : NULL;
}

/* The deepest prefix of path that the text holds: a default that was not written points at its owner. */
static const char *find_prefix(const char *text, char *path)
{
    for (;;) {
        const char *p = bd_json_find(text, path);
        if (p) return p;
        char *dot = strrchr(path, '.'), *br = strrchr(path, '[');
        char *cut = dot > br ? dot : br;
        if (!cut || cut == path) return NULL;
        *cut = '\0';
    }
}

void bd_model_where(const bd_model *m, const morigin *o, const char *sub, char *out, size_t cap)
{
    const char *path = bd_model_src_path(m, o), *text = bd_model_src_text(m, o);
    if (!path || !text) {
        snprintf(out, cap, "%s", m->name ? m->name : "<model>");
        return;
    }
    char jp[512];
    snprintf(jp, sizeof jp, "%s%s", o->jpath ? o->jpath : "$", sub ? sub : "");
    const char *at = find_prefix(text, jp);
    int line = 1, col = 1;
    if (at) bd_json_line_col(text, at, &line, &col);
    snprintf(out, cap, "%s:%d:%d", path, line, col);
}

bd_status bd_model_context(const bd_model *m, const morigin *o, const char *sub, bd_status st)
{
    char where[600];
    bd_model_where(m, o, sub, where, sizeof where);
    return bd_fail_context(st, "%s: at %s%s", where, o && o->jpath ? o->jpath : "$", sub ? sub : "");
}

bd_status bd_model_fail(const bd_model *m, const morigin *o, const char *sub, bd_status st, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bd_fail(st, "%s", msg);
    return bd_model_context(m, o, sub, st);
}

/* ------------------------------------------------------------------------------------------------------------
 * The model and its types */

bd_status bd_model_new(const char *name, bd_model **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_new: NULL argument");
    *out = NULL;
    bd_model *m = calloc(1, sizeof *m);
    if (!m) return nomem();
    m->cur_src = -1;
    if (set_str(&m->name, name ? name : "model")) {
        free(m);
        return nomem();
    }
    *out = m;
    return BD_OK;
}

int bd_model_add_source(bd_model *m, const char *path, const char *text)
{
    msource *s = realloc(m->srcs, (size_t)(m->nsrcs + 1) * sizeof *s);
    if (!s) return -1;
    m->srcs = s;
    s[m->nsrcs].path = strdup(path);
    s[m->nsrcs].text = strdup(text);
    if (!s[m->nsrcs].path || !s[m->nsrcs].text) {
        free(s[m->nsrcs].path), free(s[m->nsrcs].text);
        return -1;
    }
    return m->nsrcs++;
}

static bd_status origin_set(morigin *o, int src, const char *parent, const char *sep, const char *name)
{
    size_t n = strlen(parent) + strlen(sep) + strlen(name) + 1;
    if (!(o->jpath = malloc(n))) return nomem();
    snprintf(o->jpath, n, "%s%s%s", parent, sep, name);
    o->src = src;
    return BD_OK;
}

bd_status bd_model_set(bd_model *m, const char *key, const char *value)
{
    if (!m || !key) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_set: NULL argument");
    if (strcmp(key, "doc") == 0) return set_str(&m->doc, value);
    if (strcmp(key, "name") == 0) return value ? set_str(&m->name, value) : BD_OK;
    for (int k = 0; k < RUN_NKEYS; k++)
        if (strcmp(key, bd_model_run_keys[k]) == 0) return set_str(&m->run[k], value);
    const char *near = bd_nearest_name(key, bd_model_run_keys, RUN_NKEYS);
    return bd_fail(BD_ERR_NOT_FOUND, "bd_model_set: unknown key '%s'%s%s%s", key, near ? "; did you mean '" : "",
                   near ? near : "", near ? "'?" : "");
}

const char *bd_type_kind_name(bd_type_kind k)
{
    static const char *const names[] = {"neuron", "channel", "synapse", "output", "rate", "input", "group", "plasticity"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const bd_mtype *bd_model_find_type(const bd_model *m, const char *name)
{
    for (int i = 0; i < m->ntypes; i++)
        if (strcmp(m->types[i]->name, name) == 0) return m->types[i];
    return NULL;
}

static void inst_free(bd_minst *i);

static void type_free(bd_mtype *t)
{
    if (!t) return;
    free(t->name), free(t->doc), free(t->threshold), free(t->refractory), free(t->method);
    free(t->current), free(t->into), free(t->state), free(t->scale);
    list_free(&t->equations), list_free(&t->reset), list_free(&t->on_spike), list_free(&t->reads);
    list_free(&t->inputs), list_free(&t->pre), list_free(&t->post), list_free(&t->on_pre), list_free(&t->on_post);
    mmap_free(&t->params);
    for (int i = 0; i < t->nchannels; i++) inst_free(t->channels[i]);
    for (int i = 0; i < t->ninsts; i++) inst_free(t->insts[i]);
    free(t->channels), free(t->insts), free(t->at.jpath);
    free(t);
}

/* Adds t to the model's types unless st is already a failure (or memory runs out): then frees t. */
static bd_status append_type(bd_model *m, bd_mtype *t, bd_status st)
{
    bd_mtype **ts = st ? NULL : realloc(m->types, (size_t)(m->ntypes + 1) * sizeof *ts);
    if (!st && !ts) st = nomem();
    if (st) {
        type_free(t);
        return st;
    }
    m->types = ts;
    ts[m->ntypes++] = t;
    return BD_OK;
}

bd_status bd_model_add_type(bd_model *m, const char *name, bd_type_kind kind, bd_mtype **out)
{
    if (!m || !name || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_add_type: NULL argument");
    *out = NULL;
    if ((unsigned)kind > BD_TYPE_PLASTICITY) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_add_type: bad kind %d", (int)kind);
    bd_mtype *t = calloc(1, sizeof *t);
    if (!t) return nomem();
    t->m = m;
    t->kind = kind;
    bd_status st = origin_set(&t->at, m->cur_src, "$.types", ".", name);
    if (!st) st = check_name(m, &t->at, "type", name);
    if (!st && !(t->name = strdup(name))) st = nomem();
    const bd_mtype *old = st ? NULL : bd_model_find_type(m, name);
    if (old) {
        char where[600];
        bd_model_where(m, &old->at, "", where, sizeof where);
        st = bd_model_fail(m, &t->at, "", BD_ERR_MODEL, "type '%s' is defined twice (first at %s)", name, where);
    }
    if ((st = append_type(m, t, st))) return st;
    *out = t;
    return BD_OK;
}

bd_status bd_mtype_set(bd_mtype *t, const char *key, const char *value)
{
    if (!t || !key) return bd_fail(BD_ERR_INVALID_ARG, "bd_mtype_set: NULL argument");
    static const char *const keys[] = {"doc", "equations", "threshold", "refractory", "method", "current", "into", "state",
                                       "scale"};
    char **slots[] = {&t->doc, NULL, &t->threshold, &t->refractory, &t->method, &t->current, &t->into, &t->state,
                      &t->scale};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (strcmp(key, keys[k]) != 0) continue;
        if (slots[k]) return set_str(slots[k], value);
        list_free(&t->equations);
        t->equations_is_list = 0;
        return value ? list_add(&t->equations, value) : BD_OK;
    }
    const char *near = bd_nearest_name(key, keys, sizeof keys / sizeof keys[0]);
    return bd_fail(BD_ERR_NOT_FOUND, "bd_mtype_set: unknown key '%s'%s%s%s", key, near ? "; did you mean '" : "",
                   near ? near : "", near ? "'?" : "");
}

bd_status bd_mtype_add(bd_mtype *t, const char *key, const char *item)
{
    if (!t || !key || !item) return bd_fail(BD_ERR_INVALID_ARG, "bd_mtype_add: NULL argument");
    if (strcmp(key, "equations") == 0) {
        if (!t->equations_is_list) list_free(&t->equations);
        t->equations_is_list = 1;
        return list_add(&t->equations, item);
    }
    if (strcmp(key, "reset") == 0) return list_add(&t->reset, item);
    if (strcmp(key, "on_spike") == 0) return t->has_on_spike = 1, list_add(&t->on_spike, item);
    if (strcmp(key, "reads") == 0) return t->has_reads = 1, list_add(&t->reads, item);
    if (strcmp(key, "inputs") == 0) return t->has_inputs = 1, list_add(&t->inputs, item);
    if (strcmp(key, "pre") == 0) return list_add(&t->pre, item);
    if (strcmp(key, "post") == 0) return list_add(&t->post, item);
    if (strcmp(key, "on_pre") == 0) return list_add(&t->on_pre, item);
    if (strcmp(key, "on_post") == 0) return list_add(&t->on_post, item);
    return bd_fail(BD_ERR_NOT_FOUND, "bd_mtype_add: unknown list key '%s' (equations, reset, on_spike, reads, inputs, "
                   "pre, post, on_pre, on_post)", key);
}

bd_status bd_mtype_param(bd_mtype *t, const char *name, const char *value)
{
    if (!t || !name || !value) return bd_fail(BD_ERR_INVALID_ARG, "bd_mtype_param: NULL argument");
    return mmap_set(&t->params, name, BD_INIT_VALUE, value, NULL);
}

/* The spike-time source type (core/model_impl.h): a reserved name, so that no user type can clash with it; built
 * in code (src -1), so that its messages name the model. The runner feeds `spike` from the table. */
bd_status bd_model_spike_type(bd_model *m, const char **name)
{
    static const char *const tname = "__spike_times";
    *name = tname;
    if (bd_model_find_type(m, tname)) return BD_OK;
    bd_mtype *t = calloc(1, sizeof *t);
    if (!t) return nomem();
    t->m = m;
    t->kind = BD_TYPE_NEURON;
    bd_status st = origin_set(&t->at, -1, "$.types", ".", tname);
    if (!st && !(t->name = strdup(tname))) st = nomem();
    if (!st) st = set_str(&t->doc, "Spike-time source (built in): element i spikes at the given times; 'spike' is 1 "
                                   "during the step that ends at round(t/dt)*dt (docs/model-format.md, Population).");
    if (!st) st = list_add(&t->equations, "spike : 1");
    if (!st) st = set_str(&t->threshold, "spike > 0.5");
    if (!st) st = mmap_set(&t->params, "spike", BD_INIT_VALUE, "0", NULL);
    return append_type(m, t, st);
}

/* ------------------------------------------------------------------------------------------------------------
 * Instances */

static void inst_free(bd_minst *i)
{
    if (!i) return;
    free(i->name), free(i->type), free(i->size), free(i->pre), free(i->post), free(i->target), free(i->delay);
    free(i->include_self), free(i->storage), free(i->into), free(i->conn_kind), free(i->conn_value);
    free(i->coupling_source), free(i->coupling_mode), free(i->spike_times);
    mval_free(&i->weight), mval_free(&i->delays);
    mmap_free(&i->params), mmap_free(&i->init);
    inst_free(i->synapse), inst_free(i->output), inst_free(i->stp), inst_free(i->plasticity);
    free(i->at.jpath);
    free(i);
}

/* A new instance named `name` of `type` under parent path ppath + sep, appended to (*list, *n) after
 * checking the name is new there. */
static bd_status inst_new(bd_model *m, minst_kind kind, const char *ppath, const char *sep, const char *name,
                          const char *type, bd_minst ***list, int *n, bd_minst **out)
{
    *out = NULL;
    static const char *const what[] = {"population", "projection", "input", "group", "part"};
    bd_minst *i = calloc(1, sizeof *i);
    if (!i) return nomem();
    i->m = m;
    i->kind = kind;
    bd_status st = origin_set(&i->at, m->cur_src, ppath, sep, name);
    if (!st) st = check_name(m, &i->at, what[kind], name);
    if (!st && (!(i->name = strdup(name)) || (type && !(i->type = strdup(type))))) st = nomem();
    for (int k = 0; list && !st && k < *n; k++)
        if (strcmp((*list)[k]->name, name) == 0)
            st = bd_model_fail(m, &i->at, "", BD_ERR_MODEL, "duplicate name '%s' (a %s of that name exists here)",
                               name, what[(*list)[k]->kind]);
    bd_minst **l = st || !list ? NULL : realloc(*list, (size_t)(*n + 1) * sizeof *l);
    if (!st && list && !l) st = nomem();
    if (st) {
        inst_free(i);
        return st;
    }
    if (list) *list = l, l[(*n)++] = i;
    *out = i;
    return BD_OK;
}

/* Where instances of a group go: a group type's body, or the model's top level. */
static bd_status container(bd_model *m, bd_mtype *group, const char *fn, bd_minst ****list, int **n, const char **ppath)
{
    if (group && group->kind != BD_TYPE_GROUP)
        return bd_fail(BD_ERR_INVALID_ARG, "%s: type '%s' is a %s, not a group", fn, group->name,
                       bd_type_kind_name(group->kind));
    *list = group ? &group->insts : &m->insts;
    *n = group ? &group->ninsts : &m->ninsts;
    *ppath = group ? group->at.jpath : "$";
    return BD_OK;
}

static bd_status add_inst(bd_model *m, bd_mtype *group, minst_kind kind, const char *key, const char *name,
                          const char *type, bd_minst **out, const char *fn)
{
    if (!m || !name || !out || (kind != MI_PROJ && !type)) return bd_fail(BD_ERR_INVALID_ARG, "%s: NULL argument", fn);
    bd_minst ***list = NULL;
    int *n = NULL;
    const char *ppath = "$";
    bd_status st = container(m, group, fn, &list, &n, &ppath);
    if (st) return st;
    char parent[512];
    snprintf(parent, sizeof parent, "%s.%s", ppath, key);
    return inst_new(m, kind, parent, ".", name, type, list, n, out);
}

bd_status bd_model_add_population(bd_model *m, bd_mtype *group, const char *name, const char *type, size_t size,
                                  bd_minst **out)
{
    bd_status st = add_inst(m, group, MI_POP, "populations", name, type, out, "bd_model_add_population");
    if (st) return st;
    char num[32];
    snprintf(num, sizeof num, "%zu", size);
    return set_str(&(*out)->size, num);
}

bd_status bd_model_add_projection(bd_model *m, bd_mtype *group, const char *name, const char *pre, const char *post,
                                  bd_minst **out)
{
    if (!pre || !post) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_add_projection: NULL argument");
    bd_status st = add_inst(m, group, MI_PROJ, "projections", name, NULL, out, "bd_model_add_projection");
    if (!st) st = set_str(&(*out)->pre, pre);
    if (!st) st = set_str(&(*out)->post, post);
    return st;
}

bd_status bd_model_add_input(bd_model *m, bd_mtype *group, const char *name, const char *type, const char *into,
                             bd_minst **out)
{
    bd_status st = add_inst(m, group, MI_INPUT, "inputs", name, type, out, "bd_model_add_input");
    return st ? st : set_str(&(*out)->into, into);
}

bd_status bd_model_add_group(bd_model *m, bd_mtype *group, const char *name, const char *group_type, bd_minst **out)
{
    return add_inst(m, group, MI_GROUP, "groups", name, group_type, out, "bd_model_add_group");
}

bd_status bd_mtype_add_channel(bd_mtype *t, const char *name, const char *channel_type, bd_minst **out)
{
    if (!t || !name || !channel_type || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_mtype_add_channel: NULL argument");
    char parent[512];
    snprintf(parent, sizeof parent, "%s.channels", t->at.jpath);
    return inst_new(t->m, MI_PART, parent, ".", name, channel_type, &t->channels, &t->nchannels, out);
}

bd_status bd_minst_add_part(bd_minst *proj, const char *part, const char *type, bd_minst **out)
{
    if (!proj || !part || !type || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_add_part: NULL argument");
    static const char *const parts[] = {"synapse", "output", "stp", "plasticity"};
    bd_minst **slots[] = {&proj->synapse, &proj->output, &proj->stp, &proj->plasticity};
    int k = 0;
    while (k < 4 && strcmp(part, parts[k]) != 0) k++;
    if (proj->kind != MI_PROJ || k == 4)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_add_part: a projection has parts 'synapse', 'output', 'stp' and "
                       "'plasticity'");
    bd_minst **slot = slots[k];
    bd_status st = inst_new(proj->m, MI_PART, proj->at.jpath, ".", part, type, NULL, NULL, out);
    if (st) return st;
    inst_free(*slot);
    *slot = *out;
    return BD_OK;
}

bd_status bd_minst_set(bd_minst *i, const char *key, const char *value)
{
    if (!i || !key) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_set: NULL argument");
    static const char *const keys[] = {"size", "pre", "post", "target", "delay", "include_self", "storage", "into",
                                       "type", "coupling_source", "coupling_mode", "spike_times", "weight"};
    char **slots[] = {&i->size, &i->pre, &i->post, &i->target, &i->delay, &i->include_self, &i->storage, &i->into,
                      &i->type, &i->coupling_source, &i->coupling_mode, &i->spike_times, NULL};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (strcmp(key, keys[k]) == 0)
            return slots[k] ? set_str(slots[k], value) : mval_set(&i->weight, BD_INIT_VALUE, value, NULL);
    const char *near = bd_nearest_name(key, keys, sizeof keys / sizeof keys[0]);
    return bd_fail(BD_ERR_NOT_FOUND, "bd_minst_set: unknown key '%s'%s%s%s", key, near ? "; did you mean '" : "",
                   near ? near : "", near ? "'?" : "");
}

bd_status bd_minst_set_conn(bd_minst *i, const char *kind, const char *value)
{
    if (!i || !kind) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_set_conn: NULL argument");
    bd_status st = set_str(&i->conn_kind, kind);
    return st ? st : set_str(&i->conn_value, value);
}

bd_status bd_minst_param(bd_minst *i, const char *name, bd_init_kind kind, const char *a, const char *b)
{
    if (!i || !name || !a) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_param: NULL argument");
    return mmap_set(&i->params, name, kind, a, b);
}

bd_status bd_minst_init(bd_minst *i, const char *var, bd_init_kind kind, const char *a, const char *b)
{
    if (!i || !var || !a) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_init: NULL argument");
    return mmap_set(&i->init, var, kind, a, b);
}

bd_status bd_minst_delays(bd_minst *i, bd_init_kind kind, const char *a, const char *b)
{
    if (!i || !a) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_delays: NULL argument");
    return mval_set(&i->delays, kind, a, b);
}

bd_status bd_minst_weight(bd_minst *i, bd_init_kind kind, const char *a, const char *b)
{
    if (!i || !a) return bd_fail(BD_ERR_INVALID_ARG, "bd_minst_weight: NULL argument");
    return mval_set(&i->weight, kind, a, b);
}

/* ------------------------------------------------------------------------------------------------------------
 * Monitors */

static void monitor_free(bd_mmonitor *mon)
{
    if (!mon) return;
    free(mon->name), free(mon->kind), free(mon->target), free(mon->every), free(mon->window), free(mon->idx);
    free(mon->at.jpath);
    free(mon);
}

bd_status bd_model_add_monitor(bd_model *m, const char *name, const char *kind, const char *target, bd_mmonitor **out)
{
    if (!m || !name || !kind || !target || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_add_monitor: NULL argument");
    *out = NULL;
    bd_mmonitor *mon = calloc(1, sizeof *mon);
    if (!mon) return nomem();
    bd_status st = origin_set(&mon->at, m->cur_src, "$.monitors", ".", name);
    if (!st) st = check_name(m, &mon->at, "monitor", name);
    if (!st && (!(mon->name = strdup(name)) || !(mon->kind = strdup(kind)) || !(mon->target = strdup(target))))
        st = nomem();
    for (int k = 0; !st && k < m->nmons; k++)
        if (strcmp(m->mons[k]->name, name) == 0)
            st = bd_model_fail(m, &mon->at, "", BD_ERR_MODEL, "duplicate monitor name '%s'", name);
    bd_mmonitor **l = st ? NULL : realloc(m->mons, (size_t)(m->nmons + 1) * sizeof *l);
    if (!st && !l) st = nomem();
    if (st) {
        monitor_free(mon);
        return st;
    }
    m->mons = l;
    l[m->nmons++] = mon;
    *out = mon;
    return BD_OK;
}

bd_status bd_mmonitor_set(bd_mmonitor *mon, const char *key, const char *value)
{
    if (!mon || !key) return bd_fail(BD_ERR_INVALID_ARG, "bd_mmonitor_set: NULL argument");
    if (strcmp(key, "every") == 0) return set_str(&mon->every, value);
    if (strcmp(key, "window") == 0) return set_str(&mon->window, value);
    return bd_fail(BD_ERR_NOT_FOUND, "bd_mmonitor_set: unknown key '%s' (every, window)", key);
}

bd_status bd_mmonitor_index(bd_mmonitor *mon, long long index)
{
    if (!mon) return bd_fail(BD_ERR_INVALID_ARG, "bd_mmonitor_index: NULL argument");
    long long *idx = realloc(mon->idx, (mon->nidx + 1) * sizeof *idx);
    if (!idx) return nomem();
    mon->idx = idx;
    idx[mon->nidx++] = index;
    mon->has_idx = 1;
    return BD_OK;
}

void bd_model_free(bd_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->ntypes; i++) type_free(m->types[i]);
    for (int i = 0; i < m->ninsts; i++) inst_free(m->insts[i]);
    for (int i = 0; i < m->nmons; i++) monitor_free(m->mons[i]);
    for (int i = 0; i < m->nsrcs; i++) free(m->srcs[i].path), free(m->srcs[i].text);
    for (int k = 0; k < RUN_NKEYS; k++) free(m->run[k]);
    free(m->types), free(m->insts), free(m->mons), free(m->srcs);
    free(m->name), free(m->doc), free(m->base_dir);
    free(m);
}
