/* Flattening (docs/model-format.md, "Channels: how a neuron is composed"): one equations text per population,
 * made of the neuron type's statements, its channels', its incoming synapses' and outputs' and its inputs',
 * with the parts' symbols renamed `<part>__<name>` and the input variables defined as sums. Renaming works
 * on tokens of each statement's expression, never on substrings, and never touches units. */
#include "model_impl.h"
#include "error.h"
#include "jsonpos.h"
#include "nearest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; an allocation failure is remembered and reported once at the end. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t len)
{
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns, b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

bd_status bd_mr_subst(rctx *R, const genv *env, const char *text, const morigin *o, const char *sub, char **out)
{
    sbuf b = {0};
    const char *p = text ? text : "";
    sb_add(&b, "", 0);
    for (;;) {
        const char *d = strstr(p, "${");
        if (!d) break;
        sb_add(&b, p, (size_t)(d - p));
        const char *e = strchr(d, '}');
        if (!e) {
            free(b.s);
            return bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "unterminated '${' in \"%s\"", text);
        }
        int len = (int)(e - d - 2), k = 0;
        while (env && k < env->n && !((int)strlen(env->name[k]) == len && !strncmp(env->name[k], d + 2, (size_t)len))) k++;
        if (!env || k == env->n) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", len < 63 ? len : 63, d + 2);
            const char *near = env ? bd_nearest_name(name, (const char *const *)env->name, (size_t)env->n) : NULL;
            free(b.s);
            if (!env) return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "'${%s}' outside a group type", name);
            return bd_model_fail(R->m, o, sub, BD_ERR_NOT_FOUND, "unknown group parameter '${%s}'%s%s%s", name,
                                 near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        }
        sb_str(&b, env->val[k]);
        p = e + 1;
    }
    sb_str(&b, p);
    if (b.oom) {
        free(b.s);
        return bd_fail(BD_ERR_NOMEM, "out of memory resolving the model");
    }
    *out = b.s;
    return BD_OK;
}

const bd_mtype *bd_mr_type(rctx *R, const char *name, const morigin *o, const char *sub, int kind, bd_status *st)
{
    const bd_mtype *t = bd_model_find_type(R->m, name);
    if (!t) {
        bd_nearest s;
        bd_nearest_init(&s, name, (int)strlen(name));
        for (int i = 0; i < R->m->ntypes; i++) bd_nearest_try(R->m->types[i]->name, &s);
        const char *near = bd_nearest_result(&s);
        *st = bd_model_fail(R->m, o, sub, BD_ERR_NOT_FOUND, "unknown type '%s'%s%s%s", name,
                            near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return NULL;
    }
    int ok = kind < 0 ? (t->kind == BD_TYPE_NEURON || t->kind == BD_TYPE_RATE) : (int)t->kind == kind;
    if (!ok) {
        *st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "type '%s' is a %s; expected a %s", name,
                            bd_type_kind_name(t->kind), kind < 0 ? "neuron or rate type" : bd_type_kind_name(kind));
        return NULL;
    }
    *st = BD_OK;
    return t;
}

/* ------------------------------------------------------------------------------------------------------------
 * A type's own equations */

/* The statements placed on the lines and columns where they stand in the file, so that the parser's
 * line:col and caret point into the JSON itself (as core/system_json.c does). */
static char *positioned(const bd_model *m, const bd_mtype *t)
{
    const char *text = bd_model_src_text(m, &t->at);
    sbuf b = {0};
    sb_add(&b, "", 0);
    int line = 1;
    for (int i = 0; i < t->equations.n; i++) {
        const char *s = t->equations.s[i];
        int fl = line + (i > 0), fc = 1;
        if (text && t->equations_is_list) {
            char jp[600];
            snprintf(jp, sizeof jp, "%s.equations[%d]", t->at.jpath, i);
            const char *p = bd_json_find(text, jp);
            if (p) bd_json_line_col(text, p + 1, &fl, &fc);
            if (fl < line || (i > 0 && fl == line)) fl = line + (i > 0), fc = 1;
        }
        while (line < fl) sb_add(&b, "\n", 1), line++;
        for (int c = 1; c < fc; c++) sb_add(&b, " ", 1);
        sb_str(&b, s);
        for (const char *c = s; *c; c++) line += *c == '\n';
    }
    if (b.oom) free(b.s);
    return b.oom ? NULL : b.s;
}

/* Checks a condition or reset of a neuron type by parsing it after the type's equations as an algebraic
 * definition, and reports a failure at the JSON string itself. */
static bd_status check_extra(rctx *R, const bd_mtype *t, const char *base, const char *prefix, const char *expr,
                             const char *suffix, const char *sub, int skip)
{
    sbuf b = {0};
    sb_str(&b, base);
    sb_str(&b, "\n");
    sb_str(&b, prefix);
    sb_str(&b, expr);
    sb_str(&b, suffix);
    if (b.oom) {
        free(b.s);
        return bd_fail(BD_ERR_NOMEM, "out of memory checking %s", sub);
    }
    bd_eqs *e = NULL;
    bd_status st = bd_eqs_parse(b.s, "\x01", &e);
    free(b.s);
    bd_eqs_free(e);
    if (!st) return BD_OK;
    /* "\x01:line:col: what\n  text\n  caret" -> the same about the string in the file */
    const char *msg = bd_last_error();
    int line = 0, col = 0, n = 0;
    if (sscanf(msg, "\x01:%d:%d: %n", &line, &col, &n) != 2 || n == 0) return bd_model_context(R->m, &t->at, sub, st);
    const char *what = msg + n, *nl = strchr(what, '\n');
    int off = col - 1 - (int)strlen(prefix), wlen = nl ? (int)(nl - what) : (int)strlen(what), elen = (int)strlen(expr);
    if (off < 0) off = 0;
    if (off > elen) off = elen;
    int clen = 1;
    const char *caret = nl ? strchr(nl + 1, '\n') : NULL;
    if (caret && (caret = strchr(caret, '^'))) {
        clen = 1;
        while (caret[clen] == '~') clen++;
    }
    if (off + clen > elen) clen = elen - off > 0 ? elen - off : 1;
    char marks[512];
    int k = 0;
    for (int i = 0; i < off && k < 400; i++) marks[k++] = ' ';
    marks[k++] = '^';
    for (int i = 1; i < clen && k < 500; i++) marks[k++] = '~';
    marks[k] = '\0';
    char whatbuf[1024];
    snprintf(whatbuf, sizeof whatbuf, "%.*s", wlen, what);
    /* the position of the offending character: past the opening quote (exact when the string has no escapes) */
    char where[600], jp[600];
    bd_model_where(R->m, &t->at, sub, where, sizeof where);
    const char *ftext = bd_model_src_text(R->m, &t->at);
    snprintf(jp, sizeof jp, "%s%s", t->at.jpath, sub);
    const char *at = ftext ? bd_json_find(ftext, jp) : NULL;
    if (at && *at == '"') {
        int l2, c2;
        bd_json_line_col(ftext, at + 1 + skip + off, &l2, &c2);
        snprintf(where, sizeof where, "%s:%d:%d", bd_model_src_path(R->m, &t->at), l2, c2);
    }
    return bd_fail(st, "%s: at %s%s: %s\n  %s\n  %s", where, t->at.jpath, sub, whatbuf, expr, marks);
}

/* The parser's "label:line:col: what" gets the JSON path of the statement at that line:
 * "file:line:col: at $.types.T.equations[i]: what". */
static bd_status equation_error(rctx *R, const bd_mtype *t, const char *label, bd_status st)
{
    const char *msg = bd_last_error(), *text = bd_model_src_text(R->m, &t->at);
    size_t ll = strlen(label);
    int line = 0, col = 0, n = 0;
    if (strncmp(msg, label, ll) != 0 || sscanf(msg + ll, ":%d:%d: %n", &line, &col, &n) != 2 || n == 0)
        return bd_fail_context(st, "in the equations of type '%s'", t->name);
    char sub[64] = ".equations";
    for (int i = 0; text && t->equations_is_list && i < t->equations.n; i++) {
        char jp[600];
        int l, c;
        snprintf(jp, sizeof jp, "%s.equations[%d]", t->at.jpath, i);
        const char *p = bd_json_find(text, jp);
        if (!p) break;
        bd_json_line_col(text, p, &l, &c);
        if (l > line) break;
        snprintf(sub, sizeof sub, ".equations[%d]", i);
    }
    char *copy = strdup(msg + ll + n), head[700];
    if (!copy) return st;
    snprintf(head, sizeof head, "%.*s", (int)(ll + (size_t)n - 1), msg); /* "label:line:col:" */
    bd_fail(st, "%s at %s%s: %s", head, t->at.jpath, sub, copy);
    free(copy);
    return st;
}

/* Splits "x = expr" (a reset): the name and where expr starts, or 0. */
static int split_assign(const char *s, char *name, size_t cap, const char **rhs)
{
    while (*s == ' ' || *s == '\t') s++;
    const char *n = s;
    if (!is_alpha(*s)) return 0;
    while (is_alpha(*s) || is_digit(*s)) s++;
    size_t len = (size_t)(s - n);
    while (*s == ' ' || *s == '\t') s++;
    if (*s != '=' || s[1] == '=' || len >= cap) return 0;
    snprintf(name, cap, "%.*s", (int)len, n);
    *rhs = s + 1;
    return 1;
}

bd_status bd_mr_type_eqs(rctx *R, const bd_mtype *t, const bd_eqs **out)
{
    int idx = 0;
    while (idx < R->m->ntypes && R->m->types[idx] != t) idx++;
    if (idx < R->m->ntypes && R->teqs[idx]) {
        *out = R->teqs[idx];
        return BD_OK;
    }
    char *text = positioned(R->m, t);
    if (!text) return bd_fail(BD_ERR_NOMEM, "out of memory");
    char label[700];
    const char *path = bd_model_src_path(R->m, &t->at);
    if (path && !t->equations_is_list && t->equations.n) {
        char where[600];
        bd_model_where(R->m, &t->at, ".equations", where, sizeof where);
        snprintf(label, sizeof label, "%s (%s.equations at %s)", path, t->at.jpath, where + strlen(path) + 1);
    } else if (path) {
        snprintf(label, sizeof label, "%s", path);
    } else {
        snprintf(label, sizeof label, "%s: type %s", R->m->name, t->name);
    }
    bd_eqs *e = NULL;
    bd_status st = bd_eqs_parse(text, label, &e);
    if (st) {
        free(text);
        return equation_error(R, t, label, st);
    }
    /* "__" joins the names of flattened parts: a type may not use it, so flattened names never collide */
    for (int s = 1; s < e->nsyms && !st; s++)
        if (e->syms[s].kind != BD_SYM_NOISE && strstr(e->syms[s].name, "__"))
            st = bd_model_fail(R->m, &t->at, ".equations", BD_ERR_MODEL,
                               "symbol '%s': names containing '__' are reserved for flattened parts", e->syms[s].name);
    for (int p = 0; p < t->params.n && !st; p++) {
        int s = bd_eqs_find(e, t->params.e[p].name);
        if (s >= 0 && (e->syms[s].kind == BD_SYM_PARAM || e->syms[s].kind == BD_SYM_CONST)) continue;
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", t->params.e[p].name);
        if (s >= 0)
            st = bd_model_fail(R->m, &t->at, sub, BD_ERR_MODEL, "'%s' is not a parameter of type '%s' but a %s",
                               t->params.e[p].name, t->name,
                               e->syms[s].kind == BD_SYM_STATE ? "state variable" : "defined variable");
        else {
            bd_nearest ns;
            bd_nearest_init(&ns, t->params.e[p].name, (int)strlen(t->params.e[p].name));
            for (int k = 1; k < e->nsyms; k++)
                if (e->syms[k].kind == BD_SYM_PARAM || e->syms[k].kind == BD_SYM_CONST) bd_nearest_try(e->syms[k].name, &ns);
            const char *near = bd_nearest_result(&ns);
            st = bd_model_fail(R->m, &t->at, sub, BD_ERR_NOT_FOUND,
                               "'%s' is not a parameter of type '%s' (declare it in the equations, e.g. '%s : ms')%s%s%s",
                               t->params.e[p].name, t->name, t->params.e[p].name, near ? "; did you mean '" : "",
                               near ? near : "", near ? "'?" : "");
        }
    }
    if (!st && t->threshold) st = check_extra(R, t, text, "__threshold = (", t->threshold, ") : 1", ".threshold", 0);
    if (!st && t->refractory && !(is_digit(t->refractory[0]) || t->refractory[0] == '.' || t->refractory[0] == '-'))
        st = check_extra(R, t, text, "__refractory = (", t->refractory, ") : 1", ".refractory", 0);
    for (int r = 0; r < t->reset.n && !st; r++) {
        char sub[64], name[BD_EQ_NAME_MAX], prefix[160];
        const char *rhs;
        snprintf(sub, sizeof sub, ".reset[%d]", r);
        if (!split_assign(t->reset.s[r], name, sizeof name, &rhs)) {
            st = bd_model_fail(R->m, &t->at, sub, BD_ERR_PARSE, "expected a reset 'x = expr'");
            break;
        }
        int s = bd_eqs_find(e, name);
        if (s < 0 || e->syms[s].kind != BD_SYM_STATE) {
            st = bd_model_fail(R->m, &t->at, sub, s < 0 ? BD_ERR_NOT_FOUND : BD_ERR_MODEL,
                               "a reset assigns '%s', which is not a state variable of type '%s'", name, t->name);
            break;
        }
        snprintf(prefix, sizeof prefix, "__reset = (");
        char expr[1024];
        snprintf(expr, sizeof expr, "%s", rhs);
        char suffix[64];
        snprintf(suffix, sizeof suffix, ") : %s", e->syms[s].unit_text);
        st = check_extra(R, t, text, prefix, expr, suffix, sub, (int)(rhs - t->reset.s[r]));
    }
    free(text);
    if (st || idx >= R->m->ntypes) {
        bd_eqs_free(e);
        return st ? st : bd_fail(BD_ERR_INVALID_ARG, "type '%s' is not in the model", t->name);
    }
    R->teqs[idx] = e;
    *out = e;
    return BD_OK;
}

int bd_mr_is_input(const bd_mtype *t, const bd_eqs *e, const char *name)
{
    if (t->has_inputs) {
        for (int i = 0; i < t->inputs.n; i++)
            if (strcmp(t->inputs.s[i], name) == 0) return 1;
        return 0;
    }
    return strcmp(name, "I_syn") == 0 && bd_eqs_find(e, "I_syn") >= 0;
}

/* ------------------------------------------------------------------------------------------------------------
 * Renaming */

/* How the identifiers of one part are renamed: bound names (reads, bindings) map to the given text, other
 * symbols of the part's equations get the prefix, anything else (functions, units, t, noise) stays. */
typedef struct renamer {
    const bd_eqs *e;
    const char *prefix;
    const char *const *from, *const *to; /* bindings; to[k] NULL keeps the name */
    int nbind;
} renamer;

static void emit_name(sbuf *b, const renamer *r, const char *s, int len)
{
    for (int k = 0; k < r->nbind; k++)
        if ((int)strlen(r->from[k]) == len && !strncmp(r->from[k], s, (size_t)len)) {
            if (r->to[k]) sb_str(b, r->to[k]);
            else sb_add(b, s, (size_t)len);
            return;
        }
    char name[BD_EQ_NAME_MAX];
    int sym = -1;
    if (len < BD_EQ_NAME_MAX) {
        snprintf(name, sizeof name, "%.*s", len, s);
        sym = bd_eqs_find(r->e, name);
    }
    if (sym > 0 && r->e->syms[sym].kind != BD_SYM_NOISE) {
        sb_str(b, r->prefix);
        sb_str(b, "__");
    }
    sb_add(b, s, (size_t)len);
}

/* The name a statement declares (s, len) and whether it is a parameter declaration; 0 for blank lines. */
static int stmt_head(const char *line, const char **name, int *len, int *is_param, int *is_ode)
{
    const char *s = line;
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    if (!is_alpha(*s)) return 0;
    const char *n = s;
    while (is_alpha(*s) || is_digit(*s)) s++;
    *name = n, *len = (int)(s - n);
    while (*s == ' ' || *s == '\t') s++;
    *is_ode = *s == '/' && n[0] == 'd' && *len > 1;
    *is_param = *s == ':';
    if (*is_ode) (*name)++, (*len)--;
    return 1;
}

/* Appends one statement with its expression renamed (the unit and flags after ':' are copied). */
static void emit_stmt(sbuf *b, const renamer *r, const char *s, int n)
{
    int i = 0, colon = 0;
    const char *nm;
    int nl, isp, isode;
    if (stmt_head(s, &nm, &nl, &isp, &isode) && isode) {
        while (s + i < nm - 1) sb_add(b, s + i, 1), i++;
        sb_add(b, "d", 1);
        emit_name(b, r, nm, nl);
        i = (int)(nm - s) + nl;
    }
    while (i < n) {
        char c = s[i];
        if (c == '#') break;
        if (colon || (!is_alpha(c) && !is_digit(c) && c != '.')) {
            colon |= c == ':';
            sb_add(b, &c, 1), i++;
            continue;
        }
        int j = i;
        if (is_alpha(c)) {
            while (j < n && (is_alpha(s[j]) || is_digit(s[j]))) j++;
            emit_name(b, r, s + i, j - i);
        } else { /* a number, with its exponent: the 'e' of 2e-3 is no identifier */
            while (j < n && (is_digit(s[j]) || s[j] == '.')) j++;
            if (j < n && (s[j] == 'e' || s[j] == 'E') &&
                (is_digit(s[j + 1]) || ((s[j + 1] == '-' || s[j + 1] == '+') && is_digit(s[j + 2])))) {
                j += 2;
                while (j < n && is_digit(s[j])) j++;
            }
            sb_add(b, s + i, (size_t)(j - i));
        }
        i = j;
    }
    sb_add(b, "\n", 1);
}

/* Appends every statement of a part's equations, renamed, except declarations of the names in skip. */
static void emit_part(sbuf *b, const renamer *r, const char *const *skip, int nskip)
{
    const char *src = r->e->source;
    while (*src) {
        const char *end = strchr(src, '\n');
        int n = end ? (int)(end - src) : (int)strlen(src);
        const char *nm;
        int nl, isp, isode, drop = 0;
        if (stmt_head(src, &nm, &nl, &isp, &isode)) {
            for (int k = 0; k < nskip && !drop; k++) drop = isp && (int)strlen(skip[k]) == nl && !strncmp(skip[k], nm, (size_t)nl);
            if (!drop) emit_stmt(b, r, src, n);
        }
        src += n + (end != NULL);
    }
}

/* ------------------------------------------------------------------------------------------------------------
 * A population's flattened text */

static bd_status add_pv(rctx *R, const char *prefix, const char *name, const mval *v, const morigin *at,
                        const char *sub, const genv *env)
{
    pval *p = realloc(R->pv, (size_t)(R->npv + 1) * sizeof *p);
    if (!p) return bd_fail(BD_ERR_NOMEM, "out of memory resolving the model");
    R->pv = p;
    pval *n = &p[R->npv++];
    snprintf(n->name, sizeof n->name, "%s%s%s", prefix ? prefix : "", prefix ? "__" : "", name);
    n->v = v, n->at = at, n->env = env;
    if (snprintf(n->sub, sizeof n->sub, "%s", sub) >= (int)sizeof n->sub) n->sub[0] = '\0';
    return BD_OK;
}

/* The type defaults and then the instance's values of a part's parameters (names checked against its eqs). */
static bd_status part_values(rctx *R, const char *prefix, const bd_mtype *t, const bd_eqs *e, const bd_minst *i,
                             const genv *env, const char *const *bound, int nbound)
{
    bd_status st = BD_OK;
    for (int k = 0; k < t->params.n && !st; k++) {
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", t->params.e[k].name);
        st = add_pv(R, prefix, t->params.e[k].name, &t->params.e[k].v, &t->at, sub, NULL);
    }
    for (int k = 0; i && k < i->params.n && !st; k++) {
        const char *name = i->params.e[k].name;
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", name);
        int s = bd_eqs_find(e, name), isbound = 0;
        for (int j = 0; j < nbound; j++) isbound |= strcmp(bound[j], name) == 0;
        if (s < 0 || isbound || (e->syms[s].kind != BD_SYM_PARAM && e->syms[s].kind != BD_SYM_CONST)) {
            bd_nearest ns;
            bd_nearest_init(&ns, name, (int)strlen(name));
            for (int q = 1; q < e->nsyms; q++)
                if (e->syms[q].kind == BD_SYM_PARAM || e->syms[q].kind == BD_SYM_CONST) bd_nearest_try(e->syms[q].name, &ns);
            const char *near = bd_nearest_result(&ns);
            return bd_model_fail(R->m, &i->at, sub, BD_ERR_NOT_FOUND, "'%s' is not a parameter of type '%s'%s%s%s",
                                 name, t->name, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        }
        st = add_pv(R, prefix, name, &i->params.e[k].v, &i->at, sub, env);
    }
    return st;
}

/* A term added to input variable `var` of the population's type. */
typedef struct term {
    const char *var;
    char text[BD_EQ_NAME_MAX + 8];
} term;

static bd_status add_term(term **terms, int *n, const char *var, const char *text)
{
    term *t = realloc(*terms, (size_t)(*n + 1) * sizeof *t);
    if (!t) return bd_fail(BD_ERR_NOMEM, "out of memory resolving the model");
    *terms = t;
    t[*n].var = var;
    if (snprintf(t[*n].text, sizeof t[*n].text, "%s", text) >= (int)sizeof t[*n].text)
        return bd_fail(BD_ERR_LIMIT, "name '%s' too long", text);
    (*n)++;
    return BD_OK;
}

/* The post variable that `name` of a part binds to must exist with the same dimension. */
static bd_status bind_check(rctx *R, const bd_eqs *own, const bd_eqs *pe, const char *name, const morigin *o,
                            const char *sub, const char *what)
{
    int ps = bd_eqs_find(pe, name), s = bd_eqs_find(own, name);
    if (ps < 0 || (pe->syms[ps].kind != BD_SYM_PARAM && pe->syms[ps].kind != BD_SYM_CONST))
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "%s reads '%s' but does not declare it ('%s : unit')", what,
                             name, name);
    if (s < 0) return bd_model_fail(R->m, o, sub, BD_ERR_NOT_FOUND, "%s reads '%s', which the population does not define", what, name);
    if (memcmp(own->syms[s].unit.dim, pe->syms[ps].unit.dim, sizeof own->syms[s].unit.dim) != 0)
        return bd_model_fail(R->m, o, sub, BD_ERR_UNITS, "%s reads '%s' in %s, but the population declares it in %s",
                             what, name, pe->syms[ps].unit_text, own->syms[s].unit_text);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * Channels and ion pools (docs/model-format.md, "Channels: how a neuron is composed") */

/* What a neuron's channels link to besides I_channels. `defined`: parameters the neuron declares that one of
 * its channels defines (an ion pool's concentration and reversal potential); the channel's definition replaces
 * the declaration under the neuron's name, so siblings that read the name share it. `sums`: parameters that
 * sum the currents of the channels naming them in "into" (the calcium current that feeds a pool). */
#define CHAN_LINKS_MAX 32
typedef struct chan_links {
    const char *defined[CHAN_LINKS_MAX], *defined_by[CHAN_LINKS_MAX];
    int ndefined;
    const char *sums[CHAN_LINKS_MAX];
    int nsums;
} chan_links;

static int name_at(const char *name, const char *const *list, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(list[k], name) == 0) return k;
    return -1;
}

/* Emits the channels of type t (renamed `<channel>__x`, reads and provided names kept), adds their currents to
 * I_channels and to their "into" sums, and records the links for the neuron's own statements. */
static bd_status flatten_channels(rctx *R, const bd_mtype *t, const bd_eqs *own, sbuf *b, term **terms, int *nterms,
                                  chan_links *lk)
{
    bd_status st = BD_OK;
    int ich = bd_eqs_find(own, "I_channels");
    if (t->nchannels && ich < 0)
        return bd_model_fail(R->m, &t->at, ".channels", BD_ERR_MODEL,
                             "type '%s' has channels but does not declare their sum 'I_channels : unit'", t->name);
    for (int c = 0; c < t->nchannels && !st; c++) {
        const bd_minst *ci = t->channels[c];
        const bd_mtype *ct = bd_mr_type(R, ci->type, &ci->at, ".type", BD_TYPE_CHANNEL, &st);
        const bd_eqs *ce;
        if (!ct || (st = bd_mr_type_eqs(R, ct, &ce))) break;
        char what[200];
        snprintf(what, sizeof what, "channel '%s' (type '%s')", ci->name, ct->name);
        static const char *const vdefault[] = {"V"};
        const char *const *reads = ct->has_reads ? (const char *const *)ct->reads.s : vdefault;
        int nreads = ct->has_reads ? ct->reads.n : 1;
        const char *from[64], *to[64] = {0};
        int nb = 0, ndef = 0;
        for (int r = 0; r < nreads && !st; r++) {
            st = bind_check(R, own, ce, reads[r], &ci->at, "", what);
            if (nb < 64) from[nb++] = reads[r];
        }
        /* a state or algebraic variable of the channel that the neuron declares as a parameter: provided here */
        for (int s = 1; s < ce->nsyms && !st; s++) {
            const bd_symbol *y = &ce->syms[s];
            int os = bd_eqs_find(own, y->name), prev;
            if ((y->kind != BD_SYM_STATE && y->kind != BD_SYM_ALGEBRAIC) || os < 0 ||
                (own->syms[os].kind != BD_SYM_PARAM && own->syms[os].kind != BD_SYM_CONST))
                continue;
            if (os == ich || bd_mr_is_input(t, own, y->name) || name_at(y->name, lk->sums, lk->nsums) >= 0)
                st = bd_model_fail(R->m, &ci->at, "", BD_ERR_MODEL, "%s defines '%s', which type '%s' sums from its parts",
                                   what, y->name, t->name);
            else if ((prev = name_at(y->name, lk->defined, lk->ndefined)) >= 0)
                st = bd_model_fail(R->m, &ci->at, "", BD_ERR_MODEL, "'%s' of type '%s' is defined by channel '%s' and by "
                                   "channel '%s'", y->name, t->name, lk->defined_by[prev], ci->name);
            else if (memcmp(y->unit.dim, own->syms[os].unit.dim, sizeof y->unit.dim) != 0)
                st = bd_model_fail(R->m, &ci->at, "", BD_ERR_UNITS, "%s defines '%s' in %s, but type '%s' declares it in %s",
                                   what, y->name, y->unit_text, t->name, own->syms[os].unit_text);
            else if (lk->ndefined == CHAN_LINKS_MAX || nb == 64)
                st = bd_model_fail(R->m, &ci->at, "", BD_ERR_LIMIT, "too many names shared by the channels of type '%s'",
                                   t->name);
            else {
                lk->defined[lk->ndefined] = own->syms[os].name, lk->defined_by[lk->ndefined++] = ci->name;
                from[nb++] = y->name, ndef++;
            }
        }
        if (st) break;
        const char *cur = ct->current ? ct->current : "I";
        int cs = bd_eqs_find(ce, cur);
        int pool = cs < 0 && !ct->current && !ct->into && ndef > 0; /* an ion pool carries no current of its own */
        if (!pool && (cs < 0 || ce->syms[cs].kind != BD_SYM_ALGEBRAIC))
            st = bd_model_fail(R->m, cs < 0 && !ct->current ? &ci->at : &ct->at, ct->current ? ".current" : "",
                               BD_ERR_MODEL, "channel type '%s' has no algebraic current '%s = ... : unit'%s", ct->name, cur,
                               cs < 0 && !ct->current ? " (an ion pool has none but must define a name its neuron "
                               "declares, such as 'Ca : mM')" : "");
        if (!st && !pool && memcmp(ce->syms[cs].unit.dim, own->syms[ich].unit.dim, sizeof ce->syms[cs].unit.dim) != 0)
            st = bd_model_fail(R->m, &ci->at, "", BD_ERR_UNITS,
                               "the current '%s' of channel '%s' is in %s, but type '%s' declares I_channels in %s", cur,
                               ci->name, ce->syms[cs].unit_text, t->name, own->syms[ich].unit_text);
        if (st) break;
        renamer rn = {ce, ci->name, from, to, nb};
        emit_part(b, &rn, reads, nreads);
        if (!pool) {
            char term_text[2 * BD_EQ_NAME_MAX + 4];
            if (name_at(cur, from, nb) >= 0) snprintf(term_text, sizeof term_text, "%s", cur);
            else snprintf(term_text, sizeof term_text, "%s__%s", ci->name, cur);
            if ((st = add_term(terms, nterms, "I_channels", term_text))) break;
            if (ct->into) { /* the current also feeds a sum the neuron declares, e.g. I_Ca read by a calcium pool */
                int is = bd_eqs_find(own, ct->into);
                if (is < 0 || (own->syms[is].kind != BD_SYM_PARAM && own->syms[is].kind != BD_SYM_CONST) || is == ich ||
                    bd_mr_is_input(t, own, ct->into) || name_at(ct->into, lk->defined, lk->ndefined) >= 0)
                    st = bd_model_fail(R->m, &ci->at, "", BD_ERR_MODEL, "%s adds its current into '%s', which type '%s' "
                                       "does not declare as a sum of channel currents ('%s : unit')", what, ct->into,
                                       t->name, ct->into);
                else if (memcmp(ce->syms[cs].unit.dim, own->syms[is].unit.dim, sizeof ce->syms[cs].unit.dim) != 0)
                    st = bd_model_fail(R->m, &ci->at, "", BD_ERR_UNITS, "the current '%s' of channel '%s' is in %s, but "
                                       "type '%s' declares '%s' in %s", cur, ci->name, ce->syms[cs].unit_text, t->name,
                                       ct->into, own->syms[is].unit_text);
                else if (name_at(ct->into, lk->sums, lk->nsums) < 0 && lk->nsums == CHAN_LINKS_MAX)
                    st = bd_model_fail(R->m, &ci->at, "", BD_ERR_LIMIT, "too many current sums in type '%s'", t->name);
                else {
                    if (name_at(ct->into, lk->sums, lk->nsums) < 0) lk->sums[lk->nsums++] = own->syms[is].name;
                    st = add_term(terms, nterms, own->syms[is].name, term_text);
                }
                if (st) break;
            }
        }
        st = part_values(R, ci->name, ct, ce, ci, NULL, NULL, 0);
    }
    return st;
}

/* 1 if the statement's head (declared name) is one of names[0..n). */
static int head_in(const char *stmt, const char *const *names, int n)
{
    const char *nm;
    int nl, isp, isode;
    if (!stmt_head(stmt, &nm, &nl, &isp, &isode)) return 0;
    for (int k = 0; k < n; k++)
        if ((int)strlen(names[k]) == nl && !strncmp(names[k], nm, (size_t)nl)) return 1;
    return 0;
}

/* 1 if identifier `name` occurs in text as a whole token. */
static int has_token(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *c = strstr(text, name); c; c = strstr(c + 1, name))
        if ((c == text || !(is_alpha(c[-1]) || is_digit(c[-1]))) && !(is_alpha(c[n]) || is_digit(c[n]))) return 1;
    return 0;
}

/* Appends the statements of a part whose head is not in drop[0..ndrop), renamed. */
static void emit_without(sbuf *b, const renamer *r, const char *const *drop, int ndrop)
{
    const char *src = r->e->source;
    while (*src) {
        const char *end = strchr(src, '\n');
        int n = end ? (int)(end - src) : (int)strlen(src);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", n < 1023 ? n : 1023, src);
        if (!head_in(line, drop, ndrop)) emit_stmt(b, r, src, n);
        src += n + (end != NULL);
    }
}

/* Spike statements `x = expr` of a part, renamed, join the population's resets (after its own). Only those
 * whose target is in keep[0..nkeep) when keep is given. */
static bd_status add_resets(rctx *R, int p, const renamer *r, const strlist *stmts, const char *const *keep, int nkeep)
{
    rpop *pop = &R->pops[p];
    for (int k = 0; k < stmts->n; k++) {
        if (keep && !head_in(stmts->s[k], keep, nkeep)) continue;
        sbuf b = {0};
        emit_stmt(&b, r, stmts->s[k], (int)strlen(stmts->s[k]));
        char **l = realloc(pop->resets, (size_t)(pop->nresets + 1) * sizeof *l);
        if (b.oom || !l) return free(b.s), bd_fail(BD_ERR_NOMEM, "out of memory resolving the model");
        pop->resets = l;
        b.s[strlen(b.s) - 1] = '\0'; /* the newline */
        pop->resets[pop->nresets++] = b.s;
    }
    return BD_OK;
}

/* The presynaptic side of projections out of population p: align-pre synapse state, short-term plasticity
 * and the presynaptic traces of plasticity rules become state of p, their spike statements resets of p;
 * the postsynaptic traces of plasticity rules into p likewise. */
static bd_status projection_sides(rctx *R, int p, sbuf *b)
{
    bd_status st = BD_OK;
    for (int j = 0; j < R->nprojs && !st; j++) {
        const rproj *pr = &R->projs[j];
        char pfx[2 * BD_EQ_NAME_MAX + 8];
        const bd_eqs *e;
        if (pr->pre == p && (pr->syn_pre || pr->stp)) {
            const bd_mtype *t = pr->syn_pre ? pr->syn : pr->stp;
            const bd_minst *part = pr->syn_pre ? pr->i->synapse : pr->i->stp;
            snprintf(pfx, sizeof pfx, "%s%s", pr->pfx, pr->syn_pre ? "" : "_stp");
            if ((st = bd_mr_type_eqs(R, t, &e))) break;
            if (!t->has_on_spike)
                return bd_model_fail(R->m, &t->at, "", BD_ERR_MODEL, "type '%s' keeps presynaptic state: it needs "
                                     "\"on_spike\" statements (e.g. \"x = x + 1\")", t->name);
            for (int k = 0; k < t->on_spike.n && bd_eqs_find(e, "w") < 0; k++)
                if (has_token(t->on_spike.s[k], "w"))
                    return bd_model_fail(R->m, &t->at, ".on_spike", BD_ERR_MODEL, "presynaptic state of type '%s' cannot "
                                         "use the weight w (it is per synapse)", t->name);
            renamer rn = {e, pfx, NULL, NULL, 0};
            emit_part(b, &rn, NULL, 0);
            if ((st = part_values(R, pfx, t, e, part, pr->env, NULL, 0))) break;
            st = add_resets(R, p, &rn, &t->on_spike, NULL, 0);
        }
        if (!st && pr->pl && (pr->pre == p || pr->post == p)) {
            if ((st = bd_mr_type_eqs(R, pr->pl, &e))) break;
            snprintf(pfx, sizeof pfx, "%s_pl", pr->pfx);
            renamer rn = {e, pfx, NULL, NULL, 0};
            for (int side = 0; side < 2 && !st; side++) { /* 0: pre, 1: post (both when pre is post) */
                if ((side ? pr->post : pr->pre) != p) continue;
                const strlist *own = side ? &pr->pl->post : &pr->pl->pre, *other = side ? &pr->pl->pre : &pr->pl->post;
                const char *drop[65];
                int nd = 0;
                drop[nd++] = "w";
                for (int k = 0; k < other->n && nd < 65; k++) drop[nd++] = other->s[k];
                if (side && pr->pre == p) { /* the parameters were emitted with the pre side */
                    for (int s = 1; s < e->nsyms && nd < 65; s++)
                        if (e->syms[s].kind == BD_SYM_PARAM || e->syms[s].kind == BD_SYM_CONST) drop[nd++] = e->syms[s].name;
                }
                emit_without(b, &rn, drop, nd);
                if (!(side && pr->pre == p)) st = part_values(R, pfx, pr->pl, e, pr->i->plasticity, pr->env, NULL, 0);
                if (!st) st = add_resets(R, p, &rn, side ? &pr->pl->on_post : &pr->pl->on_pre,
                                         (const char *const *)own->s, own->n);
            }
        }
    }
    return st;
}

bd_status bd_mr_pop_text(rctx *R, int p, char **text)
{
    const rpop *pop = &R->pops[p];
    const bd_mtype *t = pop->type;
    const bd_eqs *own;
    bd_status st = bd_mr_type_eqs(R, t, &own);
    if (st) return st;
    sbuf b = {0};
    term *terms = NULL;
    int nterms = 0;
    R->npv = 0;
    for (int k = 0; k < t->params.n && !st; k++) {
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", t->params.e[k].name);
        st = add_pv(R, NULL, t->params.e[k].name, &t->params.e[k].v, &t->at, sub, NULL);
    }
    /* channels */
    chan_links lk = {0};
    if (!st) st = flatten_channels(R, t, own, &b, &terms, &nterms, &lk);
    /* synapses and outputs of the projections into this population */
    for (int j = 0; j < R->nprojs && !st; j++) {
        const rproj *pr = &R->projs[j];
        if (pr->post != p) continue;
        if (pr->i->coupling_source) { /* a coupling: a parameter fed every step, summed into its input variable */
            const char *into = pr->i->into ? pr->i->into : t->has_inputs && t->inputs.n ? t->inputs.s[0] : "I_syn";
            if (!bd_mr_is_input(t, own, into)) {
                st = bd_model_fail(R->m, &pr->i->at, ".coupling.into", BD_ERR_MODEL, "coupling into '%s', which is not an "
                                   "input variable of type '%s' (declare '%s : unit' and list it in \"inputs\")", into,
                                   t->name, into);
                break;
            }
            char decl[3 * BD_EQ_NAME_MAX + 64], term_text[2 * BD_EQ_NAME_MAX + 4];
            snprintf(decl, sizeof decl, "%s__c : %s\n", pr->pfx, own->syms[bd_eqs_find(own, into)].unit_text);
            sb_str(&b, decl);
            snprintf(term_text, sizeof term_text, "%s__c", pr->pfx);
            if ((st = add_term(&terms, &nterms, into, term_text))) break;
            continue;
        }
        if (!pr->syn) continue;
        const bd_eqs *se, *oe = NULL;
        if ((st = bd_mr_type_eqs(R, pr->syn, &se))) break;
        if (pr->out && (st = bd_mr_type_eqs(R, pr->out, &oe))) break;
        if (pr->syn_pre && !pr->out) {
            st = bd_model_fail(R->m, &pr->i->at, ".synapse", BD_ERR_MODEL, "synapse type '%s' keeps presynaptic state "
                               "(\"state\": \"pre\"): it needs an \"output\"", pr->syn->name);
            break;
        }
        renamer rs = {se, pr->pfx, NULL, NULL, 0};
        if (!pr->syn_pre) {
            emit_part(&b, &rs, NULL, 0);
            if ((st = part_values(R, pr->pfx, pr->syn, se, pr->i->synapse, pr->env, NULL, 0))) break;
        }
        if (!pr->out) continue;
        /* output: reads bind to the post population, parameters named like a synapse symbol to that symbol */
        const char *from[64], *to[64];
        char bound[64][2 * BD_EQ_NAME_MAX + 4];
        int nb = 0;
        static const char *const vdefault[] = {"V"};
        const char *const *reads = pr->out->has_reads ? (const char *const *)pr->out->reads.s : vdefault;
        int nreads = pr->out->has_reads ? pr->out->reads.n : 1;
        char what[200];
        snprintf(what, sizeof what, "output type '%s'", pr->out->name);
        for (int r = 0; r < nreads && nb < 64 && !st; r++) {
            st = bind_check(R, own, oe, reads[r], &pr->i->output->at, "", what);
            from[nb] = reads[r], to[nb++] = NULL;
        }
        for (int s = 1; s < oe->nsyms && nb < 64 && !st; s++) {
            int ss = bd_eqs_find(se, oe->syms[s].name), r = 0;
            while (r < nreads && strcmp(reads[r], oe->syms[s].name) != 0) r++;
            if (ss < 0 || r < nreads) continue;
            if (oe->syms[s].kind != BD_SYM_PARAM && oe->syms[s].kind != BD_SYM_CONST)
                st = bd_model_fail(R->m, &pr->out->at, ".equations", BD_ERR_MODEL,
                                   "output type '%s' defines '%s', which its synapse type '%s' also defines",
                                   pr->out->name, oe->syms[s].name, pr->syn->name);
            else if (memcmp(oe->syms[s].unit.dim, se->syms[ss].unit.dim, sizeof se->syms[ss].unit.dim) != 0)
                st = bd_model_fail(R->m, &pr->i->output->at, "", BD_ERR_UNITS,
                                   "output type '%s' reads '%s' in %s, but synapse type '%s' declares it in %s",
                                   pr->out->name, oe->syms[s].name, oe->syms[s].unit_text, pr->syn->name,
                                   se->syms[ss].unit_text);
            /* align-pre: the post side holds the sum, named apart from the presynaptic state when pre is post */
            snprintf(bound[nb], sizeof bound[nb], "%s__%s%s", pr->pfx, oe->syms[s].name, pr->syn_pre ? "_sum" : "");
            from[nb] = oe->syms[s].name, to[nb] = bound[nb], nb++;
            if (!st && pr->syn_pre) { /* the post side holds the sum over presynaptic states, fed every step */
                rproj *w = &R->projs[j];
                if (w->syn_var[0] && strcmp(w->syn_var, oe->syms[s].name) != 0)
                    st = bd_model_fail(R->m, &pr->out->at, ".equations", BD_ERR_UNSUPPORTED, "output type '%s' reads "
                                       "two symbols of presynaptic synapse type '%s'; it may read one", pr->out->name,
                                       pr->syn->name);
                snprintf(w->syn_var, sizeof w->syn_var, "%s", oe->syms[s].name);
                char decl[3 * BD_EQ_NAME_MAX + 64];
                snprintf(decl, sizeof decl, "%s : %s\n", bound[nb - 1], se->syms[ss].unit_text);
                sb_str(&b, decl);
            }
        }
        if (!st && pr->syn_pre && !R->projs[j].syn_var[0])
            st = bd_model_fail(R->m, &pr->out->at, ".equations", BD_ERR_MODEL, "output type '%s' reads no symbol of "
                               "synapse type '%s' (declare e.g. 'g : 1')", pr->out->name, pr->syn->name);
        if (st) break;
        renamer ro = {oe, pr->pfx, from, to, nb};
        emit_part(&b, &ro, from, nb);
        const char *cur = pr->out->current ? pr->out->current : "I";
        int cs = bd_eqs_find(oe, cur);
        if (cs < 0 || oe->syms[cs].kind != BD_SYM_ALGEBRAIC) {
            st = bd_model_fail(R->m, &pr->out->at, "", BD_ERR_MODEL,
                               "output type '%s' has no algebraic current '%s = ... : unit'", pr->out->name, cur);
            break;
        }
        const char *into = pr->out->into ? pr->out->into : "I_syn";
        if (!bd_mr_is_input(t, own, into)) {
            st = bd_model_fail(R->m, &pr->i->at, ".output", BD_ERR_MODEL,
                               "output type '%s' adds to '%s', which is not an input variable of type '%s' (declare "
                               "'%s : unit' and list it in \"inputs\")", pr->out->name, into, t->name, into);
            break;
        }
        char term_text[2 * BD_EQ_NAME_MAX + 4];
        snprintf(term_text, sizeof term_text, "%s__%s", pr->pfx, cur);
        if ((st = add_term(&terms, &nterms, into, term_text))) break;
        st = part_values(R, pr->pfx, pr->out, oe, pr->i->output, pr->env, from, nb);
    }
    if (!st) st = projection_sides(R, p, &b);
    /* inputs into this population */
    for (int j = 0; j < R->nins && !st; j++) {
        const rinput *in = &R->ins[j];
        if (in->pop != p || in->kind == RIN_POISSON) continue;
        const char *into = in->kind == RIN_TYPE && in->type->into ? in->type->into : "I_syn";
        if ((in->kind == RIN_CONSTANT || in->kind == RIN_TABLE) && t->has_inputs && t->inputs.n) into = t->inputs.s[0];
        if (in->kind == RIN_TABLE && in->i->target) into = in->i->target;
        if (!bd_mr_is_input(t, own, into)) {
            st = bd_model_fail(R->m, &in->i->at, "", BD_ERR_MODEL,
                               "the input adds to '%s', which is not an input variable of type '%s' (declare '%s : unit' "
                               "and list it in \"inputs\")", into, t->name, into);
            break;
        }
        char term_text[2 * BD_EQ_NAME_MAX + 4];
        if (in->kind == RIN_TABLE) {
            /* a time series from a file: a shared parameter that the runner sets every step from the table that
             * model_resolve.c build_tables reads (value 0 here so that it always has one) */
            static const mval zero = {BD_INIT_VALUE, "0", NULL};
            int s = bd_eqs_find(own, into);
            char decl[200];
            snprintf(decl, sizeof decl, "%s__value : %s\n", in->pfx, own->syms[s].unit_text);
            sb_str(&b, decl);
            snprintf(term_text, sizeof term_text, "%s__value", in->pfx);
            if (!(st = add_term(&terms, &nterms, into, term_text)))
                st = add_pv(R, in->pfx, "value", &zero, &in->i->at, ".file", in->env);
            continue;
        }
        if (in->kind == RIN_CONSTANT) {
            int s = bd_eqs_find(own, into);
            char decl[200];
            snprintf(decl, sizeof decl, "%s__value : %s (constant)\n", in->pfx, own->syms[s].unit_text);
            sb_str(&b, decl);
            snprintf(term_text, sizeof term_text, "%s__value", in->pfx);
            if (!(st = add_term(&terms, &nterms, into, term_text)))
                st = add_pv(R, in->pfx, "value", &in->i->params.e[0].v, &in->i->at, ".constant", in->env);
            continue;
        }
        const bd_eqs *ie;
        if ((st = bd_mr_type_eqs(R, in->type, &ie))) break;
        renamer ri = {ie, in->pfx, NULL, NULL, 0};
        emit_part(&b, &ri, NULL, 0);
        int cs = bd_eqs_find(ie, "I");
        if (cs < 0 || ie->syms[cs].kind != BD_SYM_ALGEBRAIC) {
            st = bd_model_fail(R->m, &in->type->at, "", BD_ERR_MODEL, "input type '%s' has no algebraic 'I = ... : unit'",
                               in->type->name);
            break;
        }
        snprintf(term_text, sizeof term_text, "%s__I", in->pfx);
        if (!(st = add_term(&terms, &nterms, into, term_text)))
            st = part_values(R, in->pfx, in->type, ie, in->i, in->env, NULL, 0);
    }
    /* the type's own statements, input variables and I_channels turned into sums */
    const char *src = own->source;
    while (*src && !st) {
        const char *end = strchr(src, '\n'), *nm;
        int n = end ? (int)(end - src) : (int)strlen(src), nl, isp, isode;
        if (stmt_head(src, &nm, &nl, &isp, &isode)) {
            char name[BD_EQ_NAME_MAX];
            snprintf(name, sizeof name, "%.*s", nl < BD_EQ_NAME_MAX ? nl : BD_EQ_NAME_MAX - 1, nm);
            if (isp && name_at(name, lk.defined, lk.ndefined) >= 0) {
                /* provided by a channel (an ion pool's concentration or reversal potential): its definition stands */
            } else if (isp && (bd_mr_is_input(t, own, name) || strcmp(name, "I_channels") == 0 ||
                               name_at(name, lk.sums, lk.nsums) >= 0)) {
                int s = bd_eqs_find(own, name), any = 0;
                sb_str(&b, name);
                sb_str(&b, " = ");
                for (int k = 0; k < nterms; k++)
                    if (strcmp(terms[k].var, name) == 0) sb_str(&b, any++ ? " + " : ""), sb_str(&b, terms[k].text);
                sb_str(&b, any ? " : " : "0 : ");
                sb_str(&b, own->syms[s].unit_text);
                sb_str(&b, "\n");
            } else {
                sb_add(&b, src, (size_t)n);
                sb_str(&b, "\n");
            }
        }
        src += n + (end != NULL);
    }
    /* an input variable must be declared as a parameter by the type to be summed */
    for (int k = 0; k < t->inputs.n && !st; k++) {
        int s = bd_eqs_find(own, t->inputs.s[k]);
        if (s < 0 || (own->syms[s].kind != BD_SYM_PARAM && own->syms[s].kind != BD_SYM_CONST)) {
            char sub[64];
            snprintf(sub, sizeof sub, ".inputs[%d]", k);
            st = bd_model_fail(R->m, &t->at, sub, BD_ERR_MODEL,
                               "input variable '%s' must be declared in the equations as '%s : unit'", t->inputs.s[k],
                               t->inputs.s[k]);
        }
    }
    free(terms);
    if (!st && b.oom) st = bd_fail(BD_ERR_NOMEM, "out of memory flattening population '%s'", pop->path);
    if (st) {
        free(b.s);
        return st;
    }
    *text = b.s ? b.s : strdup("");
    return *text ? BD_OK : bd_fail(BD_ERR_NOMEM, "out of memory");
}
