/* Systems of equations (bd_system, include/bdyn/integrate.h): parsing, parameter and initial values,
 * histories of delayed variables. */
#include "integrate_impl.h"
#include "error.h"
#include "nearest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------ */
/* Systems                                                                                          */

static int state_of(const bd_eqs *e, int sym)
{
    for (int v = 0; v < e->nodes; v++)
        if (e->odes[v].sym == sym) return v;
    return -1;
}

/* The symbol called name, or -1 with *st and a message (suggesting the nearest name of the wanted kinds,
 * a mask of 1 << bd_sym_kind). */
static int find_sym(const bd_system *s, const char *name, unsigned mask, const char *what, const char *fn, bd_status *st)
{
    if (!s || !name) {
        *st = bd_fail(BD_ERR_INVALID_ARG, "%s: NULL argument", fn);
        return -1;
    }
    int k = bd_eqs_find(s->eqs, name);
    if (k >= 0 && (mask >> s->eqs->syms[k].kind & 1)) return k;
    if (k >= 0) {
        static const char *const kinds[] = {"the time", "a state variable", "a parameter", "a constant",
                                            "an algebraic variable", "a noise term"};
        *st = bd_fail(BD_ERR_INVALID_ARG, "%s: '%s' is %s, not a %s", fn, name, kinds[s->eqs->syms[k].kind], what);
        return -1;
    }
    const char **cand = malloc((size_t)s->eqs->nsyms * sizeof *cand);
    size_t nc = 0;
    for (int j = 0; cand && j < s->eqs->nsyms; j++)
        if (mask >> s->eqs->syms[j].kind & 1) cand[nc++] = s->eqs->syms[j].name;
    const char *near = cand ? bd_nearest_name(name, cand, nc) : NULL;
    *st = bd_fail(BD_ERR_NOT_FOUND, "%s: %s has no %s '%s'%s%s%s", fn, s->eqs->source_name, what, name,
                  near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    free(cand);
    return -1;
}

#define PARAM_KINDS (1u << BD_SYM_PARAM | 1u << BD_SYM_CONST)
#define STATE_KINDS (1u << BD_SYM_STATE)

bd_status bd_system_new(const char *equations, const char *source_name, bd_system **out)
{
    if (!out || !equations) return bd_fail(BD_ERR_INVALID_ARG, "bd_system_new: NULL argument");
    *out = NULL;
    bd_eqs *e = NULL;
    bd_status st = bd_eqs_parse(equations, source_name ? source_name : "<text>", &e);
    if (st) return st;
    if (e->nodes == 0) {
        st = bd_fail(BD_ERR_MODEL, "%s: no differential equation (dx/dt = ...) to integrate", e->source_name);
        bd_eqs_free(e);
        return st;
    }
    bd_system *s = calloc(1, sizeof *s);
    size_t nv = (size_t)e->nodes, ns = (size_t)e->nsyms;
    if (s) {
        s->eqs = e;
        s->init = calloc(nv, sizeof *s->init);
        s->init_array = calloc(nv, sizeof *s->init_array);
        s->init_n = calloc(nv, sizeof *s->init_n);
        s->history = calloc(nv, sizeof *s->history);
        s->param_array = calloc(ns, sizeof *s->param_array);
        s->param_n = calloc(ns, sizeof *s->param_n);
    }
    if (!s || !s->init || !s->init_array || !s->init_n || !s->history || !s->param_array || !s->param_n) {
        if (s) bd_system_free(s);
        else bd_eqs_free(e);
        return bd_fail(BD_ERR_NOMEM, "bd_system_new: out of memory for %s", source_name ? source_name : "<text>");
    }
    *out = s;
    return BD_OK;
}

void bd_system_free(bd_system *s)
{
    if (!s) return;
    for (int v = 0; s->eqs && v < s->eqs->nodes; v++) {
        if (s->init_array) free(s->init_array[v]);
        if (s->history) bd_ex_free(s->history[v]);
    }
    for (int k = 0; s->param_array && s->eqs && k < s->eqs->nsyms; k++) free(s->param_array[k]);
    free(s->init), free(s->init_array), free(s->init_n), free(s->history), free(s->param_array), free(s->param_n);
    bd_eqs_free(s->eqs);
    free(s);
}

bd_status bd_system_set_value(bd_system *s, const char *name, double value)
{
    bd_status st = BD_OK;
    int k = find_sym(s, name, PARAM_KINDS, "parameter", "bd_system_set", &st);
    if (k < 0) return st;
    if (!isfinite(value)) return bd_fail(BD_ERR_INVALID_ARG, "bd_system_set: value of '%s' is not finite", name);
    s->eqs->syms[k].value = value;
    free(s->param_array[k]);
    s->param_array[k] = NULL;
    s->param_n[k] = 0;
    return BD_OK;
}

bd_status bd_system_set(bd_system *s, const char *name, const char *quantity)
{
    bd_status st = BD_OK;
    int k = find_sym(s, name, PARAM_KINDS, "parameter", "bd_system_set", &st);
    if (k < 0) return st;
    if (!quantity) return bd_fail(BD_ERR_INVALID_ARG, "bd_system_set: NULL quantity for '%s'", name);
    char label[96];
    snprintf(label, sizeof label, "parameter '%s'", name);
    double v;
    st = bd_quantity_parse(quantity, &s->eqs->syms[k].unit, label, &v);
    return st ? st : bd_system_set_value(s, name, v);
}

static bd_status copy_array(const double *values, size_t n, const char *name, const char *fn, double **out)
{
    if (!values || n == 0) return bd_fail(BD_ERR_INVALID_ARG, "%s: no values for '%s'", fn, name);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i])) return bd_fail(BD_ERR_INVALID_ARG, "%s: value %zu of '%s' is not finite", fn, i, name);
    double *a = malloc(n * sizeof *a);
    if (!a) return bd_fail(BD_ERR_NOMEM, "%s: out of memory for %zu values of '%s'", fn, n, name);
    memcpy(a, values, n * sizeof *a);
    *out = a;
    return BD_OK;
}

bd_status bd_system_set_array(bd_system *s, const char *name, const double *values, size_t n)
{
    bd_status st = BD_OK;
    int k = find_sym(s, name, PARAM_KINDS, "parameter", "bd_system_set_array", &st);
    if (k < 0) return st;
    if (s->eqs->syms[k].kind == BD_SYM_CONST)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_system_set_array: '%s' is a constant, shared by all elements: use "
                       "bd_system_set", name);
    double *a;
    st = copy_array(values, n, name, "bd_system_set_array", &a);
    if (st) return st;
    free(s->param_array[k]);
    s->param_array[k] = a;
    s->param_n[k] = n;
    s->eqs->syms[k].value = a[0];
    return BD_OK;
}

bd_status bd_system_init(bd_system *s, const char *var, const char *quantity)
{
    bd_status st = BD_OK;
    int k = find_sym(s, var, STATE_KINDS, "state variable", "bd_system_init", &st);
    if (k < 0) return st;
    if (!quantity) return bd_fail(BD_ERR_INVALID_ARG, "bd_system_init: NULL quantity for '%s'", var);
    char label[96];
    snprintf(label, sizeof label, "initial value of '%s'", var);
    double x;
    st = bd_quantity_parse(quantity, &s->eqs->syms[k].unit, label, &x);
    if (st) return st;
    if (!isfinite(x)) return bd_fail(BD_ERR_INVALID_ARG, "bd_system_init: initial value of '%s' is not finite", var);
    int v = state_of(s->eqs, k);
    s->init[v] = x;
    free(s->init_array[v]);
    s->init_array[v] = NULL;
    s->init_n[v] = 0;
    return BD_OK;
}

bd_status bd_system_init_array(bd_system *s, const char *var, const double *values, size_t n)
{
    bd_status st = BD_OK;
    int k = find_sym(s, var, STATE_KINDS, "state variable", "bd_system_init_array", &st);
    if (k < 0) return st;
    double *a;
    st = copy_array(values, n, var, "bd_system_init_array", &a);
    if (st) return st;
    int v = state_of(s->eqs, k);
    free(s->init_array[v]);
    s->init_array[v] = a;
    s->init_n[v] = n;
    return BD_OK;
}

/* Rewrites the symbols of a tree parsed in the history's own equations into the system's indices. */
static bd_status remap(const bd_eqs *from, const bd_eqs *to, bd_expr *e, const char *var)
{
    if (!e) return BD_OK;
    if (e->kind == BD_EX_DELAY)
        return bd_fail(BD_ERR_MODEL, "history of '%s': a history cannot refer to delayed values", var);
    if (e->kind == BD_EX_SYM) {
        int k = bd_eqs_find(to, from->syms[e->sym].name);
        if (k < 0) return bd_fail(BD_ERR_MODEL, "history of '%s': unknown symbol '%s'", var, from->syms[e->sym].name);
        e->sym = k;
    }
    for (int a = 0; a < 3; a++) {
        bd_status st = e->arg[a] ? remap(from, to, e->arg[a], var) : BD_OK;
        if (st) return st;
    }
    return BD_OK;
}

/* The history is parsed as the algebraic definition `bdyn_history = <expr> : <unit of var>` beside
 * declarations of every parameter and constant, so it gets the parser's unit checks and conversions;
 * then its symbols are renumbered into the system's equations. */
bd_status bd_system_history(bd_system *s, const char *var, const char *expr)
{
    bd_status st = BD_OK;
    int k = find_sym(s, var, STATE_KINDS, "state variable", "bd_system_history", &st);
    if (k < 0) return st;
    if (!expr || strchr(expr, '\n'))
        return bd_fail(BD_ERR_INVALID_ARG, "bd_system_history: the history of '%s' must be one expression", var);
    const bd_eqs *e = s->eqs;
    size_t cap = strlen(expr) + 128, len = 0;
    for (int j = 0; j < e->nsyms; j++) cap += strlen(e->syms[j].name) + strlen(e->syms[j].unit_text) + 32;
    char *text = malloc(cap);
    if (!text) return bd_fail(BD_ERR_NOMEM, "bd_system_history: out of memory for '%s'", var);
    for (int j = 0; j < e->nsyms; j++) {
        const bd_symbol *y = &e->syms[j];
        if (y->kind != BD_SYM_PARAM && y->kind != BD_SYM_CONST) continue;
        len += (size_t)snprintf(text + len, cap - len, "%s : %s%s\n", y->name, y->unit_text[0] ? y->unit_text : "1",
                                y->kind == BD_SYM_CONST ? " (constant)" : "");
    }
    snprintf(text + len, cap - len, "bdyn_history = %s : %s\n", expr,
             e->syms[k].unit_text[0] ? e->syms[k].unit_text : "1");
    char label[96];
    snprintf(label, sizeof label, "history of '%s'", var);
    bd_eqs *h = NULL;
    st = bd_eqs_parse(text, label, &h);
    free(text);
    if (st) return st;
    int hk = bd_eqs_find(h, "bdyn_history");
    bd_expr *def = hk >= 0 ? bd_ex_copy(h->syms[hk].def) : NULL;
    if (!def) st = bd_fail(BD_ERR_NOMEM, "bd_system_history: out of memory for '%s'", var);
    if (!st) st = remap(h, e, def, var);
    bd_eqs_free(h);
    if (st) {
        bd_ex_free(def);
        return st;
    }
    int v = state_of(e, k);
    bd_ex_free(s->history[v]);
    s->history[v] = def;
    return BD_OK;
}

size_t bd_system_nstate(const bd_system *s) { return s ? (size_t)s->eqs->nodes : 0; }

const char *bd_system_state_name(const bd_system *s, size_t v)
{
    return s && v < (size_t)s->eqs->nodes ? s->eqs->syms[s->eqs->odes[v].sym].name : NULL;
}

const char *bd_system_state_unit(const bd_system *s, size_t v)
{
    return s && v < (size_t)s->eqs->nodes ? s->eqs->syms[s->eqs->odes[v].sym].unit_text : NULL;
}

