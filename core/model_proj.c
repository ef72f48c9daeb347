/* Projections of a resolved model (docs/model-format.md "Projections"): event projections onto a state
 * variable or through a synapse (with short-term plasticity and a weight rule), and continuous projections
 * (couplings, and synapses whose state lives per presynaptic neuron). Their connectivity and weights are read
 * by model_conn.c; the populations they join are already built (model_resolve.c). */
#include "model_impl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* on_spike in format 1: one statement `x = x + w` (the additive form the runner delivers). */
static bd_status on_spike_var(rctx *R, const rproj *pr, char *var, size_t cap)
{
    const bd_mtype *t = pr->syn;
    const char *s = t->has_on_spike ? (t->on_spike.n == 1 ? t->on_spike.s[0] : NULL) : "g = g + w";
    char a[BD_EQ_NAME_MAX], b[BD_EQ_NAME_MAX], w[8], rest[8] = "";
    int n = 0;
    if (!s || sscanf(s, " %47[A-Za-z0-9_] = %47[A-Za-z0-9_] + %7[A-Za-z0-9_] %n%7s", a, b, w, &n, rest) < 3 ||
        strcmp(a, b) != 0 || strcmp(w, "w") != 0 || rest[0])
        return bd_model_fail(R->m, &t->at, ".on_spike", BD_ERR_UNSUPPORTED,
                             "format 1 supports one on_spike statement of the form 'x = x + w'");
    const bd_eqs *se;
    bd_status st = bd_mr_type_eqs(R, t, &se);
    if (st) return st;
    int sym = bd_eqs_find(se, a);
    if (sym < 0 || se->syms[sym].kind != BD_SYM_STATE)
        return bd_model_fail(R->m, &t->at, ".on_spike", BD_ERR_MODEL, "on_spike adds to '%s', which is not a state "
                             "variable of synapse type '%s'", a, t->name);
    snprintf(var, cap, "%s__%s", pr->pfx, a);
    return BD_OK;
}

/* The delay of projection j in ms (a quantity; default 0). */
static bd_status proj_delay(rctx *R, const rproj *pr, bd_net_proj *np)
{
    const bd_minst *i = pr->i;
    bd_status st;
    if (i->delay && (st = bd_mr_ms_quantity(R, i->delay, pr->env, &i->at, ".delay", &np->delay_ms))) return st;
    if (!(np->delay_ms >= 0)) return bd_model_fail(R->m, &i->at, ".delay", BD_ERR_MODEL, "negative delay");
    return BD_OK;
}

/* The index of pre/post state variable `<pfx>_pl__<name>` (the trace a weight rule reads), or -1. */
static int trace_var(const bd_net_pop *pop, const char *pfx, const char *name)
{
    char full[3 * BD_EQ_NAME_MAX + 8];
    snprintf(full, sizeof full, "%s_pl__%s", pfx, name);
    int s = bd_eqs_find(pop->eqs, full);
    for (int v = 0; s >= 0 && v < pop->eqs->nodes; v++)
        if (pop->eqs->odes[v].sym == s) return v;
    return -1;
}

/* The weight rule of a plasticity type: the statements of on_pre / on_post that assign w become algebraic
 * new weights over w, the traces and the type's parameters (docs/model-format.md "Plasticity"). */
static bd_status build_plastic(rctx *R, const rproj *pr, bd_network *net, bd_net_proj *np)
{
    const bd_mtype *t = pr->pl;
    const bd_net_pop *pre = &net->pops[pr->pre], *post = &net->pops[pr->post];
    const bd_eqs *e;
    bd_status st = bd_mr_type_eqs(R, t, &e);
    if (st) return st;
    int ws = bd_eqs_find(e, "w");
    const bd_symbol *tg = &post->eqs->syms[np->target];
    if (ws < 0 || (e->syms[ws].kind != BD_SYM_PARAM && e->syms[ws].kind != BD_SYM_CONST))
        return bd_model_fail(R->m, &t->at, ".equations", BD_ERR_MODEL, "plasticity type '%s' must declare the weight "
                             "('w : unit')", t->name);
    if (memcmp(e->syms[ws].unit.dim, tg->unit.dim, sizeof tg->unit.dim) != 0)
        return bd_model_fail(R->m, &pr->i->at, ".plasticity", BD_ERR_UNITS, "plasticity type '%s' has w in %s, but the "
                             "projection's weights are in %s", t->name, e->syms[ws].unit_text, tg->unit_text);
    size_t cap = 4096;
    for (int k = 0; k < t->on_pre.n; k++) cap += strlen(t->on_pre.s[k]) + 64;
    for (int k = 0; k < t->on_post.n; k++) cap += strlen(t->on_post.s[k]) + 64;
    cap += (size_t)e->nsyms * (BD_EQ_NAME_MAX + 64);
    char *text = malloc(cap);
    if (!text) return bd_mr_nomem();
    size_t n = 0;
    for (int s = 1; s < e->nsyms; s++) {
        const bd_symbol *y = &e->syms[s];
        if (y->kind == BD_SYM_NOISE) continue;
        int trace = y->kind == BD_SYM_STATE;
        n += (size_t)snprintf(text + n, cap - n, "%s : %s%s\n", y->name, y->unit_text, trace || s == ws ? "" : " (constant)");
    }
    static const char *const names[] = {"w_on_pre", "w_on_post"};
    for (int side = 0; side < 2; side++) {
        const strlist *l = side ? &t->on_post : &t->on_pre;
        int found = 0;
        for (int k = 0; k < l->n; k++) {
            const char *q = l->s[k], *eq = strchr(q, '=');
            while (*q == ' ') q++;
            if (!eq || strncmp(q, "w", 1) != 0 || (q[1] != ' ' && q[1] != '=')) continue;
            if (found++)
                return free(text), bd_model_fail(R->m, &t->at, side ? ".on_post" : ".on_pre", BD_ERR_MODEL,
                                                 "two statements assign w");
            n += (size_t)snprintf(text + n, cap - n, "%s = %s : %s\n", names[side], eq + 1, e->syms[ws].unit_text);
        }
    }
    bd_net_plastic *pl = calloc(1, sizeof *pl);
    if (!pl) return free(text), bd_mr_nomem();
    np->plastic = pl;
    char label[300];
    snprintf(label, sizeof label, "%s: weight rule of plasticity type '%s'", pr->path, t->name);
    st = bd_eqs_parse(text, label, &pl->rule);
    free(text);
    if (st) return bd_model_context(R->m, &t->at, "", st);
    const bd_eqs *r = pl->rule;
    pl->w = bd_eqs_find(r, "w"), pl->on_pre = bd_eqs_find(r, names[0]), pl->on_post = bd_eqs_find(r, names[1]);
    pl->pre_var = malloc((size_t)r->nsyms * sizeof *pl->pre_var);
    pl->post_var = malloc((size_t)r->nsyms * sizeof *pl->post_var);
    if (!pl->pre_var || !pl->post_var) return bd_mr_nomem();
    for (int s = 0; s < r->nsyms && !st; s++) {
        bd_symbol *y = &r->syms[s];
        pl->pre_var[s] = pl->post_var[s] = -1;
        if (s == 0 || s == pl->w || y->kind == BD_SYM_ALGEBRAIC) continue;
        int te = bd_eqs_find(e, y->name);
        if (e->syms[te].kind == BD_SYM_STATE) {
            int side = 0;
            for (int k = 0; k < t->post.n; k++) side |= !strcmp(t->post.s[k], y->name);
            int v = trace_var(side ? post : pre, pr->pfx, y->name);
            if (v < 0)
                st = bd_model_fail(R->m, &t->at, side ? ".post" : ".pre", BD_ERR_MODEL, "trace '%s' of plasticity type "
                                   "'%s' is listed in neither \"pre\" nor \"post\"", y->name, t->name);
            else if (side) pl->post_var[s] = v;
            else pl->pre_var[s] = v;
            continue;
        }
        const mentry *over = pr->i->plasticity ? bd_mmap_get(&pr->i->plasticity->params, y->name) : NULL;
        const mentry *def = bd_mmap_get(&t->params, y->name);
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", y->name);
        if (over) st = bd_mr_quantity(R, over->v.a, pr->env, &y->unit, &pr->i->plasticity->at, sub, &y->value);
        else if (def) st = bd_mr_quantity(R, def->v.a, NULL, &y->unit, &t->at, sub, &y->value);
        else st = bd_model_fail(R->m, &t->at, ".params", BD_ERR_MODEL, "parameter '%s' of plasticity type '%s' has no "
                                "value", y->name, t->name);
    }
    return st;
}

/* The post parameter a continuous projection feeds (flattening declares it): `<pfx>__c` for a coupling,
 * `<pfx>__<synapse var>_sum` for an align-pre synapse. */
static void fed_name(const rproj *pr, char *out, size_t cap)
{
    snprintf(out, cap, "%s__%s%s", pr->pfx, pr->syn_pre ? pr->syn_var : "c", pr->syn_pre ? "_sum" : "");
}

/* 1 if `name` of population p is written every step by a continuous projection (no value needed). */
int bd_mr_fed_param(const rctx *R, int p, const char *name)
{
    for (int j = 0; j < R->nprojs; j++) {
        const rproj *pr = &R->projs[j];
        char fed[3 * BD_EQ_NAME_MAX + 8];
        if (pr->post != p || !(pr->i->coupling_source || pr->syn_pre)) continue;
        fed_name(pr, fed, sizeof fed);
        if (!strcmp(fed, name)) return 1;
    }
    return 0;
}

/* A continuous projection: an explicit coupling, or a synapse whose state lives per presynaptic neuron. */
static bd_status build_coupling(rctx *R, int j, bd_network *net, bd_net_proj *np)
{
    const rproj *pr = &R->projs[j];
    const bd_minst *i = pr->i;
    const bd_net_pop *pre = &net->pops[pr->pre], *post = &net->pops[pr->post];
    bd_status st;
    np->coupling = 1;
    np->diffusive = i->coupling_mode && !strcmp(i->coupling_mode, "diffusive");
    if (i->target) return bd_model_fail(R->m, &i->at, ".target", BD_ERR_MODEL, "a continuous projection has no \"target\"");
    char src[3 * BD_EQ_NAME_MAX], fed[3 * BD_EQ_NAME_MAX + 8];
    const char *jsub = pr->syn_pre ? ".synapse" : ".coupling.source";
    fed_name(pr, fed, sizeof fed);
    if (pr->syn_pre) {
        snprintf(src, sizeof src, "%s__%s", pr->pfx, pr->syn_var);
    } else {
        char *t;
        if ((st = bd_mr_subst(R, pr->env, i->coupling_source, &i->at, jsub, &t))) return st;
        snprintf(src, sizeof src, "%s", t);
        free(t);
    }
    const unsigned kinds = 1u << BD_SYM_STATE | 1u << BD_SYM_ALGEBRAIC | 1u << BD_SYM_PARAM | 1u << BD_SYM_CONST;
    if ((st = bd_mr_var_ref(R, pre->eqs, src, kinds, "a variable", pre->path, &i->at, jsub, &np->src_sym))) return st;
    if ((st = bd_mr_var_ref(R, post->eqs, fed, 1u << BD_SYM_PARAM, "a parameter", post->path, &i->at, jsub, &np->fed))) return st;
    const bd_unit *us = &pre->eqs->syms[np->src_sym].unit, *uf = &post->eqs->syms[np->fed].unit;
    if (np->diffusive) {
        if ((st = bd_mr_var_ref(R, post->eqs, src, kinds, "a variable", post->path, &i->at, jsub, &np->src_post)))
            return st;
        if (memcmp(us->dim, post->eqs->syms[np->src_post].unit.dim, sizeof us->dim) != 0)
            return bd_model_fail(R->m, &i->at, jsub, BD_ERR_UNITS, "diffusive coupling: '%s' has other units in '%s' and "
                                 "'%s'", src, pre->path, post->path);
    }
    bd_unit w = {uf->scale / us->scale, {0}}; /* the weight converts the source's unit into the fed one */
    for (int d = 0; d < 7; d++) w.dim[d] = (signed char)(uf->dim[d] - us->dim[d]);
    if (!i->weight.a) return bd_model_fail(R->m, &i->at, "", BD_ERR_PARSE, "missing \"weight\"");
    if ((st = bd_mr_dist(R, &i->weight, pr->env, &w, &i->at, ".weight", 0, &np->weight))) return st;
    if ((st = proj_delay(R, pr, np))) return st;
    if (i->delays.a) { /* per connection, in ms */
        bd_unit ms;
        if (!(np->delays = calloc(1, sizeof *np->delays))) return bd_mr_nomem();
        if ((st = bd_unit_parse("ms", &ms)) || (st = bd_mr_dist(R, &i->delays, pr->env, &ms, &i->at, ".delay", 0, np->delays)))
            return st;
        if (np->delays->kind == BD_DIST_FROM_CONN || np->delays->kind == BD_DIST_ORTHOGONAL)
            return bd_model_fail(R->m, &i->at, ".delay", BD_ERR_MODEL, "per-connection delays take a distribution, a "
                                 "file or a matrix");
    }
    return bd_mr_build_conn(R, j, net, np);
}

bd_status bd_mr_build_proj(rctx *R, int j, bd_network *net, bd_net_proj *np)
{
    const rproj *pr = &R->projs[j];
    const bd_minst *i = pr->i;
    const bd_net_pop *post = &net->pops[pr->post];
    bd_status st;
    if (!(np->path = strdup(pr->path))) return bd_mr_nomem();
    np->pre = pr->pre, np->post = pr->post, np->id = (uint32_t)j;
    np->include_self = 1;
    np->scale_var = np->src_sym = np->src_post = np->fed = np->target = -1;
    if (i->coupling_source || pr->syn_pre) return build_coupling(R, j, net, np);
    char target[2 * BD_EQ_NAME_MAX + 4];
    if (pr->stp) {
        char name[3 * BD_EQ_NAME_MAX];
        const bd_net_pop *pre = &net->pops[pr->pre];
        snprintf(name, sizeof name, "%s_stp__%s", pr->pfx, pr->stp->scale);
        int s = bd_eqs_find(pre->eqs, name);
        np->scale_var = -1;
        for (int v = 0; s >= 0 && v < pre->eqs->nodes; v++)
            if (pre->eqs->odes[v].sym == s) np->scale_var = v;
        np->scaled = 1;
        if (np->scale_var < 0)
            return bd_model_fail(R->m, &pr->stp->at, ".scale", BD_ERR_MODEL, "\"scale\" '%s' is not a state variable of "
                                 "type '%s'", pr->stp->scale, pr->stp->name);
    }
    if (pr->syn) {
        if (i->target) return bd_model_fail(R->m, &i->at, ".target", BD_ERR_MODEL, "a projection with a synapse targets "
                                            "the synapse's state: remove \"target\"");
        if ((st = on_spike_var(R, pr, target, sizeof target))) return st;
    } else {
        if (!i->target) return bd_model_fail(R->m, &i->at, "", BD_ERR_PARSE, "missing \"target\" (a state variable of the "
                                             "post population) or \"synapse\"");
        char *t;
        if ((st = bd_mr_subst(R, pr->env, i->target, &i->at, ".target", &t))) return st;
        snprintf(target, sizeof target, "%s", t);
        free(t);
    }
    if ((st = bd_mr_var_ref(R, post->eqs, target, 1u << BD_SYM_STATE, "a state variable", post->path, &i->at,
                            pr->syn ? ".synapse" : ".target", &np->target)))
        return st;
    if (!i->weight.a) return bd_model_fail(R->m, &i->at, "", BD_ERR_PARSE, "missing \"weight\"");
    if ((st = bd_mr_dist(R, &i->weight, pr->env, &post->eqs->syms[np->target].unit, &i->at, ".weight", 0, &np->weight)))
        return st;
    if ((st = proj_delay(R, pr, np))) return st;
    if (i->delays.a)
        return bd_model_fail(R->m, &i->at, ".delay", BD_ERR_UNSUPPORTED, "per-connection delays are supported for "
                             "coupling projections; an event projection takes one delay");
    if (pr->pl && (st = build_plastic(R, pr, net, np))) return st;
    return bd_mr_build_conn(R, j, net, np);
}
