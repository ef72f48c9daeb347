/* Resolution of a model tree into the flat network of core/network.h: group instances expanded (with
 * `${param}` substitution), names bound to populations and variables, quantities converted into the declared
 * units, equations flattened (model_flatten.c) and parsed, and everything checked, each message naming the
 * file, line, column and JSON path of the value at fault. This file holds the resolver's core: its context,
 * groups, populations (with their tables), Poisson inputs, monitors and run settings; connectivity rules and
 * initializers are read in model_conn.c and projections built in model_proj.c. */
#include "model_impl.h"
#include "error.h"
#include "nearest.h"
#include "bdyn/integrate.h"
#include "conn_gen.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUP_DEPTH 32

bd_status bd_mr_nomem(void) { return bd_fail(BD_ERR_NOMEM, "out of memory resolving the model"); }

static char *join(const char *prefix, const char *name)
{
    size_t n = strlen(prefix) + strlen(name) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", prefix, *prefix ? "." : "", name);
    return s;
}

static void rctx_free(rctx *R)
{
    for (int i = 0; R->teqs && i < R->m->ntypes; i++) bd_eqs_free(R->teqs[i]);
    for (int i = 0; i < R->npops; i++) {
        free(R->pops[i].path);
        for (int r = 0; r < R->pops[i].nresets; r++) free(R->pops[i].resets[r]);
        free(R->pops[i].resets);
    }
    for (int i = 0; i < R->nprojs; i++)
        free(R->projs[i].path), free(R->projs[i].pfx), free(R->projs[i].pre_path), free(R->projs[i].post_path);
    for (int i = 0; i < R->nins; i++) free(R->ins[i].path), free(R->ins[i].pfx), free(R->ins[i].into_path);
    for (int i = 0; i < R->nenvs; i++) {
        for (int k = 0; k < R->envs[i]->n; k++) free(R->envs[i]->name[k]), free(R->envs[i]->val[k]);
        free(R->envs[i]->name), free(R->envs[i]->val), free(R->envs[i]);
    }
    free(R->teqs), free(R->pops), free(R->projs), free(R->ins), free(R->envs), free(R->pv);
}

/* A positive integer from text (sizes, counts). */
bd_status bd_mr_integer(rctx *R, const char *text, const morigin *o, const char *sub, const char *what, long long lo,
                        long long *out)
{
    char *end;
    double v = strtod(text, &end);
    while (*end == ' ') end++;
    if (end == text || *end || v != floor(v) || !(v >= (double)lo) || v > 4e9)
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "%s must be an integer >= %lld, got '%s'", what, lo, text);
    *out = (long long)v;
    return BD_OK;
}

/* A quantity in unit u: `${}` substituted, then converted (dimension-checked). */
bd_status bd_mr_quantity(rctx *R, const char *text, const genv *env, const bd_unit *u, const morigin *o,
                         const char *sub, double *out)
{
    char *s;
    bd_status st = bd_mr_subst(R, env, text, o, sub, &s);
    if (st) return st;
    /* the message's place is the JSON path: drop the parser's label ("\x02: ") */
    st = bd_quantity_parse(s, u, "\x02", out);
    free(s);
    if (!st) return BD_OK;
    const char *msg = bd_last_error();
    if (!strncmp(msg, "\x02: ", 3)) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", msg + 3);
        bd_fail(st, "%s", copy);
    }
    return bd_model_context(R->m, o, sub, st);
}

bd_status bd_mr_ms_quantity(rctx *R, const char *text, const genv *env, const morigin *o, const char *sub, double *out)
{
    bd_unit ms;
    bd_status st = bd_unit_parse("ms", &ms);
    return st ? st : bd_mr_quantity(R, text, env, &ms, o, sub, out);
}

/* ------------------------------------------------------------------------------------------------------------
 * Expanding the groups */

static bd_status collect(rctx *R, bd_minst *const *insts, int n, const char *prefix, const genv *env, int depth);

static bd_status group_env(rctx *R, const bd_minst *i, const bd_mtype *g, const genv *outer, genv **out)
{
    genv *e = calloc(1, sizeof *e), **l = realloc(R->envs, (size_t)(R->nenvs + 1) * sizeof *l);
    if (l) R->envs = l;
    if (!e || !l) return free(e), bd_mr_nomem();
    R->envs[R->nenvs++] = e;
    int cap = g->params.n;
    if (!(e->name = calloc((size_t)cap + 1, sizeof *e->name)) || !(e->val = calloc((size_t)cap + 1, sizeof *e->val)))
        return bd_mr_nomem();
    for (int k = 0; k < g->params.n; k++) {
        const mentry *over = bd_mmap_get(&i->params, g->params.e[k].name);
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", g->params.e[k].name);
        if (!(e->name[k] = strdup(g->params.e[k].name))) return bd_mr_nomem();
        bd_status st = over ? bd_mr_subst(R, outer, over->v.a, &i->at, sub, &e->val[k])
                            : bd_mr_subst(R, NULL, g->params.e[k].v.a, &g->at, sub, &e->val[k]);
        if (st) return st;
        e->n++;
    }
    for (int k = 0; k < i->params.n; k++) {
        if (bd_mmap_get(&g->params, i->params.e[k].name)) continue;
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", i->params.e[k].name);
        const char *near = bd_nearest_name(i->params.e[k].name, (const char *const *)e->name, (size_t)e->n);
        return bd_model_fail(R->m, &i->at, sub, BD_ERR_NOT_FOUND, "group type '%s' has no parameter '%s'%s%s%s",
                             g->name, i->params.e[k].name, near ? "; did you mean '" : "", near ? near : "",
                             near ? "'?" : "");
    }
    *out = e;
    return BD_OK;
}

static bd_status collect_one(rctx *R, const bd_minst *i, const char *prefix, const genv *env, int depth)
{
    bd_status st;
    char *type = NULL;
    if (i->type && (st = bd_mr_subst(R, env, i->type, &i->at, ".type", &type))) return st;
    char *path = join(prefix, i->name);
    if (!path) return free(type), bd_mr_nomem();
    st = BD_OK;
    if (i->kind == MI_POP) {
        rpop *p = realloc(R->pops, (size_t)(R->npops + 1) * sizeof *p);
        if (!p) return free(type), free(path), bd_mr_nomem();
        R->pops = p;
        rpop *n = &p[R->npops];
        memset(n, 0, sizeof *n);
        n->path = path, n->i = i, n->env = env;
        R->npops++;
        char *size = NULL;
        long long sz = 0;
        n->type = bd_mr_type(R, type, &i->at, ".type", -1, &st);
        if (!st) st = bd_mr_subst(R, env, i->size ? i->size : "", &i->at, ".size", &size);
        if (!st) st = bd_mr_integer(R, size, &i->at, ".size", "the size", 1, &sz);
        n->size = (size_t)sz;
        free(size);
    } else if (i->kind == MI_PROJ) {
        rproj *p = realloc(R->projs, (size_t)(R->nprojs + 1) * sizeof *p);
        if (!p) return free(type), free(path), bd_mr_nomem();
        R->projs = p;
        rproj *n = &p[R->nprojs++];
        memset(n, 0, sizeof *n);
        n->path = path, n->i = i, n->env = env;
        char *pre = NULL, *post = NULL;
        if (!(st = bd_mr_subst(R, env, i->pre, &i->at, ".pre", &pre)) &&
            !(st = bd_mr_subst(R, env, i->post, &i->at, ".post", &post))) {
            n->pre_path = join(prefix, pre), n->post_path = join(prefix, post);
            if (!(n->pfx = strdup(path)) || !n->pre_path || !n->post_path) st = bd_mr_nomem();
        }
        free(pre), free(post);
        for (char *c = n->pfx; c && *c; c++) *c = *c == '.' ? '_' : *c;
        if (!st && strlen(n->pfx) + 4 > BD_EQ_NAME_MAX)
            st = bd_model_fail(R->m, &i->at, "", BD_ERR_LIMIT, "projection path '%s' too long to name its symbols", path);
    } else if (i->kind == MI_INPUT) {
        rinput *p = realloc(R->ins, (size_t)(R->nins + 1) * sizeof *p);
        if (!p) return free(type), free(path), bd_mr_nomem();
        R->ins = p;
        rinput *n = &p[R->nins++];
        memset(n, 0, sizeof *n);
        n->path = path, n->i = i, n->env = env;
        char *into = NULL;
        if (!(st = bd_mr_subst(R, env, i->into, &i->at, ".into", &into))) {
            n->into_path = join(prefix, into);
            if (!(n->pfx = strdup(path)) || !n->into_path) st = bd_mr_nomem();
        }
        free(into);
        for (char *c = n->pfx; c && *c; c++) *c = *c == '.' ? '_' : *c;
        if (!st && !strcmp(type, "constant")) n->kind = RIN_CONSTANT;
        else if (!st && !strcmp(type, "poisson")) n->kind = RIN_POISSON;
        else if (!st && !strcmp(type, "file")) n->kind = RIN_TABLE;
        else if (!st) n->type = bd_mr_type(R, type, &i->at, ".type", BD_TYPE_INPUT, &st);
    } else {
        free(path);
        const bd_mtype *g = bd_mr_type(R, type, &i->at, ".type", BD_TYPE_GROUP, &st);
        genv *e = NULL;
        if (!st && depth >= MAX_GROUP_DEPTH)
            st = bd_model_fail(R->m, &i->at, "", BD_ERR_MODEL, "groups nested deeper than %d (does group type '%s' "
                               "contain itself?)", MAX_GROUP_DEPTH, type);
        if (!st) st = group_env(R, i, g, env, &e);
        path = join(prefix, i->name);
        if (!st && !path) st = bd_mr_nomem();
        if (!st) st = collect(R, g->insts, g->ninsts, path, e, depth + 1);
        free(path);
    }
    free(type);
    return st;
}

static bd_status collect(rctx *R, bd_minst *const *insts, int n, const char *prefix, const genv *env, int depth)
{
    for (int k = 0; k < n; k++) {
        bd_status st = collect_one(R, insts[k], prefix, env, depth);
        if (st) return st;
    }
    return BD_OK;
}

static int find_pop(const rctx *R, const char *path)
{
    for (int p = 0; p < R->npops; p++)
        if (strcmp(R->pops[p].path, path) == 0) return p;
    return -1;
}

static bd_status pop_ref(rctx *R, const char *path, const morigin *o, const char *sub, int *out)
{
    if ((*out = find_pop(R, path)) >= 0) return BD_OK;
    bd_nearest s;
    bd_nearest_init(&s, path, (int)strlen(path));
    for (int p = 0; p < R->npops; p++) bd_nearest_try(R->pops[p].path, &s);
    const char *near = bd_nearest_result(&s);
    return bd_model_fail(R->m, o, sub, BD_ERR_NOT_FOUND, "unknown population '%s'%s%s%s", path,
                         near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
}

/* A symbol of a population of kind `want` (bit mask over bd_sym_kind), with the nearest such name on failure. */
bd_status bd_mr_var_ref(rctx *R, const bd_eqs *e, const char *name, unsigned want, const char *what, const char *pop,
                        const morigin *o, const char *sub, int *out)
{
    int s = bd_eqs_find(e, name);
    if (s > 0 && (want >> e->syms[s].kind & 1)) return *out = s, BD_OK;
    bd_nearest ns;
    bd_nearest_init(&ns, name, (int)strlen(name));
    for (int k = 1; k < e->nsyms; k++)
        if (want >> e->syms[k].kind & 1) bd_nearest_try(e->syms[k].name, &ns);
    const char *near = bd_nearest_result(&ns);
    return bd_model_fail(R->m, o, sub, s < 0 ? BD_ERR_NOT_FOUND : BD_ERR_MODEL, "'%s' is not %s of population '%s'%s%s%s",
                         name, what, pop, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
}

/* ------------------------------------------------------------------------------------------------------------
 * Populations */

/* The condition, refractory condition and resets, parsed after the flattened text as definitions (the
 * indices of the other symbols are those of the population's own parse, as their statements come first). */
static bd_status pop_extras(rctx *R, const rpop *rp, const char *text, bd_net_pop *np)
{
    const bd_mtype *t = rp->type;
    const bd_eqs *e = np->eqs;
    size_t cap = strlen(text) + 256;
    if (t->threshold) cap += strlen(t->threshold);
    if (t->refractory) cap += strlen(t->refractory);
    int nres = t->reset.n + rp->nresets;
    const char **res = calloc((size_t)nres + 1, sizeof *res);
    if (!res) return bd_mr_nomem();
    for (int r = 0; r < nres; r++) res[r] = r < t->reset.n ? t->reset.s[r] : rp->resets[r - t->reset.n];
    for (int r = 0; r < nres; r++) cap += strlen(res[r]) + 64 + BD_EQ_NAME_MAX;
    char *all = malloc(cap);
    if (!all) return free(res), bd_mr_nomem();
    size_t n = (size_t)snprintf(all, cap, "%s", text);
    int cond = t->refractory && !(t->refractory[0] == '.' || t->refractory[0] == '-' ||
                                  (t->refractory[0] >= '0' && t->refractory[0] <= '9'));
    if (t->threshold) n += (size_t)snprintf(all + n, cap - n, "__threshold = (%s) : 1\n", t->threshold);
    if (cond) n += (size_t)snprintf(all + n, cap - n, "__refractory = (%s) : 1\n", t->refractory);
    np->reset = calloc((size_t)nres + 1, sizeof *np->reset);
    if (!np->reset) return free(all), free(res), bd_mr_nomem();
    for (int r = 0; r < nres; r++) {
        const char *s = res[r], *eq = strchr(s, '=');
        char name[BD_EQ_NAME_MAX];
        int len = 0;
        while (*s == ' ') s++;
        while (s[len] && s[len] != ' ' && s[len] != '=' && len < BD_EQ_NAME_MAX - 1) len++;
        snprintf(name, sizeof name, "%.*s", len, s);
        int sym = bd_eqs_find(e, name);
        np->reset[r].sym = sym;
        n += (size_t)snprintf(all + n, cap - n, "__reset_%d = (%s) : %s\n", r, eq ? eq + 1 : "0",
                              sym >= 0 ? e->syms[sym].unit_text : "1");
    }
    np->nreset = nres;
    free(res);
    bd_eqs *x = NULL;
    bd_status st = bd_eqs_parse(all, np->path, &x);
    free(all);
    if (st) return bd_model_context(R->m, &t->at, "", st);
    int k;
    if (t->threshold && (k = bd_eqs_find(x, "__threshold")) >= 0 && !(np->threshold = bd_ex_copy(x->syms[k].def))) st = bd_mr_nomem();
    if (!st && cond && (k = bd_eqs_find(x, "__refractory")) >= 0 && !(np->refractory_cond = bd_ex_copy(x->syms[k].def)))
        st = bd_mr_nomem();
    for (int r = 0; r < nres && !st; r++) {
        char name[32];
        snprintf(name, sizeof name, "__reset_%d", r);
        if ((k = bd_eqs_find(x, name)) < 0 || !(np->reset[r].value = bd_ex_copy(x->syms[k].def))) st = bd_mr_nomem();
    }
    bd_eqs_free(x);
    return st;
}

static bd_status build_pop(rctx *R, int p, bd_net_pop *np)
{
    const rpop *rp = &R->pops[p];
    const bd_mtype *t = rp->type;
    char *text;
    bd_status st = bd_mr_pop_text(R, p, &text);
    if (st) return st;
    np->size = rp->size;
    if (!(np->path = strdup(rp->path))) return free(text), bd_mr_nomem();
    char label[700];
    const char *file = bd_model_src_path(R->m, &rp->i->at);
    snprintf(label, sizeof label, "%s: population '%s' (flattened equations)", file ? file : R->m->name, rp->path);
    if ((st = bd_eqs_parse(text, label, &np->eqs))) {
        free(text);
        return bd_model_context(R->m, &rp->i->at, "", st);
    }
    bd_eqs *e = np->eqs;
    /* parameters: type defaults, parts, then the population's own values (names of the flattened eqs) */
    for (int k = 0; k < rp->i->params.n && !st; k++) {
        const mentry *pe = &rp->i->params.e[k];
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", pe->name);
        int s;
        st = bd_mr_var_ref(R, e, pe->name, 1u << BD_SYM_PARAM | 1u << BD_SYM_CONST, "a parameter", rp->path, &rp->i->at, sub, &s);
        pval *pv = st ? NULL : realloc(R->pv, (size_t)(R->npv + 1) * sizeof *pv);
        if (!st && !pv) st = bd_mr_nomem();
        if (st) break;
        R->pv = pv;
        pval *n = &pv[R->npv++];
        snprintf(n->name, sizeof n->name, "%s", pe->name);
        n->v = &pe->v, n->at = &rp->i->at, n->env = rp->env;
        if (snprintf(n->sub, sizeof n->sub, "%s", sub) >= (int)sizeof n->sub) n->sub[0] = '\0';
    }
    np->param_init = calloc((size_t)e->nsyms, sizeof *np->param_init);
    np->state_init = calloc((size_t)e->nodes + 1, sizeof *np->state_init);
    if (!st && (!np->param_init || !np->state_init)) st = bd_mr_nomem();
    for (int s = 0; s < e->nsyms && !st; s++) {
        np->param_init[s].kind = BD_DIST_CONST;
        np->param_init[s].a = NAN;
        bd_symbol *sym = &e->syms[s];
        if (sym->kind != BD_SYM_PARAM && sym->kind != BD_SYM_CONST) continue;
        const pval *v = NULL;
        for (int k = 0; k < R->npv; k++)
            if (strcmp(R->pv[k].name, sym->name) == 0) v = &R->pv[k];
        if (!v && bd_mr_fed_param(R, p, sym->name)) continue;
        if (!v) {
            st = bd_model_fail(R->m, &rp->i->at, "", BD_ERR_MODEL, "parameter '%s' of population '%s' has no value (give "
                               "it in the type's or the population's \"params\")", sym->name, rp->path);
            break;
        }
        if (v->v->kind != BD_INIT_VALUE && sym->kind == BD_SYM_CONST) {
            st = bd_model_fail(R->m, v->at, v->sub, BD_ERR_MODEL, "'%s' is a shared (constant) parameter: it takes one "
                               "quantity, not an initializer", sym->name);
            break;
        }
        bd_dist d;
        if ((st = bd_mr_dist(R, v->v, v->env, &sym->unit, v->at, v->sub, rp->size, &d))) break;
        if (d.kind == BD_DIST_CONST) sym->value = d.a;
        else np->param_init[s] = d;
    }
    for (int v = 0; v < e->nodes && !st; v++) np->state_init[v].kind = BD_DIST_CONST;
    for (int k = 0; k < rp->i->init.n && !st; k++) {
        const mentry *ie = &rp->i->init.e[k];
        char sub[200];
        snprintf(sub, sizeof sub, ".init.%s", ie->name);
        int s;
        if ((st = bd_mr_var_ref(R, e, ie->name, 1u << BD_SYM_STATE, "a state variable", rp->path, &rp->i->at, sub, &s))) break;
        int v = 0;
        while (e->odes[v].sym != s) v++;
        free(np->state_init[v].values);
        st = bd_mr_dist(R, &ie->v, rp->env, &e->syms[s].unit, &rp->i->at, sub, rp->size, &np->state_init[v]);
    }
    if (!st) st = pop_extras(R, rp, text, np);
    free(text);
    if (st) return st;
    if (t->refractory && (t->refractory[0] == '.' || t->refractory[0] == '-' ||
                          (t->refractory[0] >= '0' && t->refractory[0] <= '9'))) {
        if ((st = bd_mr_ms_quantity(R, t->refractory, NULL, &t->at, ".refractory", &np->refractory_ms))) return st;
        if (np->refractory_ms < 0) return bd_model_fail(R->m, &t->at, ".refractory", BD_ERR_MODEL, "negative refractory period");
    }
    const char *method = t->method ? t->method : t->kind == BD_TYPE_RATE ? "rk4" : "exp_euler";
    const char *const *ms = bd_integrate_methods();
    size_t nm = 0;
    while (ms[nm] && strcmp(ms[nm], method) != 0) nm++;
    if (!ms[nm]) {
        const char *near = bd_nearest_name(method, ms, nm);
        return bd_model_fail(R->m, &t->at, ".method", BD_ERR_NOT_FOUND, "unknown method '%s'%s%s%s", method,
                             near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    snprintf(np->method, sizeof np->method, "%s", method);
    char where[600];
    bd_model_where(R->m, &rp->i->at, "", where, sizeof where);
    char *last = strrchr(where, ':');
    if (last) *last = '\0';
    const char *colon = bd_model_src_path(R->m, &rp->i->at) ? strrchr(where, ':') : NULL;
    np->file_line = colon ? atoi(colon + 1) : 0;
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * Tables: NPY time-series inputs and spike-time sources (network.h bd_net_table; the runner, core/runner_table.c,
 * turns them into one device table per population) */

/* A file of at most this many values is read (the runner refuses device tables over 64 MB in any case). */
#define TABLE_MAX_VALUES ((size_t)1 << 27)

static bd_status add_table(bd_net_pop *np, bd_net_table *t)
{
    bd_net_table *n = realloc(np->tables, (size_t)(np->ntables + 1) * sizeof *n);
    if (!n) return free(t->values), t->values = NULL, bd_mr_nomem();
    np->tables = n;
    n[np->ntables++] = *t;
    t->values = NULL;
    return BD_OK;
}

/* Input `in` ({"file", "dt", "target"}) into population np: its parameter `<pfx>__value` (flattened as a term of
 * the input variable) takes row k of the file during [k dt, (k + 1) dt). Shape (T,) or (T, 1): one value for all
 * elements; (T, size): one per element. Values are in the unit of the input variable, as they stand. */
static bd_status table_input(rctx *R, const rinput *in, bd_net_pop *np)
{
    const bd_minst *i = in->i;
    const mentry *f = bd_mmap_get(&i->params, "file"), *d = bd_mmap_get(&i->params, "dt");
    char name[2 * BD_EQ_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s__value", in->pfx);
    int sym = bd_eqs_find(np->eqs, name);
    if (!f || !d || sym < 0) return bd_fail(BD_ERR_MODEL, "input '%s': table parameter '%s' missing", in->path, name);
    bd_net_table t = {.sym = sym};
    bd_status st = bd_mr_ms_quantity(R, d->v.a, in->env, &i->at, ".dt", &t.dt_ms);
    if (st) return st;
    if (!(t.dt_ms > 0) || !isfinite(t.dt_ms))
        return bd_model_fail(R->m, &i->at, ".dt", BD_ERR_MODEL, "the interval between rows must be > 0, got %g ms", t.dt_ms);
    char *file = NULL;
    size_t cols = 1;
    if ((st = bd_mr_subst(R, in->env, f->v.a, &i->at, ".file", &file))) return st;
    st = bd_mr_read_npy_cols(R, file, &i->at, ".file", &t.values, &t.rows, &cols, (size_t)1 << 32);
    free(file);
    if (st) return st;
    t.width = cols;
    if (!st && cols != 1 && cols != np->size)
        st = bd_model_fail(R->m, &i->at, ".file", BD_ERR_MODEL, "shape (%zu, %zu): expected (T,) for one value for all "
                           "elements or (T, %zu) for one per element of '%s'", t.rows, cols, np->size, np->path);
    if (!st && !t.rows) st = bd_model_fail(R->m, &i->at, ".file", BD_ERR_MODEL, "the file has no rows");
    if (!st && t.rows * cols > TABLE_MAX_VALUES)
        st = bd_model_fail(R->m, &i->at, ".file", BD_ERR_LIMIT, "%zu values (at most %zu)", t.rows * cols, TABLE_MAX_VALUES);
    for (size_t k = 0; !st && k < t.rows * cols; k++)
        if (!isfinite(t.values[k]))
            st = bd_model_fail(R->m, &i->at, ".file", BD_ERR_MODEL, "value %zu (row %zu) is not finite", k, k / cols);
    if (st) return free(t.values), st;
    return add_table(np, &t);
}

/* The spike times of a spike-time source population (bd_minst_set(i, "spike_times", JSON)): pairs (element,
 * time in ms) from {"indices": [...], "times": [...]} or from an (n, 2) NPY file of index, time in ms. */
static bd_status spike_table(rctx *R, const rpop *rp, bd_net_pop *np)
{
    const bd_minst *i = rp->i;
    cJSON *o = NULL;
    bd_status st = bd_mr_spec_parse(R, i->spike_times, rp->env, &i->at, ".spike_times", &o);
    if (st) return st;
    bd_net_table t = {.sym = bd_eqs_find(np->eqs, "spike"), .spikes = 1, .width = 2};
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "file"), *ix = cJSON_GetObjectItemCaseSensitive(o, "indices"),
                *tm = cJSON_GetObjectItemCaseSensitive(o, "times");
    char sub[300];
    if (t.sym < 0) st = bd_fail(BD_ERR_MODEL, "population '%s': no 'spike' parameter", rp->path);
    else if (cJSON_IsString(f)) {
        size_t cols = 0;
        double *v = NULL;
        st = bd_mr_read_npy_cols(R, f->valuestring, &i->at, ".spike_times.file", &v, &t.rows, &cols, 2);
        if (!st && cols != 2)
            st = bd_model_fail(R->m, &i->at, ".spike_times.file", BD_ERR_MODEL, "expected an (n, 2) array of element "
                               "index and time in ms, got %zu column%s", cols, cols == 1 ? "" : "s");
        if (!st && t.rows > TABLE_MAX_VALUES) st = bd_model_fail(R->m, &i->at, ".spike_times.file", BD_ERR_LIMIT, "too many spikes");
        t.values = v;
        for (size_t k = 0; !st && k < t.rows; k++) {
            double idx = v[2 * k], time = v[2 * k + 1];
            if (!(idx >= 0 && idx < (double)np->size && idx == floor(idx)))
                st = bd_model_fail(R->m, &i->at, ".spike_times.file", BD_ERR_MODEL, "row %zu: index %g is not an element of "
                                   "'%s' (0 to %zu)", k, idx, rp->path, np->size - 1);
            else if (!(time >= 0) || !isfinite(time))
                st = bd_model_fail(R->m, &i->at, ".spike_times.file", BD_ERR_MODEL, "row %zu: time %g ms (must be >= 0)",
                                   k, time);
        }
    } else if (cJSON_IsArray(ix) && cJSON_IsArray(tm) && cJSON_GetArraySize(ix) == cJSON_GetArraySize(tm)) {
        t.rows = (size_t)cJSON_GetArraySize(ix);
        bd_unit ms;
        if (!(t.values = malloc((t.rows ? t.rows : 1) * 2 * sizeof *t.values))) st = bd_mr_nomem();
        if (!st) st = bd_unit_parse("ms", &ms);
        const cJSON *a = ix->child, *b = tm->child;
        for (size_t k = 0; !st && k < t.rows; k++, a = a->next, b = b->next) {
            double idx = 0, time = 0;
            snprintf(sub, sizeof sub, ".spike_times.indices[%zu]", k);
            if (!(st = bd_mr_spec_num(R, a, &i->at, sub, &idx)) &&
                !(idx >= 0 && idx < (double)np->size && idx == floor(idx)))
                st = bd_model_fail(R->m, &i->at, sub, BD_ERR_MODEL, "index %g is not an element of '%s' (0 to %zu)", idx,
                                   rp->path, np->size - 1);
            snprintf(sub, sizeof sub, ".spike_times.times[%zu]", k);
            if (!st && !(st = bd_mr_spec_quantity(R, b, &ms, &i->at, sub, &time)) && !(time >= 0))
                st = bd_model_fail(R->m, &i->at, sub, BD_ERR_MODEL, "negative spike time %g ms", time);
            if (!st) t.values[2 * k] = idx, t.values[2 * k + 1] = time;
        }
    } else {
        st = bd_model_fail(R->m, &i->at, ".spike_times", BD_ERR_PARSE, "expected {\"indices\": [...], \"times\": [...]} "
                           "of equal lengths or {\"file\": \"spikes.npy\"}");
    }
    cJSON_Delete(o);
    if (st) return free(t.values), st;
    return add_table(np, &t);
}

/* The tables of population p: its spike times, and the NPY inputs into it. */
static bd_status build_tables(rctx *R, int p, bd_net_pop *np)
{
    const rpop *rp = &R->pops[p];
    bd_status st = BD_OK;
    if (rp->i->spike_times) st = spike_table(R, rp, np);
    for (int k = 0; k < R->nins && !st; k++)
        if (R->ins[k].pop == p && R->ins[k].kind == RIN_TABLE) st = table_input(R, &R->ins[k], np);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * Poisson inputs, monitors, run settings */

static bd_status build_poisson(rctx *R, const rinput *in, bd_network *net, bd_net_poisson *np, uint32_t id)
{
    const bd_minst *i = in->i;
    const bd_net_pop *pop = &net->pops[in->pop];
    bd_status st;
    if (!(np->path = strdup(in->path))) return bd_mr_nomem();
    np->pop = in->pop, np->id = id, np->count = 1;
    char *t;
    if ((st = bd_mr_subst(R, in->env, i->target ? i->target : "", &i->at, ".poisson.target", &t))) return st;
    st = bd_mr_var_ref(R, pop->eqs, t, 1u << BD_SYM_STATE, "a state variable", pop->path, &i->at, ".poisson.target", &np->target);
    free(t);
    if (st) return st;
    const mentry *rate = bd_mmap_get(&i->params, "rate"), *w = bd_mmap_get(&i->params, "weight"),
                 *count = bd_mmap_get(&i->params, "count");
    bd_unit hz;
    if (!rate || !w) return bd_model_fail(R->m, &i->at, ".poisson", BD_ERR_PARSE, "missing \"rate\" or \"weight\"");
    if ((st = bd_unit_parse("Hz", &hz)) || (st = bd_mr_quantity(R, rate->v.a, in->env, &hz, &i->at, ".poisson.rate", &np->rate_hz)))
        return st;
    if (!(np->rate_hz >= 0)) return bd_model_fail(R->m, &i->at, ".poisson.rate", BD_ERR_MODEL, "negative rate");
    if ((st = bd_mr_quantity(R, w->v.a, in->env, &pop->eqs->syms[np->target].unit, &i->at, ".poisson.weight",
                             &np->weight)))
        return st;
    if (count) {
        long long c = 1;
        char *s;
        if ((st = bd_mr_subst(R, in->env, count->v.a, &i->at, ".poisson.count", &s))) return st;
        st = bd_mr_integer(R, s, &i->at, ".poisson.count", "count", 1, &c);
        free(s);
        np->count = (uint32_t)c;
    }
    return st;
}

static bd_status build_monitor(rctx *R, const bd_mmonitor *mon, bd_network *net, bd_net_monitor *nm)
{
    bd_status st;
    char sub[64];
    snprintf(sub, sizeof sub, ".%s", mon->kind);
    if (!(nm->name = strdup(mon->name))) return bd_mr_nomem();
    int var = strcmp(mon->kind, "var") == 0;
    nm->kind = var ? BD_MON_VAR : strcmp(mon->kind, "rate") == 0 ? BD_MON_RATE : BD_MON_SPIKES;
    if (!var && nm->kind == BD_MON_SPIKES && strcmp(mon->kind, "spikes") != 0)
        return bd_model_fail(R->m, &mon->at, "", BD_ERR_PARSE, "unknown monitor kind '%s' (spikes, var, rate)", mon->kind);
    char path[512];
    snprintf(path, sizeof path, "%s", mon->target);
    char *dot = var ? strrchr(path, '.') : NULL;
    if (var && !dot) return bd_model_fail(R->m, &mon->at, sub, BD_ERR_PARSE, "expected 'population.variable', e.g. 'E.V'");
    if (dot) *dot = '\0';
    if ((st = pop_ref(R, path, &mon->at, sub, &nm->pop))) return st;
    const bd_net_pop *pop = &net->pops[nm->pop];
    if (var && (st = bd_mr_var_ref(R, pop->eqs, dot + 1,
                                   1u << BD_SYM_STATE | 1u << BD_SYM_ALGEBRAIC | 1u << BD_SYM_PARAM, "a variable",
                                   pop->path, &mon->at, sub, &nm->sym)))
        return st;
    if (mon->has_idx && !var)
        return bd_model_fail(R->m, &mon->at, ".indices", BD_ERR_MODEL, "\"indices\" belongs to var monitors");
    if (mon->every && !var) return bd_model_fail(R->m, &mon->at, ".every", BD_ERR_MODEL, "\"every\" belongs to var monitors");
    if (mon->window && nm->kind != BD_MON_RATE)
        return bd_model_fail(R->m, &mon->at, ".window", BD_ERR_MODEL, "\"window\" belongs to rate monitors");
    if (mon->nidx && !(nm->indices = malloc(mon->nidx * sizeof *nm->indices))) return bd_mr_nomem();
    for (size_t k = 0; k < mon->nidx; k++) {
        char is[64];
        snprintf(is, sizeof is, ".indices[%zu]", k);
        if (mon->idx[k] < 0 || (size_t)mon->idx[k] >= pop->size)
            return bd_model_fail(R->m, &mon->at, is, BD_ERR_MODEL, "index %lld outside population '%s' of %zu",
                                 mon->idx[k], pop->path, pop->size);
        nm->indices[k] = (uint32_t)mon->idx[k];
    }
    nm->nindices = mon->nidx;
    if (mon->every && (st = bd_mr_ms_quantity(R, mon->every, NULL, &mon->at, ".every", &nm->every_ms))) return st;
    if (mon->window && (st = bd_mr_ms_quantity(R, mon->window, NULL, &mon->at, ".window", &nm->window_ms))) return st;
    if (!(nm->every_ms >= 0) || !(nm->window_ms >= 0))
        return bd_model_fail(R->m, &mon->at, mon->every ? ".every" : ".window", BD_ERR_MODEL, "negative time");
    return BD_OK;
}

static bd_status run_settings(rctx *R, bd_network *net)
{
    const bd_model *m = R->m;
    morigin top = {m->nsrcs ? 0 : -1, "$"};
    bd_status st;
    net->dt_ms = 0.1, net->duration_ms = 100, net->precision = BD_F32;
    if (m->run[RUN_DT] && (st = bd_mr_ms_quantity(R, m->run[RUN_DT], NULL, &top, ".run.dt", &net->dt_ms))) return st;
    if (!(net->dt_ms > 0)) return bd_model_fail(m, &top, ".run.dt", BD_ERR_MODEL, "dt must be positive");
    if (m->run[RUN_DURATION] && (st = bd_mr_ms_quantity(R, m->run[RUN_DURATION], NULL, &top, ".run.duration", &net->duration_ms)))
        return st;
    if (!(net->duration_ms >= 0)) return bd_model_fail(m, &top, ".run.duration", BD_ERR_MODEL, "negative duration");
    long long v = 0;
    if (m->run[RUN_SEED]) {
        char *end;
        double d = strtod(m->run[RUN_SEED], &end);
        if (end == m->run[RUN_SEED] || *end || d < 0 || d != floor(d) || d >= 18446744073709551616.0)
            return bd_model_fail(m, &top, ".run.seed", BD_ERR_MODEL, "the seed must be a non-negative integer");
        net->seed = (uint64_t)d;
    }
    if (m->run[RUN_THREADS]) {
        if ((st = bd_mr_integer(R, m->run[RUN_THREADS], &top, ".run.threads", "threads", 0, &v))) return st;
        net->threads = (int)v;
    }
    const char *prec = m->run[RUN_PRECISION];
    if (prec && strcmp(prec, "f32") && strcmp(prec, "f64"))
        return bd_model_fail(m, &top, ".run.precision", BD_ERR_PARSE, "expected \"f32\" or \"f64\"");
    if (prec && !strcmp(prec, "f64")) net->precision = BD_F64;
    if (m->run[RUN_DEVICE]) snprintf(net->device, sizeof net->device, "%s", m->run[RUN_DEVICE]);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * The whole network */

static bd_status resolve(rctx *R, bd_network *net)
{
    const bd_model *m = R->m;
    bd_status st;
    if (!(net->name = strdup(m->name ? m->name : "model")) || !(net->source = strdup(m->nsrcs ? m->srcs[0].path : "")))
        return bd_mr_nomem();
    if ((st = run_settings(R, net))) return st;
    /* types are checked even when nothing uses them, so a library file's mistakes show up early */
    for (int t = 0; t < m->ntypes; t++) {
        const bd_eqs *e;
        if (m->types[t]->kind != BD_TYPE_GROUP && (st = bd_mr_type_eqs(R, m->types[t], &e))) return st;
    }
    if ((st = collect(R, m->insts, m->ninsts, "", NULL, 0))) return st;
    for (int a = 0; a < R->npops; a++)
        for (int b = 0; b < a; b++)
            if (!strcmp(R->pops[a].path, R->pops[b].path))
                return bd_model_fail(m, &R->pops[a].i->at, "", BD_ERR_MODEL, "duplicate population path '%s'", R->pops[a].path);
    for (int j = 0; j < R->nprojs; j++) {
        rproj *pr = &R->projs[j];
        const bd_minst *i = pr->i;
        if ((st = pop_ref(R, pr->pre_path, &i->at, ".pre", &pr->pre)) || (st = pop_ref(R, pr->post_path, &i->at, ".post", &pr->post)))
            return st;
        char *ty;
        if (i->synapse) {
            if ((st = bd_mr_subst(R, pr->env, i->synapse->type, &i->synapse->at, ".type", &ty))) return st;
            pr->syn = bd_mr_type(R, ty, &i->synapse->at, ".type", BD_TYPE_SYNAPSE, &st);
            free(ty);
            if (st) return st;
            if (pr->syn->state && strcmp(pr->syn->state, "post") != 0 && strcmp(pr->syn->state, "pre") != 0)
                return bd_model_fail(m, &pr->syn->at, ".state", BD_ERR_PARSE, "expected \"post\" or \"pre\"");
            pr->syn_pre = pr->syn->state && !strcmp(pr->syn->state, "pre");
            if (pr->syn->scale)
                return bd_model_fail(m, &i->synapse->at, ".type", BD_ERR_MODEL, "type '%s' scales events (\"scale\"): use "
                                     "it as the projection's \"stp\", before a synapse", pr->syn->name);
        }
        if (i->stp) {
            if ((st = bd_mr_subst(R, pr->env, i->stp->type, &i->stp->at, ".type", &ty))) return st;
            pr->stp = bd_mr_type(R, ty, &i->stp->at, ".type", BD_TYPE_SYNAPSE, &st);
            free(ty);
            if (st) return st;
            if (!pr->stp->scale || !pr->stp->state || strcmp(pr->stp->state, "pre"))
                return bd_model_fail(m, &i->stp->at, ".type", BD_ERR_MODEL, "an \"stp\" type needs \"state\": \"pre\" and "
                                     "\"scale\" (the variable that multiplies the weight), which '%s' lacks", pr->stp->name);
            if (pr->syn_pre || i->coupling_source)
                return bd_model_fail(m, &i->at, ".stp", BD_ERR_MODEL, "\"stp\" scales events; this projection is continuous");
        }
        if (i->plasticity) {
            if ((st = bd_mr_subst(R, pr->env, i->plasticity->type, &i->plasticity->at, ".type", &ty))) return st;
            pr->pl = bd_mr_type(R, ty, &i->plasticity->at, ".type", BD_TYPE_PLASTICITY, &st);
            free(ty);
            if (st) return st;
            if (pr->syn_pre || i->coupling_source)
                return bd_model_fail(m, &i->at, ".plasticity", BD_ERR_MODEL, "plasticity needs an event projection");
        }
        if (i->coupling_source && (i->synapse || i->target))
            return bd_model_fail(m, &i->at, ".coupling", BD_ERR_MODEL, "a coupling projection has no \"synapse\" or "
                                 "\"target\": it feeds \"into\" an input variable");
        if (i->output) {
            if (!i->synapse) return bd_model_fail(m, &i->at, ".output", BD_ERR_MODEL, "an output needs a \"synapse\"");
            if ((st = bd_mr_subst(R, pr->env, i->output->type, &i->output->at, ".type", &ty))) return st;
            pr->out = bd_mr_type(R, ty, &i->output->at, ".type", BD_TYPE_OUTPUT, &st);
            free(ty);
            if (st) return st;
        }
    }
    for (int k = 0; k < R->nins; k++)
        if ((st = pop_ref(R, R->ins[k].into_path, &R->ins[k].i->at, ".into", &R->ins[k].pop))) return st;
    if (R->npops && !(net->pops = calloc((size_t)R->npops, sizeof *net->pops))) return bd_mr_nomem();
    for (int p = 0; p < R->npops; p++) {
        net->npops++;
        if ((st = build_pop(R, p, &net->pops[p])) || (st = build_tables(R, p, &net->pops[p]))) return st;
    }
    if (R->nprojs && !(net->projs = calloc((size_t)R->nprojs, sizeof *net->projs))) return bd_mr_nomem();
    for (int j = 0; j < R->nprojs; j++) {
        net->nprojs++;
        if ((st = bd_mr_build_proj(R, j, net, &net->projs[j]))) return st;
    }
    int npois = 0;
    for (int k = 0; k < R->nins; k++) npois += R->ins[k].kind == RIN_POISSON;
    if (npois && !(net->poisson = calloc((size_t)npois, sizeof *net->poisson))) return bd_mr_nomem();
    for (int k = 0; k < R->nins; k++) {
        if (R->ins[k].kind != RIN_POISSON) continue;
        net->npoisson++;
        if ((st = build_poisson(R, &R->ins[k], net, &net->poisson[net->npoisson - 1], (uint32_t)(net->npoisson - 1))))
            return st;
    }
    if (m->nmons && !(net->monitors = calloc((size_t)m->nmons, sizeof *net->monitors))) return bd_mr_nomem();
    for (int k = 0; k < m->nmons; k++) {
        net->nmonitors++;
        if ((st = build_monitor(R, m->mons[k], net, &net->monitors[k]))) return st;
    }
    return BD_OK;
}

bd_status bd_model_resolve(const bd_model *m, bd_network **out)
{
    if (!m || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_resolve: NULL argument");
    *out = NULL;
    rctx R = {.m = m};
    bd_network *net = calloc(1, sizeof *net);
    if (!net || !(R.teqs = calloc((size_t)m->ntypes + 1, sizeof *R.teqs))) {
        free(net);
        return bd_mr_nomem();
    }
    bd_status st = resolve(&R, net);
    rctx_free(&R);
    if (st) {
        bd_network_free(net);
        return st;
    }
    *out = net;
    return BD_OK;
}

bd_status bd_model_check(const bd_model *m)
{
    bd_network *net;
    bd_status st = bd_model_resolve(m, &net);
    bd_network_free(net);
    return st;
}

bd_status bd_model_describe(const bd_model *m, char **text)
{
    if (!text) return bd_fail(BD_ERR_INVALID_ARG, "bd_model_describe: NULL argument");
    *text = NULL;
    bd_network *net;
    bd_status st = bd_model_resolve(m, &net);
    if (st) return st;
    size_t cap = 4096, n = 0;
    for (int p = 0; p < net->npops; p++) cap += strlen(net->pops[p].path) + 64;
    for (int j = 0; j < net->nprojs; j++) cap += strlen(net->projs[j].path) + 2 * 64 + 128;
    for (int k = 0; k < net->nmonitors; k++) cap += strlen(net->monitors[k].name) + 128;
    for (int k = 0; k < net->npoisson; k++) cap += strlen(net->poisson[k].path) + 128;
    char *s = malloc(cap);
    if (!s) {
        bd_network_free(net);
        return bd_mr_nomem();
    }
#define OUT(...) (n += (size_t)snprintf(s + n, cap - n, __VA_ARGS__), n = n < cap ? n : cap - 1)
    OUT("Model '%s': %d population%s (", net->name, net->npops, net->npops == 1 ? "" : "s");
    size_t total = 0;
    for (int p = 0; p < net->npops; p++) {
        total += net->pops[p].size;
        OUT("%s%s: %zu", p ? ", " : "", net->pops[p].path, net->pops[p].size);
    }
    OUT("; %zu elements), %d projection%s", total, net->nprojs, net->nprojs == 1 ? "" : "s");
    for (int j = 0; j < net->nprojs; j++) {
        const bd_net_proj *pr = &net->projs[j];
        const bd_eqs *pe = net->pops[pr->post].eqs;
        OUT("%s%s: %s -> %s.%s, %s%s", j ? "; " : " (", pr->path, net->pops[pr->pre].path, net->pops[pr->post].path,
            pe->syms[pr->coupling ? pr->fed : pr->target].name, pr->coupling ? pr->diffusive ? "diffusive coupling, " :
            "additive coupling, " : pr->plastic ? "plastic, " : pr->scaled ? "stp, " : "", bd_conn_kind_name(pr->conn));
        if (pr->conn == BD_CONN_FIXED_PROB) OUT(" %g", pr->p);
        if (pr->conn == BD_CONN_FIXED_OUTDEGREE) OUT(" %u", pr->k);
        if (pr->delay_ms > 0) OUT(", delay %g ms", pr->delay_ms);
    }
    OUT("%s, %d Poisson input%s", net->nprojs ? ")" : "", net->npoisson, net->npoisson == 1 ? "" : "s");
    for (int k = 0; k < net->npoisson; k++)
        OUT("%s%s: %u x %g Hz -> %s.%s", k ? "; " : " (", net->poisson[k].path, net->poisson[k].count,
            net->poisson[k].rate_hz, net->pops[net->poisson[k].pop].path,
            net->pops[net->poisson[k].pop].eqs->syms[net->poisson[k].target].name);
    OUT("%s, %d monitor%s", net->npoisson ? ")" : "", net->nmonitors, net->nmonitors == 1 ? "" : "s");
    static const char *const mk[] = {"spikes", "var", "rate"};
    for (int k = 0; k < net->nmonitors; k++) {
        const bd_net_monitor *mo = &net->monitors[k];
        OUT("%s%s: %s of %s", k ? "; " : " (", mo->name, mk[mo->kind], net->pops[mo->pop].path);
        if (mo->kind == BD_MON_VAR) OUT(".%s", net->pops[mo->pop].eqs->syms[mo->sym].name);
    }
    OUT("%s; dt %g ms, duration %g ms, seed %llu, %s.", net->nmonitors ? ")" : "", net->dt_ms, net->duration_ms,
        (unsigned long long)net->seed, net->precision == BD_F64 ? "f64" : "f32");
    if (m->doc) OUT(" %s", m->doc);
#undef OUT
    bd_network_free(net);
    *text = s;
    return BD_OK;
}
