/* System files (docs/integrate.md): a JSON object with the equations, parameter values, initial values,
 * histories and integration settings of a bare system, as `bdyn integrate` reads it. Every message
 * names the file, the line and column, and the JSON path of the offending value. */
#include "bdyn/integrate.h"
#include "error.h"
#include "expr.h"
#include "jsonpos.h"
#include "nearest.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loader {
    const char *path, *text;
    bd_system *sys;
    bd_integrate_opts *opts;
} loader;

/* Prefixes the current message with "file:line:col: at $.path: ". */
static bd_status at(const loader *L, const char *jpath, bd_status st)
{
    char where[32];
    bd_json_where(L->text, jpath, where, sizeof where);
    return bd_fail_context(st, "%s:%s: at %s", L->path, where, jpath);
}

static bd_status fail_at(const loader *L, const char *jpath, bd_status st, const char *msg)
{
    bd_fail(st, "%s", msg);
    return at(L, jpath, st);
}

static bd_status check_keys(const loader *L, const cJSON *obj, const char *jpath, const char *const *keys, size_t n)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        size_t i = 0;
        while (i < n && strcmp(it->string, keys[i]) != 0) i++;
        if (i < n) continue;
        char sub[160], msg[256];
        snprintf(sub, sizeof sub, "%s.%s", jpath, it->string);
        const char *near = bd_nearest_name(it->string, keys, n);
        snprintf(msg, sizeof msg, "unknown key '%s'%s%s%s", it->string, near ? "; did you mean '" : "",
                 near ? near : "", near ? "'?" : "");
        return fail_at(L, sub, BD_ERR_PARSE, msg);
    }
    return BD_OK;
}

/* The equations, as one string or an array of strings. Each statement is placed on the line and
 * column where it sits in the file (padding with blank lines and spaces), so that the parser's
 * line:col and caret point into the JSON file itself. */
static char *equations_text(const loader *L, const cJSON *eq)
{
    if (cJSON_IsString(eq)) return strdup(eq->valuestring);
    size_t cap = 1, n = (size_t)cJSON_GetArraySize(eq);
    for (size_t i = 0; i < n; i++) {
        const cJSON *s = cJSON_GetArrayItem(eq, (int)i);
        if (!cJSON_IsString(s)) return NULL;
        cap += strlen(s->valuestring) + 1;
    }
    cap += strlen(L->text) * 2; /* padding: at most one newline or space per byte of the file, twice */
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    int line = 1;
    for (size_t i = 0; i < n; i++) {
        char jp[48];
        snprintf(jp, sizeof jp, "$.equations[%zu]", i);
        int fl = line, fc = 0;
        const char *p = bd_json_find(L->text, jp);
        if (p) bd_json_line_col(L->text, p + 1, &fl, &fc); /* past the opening quote */
        if (fl < line || (i > 0 && fl == line)) fl = line + (i > 0), fc = 1;
        while (line < fl) *o++ = '\n', line++;
        for (int c = 1; c < fc; c++) *o++ = ' ';
        const char *s = cJSON_GetArrayItem(eq, (int)i)->valuestring;
        size_t len = strlen(s);
        memcpy(o, s, len);
        o += len;
        for (size_t k = 0; k < len; k++) line += s[k] == '\n';
    }
    *o = 0;
    return out;
}

/* A time from a number (ms) or a quantity ("10 ms", "0.5 s"). */
static bd_status time_value(const loader *L, const cJSON *v, const char *jpath, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return BD_OK;
    }
    if (!cJSON_IsString(v)) return fail_at(L, jpath, BD_ERR_PARSE, "expected a time: a number of ms or a string such as \"10 ms\"");
    bd_unit ms;
    bd_status st = bd_unit_parse("ms", &ms);
    if (st == BD_OK) st = bd_quantity_parse(v->valuestring, &ms, jpath, out);
    return st ? at(L, jpath, st) : BD_OK;
}

static bd_status number_value(const loader *L, const cJSON *v, const char *jpath, double *out)
{
    if (!cJSON_IsNumber(v)) return fail_at(L, jpath, BD_ERR_PARSE, "expected a number");
    *out = v->valuedouble;
    return BD_OK;
}

/* Per-element values: an array of numbers in the declared unit. */
static bd_status number_array(const loader *L, const cJSON *arr, const char *jpath, double **vals, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    *vals = malloc((*n ? *n : 1) * sizeof **vals);
    if (!*vals) return bd_fail(BD_ERR_NOMEM, "out of memory reading %s", jpath);
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        if (!cJSON_IsNumber(it)) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s[%zu]", jpath, i);
            free(*vals);
            return fail_at(L, sub, BD_ERR_PARSE, "expected a number (per-element values are in the declared unit)");
        }
        (*vals)[i] = it->valuedouble;
    }
    return BD_OK;
}

/* "parameters" and "init": name -> number | quantity string | array of numbers. */
static bd_status values(const loader *L, const cJSON *obj, const char *key, int init)
{
    if (!obj) return BD_OK;
    char jpath[160];
    snprintf(jpath, sizeof jpath, "$.%s", key);
    if (!cJSON_IsObject(obj)) return fail_at(L, jpath, BD_ERR_PARSE, "expected an object of name: value");
    for (const cJSON *it = obj->child; it; it = it->next) {
        snprintf(jpath, sizeof jpath, "$.%s.%s", key, it->string);
        bd_status st;
        if (cJSON_IsArray(it)) {
            double *vals;
            size_t n;
            if ((st = number_array(L, it, jpath, &vals, &n))) return st;
            st = init ? bd_system_init_array(L->sys, it->string, vals, n)
                      : bd_system_set_array(L->sys, it->string, vals, n);
            free(vals);
        } else if (cJSON_IsNumber(it)) {
            char num[64];
            snprintf(num, sizeof num, "%.17g", it->valuedouble);
            st = init ? bd_system_init(L->sys, it->string, num) : bd_system_set_value(L->sys, it->string, it->valuedouble);
        } else if (cJSON_IsString(it)) {
            st = init ? bd_system_init(L->sys, it->string, it->valuestring)
                      : bd_system_set(L->sys, it->string, it->valuestring);
        } else {
            return fail_at(L, jpath, BD_ERR_PARSE, "expected a number, a quantity string or an array of numbers");
        }
        if (st) return at(L, jpath, st);
    }
    return BD_OK;
}

static bd_status histories(const loader *L, const cJSON *obj)
{
    if (!obj) return BD_OK;
    char jpath[160];
    if (!cJSON_IsObject(obj)) return fail_at(L, "$.history", BD_ERR_PARSE, "expected an object of variable: expression");
    for (const cJSON *it = obj->child; it; it = it->next) {
        snprintf(jpath, sizeof jpath, "$.history.%s", it->string);
        char num[64];
        const char *expr = cJSON_IsString(it) ? it->valuestring : NULL;
        if (cJSON_IsNumber(it)) snprintf(num, sizeof num, "%.17g", it->valuedouble), expr = num;
        if (!expr) return fail_at(L, jpath, BD_ERR_PARSE, "expected a number or an expression in t");
        bd_status st = bd_system_history(L->sys, it->string, expr);
        if (st) return at(L, jpath, st);
    }
    return BD_OK;
}

static bd_status settings(const loader *L, const cJSON *obj)
{
    static const char *const keys[] = {"method", "dt", "duration", "t0", "n", "record_every", "atol", "rtol",
                                       "alpha", "memory", "seed", "precision"};
    if (!obj) return BD_OK;
    if (!cJSON_IsObject(obj)) return fail_at(L, "$.integrate", BD_ERR_PARSE, "expected an object of settings");
    bd_status st = check_keys(L, obj, "$.integrate", keys, sizeof keys / sizeof keys[0]);
    bd_integrate_opts *o = L->opts;
    for (const cJSON *it = obj->child; it && st == BD_OK; it = it->next) {
        char jp[160];
        snprintf(jp, sizeof jp, "$.integrate.%s", it->string);
        const char *k = it->string;
        double v = 0;
        if (strcmp(k, "method") == 0) {
            const char *const *m = bd_integrate_methods();
            while (*m && (!cJSON_IsString(it) || strcmp(*m, it->valuestring) != 0)) m++;
            if (*m) o->method = *m; /* a static name, so opts outlive the JSON */
            else {
                char msg[256];
                const char *near = cJSON_IsString(it) ? bd_nearest_name(it->valuestring, bd_integrate_methods(), 64) : NULL;
                snprintf(msg, sizeof msg, "unknown method%s%s%s (bdyn integrate --list-methods lists them)",
                         near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
                st = fail_at(L, jp, BD_ERR_NOT_FOUND, msg);
            }
        } else if (strcmp(k, "precision") == 0) {
            if (cJSON_IsString(it) && strcmp(it->valuestring, "f32") == 0) o->precision = BD_F32;
            else if (cJSON_IsString(it) && strcmp(it->valuestring, "f64") == 0) o->precision = BD_F64;
            else st = fail_at(L, jp, BD_ERR_PARSE, "expected \"f32\" or \"f64\"");
        } else if (!strcmp(k, "dt") || !strcmp(k, "duration") || !strcmp(k, "t0") || !strcmp(k, "record_every")) {
            if ((st = time_value(L, it, jp, &v)) == BD_OK)
                *(k[0] == 'd' ? (k[1] == 't' ? &o->dt : &o->duration) : k[0] == 't' ? &o->t0 : &o->record_every) = v;
        } else if ((st = number_value(L, it, jp, &v)) == BD_OK) {
            int integral = v >= 0 && v == floor(v) && v < 9.007199254740992e15;
            if (!strcmp(k, "atol")) o->atol = v;
            else if (!strcmp(k, "rtol")) o->rtol = v;
            else if (!strcmp(k, "alpha")) o->alpha = v;
            else if (!integral) st = fail_at(L, jp, BD_ERR_PARSE, "expected a non-negative integer");
            else if (!strcmp(k, "n")) o->n = (size_t)v;
            else if (!strcmp(k, "memory")) o->memory = (size_t)v;
            else o->seed = (uint64_t)v;
        }
    }
    return st;
}

static bd_status load(loader *L, const cJSON *root, bd_system **out)
{
    static const char *const keys[] = {"name", "doc", "equations", "parameters", "init", "history", "integrate"};
    if (!cJSON_IsObject(root)) return fail_at(L, "$", BD_ERR_PARSE, "a system file holds one JSON object");
    bd_status st = check_keys(L, root, "$", keys, sizeof keys / sizeof keys[0]);
    if (st) return st;
    const cJSON *eq = cJSON_GetObjectItemCaseSensitive(root, "equations");
    if (!eq) return fail_at(L, "$", BD_ERR_PARSE, "missing \"equations\" (a string or an array of strings)");
    char *text = (cJSON_IsString(eq) || cJSON_IsArray(eq)) ? equations_text(L, eq) : NULL;
    if (!text) return fail_at(L, "$.equations", BD_ERR_PARSE, "expected a string or an array of strings");
    /* As a string, the equations' own lines are numbered from the string's start. */
    char label[512];
    char where[32];
    bd_json_where(L->text, "$.equations", where, sizeof where);
    if (cJSON_IsString(eq)) snprintf(label, sizeof label, "%s ($.equations at %s)", L->path, where);
    else snprintf(label, sizeof label, "%s", L->path);
    st = bd_system_new(text, label, &L->sys);
    free(text);
    if (st) return st;
    if ((st = values(L, cJSON_GetObjectItemCaseSensitive(root, "parameters"), "parameters", 0)) ||
        (st = values(L, cJSON_GetObjectItemCaseSensitive(root, "init"), "init", 1)) ||
        (st = histories(L, cJSON_GetObjectItemCaseSensitive(root, "history"))) ||
        (st = settings(L, cJSON_GetObjectItemCaseSensitive(root, "integrate")))) {
        bd_system_free(L->sys);
        return st;
    }
    *out = L->sys;
    return BD_OK;
}

bd_status bd_system_load(const char *path, bd_system **out, bd_integrate_opts *opts)
{
    if (!path || !out || !opts) return bd_fail(BD_ERR_INVALID_ARG, "bd_system_load: NULL argument");
    *out = NULL;
    char *text = NULL;
    bd_status rst = bd_read_text(path, "system file", &text);
    if (rst) return rst;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        int line, col;
        bd_json_line_col(text, end ? end : text, &line, &col);
        free(text);
        return bd_fail(BD_ERR_PARSE, "%s:%d:%d: malformed JSON", path, line, col);
    }
    bd_integrate_opts_init(opts);
    loader L = {path, text, NULL, opts};
    bd_status st = load(&L, root, out);
    cJSON_Delete(root);
    free(text);
    return st;
}

bd_status bd_quantity_in(const char *text, const char *unit, double *value)
{
    if (!text || !unit || !value) return bd_fail(BD_ERR_INVALID_ARG, "bd_quantity_in: NULL argument");
    bd_unit u;
    bd_status st = bd_unit_parse(unit, &u);
    return st ? st : bd_quantity_parse(text, &u, text, value);
}
