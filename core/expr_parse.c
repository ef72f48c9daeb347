/* The equation language (docs/equations.md): statements, expressions, noise terms and delays into bd_eqs, with
 * messages that point at the line and column of the problem. Units are checked and folded in by units.c. */
#include "error.h"
#include "expr_parse_impl.h"
#include "nearest.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------------------
 * Nodes */

bd_expr *bd_xp_node(bd_ex_kind kind, int op, int nargs, bd_expr *a, bd_expr *b, bd_expr *c)
{
    bd_expr *e = calloc(1, sizeof *e);
    if (!e) {
        bd_ex_free(a), bd_ex_free(b), bd_ex_free(c);
        return NULL;
    }
    e->kind = kind;
    e->op = op;
    e->nargs = nargs;
    e->arg[0] = a, e->arg[1] = b, e->arg[2] = c;
    e->pos = e->len = -1;
    return e;
}

/* ------------------------------------------------------------------------------------------------------------
 * Messages */

bd_status bd_xp_error(const bd_eqs *eqs, bd_status s, int pos, int len, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *src = eqs->source;
    int n = (int)strlen(src);
    if (pos < 0) pos = 0;
    if (pos > n) pos = n;
    int ls = pos, line = 1;
    while (ls > 0 && src[ls - 1] != '\n') ls--;
    for (int i = 0; i < ls; i++) line += src[i] == '\n';
    int le = pos;
    while (le < n && src[le] != '\n') le++;
    if (le > ls && src[le - 1] == '\r') le--;
    if (len < 1) len = 1;
    if (pos + len > le) len = le > pos ? le - pos : 1;
    char caret[1024];
    int k = 0;
    for (int i = ls; i < pos && k < 900; i++) caret[k++] = src[i] == '\t' ? '\t' : ' ';
    caret[k++] = '^';
    for (int i = 1; i < len && k < 1000; i++) caret[k++] = '~';
    caret[k] = '\0';
    return bd_fail(s, "%s:%d:%d: %s\n  %.*s\n  %s", eqs->source_name, line, pos - ls + 1, what, le - ls, src + ls,
                   caret);
}

/* ------------------------------------------------------------------------------------------------------------
 * Functions and reserved words */

static const struct { const char *name; bd_ex_fn fn; int nargs; } functions[] = {
    {"exp", BD_FN_EXP, 1},     {"log", BD_FN_LOG, 1},   {"log1p", BD_FN_LOG1P, 1},     {"expm1", BD_FN_EXPM1, 1},
    {"exprel", BD_FN_EXPREL, 1}, {"pow", BD_FN_POW, 2}, {"sqrt", BD_FN_SQRT, 1},       {"abs", BD_FN_ABS, 1},
    {"sign", BD_FN_SIGN, 1},   {"sin", BD_FN_SIN, 1},   {"cos", BD_FN_COS, 1},         {"tan", BD_FN_TAN, 1},
    {"tanh", BD_FN_TANH, 1},   {"sigmoid", BD_FN_SIGMOID, 1}, {"min", BD_FN_MIN, 2},   {"max", BD_FN_MAX, 2},
    {"clip", BD_FN_CLIP, 3},   {"heaviside", BD_FN_HEAVISIDE, 1}, {"where", BD_FN_WHERE, 3},
    {"rand", BD_FN_RAND, 0},
};
#define NFUNCTIONS ((int)(sizeof functions / sizeof functions[0]))

static int find_function(const char *s, int len)
{
    for (int i = 0; i < NFUNCTIONS; i++)
        if ((int)strlen(functions[i].name) == len && memcmp(functions[i].name, s, (size_t)len) == 0) return i;
    return -1;
}

static int is_word(const char *s, int len, const char *w) { return (int)strlen(w) == len && !memcmp(s, w, (size_t)len); }

/* xi or xi_<name>: a Wiener process. */
static int is_noise_name(const char *s, int len) { return is_word(s, len, "xi") || (len > 3 && !memcmp(s, "xi_", 3)); }

/* ------------------------------------------------------------------------------------------------------------
 * Tokens */

enum { T_END, T_NUM, T_ID, T_OP };
enum { OP_LE = 256, OP_GE, OP_EQ, OP_NE, OP_POW, OP_AND, OP_OR };

typedef struct parser {
    bd_eqs *eqs;
    const char *src;
    int i, end;   /* scan position and end of the current statement's text */
    int kind, op; /* current token */
    int pos, len;
    double num;
    int depth;
    int noise_ok; /* Wiener processes may appear (right sides of differential equations) */
    int epos, elen; /* the expression being parsed, for messages about synthesised nodes */
    int line;
    const char *label;
    int cap_syms, cap_odes;
    int nrand;    /* rand() calls so far: each call site's stream number */
} parser;

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static bd_status perr(parser *p, bd_status s, int pos, int len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bd_status perr(parser *p, bd_status s, int pos, int len, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return bd_xp_error(p->eqs, s, pos, len, "%s", what);
}

static bd_status nomem(void) { return bd_fail(BD_ERR_NOMEM, "out of memory parsing equations"); }

static bd_status next(parser *p)
{
    const char *s = p->src;
    while (p->i < p->end && (s[p->i] == ' ' || s[p->i] == '\t' || s[p->i] == '\r')) p->i++;
    p->pos = p->i;
    p->len = 0;
    if (p->i >= p->end) {
        p->kind = T_END;
        return BD_OK;
    }
    char c = s[p->i], d = p->i + 1 < p->end ? s[p->i + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(d))) {
        size_t l = bd_xp_number(s + p->i, (size_t)(p->end - p->i), &p->num);
        p->kind = T_NUM;
        p->len = (int)l;
    } else if (is_alpha(c)) {
        int j = p->i;
        while (j < p->end && (is_alpha(s[j]) || is_digit(s[j]))) j++;
        p->kind = T_ID;
        p->len = j - p->i;
    } else {
        static const struct { char a, b; int op; } two[] = {
            {'<', '=', OP_LE}, {'>', '=', OP_GE}, {'=', '=', OP_EQ}, {'!', '=', OP_NE},
            {'*', '*', OP_POW}, {'&', '&', OP_AND}, {'|', '|', OP_OR},
        };
        p->kind = T_OP;
        p->op = c;
        p->len = 1;
        for (size_t k = 0; k < sizeof two / sizeof two[0]; k++)
            if (c == two[k].a && d == two[k].b) p->op = two[k].op, p->len = 2;
        if (p->len == 1 && !strchr("+-*/^()<>,=:!", c))
            return perr(p, BD_ERR_PARSE, p->i, 1, "unexpected character '%c'", c);
    }
    p->i += p->len;
    return BD_OK;
}

static int tok_is(const parser *p, int op) { return p->kind == T_OP && p->op == op; }
static int tok_word(const parser *p, const char *w) { return p->kind == T_ID && is_word(p->src + p->pos, p->len, w); }

static bd_status unexpected(parser *p, const char *wanted)
{
    if (p->kind == T_END) return perr(p, BD_ERR_PARSE, p->pos, 1, "expected %s at the end of the expression", wanted);
    return perr(p, BD_ERR_PARSE, p->pos, p->len, "expected %s, found '%.*s'", wanted, p->len, p->src + p->pos);
}

/* ------------------------------------------------------------------------------------------------------------
 * Symbols */

static int find_sym(const bd_eqs *e, const char *s, int len)
{
    for (int i = 0; i < e->nsyms; i++)
        if ((int)strlen(e->syms[i].name) == len && !memcmp(e->syms[i].name, s, (size_t)len)) return i;
    return -1;
}

int bd_eqs_find(const bd_eqs *e, const char *name)
{
    return e && name ? find_sym(e, name, (int)strlen(name)) : -1;
}

static int add_sym(parser *p, const char *name, int len, bd_sym_kind kind, int line)
{
    bd_eqs *e = p->eqs;
    if (e->nsyms == p->cap_syms) {
        int cap = p->cap_syms ? 2 * p->cap_syms : 16;
        bd_symbol *s = realloc(e->syms, (size_t)cap * sizeof *s);
        if (!s) return -1;
        e->syms = s;
        p->cap_syms = cap;
    }
    bd_symbol *s = &e->syms[e->nsyms];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, (size_t)len);
    s->kind = kind;
    s->unit.scale = 1;
    s->value = NAN;
    s->line = line;
    return e->nsyms++;
}

/* ------------------------------------------------------------------------------------------------------------
 * Expressions: or < and < not < comparison < + - < * / < unary - < ^ (right-associative) */

static bd_expr *parse_or(parser *p, bd_status *st);
static bd_expr *parse_term(parser *p, bd_status *st);
static bd_expr *parse_unary(parser *p, bd_status *st);

static void span(bd_expr *e, int from, int to)
{
    e->pos = from;
    e->len = to - from;
}

static int end_of(const bd_expr *e) { return e->pos + e->len; }

static bd_expr *binary(parser *p, bd_status *st, int op, bd_expr *a, bd_expr *b)
{
    int from = a->pos, to = end_of(b);
    bd_expr *e = bd_xp_node(BD_EX_BINARY, op, 2, a, b, NULL);
    if (!e) {
        *st = nomem();
        return NULL;
    }
    span(e, from, to);
    (void)p;
    return e;
}

/* Left-associative levels share one loop: `sub` parses an operand, ops[] lists the operators and their nodes. */
typedef bd_expr *(*level_fn)(parser *, bd_status *);
typedef struct { int tok; const char *word; int op; } level_op;

static bd_expr *parse_level(parser *p, bd_status *st, level_fn sub, const level_op *ops, int nops)
{
    int saved = p->depth;
    bd_expr *a = sub(p, st);
    while (a) {
        int k = 0;
        while (k < nops && !(ops[k].word ? tok_word(p, ops[k].word) : tok_is(p, ops[k].tok))) k++;
        if (k == nops) break;
        if (++p->depth > BD_XP_MAX_DEPTH) {
            *st = perr(p, BD_ERR_PARSE, p->pos, p->len, "expression too long or nested too deeply");
            break;
        }
        bd_expr *b = NULL;
        if (!(*st = next(p))) b = sub(p, st);
        if (!b) break;
        a = binary(p, st, ops[k].op, a, b);
    }
    p->depth = saved;
    if (*st) {
        bd_ex_free(a);
        return NULL;
    }
    return a;
}

static bd_expr *parse_sum(parser *p, bd_status *st)
{
    static const level_op ops[] = {{'+', NULL, BD_EX_ADD}, {'-', NULL, BD_EX_SUB}};
    return parse_level(p, st, parse_term, ops, 2);
}

static bd_expr *parse_term(parser *p, bd_status *st)
{
    static const level_op ops[] = {{'*', NULL, BD_EX_MUL}, {'/', NULL, BD_EX_DIV}};
    return parse_level(p, st, parse_unary, ops, 2);
}

static int cmp_op(const parser *p)
{
    if (p->kind != T_OP) return -1;
    switch (p->op) {
    case '<': return BD_EX_LT;
    case '>': return BD_EX_GT;
    case OP_LE: return BD_EX_LE;
    case OP_GE: return BD_EX_GE;
    case OP_EQ: return BD_EX_EQ;
    case OP_NE: return BD_EX_NE;
    }
    return -1;
}

static bd_expr *parse_cmp(parser *p, bd_status *st)
{
    bd_expr *a = parse_sum(p, st);
    int op = a ? cmp_op(p) : -1;
    if (op < 0) return a;
    bd_expr *b = NULL;
    if (!(*st = next(p))) b = parse_sum(p, st);
    if (b && cmp_op(p) >= 0) {
        *st = perr(p, BD_ERR_PARSE, p->pos, p->len, "comparisons do not chain; write (a < b) and (b < c)");
        bd_ex_free(b);
        b = NULL;
    }
    if (!b) {
        bd_ex_free(a);
        return NULL;
    }
    return binary(p, st, op, a, b);
}

static bd_expr *parse_not(parser *p, bd_status *st)
{
    if (!tok_word(p, "not") && !tok_is(p, '!')) return parse_cmp(p, st);
    int from = p->pos;
    if (++p->depth > BD_XP_MAX_DEPTH) {
        *st = perr(p, BD_ERR_PARSE, p->pos, p->len, "expression nested too deeply");
        return NULL;
    }
    bd_expr *a = (*st = next(p)) ? NULL : parse_not(p, st), *e = NULL;
    p->depth--;
    if (a && !(e = bd_xp_node(BD_EX_UNARY, BD_EX_NOT, 1, a, NULL, NULL))) *st = nomem();
    if (e) span(e, from, end_of(a));
    return e;
}

static bd_expr *parse_and(parser *p, bd_status *st)
{
    static const level_op ops[] = {{0, "and", BD_EX_AND}, {OP_AND, NULL, BD_EX_AND}};
    return parse_level(p, st, parse_not, ops, 2);
}

static bd_expr *parse_or(parser *p, bd_status *st)
{
    static const level_op ops[] = {{0, "or", BD_EX_OR}, {OP_OR, NULL, BD_EX_OR}};
    return parse_level(p, st, parse_and, ops, 2);
}

/* fn(args...) with the name already read; the current token is '('. */
static bd_expr *parse_call(parser *p, bd_status *st, int f, int from)
{
    bd_expr *args[3] = {NULL, NULL, NULL};
    int n = 0;
    if ((*st = next(p))) return NULL;
    if (!tok_is(p, ')'))
        for (;;) {
            bd_expr *a = parse_or(p, st);
            if (!a) goto fail;
            if (n < 3) args[n] = a;
            else bd_ex_free(a);
            n++;
            if (!tok_is(p, ',')) break;
            if ((*st = next(p))) goto fail;
        }
    if (!tok_is(p, ')')) {
        *st = unexpected(p, "',' or ')'");
        goto fail;
    }
    int to = p->pos + p->len;
    if (n != functions[f].nargs) {
        *st = perr(p, BD_ERR_PARSE, from, to - from, "%s() takes %d argument%s, got %d", functions[f].name,
                   functions[f].nargs, functions[f].nargs == 1 ? "" : "s", n);
        goto fail;
    }
    if ((*st = next(p))) goto fail;
    bd_expr *e = bd_xp_node(BD_EX_CALL, (int)functions[f].fn, n, args[0], args[1], args[2]);
    if (!e) *st = nomem();
    else span(e, from, to);
    /* each rand() call is its own random stream, numbered in source order (not by byte position, so that
     * spacing and comments do not change the draws): the extra statements a population parses after its
     * flattened text (threshold, resets) come after that text and keep its numbers */
    if (e && e->op == BD_FN_RAND) e->sym = p->nrand++;
    return e;
fail:
    for (int i = 0; i < 3; i++) bd_ex_free(args[i]);
    return NULL;
}

/* x(t) or x(t - d) with the state variable's name read; the current token is '('. */
static bd_expr *parse_delay(parser *p, bd_status *st, int sym, int from)
{
    if ((*st = next(p))) return NULL;
    if (!tok_word(p, "t")) {
        *st = unexpected(p, "'t' in a delayed reference x(t - delay)");
        return NULL;
    }
    if ((*st = next(p))) return NULL;
    bd_expr *d = NULL, *e;
    if (tok_is(p, '-')) {
        if ((*st = next(p)) || !(d = parse_term(p, st))) return NULL;
    }
    if (!tok_is(p, ')')) {
        *st = unexpected(p, d ? "')' after the delay (write a sum as x(t - (a + b)))" : "'-' or ')'");
        bd_ex_free(d);
        return NULL;
    }
    int to = p->pos + p->len;
    if ((*st = next(p))) {
        bd_ex_free(d);
        return NULL;
    }
    e = d ? bd_xp_node(BD_EX_DELAY, 0, 1, d, NULL, NULL) : bd_xp_node(BD_EX_SYM, 0, 0, NULL, NULL, NULL);
    if (!e) {
        *st = nomem();
        return NULL;
    }
    e->sym = sym;
    span(e, from, to);
    return e;
}

static bd_status unknown_name(parser *p, int pos, int len, int call)
{
    bd_nearest s;
    bd_nearest_init(&s, p->src + pos, len);
    if (call) {
        for (int i = 0; i < NFUNCTIONS; i++) bd_nearest_try(functions[i].name, &s);
    } else {
        for (int i = 0; i < p->eqs->nsyms; i++)
            if (p->eqs->syms[i].kind != BD_SYM_NOISE) bd_nearest_try(p->eqs->syms[i].name, &s);
        for (int i = 0; i < NFUNCTIONS; i++) bd_nearest_try(functions[i].name, &s);
        bd_xp_unit_names(bd_nearest_try, &s);
    }
    const char *what = call ? "unknown function" : "unknown identifier";
    if (bd_nearest_result(&s))
        return perr(p, BD_ERR_NOT_FOUND, pos, len, "%s '%.*s'; did you mean '%s'?", what, len, p->src + pos, s.out);
    return perr(p, BD_ERR_NOT_FOUND, pos, len, "%s '%.*s'", what, len, p->src + pos);
}

static bd_expr *leaf(parser *p, bd_status *st, bd_ex_kind kind, int sym, double v, int pos, int len)
{
    bd_expr *e = bd_xp_node(kind, 0, 0, NULL, NULL, NULL);
    if (!e) {
        *st = nomem();
        return NULL;
    }
    e->sym = sym;
    e->value = v;
    span(e, pos, pos + len);
    *st = next(p);
    if (*st) {
        bd_ex_free(e);
        return NULL;
    }
    return e;
}

static bd_expr *parse_ident(parser *p, bd_status *st)
{
    int pos = p->pos, len = p->len;
    const char *s = p->src + pos;
    int sym = find_sym(p->eqs, s, len), f = find_function(s, len);
    int call = p->i < p->end && p->src[p->i] == '(' ? 1 : 0;
    if (!call) { /* a '(' after blanks also calls */
        int j = p->i;
        while (j < p->end && (p->src[j] == ' ' || p->src[j] == '\t')) j++;
        call = j < p->end && p->src[j] == '(';
    }
    if (is_word(s, len, "and") || is_word(s, len, "or") || is_word(s, len, "not")) {
        *st = unexpected(p, "an expression");
        return NULL;
    }
    if (sym >= 0 && (p->eqs->syms[sym].kind != BD_SYM_NOISE || p->noise_ok)) {
        if (!call) return leaf(p, st, BD_EX_SYM, sym, 0, pos, len);
        if (p->eqs->syms[sym].kind != BD_SYM_STATE) {
            *st = perr(p, BD_ERR_PARSE, pos, len,
                       "'%.*s' is not a function; only state variables take a delay, as in x(t - d)", len, s);
            return NULL;
        }
        if ((*st = next(p))) return NULL;
        return parse_delay(p, st, sym, pos);
    }
    if (f >= 0) {
        if (!call) {
            *st = perr(p, BD_ERR_PARSE, pos, len, "'%.*s' is a function; call it as %.*s(...)", len, s, len, s);
            return NULL;
        }
        if ((*st = next(p))) return NULL;
        return parse_call(p, st, f, pos);
    }
    if (call) {
        *st = unknown_name(p, pos, len, 1);
        return NULL;
    }
    if (is_noise_name(s, len)) {
        if (!p->noise_ok) {
            *st = perr(p, BD_ERR_MODEL, pos, len, "noise '%.*s' can only appear in differential equations", len, s);
            return NULL;
        }
        if (len >= BD_EQ_NAME_MAX) {
            *st = perr(p, BD_ERR_PARSE, pos, len, "name longer than %d characters", BD_EQ_NAME_MAX - 1);
            return NULL;
        }
        if (sym < 0 && (sym = add_sym(p, s, len, BD_SYM_NOISE, p->line)) < 0) {
            *st = nomem();
            return NULL;
        }
        return leaf(p, st, BD_EX_SYM, sym, 0, pos, len);
    }
    if (is_word(s, len, "pi")) return leaf(p, st, BD_EX_NUM, 0, M_PI, pos, len);
    if (is_word(s, len, "dt")) { /* the step, unless a symbol of that name is declared (as pi) */
        bd_expr *e = leaf(p, st, BD_EX_CALL, 0, 0, pos, len);
        if (e) e->op = BD_FN_DT, e->sym = 0;
        return e;
    }
    bd_uq u;
    if (bd_xp_unit_lookup(s, (size_t)len, &u)) return leaf(p, st, BD_EX_SYM, BD_XP_UNIT_SYM, 0, pos, len);
    *st = unknown_name(p, pos, len, 0);
    return NULL;
}

static bd_expr *parse_primary(parser *p, bd_status *st)
{
    if (p->kind == T_NUM) {
        int pos = p->pos, len = p->len;
        bd_expr *e = leaf(p, st, BD_EX_NUM, 0, p->num, pos, len);
        bd_uq u;
        if (e && p->kind == T_ID && find_sym(p->eqs, p->src + p->pos, p->len) < 0 &&
            bd_xp_unit_lookup(p->src + p->pos, (size_t)p->len, &u)) {
            *st = perr(p, BD_ERR_PARSE, pos, p->pos + p->len - pos,
                       "write %.*s*%.*s: equations need '*' between a number and its unit", len, p->src + pos, p->len,
                       p->src + p->pos);
            bd_ex_free(e);
            return NULL;
        }
        return e;
    }
    if (p->kind == T_ID) return parse_ident(p, st);
    if (tok_is(p, '(')) {
        int from = p->pos;
        if ((*st = next(p))) return NULL;
        bd_expr *e = parse_or(p, st);
        if (!e) return NULL;
        if (!tok_is(p, ')')) {
            *st = unexpected(p, "')'");
            bd_ex_free(e);
            return NULL;
        }
        span(e, from, p->pos + p->len);
        if ((*st = next(p))) {
            bd_ex_free(e);
            return NULL;
        }
        return e;
    }
    *st = unexpected(p, "an expression");
    return NULL;
}

static bd_expr *parse_unary(parser *p, bd_status *st)
{
    if (++p->depth > BD_XP_MAX_DEPTH) {
        p->depth--;
        *st = perr(p, BD_ERR_PARSE, p->pos, p->len, "expression nested too deeply");
        return NULL;
    }
    bd_expr *e = NULL;
    int from = p->pos;
    if (tok_is(p, '-') || tok_is(p, '+')) {
        int neg = p->op == '-';
        if (!(*st = next(p))) e = parse_unary(p, st);
        if (e && neg) {
            if (e->kind == BD_EX_NUM) e->value = -e->value;
            else if (!(e = bd_xp_node(BD_EX_UNARY, BD_EX_NEG, 1, e, NULL, NULL))) *st = nomem();
        }
        if (e) span(e, from, end_of(e->kind == BD_EX_UNARY && neg ? e->arg[0] : e));
    } else {
        e = parse_primary(p, st);
        if (e && (tok_is(p, '^') || tok_is(p, OP_POW))) {
            bd_expr *b = NULL;
            if (!(*st = next(p))) b = parse_unary(p, st);
            e = b ? binary(p, st, BD_EX_POW, e, b) : (bd_ex_free(e), NULL);
        }
    }
    p->depth--;
    return e;
}

/* ------------------------------------------------------------------------------------------------------------
 * Statements */

enum { S_ODE, S_ALG, S_PARAM };

typedef struct stmt {
    int kind, sym, line;
    int name_pos, name_len;
    int expr_pos, expr_end;
} stmt;

static bd_status check_name(parser *p, int pos, int len)
{
    const char *s = p->src + pos;
    if (len <= 0 || !is_alpha(s[0])) return perr(p, BD_ERR_PARSE, pos, len, "expected a variable name");
    if (len >= BD_EQ_NAME_MAX) return perr(p, BD_ERR_PARSE, pos, len, "name longer than %d characters", BD_EQ_NAME_MAX - 1);
    if (is_word(s, len, "t")) return perr(p, BD_ERR_MODEL, pos, len, "'t' is the time and cannot be defined");
    if (is_noise_name(s, len))
        return perr(p, BD_ERR_MODEL, pos, len, "'%.*s' is reserved for noise (xi, xi_<name>)", len, s);
    if (find_function(s, len) >= 0 || is_word(s, len, "and") || is_word(s, len, "or") || is_word(s, len, "not"))
        return perr(p, BD_ERR_MODEL, pos, len, "'%.*s' is a reserved word", len, s);
    return BD_OK;
}

static const char *kind_word(bd_sym_kind k)
{
    switch (k) {
    case BD_SYM_STATE: return "a state variable";
    case BD_SYM_PARAM: case BD_SYM_CONST: return "a parameter";
    case BD_SYM_ALGEBRAIC: return "an algebraic variable";
    default: return "a reserved name";
    }
}

/* The flags in parentheses after a unit, one of `allowed` each (NULL-terminated); returns a bit per allowed. */
static bd_status parse_flags(parser *p, int from, int le, const char *const *allowed, const char *what, int *bits)
{
    int close = from + 1;
    while (close < le && p->src[close] != ')') close++;
    if (close >= le) return perr(p, BD_ERR_PARSE, from, le - from, "missing ')' after the flags");
    for (int i = close + 1; i < le; i++)
        if (p->src[i] != ' ' && p->src[i] != '\t' && p->src[i] != '\r')
            return perr(p, BD_ERR_PARSE, i, le - i, "unexpected text after the flags");
    for (int a = from + 1; a < close;) {
        int b = a;
        while (b < close && p->src[b] != ',') b++;
        char flag[64];
        int n = 0, fs = -1, fe = a;
        for (int i = a; i < b; i++) { /* blanks collapsed: "unless  refractory" is "unless refractory" */
            char c = p->src[i];
            if (c == ' ' || c == '\t' || c == '\r') {
                if (n && flag[n - 1] != ' ' && n < 63) flag[n++] = ' ';
                continue;
            }
            if (fs < 0) fs = i;
            fe = i + 1;
            if (n < 63) flag[n++] = c;
        }
        while (n && flag[n - 1] == ' ') n--;
        flag[n] = '\0';
        if (fs < 0) return perr(p, BD_ERR_PARSE, a, b - a + 1, "empty flag");
        int k = 0;
        while (allowed[k] && strcmp(allowed[k], flag) != 0) k++;
        if (!allowed[k]) {
            char list[160] = "";
            for (int j = 0; allowed[j]; j++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s'%s'", j ? ", " : "", allowed[j]);
            }
            return perr(p, BD_ERR_PARSE, fs, fe - fs, "unknown flag '%s' (%s accepts %s)", flag, what, list);
        }
        *bits |= 1 << k;
        a = b + 1;
    }
    return BD_OK;
}

/* Pass 1: what a line declares, its unit and flags. Expressions are read in pass 2, once every name is known. */
static bd_status declare(parser *p, int ls, int le, int line, stmt *s)
{
    bd_status st;
    const char *src = p->src;
    p->i = ls, p->end = le;
    if ((st = next(p))) return st;
    if (p->kind != T_ID)
        return perr(p, BD_ERR_PARSE, p->pos, p->len ? p->len : 1,
                    "expected a statement: 'dx/dt = expr : unit', 'name = expr : unit' or 'name : unit'");
    int npos = p->pos, nlen = p->len;
    if ((st = next(p))) return st;
    s->line = line;
    s->expr_pos = s->expr_end = -1;
    if (tok_is(p, '/') && src[npos] == 'd' && nlen > 1) {
        if ((st = next(p))) return st;
        if (!tok_word(p, "dt")) return unexpected(p, "'dt' in 'dx/dt'");
        if ((st = next(p))) return st;
        if (!tok_is(p, '=')) return unexpected(p, "'='");
        s->kind = S_ODE;
        npos++, nlen--;
    } else if (tok_is(p, '=')) {
        s->kind = S_ALG;
    } else if (tok_is(p, ':')) {
        s->kind = S_PARAM;
    } else {
        return unexpected(p, "'=' or ':'");
    }
    if ((st = check_name(p, npos, nlen))) return st;
    s->name_pos = npos, s->name_len = nlen;
    int colon = p->pos;
    if (s->kind != S_PARAM) {
        s->expr_pos = p->i;
        colon = p->i;
        while (colon < le && src[colon] != ':') colon++;
        if (colon >= le) return perr(p, BD_ERR_PARSE, le, 1, "missing ': unit' after the expression");
        s->expr_end = colon;
    }

    /* the unit and the flags */
    bd_uq u;
    size_t end, at, len;
    char err[160];
    int ustart = colon + 1;
    if ((st = bd_xp_unit_text(src + ustart, (size_t)(le - ustart), &end, &u, &at, &len, err, sizeof err)))
        return perr(p, st, ustart + (int)at, (int)len, "%s", err);
    int uend = ustart + (int)end, flags = 0;
    for (int k = 0; k < 7; k++)
        if (u.d2[k] % 2) return perr(p, BD_ERR_UNITS, ustart, uend - ustart, "a declared unit needs whole powers");
    if (uend < le && src[uend] == '(') {
        static const char *const ode_flags[] = {"unless refractory", NULL};
        static const char *const param_flags[] = {"constant", "shared", NULL};
        static const char *const no_flags[] = {NULL};
        const char *const *allowed = s->kind == S_ODE ? ode_flags : s->kind == S_PARAM ? param_flags : no_flags;
        const char *what = s->kind == S_ODE ? "a differential equation" : s->kind == S_PARAM ? "a parameter"
                                                                                           : "an algebraic definition";
        if ((st = parse_flags(p, uend, le, allowed, what, &flags))) return st;
    } else if (uend < le) {
        return perr(p, BD_ERR_PARSE, uend, le - uend, "unexpected text after the unit");
    }

    /* the symbol */
    bd_sym_kind kind = s->kind == S_ODE ? BD_SYM_STATE : s->kind == S_ALG ? BD_SYM_ALGEBRAIC
                                                     : flags ? BD_SYM_CONST : BD_SYM_PARAM;
    int old = find_sym(p->eqs, src + npos, nlen);
    if (old >= 0) {
        const bd_symbol *o = &p->eqs->syms[old];
        if (kind == BD_SYM_STATE && o->kind == BD_SYM_STATE)
            return perr(p, BD_ERR_MODEL, npos, nlen, "'%s' has two differential equations (the first on line %d)",
                        o->name, o->line);
        if (kind == BD_SYM_STATE)
            return perr(p, BD_ERR_MODEL, npos, nlen, "a differential equation for '%s', which is %s (line %d)",
                        o->name, kind_word(o->kind), o->line);
        return perr(p, BD_ERR_MODEL, npos, nlen, "'%s' is already defined as %s on line %d", o->name,
                    kind_word(o->kind), o->line);
    }
    if ((s->sym = add_sym(p, src + npos, nlen, kind, line)) < 0) return nomem();
    bd_symbol *sym = &p->eqs->syms[s->sym];
    sym->unit.scale = u.scale;
    for (int k = 0; k < 7; k++) sym->unit.dim[k] = (signed char)(u.d2[k] / 2);
    int ul = uend - ustart;
    while (ul > 0 && (src[ustart + ul - 1] == ' ' || src[ustart + ul - 1] == '\t')) ul--;
    int lead = 0;
    while (lead < ul && (src[ustart + lead] == ' ' || src[ustart + lead] == '\t')) lead++;
    snprintf(sym->unit_text, sizeof sym->unit_text, "%.*s", ul - lead, src + ustart + lead);
    if (s->kind == S_ODE) {
        bd_eqs *e = p->eqs;
        if (e->nodes == p->cap_odes) {
            int cap = p->cap_odes ? 2 * p->cap_odes : 8;
            bd_ode *o = realloc(e->odes, (size_t)cap * sizeof *o);
            if (!o) return nomem();
            e->odes = o;
            p->cap_odes = cap;
        }
        bd_ode *o = &e->odes[e->nodes++];
        memset(o, 0, sizeof *o);
        o->sym = s->sym;
        o->unless_refractory = flags & 1;
        o->line = line;
    }
    return BD_OK;
}

static int has_noise(const bd_eqs *e, const bd_expr *x)
{
    if (x->kind == BD_EX_SYM && x->sym >= 0 && e->syms[x->sym].kind == BD_SYM_NOISE) return 1;
    for (int i = 0; i < x->nargs; i++)
        if (has_noise(e, x->arg[i])) return 1;
    return 0;
}

/* A term of the right side with its sign. */
typedef struct term {
    bd_expr *e;
    int neg;
} term;

typedef struct terms {
    term *v;
    int n, cap;
} terms;

/* Splits e (owned) at its top-level + and - (and unary minus) into terms. */
static bd_status split_terms(bd_expr *e, int neg, terms *out)
{
    if ((e->kind == BD_EX_BINARY && (e->op == BD_EX_ADD || e->op == BD_EX_SUB)) ||
        (e->kind == BD_EX_UNARY && e->op == BD_EX_NEG)) {
        bd_expr *a = e->arg[0], *b = e->nargs > 1 ? e->arg[1] : NULL;
        int bneg = e->op == BD_EX_SUB ? !neg : neg, aneg = e->op == BD_EX_NEG ? !neg : neg;
        e->arg[0] = e->arg[1] = NULL; /* the terms are taken over: free the + or - node alone */
        bd_ex_free(e);
        bd_status st = split_terms(a, aneg, out);
        if (b && st) bd_ex_free(b);
        else if (b) st = split_terms(b, bneg, out);
        return st;
    }
    if (out->n == out->cap) {
        int cap = out->cap ? 2 * out->cap : 16;
        term *v = realloc(out->v, (size_t)cap * sizeof *v);
        if (!v) {
            bd_ex_free(e);
            return nomem();
        }
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = (term){e, neg};
    return BD_OK;
}

static bd_status nonlinear(parser *p, const bd_expr *at)
{
    return perr(p, BD_ERR_MODEL, at->pos >= 0 ? at->pos : p->epos, at->pos >= 0 ? at->len : p->elen,
                "in %s: noise must appear linearly, as one factor of a term (as in sigma*xi)", p->label);
}

/* Removes the noise factor from the term t (owned): *coef gets the rest (NULL meaning 1), *nsym the noise. */
static bd_status extract_noise(parser *p, bd_expr *t, bd_expr **coef, int *nsym)
{
    const bd_eqs *e = p->eqs;
    *coef = NULL;
    if (t->kind == BD_EX_SYM && t->sym >= 0 && e->syms[t->sym].kind == BD_SYM_NOISE) {
        *nsym = t->sym;
        bd_ex_free(t);
        return BD_OK;
    }
    int mul = t->kind == BD_EX_BINARY && t->op == BD_EX_MUL, div = t->kind == BD_EX_BINARY && t->op == BD_EX_DIV;
    int neg = t->kind == BD_EX_UNARY && t->op == BD_EX_NEG;
    int ha = (mul || div || neg) && has_noise(e, t->arg[0]), hb = (mul || div) && has_noise(e, t->arg[1]);
    if ((!mul && !div && !neg) || (ha && hb) || (div && hb)) {
        bd_status st = nonlinear(p, t);
        bd_ex_free(t);
        return st;
    }
    int side = ha ? 0 : 1;
    bd_expr *sub = t->arg[side], *other = neg ? NULL : t->arg[1 - side], *c;
    t->arg[0] = t->arg[1] = NULL; /* its factors are taken over: free the product alone */
    bd_ex_free(t);
    bd_status st = extract_noise(p, sub, &c, nsym);
    if (st) {
        bd_ex_free(other);
        return st;
    }
    if (neg) {
        if (!c && !(c = bd_ex_num(1))) return nomem();
        *coef = bd_xp_node(BD_EX_UNARY, BD_EX_NEG, 1, c, NULL, NULL);
    } else if (div) {
        if (!c && !(c = bd_ex_num(1))) {
            bd_ex_free(other);
            return nomem();
        }
        *coef = bd_xp_node(BD_EX_BINARY, BD_EX_DIV, 2, c, other, NULL);
    } else {
        *coef = !c ? other : side == 0 ? bd_xp_node(BD_EX_BINARY, BD_EX_MUL, 2, c, other, NULL)
                                       : bd_xp_node(BD_EX_BINARY, BD_EX_MUL, 2, other, c, NULL);
    }
    return *coef ? BD_OK : nomem();
}

/* *sum +/- e (e owned; *sum may be NULL). */
static bd_status accumulate(bd_expr **sum, bd_expr *e, int neg)
{
    if (!*sum) *sum = neg ? bd_xp_node(BD_EX_UNARY, BD_EX_NEG, 1, e, NULL, NULL) : e;
    else *sum = bd_xp_node(BD_EX_BINARY, neg ? BD_EX_SUB : BD_EX_ADD, 2, *sum, e, NULL);
    return *sum ? BD_OK : nomem();
}

/* Splits the right side of o into the drift and one coefficient per Wiener process. */
static bd_status split_noise(parser *p, bd_ode *o, bd_expr *rhs)
{
    terms ts = {NULL, 0, 0};
    bd_status st = split_terms(rhs, 0, &ts);
    for (int i = 0; i < ts.n && !st; i++) {
        bd_expr *t = ts.v[i].e;
        ts.v[i].e = NULL; /* consumed whatever happens */
        if (!has_noise(p->eqs, t)) {
            st = accumulate(&o->drift, t, ts.v[i].neg);
            continue;
        }
        bd_expr *c;
        int nsym = -1, k = 0, tpos = t->pos, tlen = t->len;
        if ((st = extract_noise(p, t, &c, &nsym))) break;
        if (!c && !(c = bd_ex_num(1))) {
            st = nomem();
            break;
        }
        while (k < o->nnoise && o->noise_sym[k] != nsym) k++;
        if (k == BD_EQ_MAX_NOISE) {
            st = perr(p, BD_ERR_LIMIT, tpos, tlen, "in %s: more than %d noise processes", p->label, BD_EQ_MAX_NOISE);
            bd_ex_free(c);
            break;
        }
        if (k == o->nnoise) o->noise_sym[o->nnoise++] = nsym;
        st = accumulate(&o->noise[k], c, ts.v[i].neg);
    }
    for (int i = 0; i < ts.n; i++) bd_ex_free(ts.v[i].e);
    free(ts.v);
    if (!st && !o->drift && !(o->drift = bd_ex_num(0))) st = nomem();
    return st;
}

/* Pass 2: one statement's expression, parsed, split into drift and noise, and unit-normalised. */
static bd_status parse_expr(parser *p, const stmt *s, int noise_ok, bd_expr **out)
{
    p->i = s->expr_pos, p->end = s->expr_end;
    p->depth = 0;
    p->noise_ok = noise_ok;
    p->line = s->line;
    bd_status st = next(p);
    if (st) return st;
    p->epos = p->pos;
    p->elen = s->expr_end - p->pos;
    while (p->elen > 1 && (p->src[p->epos + p->elen - 1] == ' ' || p->src[p->epos + p->elen - 1] == '\t')) p->elen--;
    if (p->kind == T_END) return perr(p, BD_ERR_PARSE, s->expr_pos, 1, "missing expression");
    bd_expr *e = parse_or(p, &st);
    if (e && p->kind != T_END) {
        st = unexpected(p, "an operator");
        bd_ex_free(e);
        e = NULL;
    }
    *out = e;
    return st;
}

static bd_status define(parser *p, const stmt *s)
{
    bd_eqs *e = p->eqs;
    char label[BD_EQ_NAME_MAX + 8], text[64];
    bd_status st;
    bd_expr *x = NULL;
    if (s->kind == S_ALG) {
        snprintf(label, sizeof label, "%s", e->syms[s->sym].name);
        p->label = label;
        if ((st = parse_expr(p, s, 0, &x))) return st;
        e->syms[s->sym].def = x; /* owned by e from here, also when the check below fails */
        bd_xp_check c = {e, label, p->epos, p->elen};
        bd_uq want = bd_xp_uq_from_unit(&e->syms[s->sym].unit);
        return bd_xp_normalise(&c, &e->syms[s->sym].def, &want, e->syms[s->sym].unit_text, "the right side");
    }
    snprintf(label, sizeof label, "d%s/dt", e->syms[s->sym].name);
    p->label = label;
    if ((st = parse_expr(p, s, 1, &x))) return st;
    int k = 0;
    while (e->odes[k].sym != s->sym) k++;
    bd_ode *o = &e->odes[k];
    if (has_noise(e, x)) {
        if ((st = split_noise(p, o, x))) return st;
    } else {
        o->drift = x;
    }
    bd_xp_check c = {e, label, p->epos, p->elen};
    const bd_symbol *v = &e->syms[s->sym];
    bd_uq want = bd_xp_uq_from_unit(&v->unit);
    want.scale /= 1e-3; /* per ms */
    want.d2[BD_DIM_S] -= 2;
    snprintf(text, sizeof text, "%s/ms", v->unit_text);
    if ((st = bd_xp_normalise(&c, &o->drift, &want, text, "the right side"))) return st;
    want.scale *= sqrt(1e-3); /* per sqrt(ms) */
    want.d2[BD_DIM_S] += 1;
    snprintf(text, sizeof text, "%s/ms^0.5", v->unit_text);
    for (k = 0; k < o->nnoise; k++) {
        char what[BD_EQ_NAME_MAX + 32];
        snprintf(what, sizeof what, "the coefficient of '%s'", e->syms[o->noise_sym[k]].name);
        if ((st = bd_xp_normalise(&c, &o->noise[k], &want, text, what))) return st;
    }
    return BD_OK;
}

static void collect_deps(const bd_eqs *e, const bd_expr *x, int *deps, int *n)
{
    if (x->kind == BD_EX_SYM && x->sym >= 0 && e->syms[x->sym].kind == BD_SYM_ALGEBRAIC) {
        if (deps) deps[*n] = x->sym;
        (*n)++;
    }
    for (int i = 0; i < x->nargs; i++) collect_deps(e, x->arg[i], deps, n);
}

/* Algebraic definitions must not refer to themselves, directly or through others: a depth-first search with an
 * explicit stack (no recursion over symbols). */
static bd_status check_cycles(parser *p, const stmt *st, int nst)
{
    const bd_eqs *e = p->eqs;
    int n = e->nsyms, ndeps = 0;
    for (int s = 0; s < n; s++)
        if (e->syms[s].def) collect_deps(e, e->syms[s].def, NULL, &ndeps);
    int *start = calloc((size_t)n + 1, sizeof *start), *deps = malloc(((size_t)ndeps + 1) * sizeof *deps);
    int *color = calloc((size_t)n, sizeof *color), *stack = malloc((size_t)n * sizeof *stack);
    int *it = malloc((size_t)n * sizeof *it);
    bd_status rc = BD_OK;
    if (!start || !deps || !color || !stack || !it) {
        rc = nomem();
        goto done;
    }
    for (int s = 0, k = 0; s < n; s++) {
        start[s] = k;
        if (e->syms[s].def) collect_deps(e, e->syms[s].def, deps, &k);
        start[s + 1] = k;
    }
    for (int root = 0; root < n && !rc; root++) {
        if (e->syms[root].kind != BD_SYM_ALGEBRAIC || color[root]) continue;
        int top = 0;
        stack[0] = root, it[0] = start[root], color[root] = 1;
        while (top >= 0 && !rc) {
            int s = stack[top];
            if (it[top] == start[s + 1]) {
                color[s] = 2;
                top--;
                continue;
            }
            int d = deps[it[top]++];
            if (color[d] == 0) {
                top++;
                stack[top] = d, it[top] = start[d], color[d] = 1;
            } else if (color[d] == 1) {
                char path[512] = "";
                int from = top;
                while (stack[from] != d) from--;
                for (int i = from; i <= top; i++) {
                    size_t l = strlen(path);
                    snprintf(path + l, sizeof path - l, "%s -> ", e->syms[stack[i]].name);
                }
                size_t l = strlen(path);
                snprintf(path + l, sizeof path - l, "%s", e->syms[d].name);
                int k = 0;
                while (k < nst && st[k].sym != d) k++;
                rc = perr(p, BD_ERR_MODEL, k < nst ? st[k].name_pos : 0, k < nst ? st[k].name_len : 1,
                          "cyclic definition: %s", path);
            }
        }
    }
done:
    free(start), free(deps), free(color), free(stack), free(it);
    return rc;
}

void bd_eqs_free(bd_eqs *e)
{
    if (!e) return;
    for (int i = 0; i < e->nsyms; i++) bd_ex_free(e->syms[i].def);
    for (int i = 0; i < e->nodes; i++) {
        bd_ex_free(e->odes[i].drift);
        for (int k = 0; k < e->odes[i].nnoise; k++) bd_ex_free(e->odes[i].noise[k]);
    }
    free(e->syms);
    free(e->odes);
    free(e->source);
    free(e->source_name);
    free(e);
}

bd_status bd_eqs_parse(const char *text, const char *source_name, bd_eqs **out)
{
    if (!out || !text) return bd_fail(BD_ERR_INVALID_ARG, "bd_eqs_parse: NULL argument");
    *out = NULL;
    bd_eqs *e = calloc(1, sizeof *e);
    if (!e) return nomem();
    e->source = strdup(text);
    e->source_name = strdup(source_name ? source_name : "<equations>");
    parser p = {.eqs = e, .src = e->source};
    stmt *st = NULL;
    int nst = 0, nlines = 1, t;
    bd_status rc = BD_OK;
    if (!e->source || !e->source_name || (t = add_sym(&p, "t", 1, BD_SYM_TIME, 0)) < 0) {
        rc = nomem();
        goto fail;
    }
    e->syms[t].unit.scale = 1e-3;
    e->syms[t].unit.dim[BD_DIM_S] = 1;
    snprintf(e->syms[t].unit_text, sizeof e->syms[t].unit_text, "ms");
    for (const char *c = text; *c; c++) nlines += *c == '\n';
    if (!(st = calloc((size_t)nlines, sizeof *st))) {
        rc = nomem();
        goto fail;
    }
    int n = (int)strlen(text);
    for (int ls = 0, line = 1; ls <= n && !rc; line++) {
        int le = ls, blank = 1;
        while (le < n && text[le] != '\n' && text[le] != '#') blank &= text[le] == ' ' || text[le] == '\t' || text[le] == '\r', le++;
        if (!blank && (rc = declare(&p, ls, le, line, &st[nst]))) break;
        nst += !blank;
        while (le < n && text[le] != '\n') le++;
        ls = le + 1;
    }
    for (int i = 0; i < nst && !rc; i++)
        if (st[i].kind != S_PARAM) rc = define(&p, &st[i]);
    if (!rc) rc = check_cycles(&p, st, nst);
    if (rc) goto fail;
    free(st);
    *out = e;
    return BD_OK;
fail:
    free(st);
    bd_eqs_free(e);
    return rc;
}
