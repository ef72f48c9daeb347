/* Connectivity rules and initializers of a model file (docs/toolbox.md), read when the model is resolved: the
 * JSON text of a rule or an initializer is parsed with `${param}` substituted, its keys and values checked (each
 * message naming the file, line, column and JSON path at fault) and turned into the parameters that
 * core/conn_gen.c and core/dist_init.c generate from. NPY files (weights, explicit pairs, matrices, tables) are
 * read here too. Kept apart from model_resolve.c because the toolbox is a concern of its own and large. */
#include "model_impl.h"
#include "nearest.h"
#include "dist_init.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a 1-D or 2-D NPY array (little-endian f4, f8, i4, i8, and 1-byte bool, u1, i1; C order) of at most
 * max_cols columns as doubles. */
bd_status bd_mr_read_npy_cols(rctx *R, const char *name, const morigin *o, const char *sub, double **vals, size_t *n,
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
            st = bd_mr_nomem();
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
    return bd_mr_read_npy_cols(R, name, o, sub, vals, n, cols, 2);
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
bd_status bd_mr_spec_parse(rctx *R, const char *text, const genv *env, const morigin *o, const char *sub, cJSON **out)
{
    char *s;
    bd_status st = bd_mr_subst(R, env, text ? text : "", o, sub, &s);
    if (st) return st;
    *out = cJSON_ParseWithOpts(s, NULL, 1); /* the whole text, so "1.npy" is a path, not the number 1 */
    if (!*out) *out = cJSON_CreateString(s);
    free(s);
    return *out ? BD_OK : bd_mr_nomem();
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
bd_status bd_mr_spec_num(rctx *R, const cJSON *v, const morigin *o, const char *sub, double *out)
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
    bd_status st = bd_mr_spec_num(R, v, o, s, out);
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
bd_status bd_mr_spec_quantity(rctx *R, const cJSON *v, const bd_unit *u, const morigin *o, const char *sub, double *out)
{
    char buf[64];
    const char *text = cJSON_IsString(v) ? v->valuestring : NULL;
    if (cJSON_IsNumber(v)) snprintf(buf, sizeof buf, "%.17g", v->valuedouble), text = buf;
    if (!text) return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected a quantity (a string such as \"0.5 mV\" or a number)");
    return bd_mr_quantity(R, text, NULL, u, o, sub, out);
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
    return bd_mr_spec_quantity(R, v, u, o, spec_sub(s, sizeof s, sub, key, 0), out);
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
            if ((st = bd_mr_spec_num(R, x, o, cJSON_IsArray(sh) ? spec_sub(s2, sizeof s2, s, NULL, k) : s, &d[k])))
                return st;
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
            if ((st = bd_mr_spec_num(R, cJSON_GetArrayItem(pair, 0), o, spec_sub(e, sizeof e, ps, NULL, 0), &g->lo[d]))) return st;
            if ((st = bd_mr_spec_num(R, cJSON_GetArrayItem(pair, 1), o, spec_sub(e, sizeof e, ps, NULL, 1), &g->hi[d]))) return st;
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
    bd_status st = bd_mr_spec_parse(R, v->a, env, o, sub, &root);
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
            st = bd_mr_spec_quantity(R, it, u, o, s, &out->a);
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
            if ((st = bd_mr_spec_num(R, dog ? cJSON_GetArrayItem(sg, q) : sg, o, dog ? spec_sub(e, sizeof e, ss, NULL, q) : ss, &out->sigma[q]))) break;
            if (!(out->sigma[q] > 0)) {
                st = bd_model_fail(R->m, o, ss, BD_ERR_MODEL, "sigma must be > 0");
                break;
            }
            ss = spec_sub(s2, sizeof s2, s, dog ? "max_ws" : "max_w", 0);
            st = bd_mr_spec_quantity(R, dog ? cJSON_GetArrayItem(mw, q) : mw, u, o, dog ? spec_sub(e, sizeof e, ss, NULL, q) : ss, &out->amp[q]);
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
        if (!st && !(st = bd_mr_read_npy_cols(R, file->valuestring, o, s, &out->values, &out->nrows, &out->ncols, (size_t)1 << 24))) {
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
bd_status bd_mr_dist(rctx *R, const mval *v, const genv *env, const bd_unit *u, const morigin *o, const char *sub,
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
    if ((st = bd_mr_quantity(R, v->a, env, u, o, s0, &out->a))) return st;
    if (v->kind == BD_INIT_VALUE) return BD_OK;
    if (!v->b) return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "the initializer needs two values");
    if ((st = bd_mr_quantity(R, v->b, env, u, o, s1, &out->b))) return st;
    if (v->kind == BD_INIT_UNIFORM && !(out->a <= out->b))
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "uniform needs low <= high");
    if (v->kind == BD_INIT_NORMAL && !(out->b >= 0))
        return bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "normal needs a standard deviation >= 0");
    return BD_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * Connectivity rules */

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
    if ((st = bd_mr_spec_num(R, x, o, xs, &d))) return st;
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
    return np->rows && np->cols ? BD_OK : bd_mr_nomem();
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
        if ((st = bd_mr_read_npy_cols(R, text, o, sub, &a, &n, &cols, 3))) return st;
        if (cols < 2) st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "expected an (nnz, 2) array of pre, post pairs (or (nnz, 3) with weights)");
        if (!st) st = conn_pairs(np, n);
        if (!st && cols == 3 && !(*w = malloc((n ? n : 1) * sizeof **w))) st = bd_mr_nomem();
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
        if (rw && !(*w = malloc((n ? n : 1) * sizeof **w))) return bd_mr_nomem();
        const cJSON *x = ri->child, *y = rj->child, *z = rw ? rw->child : NULL;
        for (size_t q = 0; q < n && !st; q++, x = x->next, y = y->next, z = z ? z->next : NULL) {
            double dx = 0, dy = 0;
            const char *r0 = spec_sub(s, sizeof s, sub, NULL, 0);
            if (!(st = bd_mr_spec_num(R, x, o, spec_sub(s2, sizeof s2, r0, NULL, (int)q), &dx)))
                st = conn_index(R, dx, npre, o, s2, "pre index", q, &np->rows[q]);
            const char *r1 = spec_sub(s, sizeof s, sub, NULL, 1);
            if (!st && !(st = bd_mr_spec_num(R, y, o, spec_sub(s2, sizeof s2, r1, NULL, (int)q), &dy)))
                st = conn_index(R, dy, npost, o, s2, "post index", q, &np->cols[q]);
            if (!st && z) st = bd_mr_spec_num(R, z, o, spec_sub(s2, sizeof s2, spec_sub(s, sizeof s, sub, NULL, 2), NULL, (int)q), &(*w)[q]);
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
        if ((st = bd_mr_read_npy_cols(R, fi[0]->valuestring, o, sp, &a, &n, &cols, 1))) return st;
        if (n != npre + 1) st = bd_model_fail(R->m, o, sp, BD_ERR_MODEL, "indptr has %zu entries; pre has %zu neurons, so %zu expected", n, npre, npre + 1);
        for (size_t q = 0; q <= npre && !st; q++)
            if (!(a[q] >= (q ? a[q - 1] : 0)) || a[q] != floor(a[q]) || (q == 0 && a[0] != 0))
                st = bd_model_fail(R->m, o, sp, BD_ERR_MODEL, "indptr must start at 0 and never decrease (entry %zu)", q);
        const char *si = spec_sub(s2, sizeof s2, sub, "indices", 0);
        if (!st) st = bd_mr_read_npy_cols(R, fi[1]->valuestring, o, si, &b, &nb, &colb, 1);
        if (!st && (double)nb != a[npre])
            st = bd_model_fail(R->m, o, si, BD_ERR_MODEL, "indices has %zu entries; indptr ends at %g", nb, a[npre]);
        if (!st && fi[2]) {
            char sd[320];
            spec_sub(sd, sizeof sd, sub, "data", 0);
            if (!(st = bd_mr_read_npy_cols(R, fi[2]->valuestring, o, sd, &c, &nc, &colc, 1)) && nc != nb)
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
        if ((st = bd_mr_read_npy_cols(R, text, o, sub, &a, &n, &cols, (size_t)-1))) return st;
        if (n != npre || cols != npost)
            st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "the matrix is %zu x %zu; pre x post is %zu x %zu", n, cols, npre, npost);
        size_t nnz = 0;
        for (size_t q = 0; q < n * cols && !st; q++) nnz += a[q] != 0;
        if (!st) st = conn_pairs(np, nnz);
        if (!st && !(*w = malloc((nnz ? nnz : 1) * sizeof **w))) st = bd_mr_nomem();
        for (size_t q = 0, at = 0; q < n * cols && !st; q++)
            if (a[q] != 0) np->rows[at] = (uint32_t)(q / cols), np->cols[at] = (uint32_t)(q % cols), (*w)[at++] = a[q];
    }
    free(a), free(b), free(c);
    return st;
}

/* The connectivity rule of projection j and its storage (docs/toolbox.md), then what its weights need of it:
 * the fans of xavier & co., the positions of the decays, the values stored with an explicit rule. */
bd_status bd_mr_build_conn(rctx *R, int j, bd_network *net, bd_net_proj *np)
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
                if (!v) st = bd_mr_nomem();
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
            st = bd_mr_integer(R, v, o, sub, "the out-degree", 0, &kk);
            if (!st && (size_t)kk > most)
                st = bd_model_fail(R->m, o, sub, BD_ERR_MODEL, "out-degree %lld exceeds the %zu possible targets", kk, most);
            np->k = (uint32_t)kk;
        }
        free(v);
        if (st) return st;
        goto weights;
    }
    if ((st = bd_mr_spec_parse(R, i->conn_value, pr->env, o, sub, &v))) return st;
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
        } else if (!(st = bd_mr_spec_num(R, v, o, sub, &x)) && (!(x >= 1 && x <= (double)npre - 1) || x != floor(x))) {
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
        if (!(st = bd_mr_spec_parse(R, i->weight.a, pr->env, o, ".weight", &root))) {
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
