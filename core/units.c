/* Physical units: the unit table, unit and quantity parsing, and the dimension checker that rewrites parsed
 * equations into unit-free form (conversion factors folded in; see core/expr.h and docs/equations.md). */
#include "error.h"
#include "expr_parse_impl.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------------------
 * Numbers */

size_t bd_xp_number(const char *s, size_t n, double *v)
{
    size_t i = 0, digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) { /* an exponent only if digits follow: "2e" is 2 then e */
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j < n && s[j] >= '0' && s[j] <= '9') {
            while (j < n && s[j] >= '0' && s[j] <= '9') j++;
            i = j;
        }
    }
    /* strtod honours the locale's decimal point: hand it that character instead of '.' */
    char buf[128];
    if (i >= sizeof buf) {
        *v = HUGE_VAL;
        return i;
    }
    const char *dp = localeconv()->decimal_point;
    for (size_t k = 0; k < i; k++) buf[k] = s[k] == '.' && dp && dp[0] ? dp[0] : s[k];
    buf[i] = '\0';
    *v = strtod(buf, NULL);
    return i;
}

/* ------------------------------------------------------------------------------------------------------------
 * The unit table. Dimensions in the order m, kg, s, A, K, mol, cd. A prefixable unit also exists with every
 * prefix below (ms, mV, nS, uF, kohm, mM, um, ...); an exact name wins over a prefix reading ("M" is molar,
 * "Mohm" mega-ohm, "m" metre, "mm" millimetre). */

typedef struct unit_def {
    const char *name;
    double scale;
    signed char dim[7];
    int prefixable;
} unit_def;

static const unit_def units[] = {
    /*  name        scale     m  kg   s   A  K mol cd  prefix */
    {"s",           1,      { 0,  0,  1,  0, 0, 0, 0}, 1},
    {"second",      1,      { 0,  0,  1,  0, 0, 0, 0}, 1},
    {"minute",      60,     { 0,  0,  1,  0, 0, 0, 0}, 0},
    {"Hz",          1,      { 0,  0, -1,  0, 0, 0, 0}, 1},
    {"hertz",       1,      { 0,  0, -1,  0, 0, 0, 0}, 1},
    {"V",           1,      { 2,  1, -3, -1, 0, 0, 0}, 1},
    {"volt",        1,      { 2,  1, -3, -1, 0, 0, 0}, 1},
    {"A",           1,      { 0,  0,  0,  1, 0, 0, 0}, 1},
    {"amp",         1,      { 0,  0,  0,  1, 0, 0, 0}, 1},
    {"ampere",      1,      { 0,  0,  0,  1, 0, 0, 0}, 1},
    {"S",           1,      {-2, -1,  3,  2, 0, 0, 0}, 1},
    {"siemens",     1,      {-2, -1,  3,  2, 0, 0, 0}, 1},
    {"F",           1,      {-2, -1,  4,  2, 0, 0, 0}, 1},
    {"farad",       1,      {-2, -1,  4,  2, 0, 0, 0}, 1},
    {"ohm",         1,      { 2,  1, -3, -2, 0, 0, 0}, 1},
    {"C",           1,      { 0,  0,  1,  1, 0, 0, 0}, 1},
    {"coulomb",     1,      { 0,  0,  1,  1, 0, 0, 0}, 1},
    {"J",           1,      { 2,  1, -2,  0, 0, 0, 0}, 1},
    {"joule",       1,      { 2,  1, -2,  0, 0, 0, 0}, 1},
    {"W",           1,      { 2,  1, -3,  0, 0, 0, 0}, 1},
    {"watt",        1,      { 2,  1, -3,  0, 0, 0, 0}, 1},
    {"m",           1,      { 1,  0,  0,  0, 0, 0, 0}, 1},
    {"metre",       1,      { 1,  0,  0,  0, 0, 0, 0}, 1},
    {"meter",       1,      { 1,  0,  0,  0, 0, 0, 0}, 1},
    {"L",           1e-3,   { 3,  0,  0,  0, 0, 0, 0}, 1},
    {"liter",       1e-3,   { 3,  0,  0,  0, 0, 0, 0}, 1},
    {"litre",       1e-3,   { 3,  0,  0,  0, 0, 0, 0}, 1},
    {"g",           1e-3,   { 0,  1,  0,  0, 0, 0, 0}, 1},
    {"gram",        1e-3,   { 0,  1,  0,  0, 0, 0, 0}, 1},
    {"kilogram",    1,      { 0,  1,  0,  0, 0, 0, 0}, 0},
    {"mol",         1,      { 0,  0,  0,  0, 0, 1, 0}, 1},
    {"mole",        1,      { 0,  0,  0,  0, 0, 1, 0}, 1},
    {"M",           1e3,    {-3,  0,  0,  0, 0, 1, 0}, 1}, /* molar: mol/L */
    {"molar",       1e3,    {-3,  0,  0,  0, 0, 1, 0}, 1},
    {"K",           1,      { 0,  0,  0,  0, 1, 0, 0}, 1},
    {"kelvin",      1,      { 0,  0,  0,  0, 1, 0, 0}, 1},
    {"cd",          1,      { 0,  0,  0,  0, 0, 0, 1}, 0},
    {"radian",      1,      { 0,  0,  0,  0, 0, 0, 0}, 0},
    {"rad",         1,      { 0,  0,  0,  0, 0, 0, 0}, 0},
};

static const struct { const char *name; double scale; } prefixes[] = {
    {"f", 1e-15}, {"p", 1e-12}, {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"c", 1e-2}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bd_uq uq_of(const unit_def *d, double prefix)
{
    bd_uq u = {d->scale * prefix, {0}};
    for (int k = 0; k < 7; k++) u.d2[k] = 2 * d->dim[k];
    return u;
}

int bd_xp_unit_lookup(const char *name, size_t len, bd_uq *out)
{
    for (size_t i = 0; i < COUNT(units); i++)
        if (strlen(units[i].name) == len && memcmp(units[i].name, name, len) == 0) {
            *out = uq_of(&units[i], 1);
            return 1;
        }
    for (size_t p = 0; p < COUNT(prefixes); p++) {
        size_t pl = strlen(prefixes[p].name);
        if (len <= pl || memcmp(prefixes[p].name, name, pl) != 0) continue;
        for (size_t i = 0; i < COUNT(units); i++)
            if (units[i].prefixable && strlen(units[i].name) == len - pl &&
                memcmp(units[i].name, name + pl, len - pl) == 0) {
                *out = uq_of(&units[i], prefixes[p].scale);
                return 1;
            }
    }
    return 0;
}

void bd_xp_unit_names(void (*fn)(const char *name, void *user), void *user)
{
    char buf[32];
    for (size_t i = 0; i < COUNT(units); i++) {
        fn(units[i].name, user);
        if (!units[i].prefixable) continue;
        for (size_t p = 0; p < COUNT(prefixes); p++) {
            snprintf(buf, sizeof buf, "%s%s", prefixes[p].name, units[i].name);
            fn(buf, user);
        }
    }
}

bd_uq bd_xp_uq_from_unit(const bd_unit *u)
{
    bd_uq q = {u->scale, {0}};
    for (int k = 0; k < 7; k++) q.d2[k] = 2 * u->dim[k];
    return q;
}

int bd_xp_same_dim(const bd_uq *a, const bd_uq *b) { return memcmp(a->d2, b->d2, sizeof a->d2) == 0; }

/* ------------------------------------------------------------------------------------------------------------
 * Readable dimensions: a named SI unit times the base units left over, whichever reads shortest. */

static const struct { const char *name; signed char dim[7]; } named_dims[] = {
    {"V", {2, 1, -3, -1, 0, 0, 0}}, {"A", {0, 0, 0, 1, 0, 0, 0}},  {"S", {-2, -1, 3, 2, 0, 0, 0}},
    {"F", {-2, -1, 4, 2, 0, 0, 0}}, {"ohm", {2, 1, -3, -2, 0, 0, 0}}, {"C", {0, 0, 1, 1, 0, 0, 0}},
    {"J", {2, 1, -2, 0, 0, 0, 0}},  {"W", {2, 1, -3, 0, 0, 0, 0}},
};
static const char *const base_names[7] = {"m", "kg", "s", "A", "K", "mol", "cd"};

static int nonzero(const int d2[7])
{
    int n = 0;
    for (int k = 0; k < 7; k++) n += d2[k] != 0;
    return n;
}

static void put_pow(char *buf, size_t n, const char *name, int d2)
{
    size_t l = strlen(buf);
    if (d2 == 2) snprintf(buf + l, n - l, "%s", name);
    else if (d2 % 2 == 0) snprintf(buf + l, n - l, "%s^%d", name, d2 / 2);
    else snprintf(buf + l, n - l, "%s^%.1f", name, d2 / 2.0);
}

void bd_xp_dim_str(const int d2[7], char *buf, size_t n)
{
    int best = -1, rest[7], cost = nonzero(d2);
    for (size_t i = 0; i < COUNT(named_dims); i++) {
        int r[7];
        for (int k = 0; k < 7; k++) r[k] = d2[k] - 2 * named_dims[i].dim[k];
        if (nonzero(r) + 1 < cost) {
            cost = nonzero(r) + 1;
            best = (int)i;
        }
    }
    for (int k = 0; k < 7; k++) rest[k] = d2[k] - (best >= 0 ? 2 * named_dims[best].dim[k] : 0);
    buf[0] = '\0';
    int any = best >= 0;
    if (any) snprintf(buf, n, "%s", named_dims[best].name);
    for (int k = 0; k < 7; k++)
        if (rest[k] > 0) {
            if (any) strncat(buf, "*", n - strlen(buf) - 1);
            put_pow(buf, n, base_names[k], rest[k]);
            any = 1;
        }
    if (!any) snprintf(buf, n, "1");
    for (int k = 0; k < 7; k++)
        if (rest[k] < 0) {
            strncat(buf, "/", n - strlen(buf) - 1);
            put_pow(buf, n, base_names[k], -rest[k]);
        }
}

/* ------------------------------------------------------------------------------------------------------------
 * Unit expressions: 1, names, *, /, ^ or ** with an integer, a decimal or a parenthesised fraction, parentheses. */

typedef struct uscan {
    const char *s;
    size_t n, i;
    int depth;
    size_t err_at, err_len;
    char *err;
    size_t errn;
} uscan;

static bd_status us_fail(uscan *u, bd_status st, size_t at, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bd_status us_fail(uscan *u, bd_status st, size_t at, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->err, u->errn, fmt, ap);
    va_end(ap);
    u->err_at = at;
    u->err_len = len ? len : 1;
    return st;
}

static void us_blank(uscan *u)
{
    while (u->i < u->n && (u->s[u->i] == ' ' || u->s[u->i] == '\t')) u->i++;
}

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

static bd_status us_product(uscan *u, bd_uq *out);

/* Raises q to the power e, keeping dimensions whole or half-whole. */
static int uq_pow(bd_uq *q, double e)
{
    for (int k = 0; k < 7; k++) {
        double d = q->d2[k] * e;
        if (!(fabs(d) <= 64) || fabs(d - round(d)) > 1e-9) return 0;
    }
    for (int k = 0; k < 7; k++) q->d2[k] = (int)round(q->d2[k] * e);
    q->scale = pow(q->scale, e);
    return 1;
}

static bd_status us_exponent(uscan *u, double *e)
{
    us_blank(u);
    int paren = u->i < u->n && u->s[u->i] == '(';
    if (paren) u->i++, us_blank(u);
    double sign = 1, num, den = 1;
    if (u->i < u->n && (u->s[u->i] == '-' || u->s[u->i] == '+')) sign = u->s[u->i++] == '-' ? -1 : 1;
    size_t at = u->i, l = bd_xp_number(u->s + u->i, u->n - u->i, &num);
    if (!l) return us_fail(u, BD_ERR_PARSE, at, 1, "expected a number as the exponent");
    u->i += l;
    if (paren) {
        us_blank(u);
        if (u->i < u->n && u->s[u->i] == '/') {
            u->i++, us_blank(u);
            size_t dl = bd_xp_number(u->s + u->i, u->n - u->i, &den);
            if (!dl || den == 0) return us_fail(u, BD_ERR_PARSE, u->i, 1, "expected a nonzero denominator");
            u->i += dl, us_blank(u);
        }
        if (u->i >= u->n || u->s[u->i] != ')') return us_fail(u, BD_ERR_PARSE, u->i, 1, "expected ')'");
        u->i++;
    }
    *e = sign * num / den;
    return BD_OK;
}

static bd_status us_factor(uscan *u, bd_uq *out)
{
    us_blank(u);
    size_t at = u->i;
    bd_status st;
    if (u->i >= u->n) return us_fail(u, BD_ERR_PARSE, at, 1, "expected a unit");
    char c = u->s[u->i];
    if (c == '(') {
        if (++u->depth > 32) return us_fail(u, BD_ERR_PARSE, at, 1, "unit nested too deeply");
        u->i++;
        if ((st = us_product(u, out))) return st;
        us_blank(u);
        if (u->i >= u->n || u->s[u->i] != ')') return us_fail(u, BD_ERR_PARSE, u->i, 1, "expected ')' in the unit");
        u->i++;
        u->depth--;
    } else if (is_alpha(c)) {
        size_t j = u->i;
        while (j < u->n && is_alnum(u->s[j])) j++;
        if (!bd_xp_unit_lookup(u->s + u->i, j - u->i, out))
            return us_fail(u, BD_ERR_NOT_FOUND, at, j - at, "unknown unit '%.*s'", (int)(j - at), u->s + at);
        u->i = j;
    } else {
        double v;
        size_t l = bd_xp_number(u->s + u->i, u->n - u->i, &v);
        if (!l || v != 1) return us_fail(u, BD_ERR_PARSE, at, l, "expected a unit (a name such as mV, or 1)");
        u->i += l;
        *out = (bd_uq){1, {0}};
    }
    size_t save = u->i;
    us_blank(u);
    if (u->i < u->n && (u->s[u->i] == '^' || (u->s[u->i] == '*' && u->i + 1 < u->n && u->s[u->i + 1] == '*'))) {
        u->i += u->s[u->i] == '^' ? 1 : 2;
        double e = 1;
        if ((st = us_exponent(u, &e))) return st;
        if (!uq_pow(out, e)) return us_fail(u, BD_ERR_PARSE, at, u->i - at, "this power has no physical unit");
    } else {
        u->i = save;
    }
    return BD_OK;
}

static bd_status us_product(uscan *u, bd_uq *out)
{
    bd_status st = us_factor(u, out);
    while (!st) {
        size_t save = u->i;
        us_blank(u);
        char c = u->i < u->n ? u->s[u->i] : '\0';
        if (c != '*' && c != '/') {
            u->i = save;
            break;
        }
        u->i++;
        bd_uq f;
        if ((st = us_factor(u, &f))) break;
        out->scale = c == '*' ? out->scale * f.scale : out->scale / f.scale;
        for (int k = 0; k < 7; k++) out->d2[k] += c == '*' ? f.d2[k] : -f.d2[k];
    }
    return st;
}

bd_status bd_xp_unit_text(const char *s, size_t n, size_t *end, bd_uq *q, size_t *err_at, size_t *err_len, char *err,
                          size_t errn)
{
    uscan u = {s, n, 0, 0, 0, 0, err, errn};
    bd_status st = us_product(&u, q);
    if (st) {
        *err_at = u.err_at;
        *err_len = u.err_len;
        return st;
    }
    us_blank(&u);
    *end = u.i;
    return BD_OK;
}

bd_status bd_unit_parse(const char *text, bd_unit *out)
{
    if (!text || !out) return bd_fail(BD_ERR_INVALID_ARG, "bd_unit_parse: NULL argument");
    size_t n = strlen(text), end = 0, at, len;
    char err[160];
    bd_uq q;
    bd_status st = bd_xp_unit_text(text, n, &end, &q, &at, &len, err, sizeof err);
    if (!st && end != n) {
        st = BD_ERR_PARSE;
        at = end;
        snprintf(err, sizeof err, "unexpected '%c'", text[end]);
    }
    if (st) return bd_fail(st, "unit '%s', column %zu: %s", text, at + 1, err);
    for (int k = 0; k < 7; k++)
        if (q.d2[k] % 2) return bd_fail(BD_ERR_UNITS, "unit '%s' has a fractional dimension", text);
    out->scale = q.scale;
    for (int k = 0; k < 7; k++) out->dim[k] = (signed char)(q.d2[k] / 2);
    return BD_OK;
}

bd_status bd_quantity_parse(const char *text, const bd_unit *in, const char *label, double *value)
{
    if (!text || !in || !value) return bd_fail(BD_ERR_INVALID_ARG, "bd_quantity_parse: NULL argument");
    if (!label) label = "quantity";
    size_t n = strlen(text), i = 0;
    while (i < n && (text[i] == ' ' || text[i] == '\t')) i++;
    double sign = 1, v;
    if (i < n && (text[i] == '-' || text[i] == '+')) sign = text[i++] == '-' ? -1 : 1;
    size_t l = bd_xp_number(text + i, n - i, &v);
    if (!l) return bd_fail(BD_ERR_PARSE, "%s: cannot read '%s' as a quantity such as '10 ms'", label, text);
    i += l;
    while (i < n && (text[i] == ' ' || text[i] == '\t')) i++;
    if (i == n) { /* a bare number is taken to be in the declared unit already */
        *value = sign * v;
        return BD_OK;
    }
    if (text[i] == '*') i++;
    size_t end, at, len;
    char err[160];
    bd_uq q;
    bd_status st = bd_xp_unit_text(text + i, n - i, &end, &q, &at, &len, err, sizeof err);
    if (!st && i + end != n) return bd_fail(BD_ERR_PARSE, "%s: unexpected '%c' in '%s'", label, text[i + end], text);
    if (st) return bd_fail(st, "%s: %s in '%s'", label, err, text);
    bd_uq want = bd_xp_uq_from_unit(in);
    if (!bd_xp_same_dim(&q, &want)) {
        char have[64], need[64];
        bd_xp_dim_str(q.d2, have, sizeof have);
        bd_xp_dim_str(want.d2, need, sizeof need);
        return bd_fail(BD_ERR_UNITS, "%s: '%s' has dimension %s, expected %s", label, text, have, need);
    }
    *value = sign * v * (q.scale / want.scale);
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * The dimension checker. A checked tree evaluates to a number v that means the physical quantity v * scale (SI)
 * of the unit computed for it; the checker only inserts factors where two operands must share a scale. */

typedef struct cres {
    bd_uq u;
    int zero;   /* the literal 0, which fits every unit */
    int isnum;  /* made of numbers only; val is its value */
    double val;
} cres;

static const bd_uq dimless = {1, {0}};

static bd_status cfail(bd_xp_check *c, bd_status st, const bd_expr *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bd_status cfail(bd_xp_check *c, bd_status st, const bd_expr *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int pos = at && at->pos >= 0 ? at->pos : c->pos, len = at && at->pos >= 0 ? at->len : c->len;
    return bd_xp_error(c->eqs, st, pos, len, "in %s: %s", c->label, msg);
}

static int near_one(double f) { return fabs(f - 1) <= 1e-12; }

/* *pp times f (folded into a number node); on failure *pp is freed and NULL. */
static bd_status scale_by(bd_expr **pp, double f)
{
    if (near_one(f)) return BD_OK;
    if ((*pp)->kind == BD_EX_NUM) {
        (*pp)->value *= f;
        return BD_OK;
    }
    bd_expr *k = bd_ex_num(f);
    *pp = k ? bd_xp_node(BD_EX_BINARY, BD_EX_MUL, 2, *pp, k, NULL) : (bd_ex_free(*pp), NULL);
    return *pp ? BD_OK : bd_fail(BD_ERR_NOMEM, "out of memory checking units");
}

/* Brings the nonzero members of args to the unit of the first nonzero one; `what` words the mismatch. */
static bd_status unify(bd_xp_check *c, bd_expr **args[], cres *rs, int n, const char *what, cres *out)
{
    int ref = -1;
    for (int i = 0; i < n && ref < 0; i++)
        if (!rs[i].zero) ref = i;
    *out = rs[ref < 0 ? 0 : ref];
    out->zero = ref < 0;
    for (int i = 0; i < n; i++) {
        if (i == ref || rs[i].zero) continue;
        if (!bd_xp_same_dim(&rs[i].u, &rs[ref].u)) {
            char a[64], b[64];
            bd_xp_dim_str(rs[ref].u.d2, a, sizeof a);
            bd_xp_dim_str(rs[i].u.d2, b, sizeof b);
            return cfail(c, BD_ERR_UNITS, *args[i], "%s: %s vs %s", what, a, b);
        }
        double f = rs[i].u.scale / rs[ref].u.scale;
        rs[i].val *= f;
        bd_status st = scale_by(args[i], f);
        if (st) return st;
    }
    return BD_OK;
}

/* Makes a dimensionless operand scale 1, so that functions see plain numbers. */
static bd_status to_plain(bd_xp_check *c, bd_expr **pp, cres *r, const char *fname)
{
    if (!bd_xp_same_dim(&r->u, &dimless)) {
        char a[64];
        bd_xp_dim_str(r->u.d2, a, sizeof a);
        return cfail(c, BD_ERR_UNITS, *pp, "%s needs a dimensionless argument, got %s", fname, a);
    }
    r->val *= r->u.scale;
    bd_status st = scale_by(pp, r->u.scale);
    r->u = dimless;
    return st;
}

static const char *const fn_names[BD_FN_COUNT] = {
    "exp", "log", "log1p", "expm1", "exprel", "pow", "sqrt", "abs", "sign", "sin", "cos", "tan", "tanh",
    "sigmoid", "min", "max", "clip", "heaviside", "where", "rand", "dt",
};

static bd_status check(bd_xp_check *c, bd_expr **pp, cres *r);

static bd_status check_pow(bd_xp_check *c, bd_expr *e, cres *ra, cres *rb, cres *r, const char *name)
{
    bd_status st;
    if (!bd_xp_same_dim(&rb->u, &dimless)) {
        char a[64];
        bd_xp_dim_str(rb->u.d2, a, sizeof a);
        return cfail(c, BD_ERR_UNITS, e->arg[1], "%s needs a dimensionless exponent, got %s", name, a);
    }
    if ((st = to_plain(c, &e->arg[1], rb, name))) return st;
    r->isnum = ra->isnum && rb->isnum;
    if (bd_xp_same_dim(&ra->u, &dimless)) {
        if ((st = to_plain(c, &e->arg[0], ra, name))) return st;
        r->u = dimless;
    } else {
        if (!rb->isnum)
            return cfail(c, BD_ERR_UNITS, e->arg[1], "%s with a base in units needs a constant numeric exponent", name);
        r->u = ra->u;
        if (!uq_pow(&r->u, rb->val))
            return cfail(c, BD_ERR_UNITS, e, "%s: the result has no physical unit (fractional dimension)", name);
    }
    r->val = pow(ra->val, rb->val);
    return BD_OK;
}

static bd_status check_call(bd_xp_check *c, bd_expr *e, cres *rs, cres *r)
{
    const char *name = e->op >= 0 && e->op < BD_FN_COUNT ? fn_names[e->op] : "?";
    char label[32];
    snprintf(label, sizeof label, "%s()", name);
    bd_expr **args[3] = {&e->arg[0], &e->arg[1], &e->arg[2]};
    bd_status st;
    *r = (cres){dimless, 0, 0, 0};
    switch ((bd_ex_fn)e->op) {
    case BD_FN_EXP: case BD_FN_LOG: case BD_FN_LOG1P: case BD_FN_EXPM1: case BD_FN_EXPREL: case BD_FN_SIN:
    case BD_FN_COS: case BD_FN_TAN: case BD_FN_TANH: case BD_FN_SIGMOID:
        return to_plain(c, &e->arg[0], &rs[0], label);
    case BD_FN_POW:
        return check_pow(c, e, &rs[0], &rs[1], r, label);
    case BD_FN_SQRT:
        r->u = rs[0].u;
        if (!uq_pow(&r->u, 0.5)) return cfail(c, BD_ERR_UNITS, e->arg[0], "sqrt() of this has no physical unit");
        r->isnum = rs[0].isnum;
        r->val = sqrt(rs[0].val);
        return BD_OK;
    case BD_FN_ABS:
        *r = rs[0];
        r->val = fabs(r->val);
        return BD_OK;
    case BD_FN_SIGN: case BD_FN_HEAVISIDE: case BD_FN_RAND: /* pure numbers (rand() is never a constant) */
        return BD_OK;
    case BD_FN_DT: /* the step, a time in ms whose value only the kernel knows */
        r->u.scale = 1e-3;
        r->u.d2[BD_DIM_S] = 2;
        return BD_OK;
    case BD_FN_MIN: case BD_FN_MAX: case BD_FN_CLIP:
        st = unify(c, args, rs, e->nargs, label, r);
        r->isnum = 0;
        return st;
    case BD_FN_WHERE:
        st = unify(c, args + 1, rs + 1, 2, label, r);
        r->isnum = 0;
        return st;
    case BD_FN_COUNT:
        break;
    }
    return cfail(c, BD_ERR_PARSE, e, "unknown function");
}

static bd_status check(bd_xp_check *c, bd_expr **pp, cres *r)
{
    bd_expr *e = *pp;
    bd_status st;
    cres rs[3];
    *r = (cres){dimless, 0, 0, 0};
    switch (e->kind) {
    case BD_EX_NUM:
        r->isnum = 1;
        r->val = e->value;
        r->zero = e->value == 0;
        return BD_OK;
    case BD_EX_SYM:
        if (e->sym == BD_XP_UNIT_SYM) { /* the unit's scale moves into the unit; the number left is 1 */
            if (!bd_xp_unit_lookup(c->eqs->source + e->pos, (size_t)e->len, &r->u))
                return cfail(c, BD_ERR_NOT_FOUND, e, "unknown unit");
            e->kind = BD_EX_NUM;
            e->value = 1;
            e->sym = 0;
            r->isnum = 1;
            r->val = 1;
            return BD_OK;
        }
        if (e->sym < 0 || e->sym >= c->eqs->nsyms) return cfail(c, BD_ERR_PARSE, e, "bad symbol");
        if (c->eqs->syms[e->sym].kind == BD_SYM_NOISE) r->u.d2[BD_DIM_S] = -1;
        else r->u = bd_xp_uq_from_unit(&c->eqs->syms[e->sym].unit);
        return BD_OK;
    case BD_EX_DELAY:
        if ((st = bd_xp_normalise_delay(c, &e->arg[0]))) return st;
        r->u = bd_xp_uq_from_unit(&c->eqs->syms[e->sym].unit);
        return BD_OK;
    case BD_EX_UNARY:
        if ((st = check(c, &e->arg[0], &rs[0]))) return st;
        if (e->op == BD_EX_NOT) return BD_OK;
        *r = rs[0];
        r->val = -r->val;
        return BD_OK;
    case BD_EX_BINARY: case BD_EX_CALL:
        for (int i = 0; i < e->nargs; i++)
            if ((st = check(c, &e->arg[i], &rs[i]))) return st;
        if (e->kind == BD_EX_CALL) return check_call(c, e, rs, r);
        break;
    }
    bd_expr **args[2] = {&e->arg[0], &e->arg[1]};
    switch ((bd_ex_op)e->op) {
    case BD_EX_ADD: case BD_EX_SUB:
        if ((st = unify(c, args, rs, 2, e->op == BD_EX_ADD ? "cannot add" : "cannot subtract", r))) return st;
        r->isnum = rs[0].isnum && rs[1].isnum;
        r->val = e->op == BD_EX_ADD ? rs[0].val + rs[1].val : rs[0].val - rs[1].val;
        r->zero = rs[0].zero && rs[1].zero;
        return BD_OK;
    case BD_EX_MUL: case BD_EX_DIV: {
        int mul = e->op == BD_EX_MUL;
        r->u.scale = mul ? rs[0].u.scale * rs[1].u.scale : rs[0].u.scale / rs[1].u.scale;
        for (int k = 0; k < 7; k++) r->u.d2[k] = rs[0].u.d2[k] + (mul ? rs[1].u.d2[k] : -rs[1].u.d2[k]);
        r->isnum = rs[0].isnum && rs[1].isnum;
        r->val = mul ? rs[0].val * rs[1].val : rs[0].val / rs[1].val;
        return BD_OK;
    }
    case BD_EX_POW:
        return check_pow(c, e, &rs[0], &rs[1], r, "x^y");
    case BD_EX_LT: case BD_EX_LE: case BD_EX_GT: case BD_EX_GE: case BD_EX_EQ: case BD_EX_NE:
        if ((st = unify(c, args, rs, 2, "cannot compare", r))) return st;
        *r = (cres){dimless, 0, 0, 0};
        return BD_OK;
    case BD_EX_AND: case BD_EX_OR: case BD_EX_NEG: case BD_EX_NOT:
        return BD_OK;
    }
    return cfail(c, BD_ERR_PARSE, e, "bad operator");
}

bd_status bd_xp_normalise(bd_xp_check *c, bd_expr **e, const bd_uq *want, const char *want_text, const char *what)
{
    cres r;
    bd_status st = check(c, e, &r);
    if (st || r.zero) return st;
    if (!bd_xp_same_dim(&r.u, want)) {
        char have[64], need[64];
        bd_xp_dim_str(r.u.d2, have, sizeof have);
        bd_xp_dim_str(want->d2, need, sizeof need);
        return cfail(c, BD_ERR_UNITS, *e, "%s has dimension %s, expected %s (%s)", what, have, need, want_text);
    }
    return scale_by(e, r.u.scale / want->scale);
}

/* A delay is fixed while the system runs: it may not depend on time, states or noise. */
static const bd_expr *non_constant(const bd_eqs *eqs, const bd_expr *e)
{
    if (e->kind == BD_EX_DELAY || (e->kind == BD_EX_CALL && (e->op == BD_FN_RAND || e->op == BD_FN_DT))) return e;
    if (e->kind == BD_EX_SYM && e->sym >= 0) {
        bd_sym_kind k = eqs->syms[e->sym].kind;
        if (k != BD_SYM_PARAM && k != BD_SYM_CONST) return e;
    }
    for (int i = 0; i < e->nargs; i++) {
        const bd_expr *b = e->arg[i] ? non_constant(eqs, e->arg[i]) : NULL;
        if (b) return b;
    }
    return NULL;
}

bd_status bd_xp_normalise_delay(bd_xp_check *c, bd_expr **e)
{
    const bd_expr *bad = non_constant(c->eqs, *e);
    if (bad)
        return cfail(c, BD_ERR_MODEL, bad, "a delay must be constant (numbers, units and parameters only)");
    bd_uq ms = {1e-3, {0}};
    ms.d2[BD_DIM_S] = 2;
    bd_status st = bd_xp_normalise(c, e, &ms, "ms", "the delay");
    double v;
    if (!st && bd_xp_const_value(*e, &v)) {
        if (!(v >= 0)) return cfail(c, BD_ERR_MODEL, *e, "the delay is negative or not a number (%g ms)", v);
        if (v > c->eqs->max_delay) c->eqs->max_delay = v;
    }
    return st;
}

int bd_xp_const_value(const bd_expr *e, double *v)
{
    double a, b;
    switch (e->kind) {
    case BD_EX_NUM:
        *v = e->value;
        return 1;
    case BD_EX_UNARY:
        if (e->op != BD_EX_NEG || !bd_xp_const_value(e->arg[0], &a)) return 0;
        *v = -a;
        return 1;
    case BD_EX_BINARY:
        if (!bd_xp_const_value(e->arg[0], &a) || !bd_xp_const_value(e->arg[1], &b)) return 0;
        switch (e->op) {
        case BD_EX_ADD: *v = a + b; return 1;
        case BD_EX_SUB: *v = a - b; return 1;
        case BD_EX_MUL: *v = a * b; return 1;
        case BD_EX_DIV: *v = a / b; return 1;
        case BD_EX_POW: *v = pow(a, b); return 1;
        default: return 0;
        }
    default:
        return 0;
    }
}
