/* Resolution of a model tree into the flat network of core/network.h: group instances expanded (with
 * `${param}` substitution), names bound to populations and variables, quantities converted into the declared
 * units, equations flattened (model_flatten.c) and parsed, and everything checked, each message naming the
 * file, line, column and JSON path of the value at fault. */
#include "model_impl.h"
#include "error.h"
#include "nearest.h"
#include "bdyn/integrate.h"
#include "conn_gen.h"
#include "dist_init.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUP_DEPTH 32

static bd_status nomem(void) { return bd_fail(BD_ERR_NOMEM, "out of memory resolving the model"); }

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
static bd_status integer(rctx *R, const char *text, const morigin *o, const char *sub, const char *what, long long lo,
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
static bd_status quantity(rctx *R, const char *text, const genv *env, const bd_unit *u, const morigin *o,
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

static bd_status ms_quantity(rctx *R, const char *text, const genv *env, const morigin *o, const char *sub, double *out)
{
    bd_unit ms;
    bd_status st = bd_unit_parse("ms", &ms);
    return st ? st : quantity(R, text, env, &ms, o, sub, out);
}

/* Reads a 1-D or 2-D NPY array (little-endian f4, f8, i4, i8, and 1-byte bool, u1, i1; C order) of at most
 * max_cols columns as doubles. */
static bd_status read_npy_cols(rctx *R, const char *name, const morigin *o, const char *sub, double **vals, size_t *n,
                               size_t *cols, size_t max_cols)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", name[0] == '/' || !R->m->base_dir ? "" : R->m->base_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return bd_model_fail(R->m, o, sub, BD_ERR_IO, "cannot open '%s'", path);
    unsigned char head[10];
    char hdr[4096], descr[8] = "";
    bd_status st = BD_OK;
    size_t hl = 0, rows = 0;
    *cols = 1;
    *vals = NULL;
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0 || head[6] != 1) {
        st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "'%s' is not an NPY (version 1) file", path);
    } else {
        hl = (size_t)head[8] | (size_t)head[9] << 8;
        if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "'%s': bad NPY header", path);
        else hdr[hl] = '\0';
    }
    const char *d = st ? NULL : strstr(hdr, "'descr': '"), *sh = st ? NULL : strstr(hdr, "'shape': (");
    if (!st && (!d || !sh || strstr(hdr, "'fortran_order': True")))
        st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "'%s': expected a C-order array", path);
    if (!st) {
        snprintf(descr, sizeof descr, "%.3s", d + 10);
        char *end;
        rows = strtoull(sh + 10, &end, 10);
        if (*end == ',' && end[1] == ' ' && end[2] >= '0' && end[2] <= '9') *cols = strtoull(end + 2, &end, 10);
        int size = !strcmp(descr, "<f4") || !strcmp(descr, "<i4") ? 4 : !strcmp(descr, "<f8") || !strcmp(descr, "<i8") ? 8
                   : !strcmp(descr, "|b1") || !strcmp(descr, "|u1") || !strcmp(descr, "|i1") ? 1 : 0;
        if (!size || rows > ((size_t)1 << 32) || *cols > max_cols || (double)rows * (double)*cols > 4e9) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "'%s': expected a float32/64, int8/32/64, uint8 or bool array "
                               "of at most %zu column%s", path, max_cols, max_cols == 1 ? "" : "s");
        } else if (!(*vals = malloc((rows * *cols > 0 ? rows * *cols : 1) * sizeof **vals))) {
            st = nomem();
        } else {
            for (size_t i = 0; i < rows * *cols && !st; i++) {
                unsigned char b[8];
                if (fread(b, 1, (size_t)size, f) != (size_t)size) {
                    st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "'%s': file shorter than its shape", path);
                    break;
                }
                uint64_t u = 0;
                for (int k = size - 1; k >= 0; k--) u = u << 8 | b[k];
                if (size == 1) {
                    (*vals)[i] = descr[1] == 'i' ? (double)(int8_t)(uint8_t)u : (double)u;
                } else if (descr[1] == 'f' && size == 4) {
                    uint32_t w = (uint32_t)u;
                    float x;
                    memcpy(&x, &w, 4);
                    (*vals)[i] = x;
                } else if (descr[1] == 'f') {
                    double x;
                    memcpy(&x, &u, 8);
                    (*vals)[i] = x;
                } else {
                    (*vals)[i] = size == 4 ? (double)(int32_t)(uint32_t)u : (double)(int64_t)u;
                }
            }
            if (st) free(*vals), *vals = NULL;
        }
    }
    fclose(f);
    *n = rows;
    return st;
}

/* Reads a 1-D or 2-D NPY array of at most 2 columns as doubles. */
static bd_status read_npy(rctx *R, const char *name, const morigin *o, const char *sub, double **vals, size_t *n,
                          size_t *cols)
{
    return read_npy_cols(R, name, o, sub, vals, n, cols, 2);
}

/* ------------------------------------------------------------------------------------------------------------
 * Toolbox values (docs/toolbox.md): the JSON text of a rule or an initializer, read when it is resolved */

/* sub + "." + key (or "[k]" for key NULL), into out. */
static const char *spec_sub(char *out, size_t cap, const char *sub, const char *key, int k)
{
    if ((key ? snprintf(out, cap, "%s.%s", sub, key) : snprintf(out, cap, "%s[%d]", sub, k)) >= (int)cap) out[0] = '\0';
    return out;
}

/* The stored text with `${}` substituted, parsed; text that is not JSON (a bare path given in code) is a string. */
static bd_status spec_parse(rctx *R, const char *text, const genv *env, const morigin *o, const char *sub, cJSON **out)
{
    char *s;
    bd_status st = bd_mr_subst(R, env, text ? text : "", o, sub, &s);
    if (st) return st;
    *out = cJSON_ParseWithOpts(s, NULL, 1); /* the whole text, so "1.npy" is a path, not the number 1 */
    if (!*out) *out = cJSON_CreateString(s);
    free(s);
    return *out ? BD_OK : nomem();
}

/* Unknown members of obj, with the nearest known name. */
static bd_status spec_keys(rctx *R, const cJSON *obj, const char *const *keys, size_t n, const morigin *o, const char *sub)
{
    char s[300];
    for (const cJSON *it = obj->child; it; it = it->next) {
        size_t k = 0;
        while (k < n && strcmp(it->string, keys[k]) != 0) k++;
        if (k < n) continue;
        const char *near = bd_nearest_name(it->string, keys, n);
        return bd_model_fail(R->m, o, spec_sub(s, sizeof s, sub, it->string, 0), BD_ERR_PARSE, "unknown key '%s'%s%s%s",
                             it->string, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    return BD_OK;
}

/* A plain number: a JSON number or a string holding one (group parameters arrive as strings). */
static bd_status spec_num(rctx *R, const cJSON *v, const morigin *o, const char *sub, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return BD_OK;
    }
    if (cJSON_IsString(v)) {
        char *end;
        *out = strtod(v->valuestring, &end);
        while (*end == ' ') end++;
        if (end != v->valuestring && !*end) return BD_OK;
    }
    return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected a number");
}

/* Member key of obj as a number in [lo, hi] (integer when integral), or def when absent and not required. */
static bd_status spec_get(rctx *R, const cJSON *obj, const char *key, int required, double def, double lo, double hi,
                          int integral, const morigin *o, const char *sub, double *out)
{
    char s[300];
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!v) {
        if (required) return bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "missing \"%s\"", key);
        *out = def;
        return BD_OK;
    }
    spec_sub(s, sizeof s, sub, key, 0);
    bd_status st = spec_num(R, v, o, s, out);
    if (st) return st;
    if (!(*out >= lo && *out <= hi) || (integral && *out != floor(*out)))
        return bd_model_fail(R->m, o, s, BD_ERR_MODEL, "\"%s\" must be %s in [%g, %g], got %g", key,
                             integral ? "an integer" : "a number", lo, hi, *out);
    return BD_OK;
}

/* Member key as a boolean (true/false or their strings), def when absent. */
static bd_status spec_bool(rctx *R, const cJSON *obj, const char *key, int def, const morigin *o, const char *sub, int *out)
{
    char s[300];
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *out = def;
    if (!v) return BD_OK;
    if (cJSON_IsBool(v)) *out = cJSON_IsTrue(v);
    else if (cJSON_IsString(v) && (!strcmp(v->valuestring, "true") || !strcmp(v->valuestring, "false")))
        *out = v->valuestring[0] == 't';
    else return bd_model_fail(R->m, o, spec_sub(s, sizeof s, sub, key, 0), BD_ERR_MODEL, "expected true or false");
    return BD_OK;
}

/* A quantity in unit u from a JSON string or number (already substituted). */
static bd_status spec_quantity(rctx *R, const cJSON *v, const bd_unit *u, const morigin *o, const char *sub, double *out)
{
    char buf[64];
    const char *text = cJSON_IsString(v) ? v->valuestring : NULL;
    if (cJSON_IsNumber(v)) snprintf(buf, sizeof buf, "%.17g", v->valuedouble), text = buf;
    if (!text) return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected a quantity (a string such as \"0.5 mV\" or a number)");
    return quantity(R, text, NULL, u, o, sub, out);
}

/* Member key as a quantity in u; def when absent (required: an error). */
static bd_status spec_getq(rctx *R, const cJSON *obj, const char *key, int required, double def, const bd_unit *u,
                           const morigin *o, const char *sub, double *out)
{
    char s[300];
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!v) {
        if (required) return bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "missing \"%s\"", key);
        *out = def;
        return BD_OK;
    }
    return spec_quantity(R, v, u, o, spec_sub(s, sizeof s, sub, key, 0), out);
}

/* Positions on a grid (network.h bd_geom) from "shape", "range" and "periodic" of obj, for populations of
 * npre and npost neurons. Without "shape": one row of npre (and npost). Without "range": [0, n) per axis,
 * which needs equal shapes. */
static bd_status spec_geom(rctx *R, const cJSON *obj, size_t npre, size_t npost, const morigin *o, const char *sub,
                           bd_geom *g)
{
    char s[300], s2[320];
    bd_status st;
    memset(g, 0, sizeof *g);
    g->ndim = 1;
    g->shape[0] = (uint32_t)npre, g->post_shape[0] = (uint32_t)npost;
    g->shape[1] = g->post_shape[1] = 1;
    const cJSON *sh = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "shape") : NULL;
    const cJSON *rg = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "range") : NULL;
    spec_sub(s, sizeof s, sub, "shape", 0);
    if (sh) {
        double d[2] = {0, 1};
        int n = cJSON_IsArray(sh) ? cJSON_GetArraySize(sh) : 1;
        if (n < 1 || n > 2) return bd_model_fail(R->m, o, s, BD_ERR_MODEL, "expected [n] or [rows, cols]");
        for (int k = 0; k < n; k++) {
            const cJSON *x = cJSON_IsArray(sh) ? cJSON_GetArrayItem(sh, k) : sh;
            if ((st = spec_num(R, x, o, cJSON_IsArray(sh) ? spec_sub(s2, sizeof s2, s, NULL, k) : s, &d[k]))) return st;
            if (!(d[k] >= 1 && d[k] <= 4e9) || d[k] != floor(d[k]))
                return bd_model_fail(R->m, o, s, BD_ERR_MODEL, "the shape holds positive integers");
        }
        g->ndim = n;
        g->shape[0] = g->post_shape[0] = (uint32_t)d[0];
        g->shape[1] = g->post_shape[1] = (uint32_t)d[1];
        size_t cells = (size_t)d[0] * (size_t)d[1];
        if (cells != npre || cells != npost)
            return bd_model_fail(R->m, o, s, BD_ERR_MODEL, "the shape holds %zu neurons; pre has %zu and post %zu", cells,
                                 npre, npost);
    }
    for (int d = 0; d < g->ndim; d++) g->lo[d] = 0, g->hi[d] = g->shape[d];
    spec_sub(s, sizeof s, sub, "range", 0);
    if (rg) {
        /* [lo, hi] for every axis, or one [lo, hi] per axis */
        int per_axis = cJSON_IsArray(rg) && cJSON_IsArray(cJSON_GetArrayItem(rg, 0));
        if (!cJSON_IsArray(rg) || cJSON_GetArraySize(rg) != (per_axis ? g->ndim : 2))
            return bd_model_fail(R->m, o, s, BD_ERR_MODEL, "expected [lo, hi]%s", g->ndim == 2 ? " or [[lo, hi], [lo, hi]]" : "");
        for (int d = 0; d < g->ndim; d++) {
            const cJSON *pair = per_axis ? cJSON_GetArrayItem(rg, d) : rg;
            const char *ps = per_axis ? spec_sub(s2, sizeof s2, s, NULL, d) : s;
            if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
                return bd_model_fail(R->m, o, ps, BD_ERR_MODEL, "expected [lo, hi]");
            char e[340];
            if ((st = spec_num(R, cJSON_GetArrayItem(pair, 0), o, spec_sub(e, sizeof e, ps, NULL, 0), &g->lo[d]))) return st;
            if ((st = spec_num(R, cJSON_GetArrayItem(pair, 1), o, spec_sub(e, sizeof e, ps, NULL, 1), &g->hi[d]))) return st;
            if (!(g->lo[d] < g->hi[d]) || !isfinite(g->hi[d] - g->lo[d]))
                return bd_model_fail(R->m, o, ps, BD_ERR_MODEL, "expected lo < hi");
        }
    } else if (npre != npost) {
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "pre and post differ in size (%zu and %zu): give \"range\" so "
                             "that both tile it", npre, npost);
    }
    return spec_bool(R, obj, "periodic", 0, o, sub, &g->periodic);
}

/* An initializer of docs/toolbox.md given as JSON text: its parameters now (units are known); the geometry
 * of the decays and the fans of xavier & co. of projection weights (size 0) wait for build_conn. */
static bd_status dist_spec(rctx *R, const mval *v, const genv *env, const bd_unit *u, const morigin *o, const char *sub,
                           size_t size, bd_dist *out)
{
    cJSON *root;
    bd_status st = spec_parse(R, v->a, env, o, sub, &root);
    if (st) return st;
    const cJSON *it = cJSON_IsObject(root) ? root->child : NULL;
    if (!it || it->next) {
        cJSON_Delete(root);
        return bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "an initializer has one key, such as \"gamma\" (docs/toolbox.md)");
    }
    char s[300], s2[320];
    const char *name = it->string;
    spec_sub(s, sizeof s, sub, name, 0);
    static const char *const vs_names[] = {"xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
                                           "lecun_uniform", "lecun_normal"};
    int vs = 0;
    while (vs < 6 && strcmp(vs_names[vs], name) != 0) vs++;
    int pair = !strcmp(name, "orthogonal") || !strcmp(name, "gaussian_decay") || !strcmp(name, "dog_decay") ||
               !strcmp(name, "from_conn") || !strcmp(name, "matrix");
    if (pair && size > 0) {
        st = bd_model_fail(R->m, o, s, BD_ERR_MODEL, "'%s' gives projection weights (its value depends on pre and post); "
                           "a per-element value takes a quantity, uniform, normal, truncated_normal, lognormal, gamma, "
                           "exponential or xavier/kaiming/lecun", name);
    } else if (!strcmp(name, "truncated_normal")) {
        static const char *const k[] = {"mean", "sd", "lower", "upper"};
        out->kind = BD_DIST_TRUNC_NORMAL;
        if (!(st = spec_keys(R, it, k, 4, o, s)) && !(st = spec_getq(R, it, "mean", 0, 0, u, o, s, &out->a)) &&
            !(st = spec_getq(R, it, "sd", 0, 1, u, o, s, &out->b)) &&
            !(st = spec_getq(R, it, "lower", 0, out->a - 2 * out->b, u, o, s, &out->lo)))
            st = spec_getq(R, it, "upper", 0, out->a + 2 * out->b, u, o, s, &out->hi);
        if (!st && !(out->b >= 0)) st = bd_model_fail(R->m, o, s, BD_ERR_MODEL, "truncated_normal needs sd >= 0");
        if (!st && !(out->lo <= out->hi)) st = bd_model_fail(R->m, o, s, BD_ERR_MODEL, "truncated_normal needs lower <= upper");
    } else if (!strcmp(name, "lognormal")) {
        static const char *const k[] = {"mu", "sigma", "scale"};
        out->kind = BD_DIST_LOGNORMAL;
        if (!(st = spec_keys(R, it, k, 3, o, s)) && !(st = spec_get(R, it, "mu", 0, 0, -700, 700, 0, o, s, &out->a)) &&
            !(st = spec_get(R, it, "sigma", 0, 1, 0, 100, 0, o, s, &out->b)))
            st = spec_getq(R, it, "scale", 0, 1, u, o, s, &out->scale);
    } else if (!strcmp(name, "gamma")) {
        static const char *const k[] = {"shape", "scale"};
        out->kind = BD_DIST_GAMMA;
        if (!(st = spec_keys(R, it, k, 2, o, s)) && !(st = spec_get(R, it, "shape", 1, 0, 1e-3, 1e9, 0, o, s, &out->a)))
            st = spec_getq(R, it, "scale", 0, 1, u, o, s, &out->b);
        if (!st && !(out->b > 0)) st = bd_model_fail(R->m, o, s, BD_ERR_MODEL, "gamma needs scale > 0");
    } else if (!strcmp(name, "exponential")) {
        static const char *const k[] = {"scale"};
        out->kind = BD_DIST_EXPONENTIAL;
        if (cJSON_IsObject(it)) {
            if (!(st = spec_keys(R, it, k, 1, o, s))) st = spec_getq(R, it, "scale", 0, 1, u, o, s, &out->a);
        } else {
            st = spec_quantity(R, it, u, o, s, &out->a);
        }
        if (!st && !(out->a > 0)) st = bd_model_fail(R->m, o, s, BD_ERR_MODEL, "exponential needs scale > 0");
    } else if (vs < 6) {
        static const char *const k[] = {"scale", "fan_in", "fan_out"};
        static const double defscale[] = {1, 1, 2, 2, 1, 1};
        out->kind = BD_DIST_VARSCALE;
        out->vs_fan = vs < 2 ? 2 : 0, out->vs_uniform = vs % 2 == 0;
        if (!cJSON_IsObject(it)) st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "expected an object such as {\"scale\": 1}");
        if (!st && !(st = spec_keys(R, it, k, 3, o, s)) &&
            !(st = spec_get(R, it, "scale", 0, defscale[vs], 0, 1e12, 0, o, s, &out->vs_scale)) &&
            !(st = spec_get(R, it, "fan_in", 0, 0, 1, 1e12, 0, o, s, &out->fan_in)))
            st = spec_get(R, it, "fan_out", 0, 0, 1, 1e12, 0, o, s, &out->fan_out);
        if (!st && size > 0) bd_dist_varscale(out, (double)size, (double)size); /* per element: both fans are N */
    } else if (!strcmp(name, "orthogonal")) {
        static const char *const k[] = {"gain"};
        out->kind = BD_DIST_ORTHOGONAL;
        if (!cJSON_IsObject(it)) st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "expected an object such as {\"gain\": 1}");
        if (!st && !(st = spec_keys(R, it, k, 1, o, s))) st = spec_get(R, it, "gain", 0, 1, -1e300, 1e300, 0, o, s, &out->a);
    } else if (!strcmp(name, "gaussian_decay") || !strcmp(name, "dog_decay")) {
        int dog = name[0] == 'd';
        static const char *const kg[] = {"sigma", "max_w", "min_w", "include_self", "shape", "range", "periodic"};
        static const char *const kd[] = {"sigmas", "max_ws", "min_w", "include_self", "shape", "range", "periodic"};
        out->kind = dog ? BD_DIST_DOG_DECAY : BD_DIST_GAUSS_DECAY;
        if (!cJSON_IsObject(it)) st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "expected an object with \"%s\" and \"%s\"",
                                                     dog ? "sigmas" : "sigma", dog ? "max_ws" : "max_w");
        if (!st) st = spec_keys(R, it, dog ? kd : kg, 7, o, s);
        for (int q = 0; q < (dog ? 2 : 1) && !st; q++) {
            const cJSON *sg = cJSON_GetObjectItemCaseSensitive(it, dog ? "sigmas" : "sigma");
            const cJSON *mw = cJSON_GetObjectItemCaseSensitive(it, dog ? "max_ws" : "max_w");
            if (!sg || !mw) {
                st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "missing \"%s\"", !sg ? (dog ? "sigmas" : "sigma") : (dog ? "max_ws" : "max_w"));
                break;
            }
            if (dog && (!cJSON_IsArray(sg) || cJSON_GetArraySize(sg) != 2 || !cJSON_IsArray(mw) || cJSON_GetArraySize(mw) != 2)) {
                st = bd_model_fail(R->m, o, spec_sub(s2, sizeof s2, s, cJSON_IsArray(sg) && cJSON_GetArraySize(sg) == 2 ? "max_ws" : "sigmas", 0),
                                   BD_ERR_MODEL, "expected two values [positive, negative]");
                break;
            }
            char e[340];
            const char *ss = spec_sub(s2, sizeof s2, s, dog ? "sigmas" : "sigma", 0);
            if ((st = spec_num(R, dog ? cJSON_GetArrayItem(sg, q) : sg, o, dog ? spec_sub(e, sizeof e, ss, NULL, q) : ss, &out->sigma[q]))) break;
            if (!(out->sigma[q] > 0)) {
                st = bd_model_fail(R->m, o, ss, BD_ERR_MODEL, "sigma must be > 0");
                break;
            }
            ss = spec_sub(s2, sizeof s2, s, dog ? "max_ws" : "max_w", 0);
            st = spec_quantity(R, dog ? cJSON_GetArrayItem(mw, q) : mw, u, o, dog ? spec_sub(e, sizeof e, ss, NULL, q) : ss, &out->amp[q]);
        }
        double def = dog ? 0.005 * fmin(fabs(out->amp[0]), fabs(out->amp[1])) : 0.005 * fabs(out->amp[0]);
        if (!st) st = spec_getq(R, it, "min_w", 0, def, u, o, s, &out->min_w);
        if (!st) st = spec_bool(R, it, "include_self", 1, o, s, &out->include_self);
    } else if (!strcmp(name, "matrix")) { /* a dense n_pre x n_post NPY: entry (pre, post), in unit u */
        /* "file.npy" or {"file": "file.npy", "scale": q}: the entries times scale (default 1 in unit u) */
        static const char *const k[] = {"file", "scale"};
        out->kind = BD_DIST_MATRIX;
        const cJSON *file = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "file") : it;
        double scale = 1;
        if (cJSON_IsObject(it) && !(st = spec_keys(R, it, k, 2, o, s))) st = spec_getq(R, it, "scale", 0, 1, u, o, s, &scale);
        if (!st && !cJSON_IsString(file))
            st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "expected the name of an NPY file of shape (n_pre, n_post), or "
                               "{\"file\": ..., \"scale\": ...}");
        if (!st && !(st = read_npy_cols(R, file->valuestring, o, s, &out->values, &out->nrows, &out->ncols, (size_t)1 << 24))) {
            out->nvalues = out->nrows * out->ncols;
            for (size_t q = 0; q < out->nvalues; q++) out->values[q] *= scale;
        }
    } else if (!strcmp(name, "from_conn")) {
        out->kind = BD_DIST_FROM_CONN;
        if (!(cJSON_IsTrue(it) || (cJSON_IsObject(it) && !it->child)))
            st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "expected true or {}");
    } else {
        st = bd_model_fail(R->m, o, s, BD_ERR_PARSE, "unknown initializer '%s' (docs/toolbox.md)", name);
    }
    cJSON_Delete(root);
    return st;
}

/* A per-element value in unit u: one quantity, uniform, normal, a file of `size` values, or a toolbox
 * initializer. size 0: projection weights (per synapse). */
static bd_status dist(rctx *R, const mval *v, const genv *env, const bd_unit *u, const morigin *o, const char *sub,
                      size_t size, bd_dist *out)
{
    memset(out, 0, sizeof *out);
    bd_status st = BD_OK;
    if (v->kind == BD_INIT_SPEC) return dist_spec(R, v, env, u, o, sub, size, out);
    if (v->kind == BD_INIT_FILE) {
        size_t n, cols;
        out->kind = BD_DIST_FILE;
        if ((st = read_npy(R, v->a, o, sub, &out->values, &n, &cols))) return st;
        out->nvalues = n;
        if (n != size || cols != 1) {
            free(out->values), out->values = NULL;
            return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "'%s' holds %zu x %zu values; expected %zu", v->a, n, cols, size);
        }
        return BD_OK;
    }
    out->kind = v->kind == BD_INIT_UNIFORM ? BD_DIST_UNIFORM : v->kind == BD_INIT_NORMAL ? BD_DIST_NORMAL : BD_DIST_CONST;
    char s0[200], s1[200];
    snprintf(s0, sizeof s0, "%s%s", sub, v->kind == BD_INIT_VALUE ? "" : v->kind == BD_INIT_UNIFORM ? ".uniform[0]" : ".normal[0]");
    snprintf(s1, sizeof s1, "%s%s", sub, v->kind == BD_INIT_UNIFORM ? ".uniform[1]" : ".normal[1]");
    if ((st = quantity(R, v->a, env, u, o, s0, &out->a))) return st;
    if (v->kind == BD_INIT_VALUE) return BD_OK;
    if (!v->b) return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "the initializer needs two values");
    if ((st = quantity(R, v->b, env, u, o, s1, &out->b))) return st;
    if (v->kind == BD_INIT_UNIFORM && !(out->a <= out->b))
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "uniform needs low <= high");
    if (v->kind == BD_INIT_NORMAL && !(out->b >= 0))
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "normal needs a standard deviation >= 0");
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * Expanding the groups */

static bd_status collect(rctx *R, bd_minst *const *insts, int n, const char *prefix, const genv *env, int depth);

static bd_status group_env(rctx *R, const bd_minst *i, const bd_mtype *g, const genv *outer, genv **out)
{
    genv *e = calloc(1, sizeof *e), **l = realloc(R->envs, (size_t)(R->nenvs + 1) * sizeof *l);
    if (l) R->envs = l;
    if (!e || !l) return free(e), nomem();
    R->envs[R->nenvs++] = e;
    int cap = g->params.n;
    if (!(e->name = calloc((size_t)cap + 1, sizeof *e->name)) || !(e->val = calloc((size_t)cap + 1, sizeof *e->val)))
        return nomem();
    for (int k = 0; k < g->params.n; k++) {
        const mentry *over = bd_mmap_get(&i->params, g->params.e[k].name);
        char sub[200];
        snprintf(sub, sizeof sub, ".params.%s", g->params.e[k].name);
        if (!(e->name[k] = strdup(g->params.e[k].name))) return nomem();
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
    if (!path) return free(type), nomem();
    st = BD_OK;
    if (i->kind == MI_POP) {
        rpop *p = realloc(R->pops, (size_t)(R->npops + 1) * sizeof *p);
        if (!p) return free(type), free(path), nomem();
        R->pops = p;
        rpop *n = &p[R->npops];
        memset(n, 0, sizeof *n);
        n->path = path, n->i = i, n->env = env;
        R->npops++;
        char *size = NULL;
        long long sz = 0;
        n->type = bd_mr_type(R, type, &i->at, ".type", -1, &st);
        if (!st) st = bd_mr_subst(R, env, i->size ? i->size : "", &i->at, ".size", &size);
        if (!st) st = integer(R, size, &i->at, ".size", "the size", 1, &sz);
        n->size = (size_t)sz;
        free(size);
    } else if (i->kind == MI_PROJ) {
        rproj *p = realloc(R->projs, (size_t)(R->nprojs + 1) * sizeof *p);
        if (!p) return free(type), free(path), nomem();
        R->projs = p;
        rproj *n = &p[R->nprojs++];
        memset(n, 0, sizeof *n);
        n->path = path, n->i = i, n->env = env;
        char *pre = NULL, *post = NULL;
        if (!(st = bd_mr_subst(R, env, i->pre, &i->at, ".pre", &pre)) &&
            !(st = bd_mr_subst(R, env, i->post, &i->at, ".post", &post))) {
            n->pre_path = join(prefix, pre), n->post_path = join(prefix, post);
            if (!(n->pfx = strdup(path)) || !n->pre_path || !n->post_path) st = nomem();
        }
        free(pre), free(post);
        for (char *c = n->pfx; c && *c; c++) *c = *c == '.' ? '_' : *c;
        if (!st && strlen(n->pfx) + 4 > BD_EQ_NAME_MAX)
            st = bd_model_fail(R->m, &i->at, "", BD_ERR_LIMIT, "projection path '%s' too long to name its symbols", path);
    } else if (i->kind == MI_INPUT) {
        rinput *p = realloc(R->ins, (size_t)(R->nins + 1) * sizeof *p);
        if (!p) return free(type), free(path), nomem();
        R->ins = p;
        rinput *n = &p[R->nins++];
        memset(n, 0, sizeof *n);
        n->path = path, n->i = i, n->env = env;
        char *into = NULL;
        if (!(st = bd_mr_subst(R, env, i->into, &i->at, ".into", &into))) {
            n->into_path = join(prefix, into);
            if (!(n->pfx = strdup(path)) || !n->into_path) st = nomem();
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
        if (!st && !path) st = nomem();
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
static bd_status var_ref(rctx *R, const bd_eqs *e, const char *name, unsigned want, const char *what, const char *pop,
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
    if (!res) return nomem();
    for (int r = 0; r < nres; r++) res[r] = r < t->reset.n ? t->reset.s[r] : rp->resets[r - t->reset.n];
    for (int r = 0; r < nres; r++) cap += strlen(res[r]) + 64 + BD_EQ_NAME_MAX;
    char *all = malloc(cap);
    if (!all) return free(res), nomem();
    size_t n = (size_t)snprintf(all, cap, "%s", text);
    int cond = t->refractory && !(t->refractory[0] == '.' || t->refractory[0] == '-' ||
                                  (t->refractory[0] >= '0' && t->refractory[0] <= '9'));
    if (t->threshold) n += (size_t)snprintf(all + n, cap - n, "__threshold = (%s) : 1\n", t->threshold);
    if (cond) n += (size_t)snprintf(all + n, cap - n, "__refractory = (%s) : 1\n", t->refractory);
    np->reset = calloc((size_t)nres + 1, sizeof *np->reset);
    if (!np->reset) return free(all), free(res), nomem();
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
    if (t->threshold && (k = bd_eqs_find(x, "__threshold")) >= 0 && !(np->threshold = bd_ex_copy(x->syms[k].def))) st = nomem();
    if (!st && cond && (k = bd_eqs_find(x, "__refractory")) >= 0 && !(np->refractory_cond = bd_ex_copy(x->syms[k].def)))
        st = nomem();
    for (int r = 0; r < nres && !st; r++) {
        char name[32];
        snprintf(name, sizeof name, "__reset_%d", r);
        if ((k = bd_eqs_find(x, name)) < 0 || !(np->reset[r].value = bd_ex_copy(x->syms[k].def))) st = nomem();
    }
    bd_eqs_free(x);
    return st;
}

/* 1 if `name` of population p is written every step by a continuous projection (no value needed). */
static int fed_param(const rctx *R, int p, const char *name)
{
    for (int j = 0; j < R->nprojs; j++) {
        const rproj *pr = &R->projs[j];
        char fed[3 * BD_EQ_NAME_MAX];
        if (pr->post != p || !(pr->i->coupling_source || pr->syn_pre)) continue;
        snprintf(fed, sizeof fed, "%s__%s%s", pr->pfx, pr->syn_pre ? pr->syn_var : "c", pr->syn_pre ? "_sum" : "");
        if (!strcmp(fed, name)) return 1;
    }
    return 0;
}

static bd_status build_pop(rctx *R, int p, bd_net_pop *np)
{
    const rpop *rp = &R->pops[p];
    const bd_mtype *t = rp->type;
    char *text;
    bd_status st = bd_mr_pop_text(R, p, &text);
    if (st) return st;
    np->size = rp->size;
    if (!(np->path = strdup(rp->path))) return free(text), nomem();
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
        st = var_ref(R, e, pe->name, 1u << BD_SYM_PARAM | 1u << BD_SYM_CONST, "a parameter", rp->path, &rp->i->at, sub, &s);
        pval *pv = st ? NULL : realloc(R->pv, (size_t)(R->npv + 1) * sizeof *pv);
        if (!st && !pv) st = nomem();
        if (st) break;
        R->pv = pv;
        pval *n = &pv[R->npv++];
        snprintf(n->name, sizeof n->name, "%s", pe->name);
        n->v = &pe->v, n->at = &rp->i->at, n->env = rp->env;
        if (snprintf(n->sub, sizeof n->sub, "%s", sub) >= (int)sizeof n->sub) n->sub[0] = '\0';
    }
    np->param_init = calloc((size_t)e->nsyms, sizeof *np->param_init);
    np->state_init = calloc((size_t)e->nodes + 1, sizeof *np->state_init);
    if (!st && (!np->param_init || !np->state_init)) st = nomem();
    for (int s = 0; s < e->nsyms && !st; s++) {
        np->param_init[s].kind = BD_DIST_CONST;
        np->param_init[s].a = NAN;
        bd_symbol *sym = &e->syms[s];
        if (sym->kind != BD_SYM_PARAM && sym->kind != BD_SYM_CONST) continue;
        const pval *v = NULL;
        for (int k = 0; k < R->npv; k++)
            if (strcmp(R->pv[k].name, sym->name) == 0) v = &R->pv[k];
        if (!v && fed_param(R, p, sym->name)) continue;
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
        if ((st = dist(R, v->v, v->env, &sym->unit, v->at, v->sub, rp->size, &d))) break;
        if (d.kind == BD_DIST_CONST) sym->value = d.a;
        else np->param_init[s] = d;
    }
    for (int v = 0; v < e->nodes && !st; v++) np->state_init[v].kind = BD_DIST_CONST;
    for (int k = 0; k < rp->i->init.n && !st; k++) {
        const mentry *ie = &rp->i->init.e[k];
        char sub[200];
        snprintf(sub, sizeof sub, ".init.%s", ie->name);
        int s;
        if ((st = var_ref(R, e, ie->name, 1u << BD_SYM_STATE, "a state variable", rp->path, &rp->i->at, sub, &s))) break;
        int v = 0;
        while (e->odes[v].sym != s) v++;
        free(np->state_init[v].values);
        st = dist(R, &ie->v, rp->env, &e->syms[s].unit, &rp->i->at, sub, rp->size, &np->state_init[v]);
    }
    if (!st) st = pop_extras(R, rp, text, np);
    free(text);
    if (st) return st;
    if (t->refractory && (t->refractory[0] == '.' || t->refractory[0] == '-' ||
                          (t->refractory[0] >= '0' && t->refractory[0] <= '9'))) {
        if ((st = ms_quantity(R, t->refractory, NULL, &t->at, ".refractory", &np->refractory_ms))) return st;
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
    if (!n) return free(t->values), t->values = NULL, nomem();
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
    bd_status st = ms_quantity(R, d->v.a, in->env, &i->at, ".dt", &t.dt_ms);
    if (st) return st;
    if (!(t.dt_ms > 0) || !isfinite(t.dt_ms))
        return bd_model_fail(R->m, &i->at, ".dt", BD_ERR_MODEL, "the interval between rows must be > 0, got %g ms", t.dt_ms);
    char *file = NULL;
    size_t cols = 1;
    if ((st = bd_mr_subst(R, in->env, f->v.a, &i->at, ".file", &file))) return st;
    st = read_npy_cols(R, file, &i->at, ".file", &t.values, &t.rows, &cols, (size_t)1 << 32);
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
    bd_status st = spec_parse(R, i->spike_times, rp->env, &i->at, ".spike_times", &o);
    if (st) return st;
    bd_net_table t = {.sym = bd_eqs_find(np->eqs, "spike"), .spikes = 1, .width = 2};
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "file"), *ix = cJSON_GetObjectItemCaseSensitive(o, "indices"),
                *tm = cJSON_GetObjectItemCaseSensitive(o, "times");
    char sub[300];
    if (t.sym < 0) st = bd_fail(BD_ERR_MODEL, "population '%s': no 'spike' parameter", rp->path);
    else if (cJSON_IsString(f)) {
        size_t cols = 0;
        double *v = NULL;
        st = read_npy_cols(R, f->valuestring, &i->at, ".spike_times.file", &v, &t.rows, &cols, 2);
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
        if (!(t.values = malloc((t.rows ? t.rows : 1) * 2 * sizeof *t.values))) st = nomem();
        if (!st) st = bd_unit_parse("ms", &ms);
        const cJSON *a = ix->child, *b = tm->child;
        for (size_t k = 0; !st && k < t.rows; k++, a = a->next, b = b->next) {
            double idx = 0, time = 0;
            snprintf(sub, sizeof sub, ".spike_times.indices[%zu]", k);
            if (!(st = spec_num(R, a, &i->at, sub, &idx)) && !(idx >= 0 && idx < (double)np->size && idx == floor(idx)))
                st = bd_model_fail(R->m, &i->at, sub, BD_ERR_MODEL, "index %g is not an element of '%s' (0 to %zu)", idx,
                                   rp->path, np->size - 1);
            snprintf(sub, sizeof sub, ".spike_times.times[%zu]", k);
            if (!st && !(st = spec_quantity(R, b, &ms, &i->at, sub, &time)) && !(time >= 0))
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
 * Projections, generators, monitors */

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

static bd_status build_conn(rctx *R, int j, bd_network *net, bd_net_proj *np);

/* The delay of projection j in ms (a quantity; default 0). */
static bd_status proj_delay(rctx *R, const rproj *pr, bd_net_proj *np)
{
    const bd_minst *i = pr->i;
    bd_status st;
    if (i->delay && (st = ms_quantity(R, i->delay, pr->env, &i->at, ".delay", &np->delay_ms))) return st;
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
    if (!text) return nomem();
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
    if (!pl) return free(text), nomem();
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
    if (!pl->pre_var || !pl->post_var) return nomem();
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
        if (over) st = quantity(R, over->v.a, pr->env, &y->unit, &pr->i->plasticity->at, sub, &y->value);
        else if (def) st = quantity(R, def->v.a, NULL, &y->unit, &t->at, sub, &y->value);
        else st = bd_model_fail(R->m, &t->at, ".params", BD_ERR_MODEL, "parameter '%s' of plasticity type '%s' has no "
                                "value", y->name, t->name);
    }
    return st;
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
    if (pr->syn_pre) {
        snprintf(src, sizeof src, "%s__%s", pr->pfx, pr->syn_var);
        snprintf(fed, sizeof fed, "%s_sum", src);
    } else {
        char *t;
        if ((st = bd_mr_subst(R, pr->env, i->coupling_source, &i->at, jsub, &t))) return st;
        snprintf(src, sizeof src, "%s", t);
        free(t);
        snprintf(fed, sizeof fed, "%s__c", pr->pfx);
    }
    const unsigned kinds = 1u << BD_SYM_STATE | 1u << BD_SYM_ALGEBRAIC | 1u << BD_SYM_PARAM | 1u << BD_SYM_CONST;
    if ((st = var_ref(R, pre->eqs, src, kinds, "a variable", pre->path, &i->at, jsub, &np->src_sym))) return st;
    if ((st = var_ref(R, post->eqs, fed, 1u << BD_SYM_PARAM, "a parameter", post->path, &i->at, jsub, &np->fed))) return st;
    const bd_unit *us = &pre->eqs->syms[np->src_sym].unit, *uf = &post->eqs->syms[np->fed].unit;
    if (np->diffusive) {
        if ((st = var_ref(R, post->eqs, src, kinds, "a variable", post->path, &i->at, jsub, &np->src_post))) return st;
        if (memcmp(us->dim, post->eqs->syms[np->src_post].unit.dim, sizeof us->dim) != 0)
            return bd_model_fail(R->m, &i->at, jsub, BD_ERR_UNITS, "diffusive coupling: '%s' has other units in '%s' and "
                                 "'%s'", src, pre->path, post->path);
    }
    bd_unit w = {uf->scale / us->scale, {0}}; /* the weight converts the source's unit into the fed one */
    for (int d = 0; d < 7; d++) w.dim[d] = (signed char)(uf->dim[d] - us->dim[d]);
    if (!i->weight.a) return bd_model_fail(R->m, &i->at, "", BD_ERR_PARSE, "missing \"weight\"");
    if ((st = dist(R, &i->weight, pr->env, &w, &i->at, ".weight", 0, &np->weight))) return st;
    if ((st = proj_delay(R, pr, np))) return st;
    if (i->delays.a) { /* per connection, in ms */
        bd_unit ms;
        if (!(np->delays = calloc(1, sizeof *np->delays))) return nomem();
        if ((st = bd_unit_parse("ms", &ms)) || (st = dist(R, &i->delays, pr->env, &ms, &i->at, ".delay", 0, np->delays)))
            return st;
        if (np->delays->kind == BD_DIST_FROM_CONN || np->delays->kind == BD_DIST_ORTHOGONAL)
            return bd_model_fail(R->m, &i->at, ".delay", BD_ERR_MODEL, "per-connection delays take a distribution, a "
                                 "file or a matrix");
    }
    return build_conn(R, j, net, np);
}

static bd_status build_proj(rctx *R, int j, bd_network *net, bd_net_proj *np)
{
    const rproj *pr = &R->projs[j];
    const bd_minst *i = pr->i;
    const bd_net_pop *post = &net->pops[pr->post];
    bd_status st;
    if (!(np->path = strdup(pr->path))) return nomem();
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
    if ((st = var_ref(R, post->eqs, target, 1u << BD_SYM_STATE, "a state variable", post->path, &i->at,
                      pr->syn ? ".synapse" : ".target", &np->target)))
        return st;
    if (!i->weight.a) return bd_model_fail(R->m, &i->at, "", BD_ERR_PARSE, "missing \"weight\"");
    if ((st = dist(R, &i->weight, pr->env, &post->eqs->syms[np->target].unit, &i->at, ".weight", 0, &np->weight)))
        return st;
    if ((st = proj_delay(R, pr, np))) return st;
    if (i->delays.a)
        return bd_model_fail(R->m, &i->at, ".delay", BD_ERR_UNSUPPORTED, "per-connection delays are supported for "
                             "coupling projections; an event projection takes one delay");
    if (pr->pl && (st = build_plastic(R, pr, net, np))) return st;
    return build_conn(R, j, net, np);
}

/* A count from a number or {"num": n, "allow_multi_conn": b}: an integer, or a fraction in (0, 1) of `total`. */
static bd_status conn_num(rctx *R, const cJSON *v, size_t total, const morigin *o, const char *sub, uint32_t *k,
                          int *multi)
{
    static const char *const keys[] = {"num", "allow_multi_conn"};
    char s[300];
    const cJSON *x = v;
    const char *xs = sub;
    bd_status st;
    *multi = 0;
    if (cJSON_IsObject(v)) {
        if ((st = spec_keys(R, v, keys, 2, o, sub)) || (st = spec_bool(R, v, "allow_multi_conn", 0, o, sub, multi))) return st;
        if (!(x = cJSON_GetObjectItemCaseSensitive(v, "num"))) return bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "missing \"num\"");
        xs = spec_sub(s, sizeof s, sub, "num", 0);
    }
    double d = 0;
    if ((st = spec_num(R, x, o, xs, &d))) return st;
    if (d > 0 && d < 1) d = floor(d * (double)total);
    if (!(d >= 0 && d <= 4e9) || d != floor(d))
        return bd_model_fail(R->m, o, xs, BD_ERR_MODEL, "expected an integer count >= 0 or a fraction in (0, 1), got %g", d);
    *k = (uint32_t)d;
    return BD_OK;
}

/* Explicit pairs into np (rows, cols), with the values stored alongside (a matrix's entries, a CSR's data, a
 * third row or column) in *w when there are some. */
static bd_status conn_pairs(bd_net_proj *np, size_t n)
{
    np->rows = malloc((n ? n : 1) * sizeof *np->rows), np->cols = malloc((n ? n : 1) * sizeof *np->cols);
    np->nnz = n;
    np->conn = BD_CONN_EXPLICIT;
    return np->rows && np->cols ? BD_OK : nomem();
}

static bd_status conn_index(rctx *R, double x, size_t n, const morigin *o, const char *sub, const char *what, size_t q,
                            uint32_t *out)
{
    if (!(x >= 0 && x < (double)n) || x != floor(x))
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "%s %g (entry %zu) is not an index below %zu", what, x, q, n);
    *out = (uint32_t)x;
    return BD_OK;
}

/* The explicit rules: file (pairs, optionally a weight column), ij (inline), csr and matrix (NPY files). */
static bd_status conn_explicit(rctx *R, int k, const cJSON *v, const char *text, size_t npre, size_t npost,
                               const morigin *o, const char *sub, bd_net_proj *np, double **w)
{
    char s[300], s2[320];
    bd_status st = BD_OK;
    double *a = NULL, *b = NULL, *c = NULL;
    size_t n = 0, nb = 0, nc = 0, cols = 0, colb = 0, colc = 0;
    if (k == 4) { /* file: (nnz, 2) pre, post or (nnz, 3) with weights */
        if ((st = read_npy_cols(R, text, o, sub, &a, &n, &cols, 3))) return st;
        if (cols < 2) st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected an (nnz, 2) array of pre, post pairs (or (nnz, 3) with weights)");
        if (!st) st = conn_pairs(np, n);
        if (!st && cols == 3 && !(*w = malloc((n ? n : 1) * sizeof **w))) st = nomem();
        for (size_t q = 0; q < n && !st; q++) {
            double x = a[cols * q], y = a[cols * q + 1];
            if (!(x >= 0 && x < (double)npre && y >= 0 && y < (double)npost))
                st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "pair %zu (%g, %g) is outside %zu x %zu", q, x, y, npre, npost);
            else np->rows[q] = (uint32_t)x, np->cols[q] = (uint32_t)y;
            if (!st && cols == 3) (*w)[q] = a[cols * q + 2];
        }
    } else if (k == 14) { /* ij: [[pre...], [post...]] or with a third row of weights */
        int rows = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
        const cJSON *ri = cJSON_GetArrayItem(v, 0), *rj = cJSON_GetArrayItem(v, 1), *rw = cJSON_GetArrayItem(v, 2);
        if ((rows != 2 && rows != 3) || !cJSON_IsArray(ri) || !cJSON_IsArray(rj) || (rw && !cJSON_IsArray(rw)))
            return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected [[pre indices], [post indices]] (and optionally [weights])");
        n = (size_t)cJSON_GetArraySize(ri);
        if ((size_t)cJSON_GetArraySize(rj) != n || (rw && (size_t)cJSON_GetArraySize(rw) != n))
            return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "the rows have different lengths");
        if ((st = conn_pairs(np, n))) return st;
        if (rw && !(*w = malloc((n ? n : 1) * sizeof **w))) return nomem();
        const cJSON *x = ri->child, *y = rj->child, *z = rw ? rw->child : NULL;
        for (size_t q = 0; q < n && !st; q++, x = x->next, y = y->next, z = z ? z->next : NULL) {
            double dx = 0, dy = 0;
            const char *r0 = spec_sub(s, sizeof s, sub, NULL, 0);
            if (!(st = spec_num(R, x, o, spec_sub(s2, sizeof s2, r0, NULL, (int)q), &dx)))
                st = conn_index(R, dx, npre, o, s2, "pre index", q, &np->rows[q]);
            const char *r1 = spec_sub(s, sizeof s, sub, NULL, 1);
            if (!st && !(st = spec_num(R, y, o, spec_sub(s2, sizeof s2, r1, NULL, (int)q), &dy)))
                st = conn_index(R, dy, npost, o, s2, "post index", q, &np->cols[q]);
            if (!st && z) st = spec_num(R, z, o, spec_sub(s2, sizeof s2, spec_sub(s, sizeof s, sub, NULL, 2), NULL, (int)q), &(*w)[q]);
        }
    } else if (k == 15) { /* csr: indptr (npre + 1), indices (nnz), data (nnz, optional) */
        static const char *const keys[] = {"indptr", "indices", "data"};
        const cJSON *fi[3];
        if (!cJSON_IsObject(v)) return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected {\"indptr\": \"a.npy\", \"indices\": \"b.npy\"}");
        if ((st = spec_keys(R, v, keys, 3, o, sub))) return st;
        for (int q = 0; q < 3; q++) {
            fi[q] = cJSON_GetObjectItemCaseSensitive(v, keys[q]);
            if (!fi[q] && q < 2) return bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "missing \"%s\"", keys[q]);
            if (fi[q] && !cJSON_IsString(fi[q]))
                return bd_model_fail(R->m, o, spec_sub(s, sizeof s, sub, keys[q], 0), BD_ERR_MODEL, "expected the path of an NPY file");
        }
        const char *sp = spec_sub(s, sizeof s, sub, "indptr", 0);
        if ((st = read_npy_cols(R, fi[0]->valuestring, o, sp, &a, &n, &cols, 1))) return st;
        if (n != npre + 1) st = bd_model_fail(R->m, o, sp, BD_ERR_MODEL, "indptr has %zu entries; pre has %zu neurons, so %zu expected", n, npre, npre + 1);
        for (size_t q = 0; q <= npre && !st; q++)
            if (!(a[q] >= (q ? a[q - 1] : 0)) || a[q] != floor(a[q]) || (q == 0 && a[0] != 0))
                st = bd_model_fail(R->m, o, sp, BD_ERR_MODEL, "indptr must start at 0 and never decrease (entry %zu)", q);
        const char *si = spec_sub(s2, sizeof s2, sub, "indices", 0);
        if (!st) st = read_npy_cols(R, fi[1]->valuestring, o, si, &b, &nb, &colb, 1);
        if (!st && (double)nb != a[npre])
            st = bd_model_fail(R->m, o, si, BD_ERR_MODEL, "indices has %zu entries; indptr ends at %g", nb, a[npre]);
        if (!st && fi[2]) {
            char sd[320];
            spec_sub(sd, sizeof sd, sub, "data", 0);
            if (!(st = read_npy_cols(R, fi[2]->valuestring, o, sd, &c, &nc, &colc, 1)) && nc != nb)
                st = bd_model_fail(R->m, o, sd, BD_ERR_MODEL, "data has %zu entries, indices %zu", nc, nb);
        }
        if (!st) st = conn_pairs(np, nb);
        for (size_t pre = 0; pre < npre && !st; pre++)
            for (size_t q = (size_t)a[pre]; q < (size_t)a[pre + 1] && !st; q++) {
                np->rows[q] = (uint32_t)pre;
                st = conn_index(R, b[q], npost, o, si, "post index", q, &np->cols[q]);
            }
        if (!st && c) *w = c, c = NULL;
    } else { /* matrix: (npre, npost), the nonzero entries are synapses, row by row */
        if ((st = read_npy_cols(R, text, o, sub, &a, &n, &cols, (size_t)-1))) return st;
        if (n != npre || cols != npost)
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "the matrix is %zu x %zu; pre x post is %zu x %zu", n, cols, npre, npost);
        size_t nnz = 0;
        for (size_t q = 0; q < n * cols && !st; q++) nnz += a[q] != 0;
        if (!st) st = conn_pairs(np, nnz);
        if (!st && !(*w = malloc((nnz ? nnz : 1) * sizeof **w))) st = nomem();
        for (size_t q = 0, at = 0; q < n * cols && !st; q++)
            if (a[q] != 0) np->rows[at] = (uint32_t)(q / cols), np->cols[at] = (uint32_t)(q % cols), (*w)[at++] = a[q];
    }
    free(a), free(b), free(c);
    return st;
}

/* The connectivity rule of projection j and its storage (docs/toolbox.md), then what its weights need of it:
 * the fans of xavier & co., the positions of the decays, the values stored with an explicit rule. */
static bd_status build_conn(rctx *R, int j, bd_network *net, bd_net_proj *np)
{
    const rproj *pr = &R->projs[j];
    const bd_minst *i = pr->i;
    const bd_net_pop *post = &net->pops[pr->post];
    bd_status st = BD_OK;
    if (i->include_self) np->include_self = strcmp(i->include_self, "false") != 0;
    static const char *const stores[] = {"auto", "csr", "dense", "procedural"};
    if (i->storage) {
        int k = 0;
        while (k < 4 && strcmp(stores[k], i->storage) != 0) k++;
        if (k == 4) {
            const char *near = bd_nearest_name(i->storage, stores, 4);
            return bd_model_fail(R->m, &i->at, ".conn.storage", BD_ERR_PARSE, "unknown storage '%s' (auto, csr, dense, "
                                 "procedural)%s%s%s", i->storage, near ? "; did you mean '" : "", near ? near : "",
                                 near ? "'?" : "");
        }
        np->storage = (bd_storage)k;
    }
    static const char *const kinds[] = {"all2all", "one2one", "fixed_prob", "fixed_outdegree", "file",
                                        "fixed_post_num", "fixed_pre_num", "fixed_total_num", "gaussian_prob", "grid4",
                                        "grid8", "gridN", "small_world", "scale_free_ba", "ij", "csr", "matrix"};
    const int nk = (int)(sizeof kinds / sizeof kinds[0]);
    int k = 0;
    while (i->conn_kind && k < nk && strcmp(kinds[k], i->conn_kind) != 0) k++;
    if (!i->conn_kind || k == nk) {
        const char *near = i->conn_kind ? bd_nearest_name(i->conn_kind, kinds, (size_t)nk) : NULL;
        return bd_model_fail(R->m, &i->at, ".conn", BD_ERR_PARSE, "missing or unknown connectivity rule%s%s%s",
                             near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    char sub[96], s[300];
    snprintf(sub, sizeof sub, ".conn.%s", kinds[k]);
    const morigin *o = &i->at;
    size_t npre = net->pops[pr->pre].size, npost = post->size;
    int same = pr->pre == pr->post;
    cJSON *v = NULL;
    double *wv = NULL, x = 0;
    bd_dist *w;
    /* the lattice rules leave out i -> i unless asked (BrainPy's GridFour.., SmallWorld defaults) */
    if (!i->include_self && (k >= 9 && k <= 12)) np->include_self = 0;
    np->conn = k <= 4 ? (bd_conn_kind)k : BD_CONN_EXPLICIT;
    if (k == 1 && npre != npost)
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "one2one needs pre and post of one size (%zu vs %zu)", npre, npost);
    if (k == 0 || k == 1) goto weights;
    if (k == 2 || k == 3) {
        char *v;
        if ((st = bd_mr_subst(R, pr->env, i->conn_value ? i->conn_value : "", o, sub, &v))) return st;
        cJSON *obj = v[0] == '{' ? cJSON_Parse(v) : NULL;
        if (obj) { /* {"prob": p} / {"num": k}: the number moves into v */
            static const char *const pk[] = {"prob"}, *const kk[] = {"num"};
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, k == 2 ? "prob" : "num");
            st = spec_keys(R, obj, k == 2 ? pk : kk, 1, o, sub);
            if (!st && !x) st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "missing \"%s\"", k == 2 ? "prob" : "num");
            if (!st) {
                snprintf(sub + strlen(sub), sizeof sub - strlen(sub), ".%s", k == 2 ? "prob" : "num");
                free(v);
                v = cJSON_IsString(x) ? strdup(x->valuestring) : cJSON_PrintUnformatted(x);
                if (!v) st = nomem();
            }
            cJSON_Delete(obj);
            if (st) return free(v), st;
        }
        if (k == 2) {
            char *end;
            np->p = strtod(v, &end);
            int bad = end == v || *end || !(np->p >= 0 && np->p <= 1);
            if (bad) st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "a probability in [0, 1] expected, got '%s'", v);
        } else {
            long long kk = 0;
            size_t most = npost - (same && !np->include_self);
            st = integer(R, v, o, sub, "the out-degree", 0, &kk);
            if (!st && (size_t)kk > most)
                st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "out-degree %lld exceeds the %zu possible targets", kk, most);
            np->k = (uint32_t)kk;
        }
        free(v);
        if (st) return st;
        goto weights;
    }
    if ((st = spec_parse(R, i->conn_value, pr->env, o, sub, &v))) return st;
    static const char *const gp_keys[] = {"sigma", "normalize", "shape", "range", "periodic"};
    static const char *const grid_keys[] = {"n", "shape", "periodic"};
    static const char *const sw_keys[] = {"num_neighbor", "prob", "directed"};
    static const char *const ba_keys[] = {"m", "directed"};
    switch (k) {
    case 5: case 6: case 7: { /* fixed_post_num, fixed_pre_num, fixed_total_num */
        size_t total = k == 5 ? npost : k == 6 ? npre : npre * npost;
        if ((st = conn_num(R, v, total, o, sub, &np->k, &np->allow_multi))) break;
        np->conn = k == 5 ? (np->allow_multi ? BD_CONN_FIXED_OUTDEGREE : BD_CONN_FIXED_POST_NUM)
                   : k == 6 ? BD_CONN_FIXED_PRE_NUM : BD_CONN_FIXED_TOTAL_NUM;
        size_t cand = k == 5 ? npost : npre, self = same && !np->include_self;
        if (k == 7 && !np->allow_multi && np->k > npre * (npost - self))
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "%u synapses exceed the %zu possible pairs", np->k, npre * (npost - self));
        else if (k != 7 && !(k == 6 && np->allow_multi) && np->k > cand - self)
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "%u %s exceed the %zu candidates", np->k,
                               k == 5 ? "targets per pre" : "sources per post", cand - self);
        break;
    }
    case 8: /* gaussian_prob */
        np->conn = BD_CONN_GAUSSIAN_PROB;
        if (!cJSON_IsObject(v)) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "expected an object such as {\"sigma\": 2}");
            break;
        }
        if (!(st = spec_keys(R, v, gp_keys, 5, o, sub)) && !(st = spec_get(R, v, "sigma", 1, 0, 1e-300, 1e300, 0, o, sub, &np->sigma)) &&
            !(st = spec_bool(R, v, "normalize", 1, o, sub, &np->normalize)))
            st = spec_geom(R, v, npre, npost, o, sub, &np->geom);
        break;
    case 9: case 10: case 11: /* grid4, grid8, gridN */
        np->conn = BD_CONN_GRID;
        np->grid4 = k == 9, np->radius = 1;
        if (!cJSON_IsObject(v)) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "expected an object such as {\"shape\": [10, 10]}");
            break;
        }
        if ((st = spec_keys(R, v, grid_keys + (k == 11 ? 0 : 1), k == 11 ? 3 : 2, o, sub))) break;
        if (k == 11 && !(st = spec_get(R, v, "n", 1, 1, 1, 1e6, 1, o, sub, &x))) np->radius = (uint32_t)x;
        if (!st && npre != npost)
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "a grid needs pre and post of one size (%zu vs %zu)", npre, npost);
        if (!st) st = spec_geom(R, v, npre, npost, o, sub, &np->geom);
        break;
    case 12: /* small_world */
        np->conn = BD_CONN_SMALL_WORLD;
        if (!cJSON_IsObject(v)) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_PARSE, "expected {\"num_neighbor\": k, \"prob\": p}");
            break;
        }
        if (npre != npost) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "small_world needs pre and post of one size (%zu vs %zu)", npre, npost);
            break;
        }
        if (!(st = spec_keys(R, v, sw_keys, 3, o, sub)) &&
            !(st = spec_get(R, v, "num_neighbor", 1, 0, 0, (double)npre - 1, 1, o, sub, &x)) &&
            !(st = spec_get(R, v, "prob", 1, 0, 0, 1, 0, o, sub, &np->p)))
            st = spec_bool(R, v, "directed", 0, o, sub, &np->directed);
        np->k = (uint32_t)x;
        break;
    case 13: /* scale_free_ba */
        np->conn = BD_CONN_SCALE_FREE_BA;
        if (npre != npost) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "scale_free_ba needs pre and post of one size (%zu vs %zu)", npre, npost);
            break;
        }
        if (cJSON_IsObject(v)) {
            if (!(st = spec_keys(R, v, ba_keys, 2, o, sub)) && !(st = spec_bool(R, v, "directed", 0, o, sub, &np->directed)))
                st = spec_get(R, v, "m", 1, 1, 1, (double)npre - 1, 1, o, sub, &x);
        } else if (!(st = spec_num(R, v, o, sub, &x)) && (!(x >= 1 && x <= (double)npre - 1) || x != floor(x))) {
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "m must be an integer in [1, %zu], got %g", npre - 1, x);
        }
        np->k = st ? 0 : (uint32_t)x;
        break;
    default: { /* file, ij, csr, matrix */
        const char *path = cJSON_IsString(v) ? v->valuestring : NULL;
        if ((k == 4 || k == 16) && !path) st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected the path of an NPY file");
        else st = conn_explicit(R, k, v, path, npre, npost, o, sub, np, &wv);
    }
    }
    cJSON_Delete(v);
    if (st) return free(wv), st;
weights:
    w = &np->weight;
    if (w->kind == BD_DIST_FILE && np->conn != BD_CONN_EXPLICIT) /* a file's order means something for pairs only */
        return bd_model_fail(R->m, o, ".weight.file", BD_ERR_MODEL, "weights from a file follow explicit pairs (ij, "
                             "file, csr, matrix); for a generated rule give {\"matrix\": \"w.npy\"} (entry pre, post)");
    if (w->kind == BD_DIST_VARSCALE) bd_dist_varscale(w, (double)npre, (double)npost);
    if (w->kind == BD_DIST_ORTHOGONAL) {
        double r = (double)(npre > npost ? npre : npost), c = (double)(npre > npost ? npost : npre);
        if (r * c > (double)(1u << 26) || r * c * c > 4e10)
            st = bd_model_fail(R->m, o, ".weight.orthogonal", BD_ERR_LIMIT, "an orthogonal %zu x %zu matrix is too large "
                               "for the host QR (at most 2^26 entries and rows * cols^2 <= 4e10)", npre, npost);
    }
    if (!st && (w->kind == BD_DIST_GAUSS_DECAY || w->kind == BD_DIST_DOG_DECAY)) {
        /* the positions need the sizes: read them from the initializer's text now */
        cJSON *root;
        const char *nm = w->kind == BD_DIST_DOG_DECAY ? "dog_decay" : "gaussian_decay";
        if (!(st = spec_parse(R, i->weight.a, pr->env, o, ".weight", &root))) {
            st = spec_geom(R, cJSON_GetObjectItemCaseSensitive(root, nm), npre, npost, o,
                           spec_sub(s, sizeof s, ".weight", nm, 0), &w->geom);
            cJSON_Delete(root);
        }
    }
    if (!st && w->kind == BD_DIST_FROM_CONN) {
        if (!wv) {
            st = bd_model_fail(R->m, o, ".weight.from_conn", BD_ERR_MODEL, "no values come with this connectivity: "
                               "from_conn takes a matrix's entries, a csr's \"data\", the third row of ij or the third "
                               "column of a file");
        } else {
            w->kind = BD_DIST_FILE, w->values = wv, w->nvalues = np->nnz;
            wv = NULL;
        }
    }
    free(wv);
    return st;
}

static bd_status build_poisson(rctx *R, const rinput *in, bd_network *net, bd_net_poisson *np, uint32_t id)
{
    const bd_minst *i = in->i;
    const bd_net_pop *pop = &net->pops[in->pop];
    bd_status st;
    if (!(np->path = strdup(in->path))) return nomem();
    np->pop = in->pop, np->id = id, np->count = 1;
    char *t;
    if ((st = bd_mr_subst(R, in->env, i->target ? i->target : "", &i->at, ".poisson.target", &t))) return st;
    st = var_ref(R, pop->eqs, t, 1u << BD_SYM_STATE, "a state variable", pop->path, &i->at, ".poisson.target", &np->target);
    free(t);
    if (st) return st;
    const mentry *rate = bd_mmap_get(&i->params, "rate"), *w = bd_mmap_get(&i->params, "weight"),
                 *count = bd_mmap_get(&i->params, "count");
    bd_unit hz;
    if (!rate || !w) return bd_model_fail(R->m, &i->at, ".poisson", BD_ERR_PARSE, "missing \"rate\" or \"weight\"");
    if ((st = bd_unit_parse("Hz", &hz)) || (st = quantity(R, rate->v.a, in->env, &hz, &i->at, ".poisson.rate", &np->rate_hz)))
        return st;
    if (!(np->rate_hz >= 0)) return bd_model_fail(R->m, &i->at, ".poisson.rate", BD_ERR_MODEL, "negative rate");
    if ((st = quantity(R, w->v.a, in->env, &pop->eqs->syms[np->target].unit, &i->at, ".poisson.weight", &np->weight)))
        return st;
    if (count) {
        long long c = 1;
        char *s;
        if ((st = bd_mr_subst(R, in->env, count->v.a, &i->at, ".poisson.count", &s))) return st;
        st = integer(R, s, &i->at, ".poisson.count", "count", 1, &c);
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
    if (!(nm->name = strdup(mon->name))) return nomem();
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
    if (var && (st = var_ref(R, pop->eqs, dot + 1, 1u << BD_SYM_STATE | 1u << BD_SYM_ALGEBRAIC | 1u << BD_SYM_PARAM,
                             "a variable", pop->path, &mon->at, sub, &nm->sym)))
        return st;
    if (mon->has_idx && !var)
        return bd_model_fail(R->m, &mon->at, ".indices", BD_ERR_MODEL, "\"indices\" belongs to var monitors");
    if (mon->every && !var) return bd_model_fail(R->m, &mon->at, ".every", BD_ERR_MODEL, "\"every\" belongs to var monitors");
    if (mon->window && nm->kind != BD_MON_RATE)
        return bd_model_fail(R->m, &mon->at, ".window", BD_ERR_MODEL, "\"window\" belongs to rate monitors");
    if (mon->nidx && !(nm->indices = malloc(mon->nidx * sizeof *nm->indices))) return nomem();
    for (size_t k = 0; k < mon->nidx; k++) {
        char is[64];
        snprintf(is, sizeof is, ".indices[%zu]", k);
        if (mon->idx[k] < 0 || (size_t)mon->idx[k] >= pop->size)
            return bd_model_fail(R->m, &mon->at, is, BD_ERR_MODEL, "index %lld outside population '%s' of %zu",
                                 mon->idx[k], pop->path, pop->size);
        nm->indices[k] = (uint32_t)mon->idx[k];
    }
    nm->nindices = mon->nidx;
    if (mon->every && (st = ms_quantity(R, mon->every, NULL, &mon->at, ".every", &nm->every_ms))) return st;
    if (mon->window && (st = ms_quantity(R, mon->window, NULL, &mon->at, ".window", &nm->window_ms))) return st;
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
    if (m->run[RUN_DT] && (st = ms_quantity(R, m->run[RUN_DT], NULL, &top, ".run.dt", &net->dt_ms))) return st;
    if (!(net->dt_ms > 0)) return bd_model_fail(m, &top, ".run.dt", BD_ERR_MODEL, "dt must be positive");
    if (m->run[RUN_DURATION] && (st = ms_quantity(R, m->run[RUN_DURATION], NULL, &top, ".run.duration", &net->duration_ms)))
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
        if ((st = integer(R, m->run[RUN_THREADS], &top, ".run.threads", "threads", 0, &v))) return st;
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
        return nomem();
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
    if (R->npops && !(net->pops = calloc((size_t)R->npops, sizeof *net->pops))) return nomem();
    for (int p = 0; p < R->npops; p++) {
        net->npops++;
        if ((st = build_pop(R, p, &net->pops[p])) || (st = build_tables(R, p, &net->pops[p]))) return st;
    }
    if (R->nprojs && !(net->projs = calloc((size_t)R->nprojs, sizeof *net->projs))) return nomem();
    for (int j = 0; j < R->nprojs; j++) {
        net->nprojs++;
        if ((st = build_proj(R, j, net, &net->projs[j]))) return st;
    }
    int npois = 0;
    for (int k = 0; k < R->nins; k++) npois += R->ins[k].kind == RIN_POISSON;
    if (npois && !(net->poisson = calloc((size_t)npois, sizeof *net->poisson))) return nomem();
    for (int k = 0; k < R->nins; k++) {
        if (R->ins[k].kind != RIN_POISSON) continue;
        net->npoisson++;
        if ((st = build_poisson(R, &R->ins[k], net, &net->poisson[net->npoisson - 1], (uint32_t)(net->npoisson - 1))))
            return st;
    }
    if (m->nmons && !(net->monitors = calloc((size_t)m->nmons, sizeof *net->monitors))) return nomem();
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
        return nomem();
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
        return nomem();
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
