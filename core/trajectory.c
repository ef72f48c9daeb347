/* Trajectories: freeing them, and writing them as NPY files and a manifest (docs/integrate.md). */
#include "bdyn/integrate.h"
#include "bdyn/io.h"
#include "error.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bd_trajectory_free(bd_trajectory *tr)
{
    if (!tr) return;
    for (size_t v = 0; v < tr->nvars; v++) {
        if (tr->x) free(tr->x[v]);
        if (tr->names) free(tr->names[v]);
        if (tr->units) free(tr->units[v]);
    }
    free(tr->t), free(tr->x), free(tr->names), free(tr->units);
    free(tr);
}

/* The manifest (docs/integrate.md), as text; NULL when out of memory. */
static char *manifest(const bd_trajectory *tr, const char *system_name)
{
    cJSON *m = cJSON_CreateObject(), *vars = cJSON_CreateArray();
    if (!m || !vars) {
        cJSON_Delete(m), cJSON_Delete(vars);
        return NULL;
    }
    cJSON_AddStringToObject(m, "format", "bdyn-trajectory");
    cJSON_AddNumberToObject(m, "version", 1);
    cJSON_AddStringToObject(m, "system", system_name ? system_name : "");
    cJSON_AddStringToObject(m, "method", tr->method);
    cJSON_AddStringToObject(m, "device", tr->device);
    cJSON_AddStringToObject(m, "precision", bd_dtype_name(tr->precision));
    const struct { const char *key; double v; } nums[] = {
        {"dt_ms", tr->dt}, {"t0_ms", tr->t0}, {"duration_ms", tr->duration}, {"record_every_ms", tr->record_every},
        {"atol", tr->atol}, {"rtol", tr->rtol}, {"n", (double)tr->n}, {"nrec", (double)tr->nrec},
        {"steps", (double)tr->steps}, {"accepted", (double)tr->accepted}, {"rejected", (double)tr->rejected},
        {"wall_s", tr->wall_s}, {"compile_s", tr->compile_s},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) cJSON_AddNumberToObject(m, nums[i].key, nums[i].v);
    cJSON *time = cJSON_AddObjectToObject(m, "time");
    if (time) {
        cJSON_AddStringToObject(time, "file", "t.npy");
        cJSON_AddStringToObject(time, "unit", "ms");
        const int shape1[1] = {(int)tr->nrec};
        cJSON_AddItemToObject(time, "shape", cJSON_CreateIntArray(shape1, 1));
    }
    for (size_t v = 0; v < tr->nvars; v++) {
        cJSON *o = cJSON_CreateObject();
        char file[256];
        snprintf(file, sizeof file, "%s.npy", tr->names[v]);
        const int shape2[2] = {(int)tr->nrec, (int)tr->n};
        cJSON_AddStringToObject(o, "name", tr->names[v]);
        cJSON_AddStringToObject(o, "unit", tr->units[v]);
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddItemToObject(o, "shape", cJSON_CreateIntArray(shape2, 2));
        cJSON_AddItemToArray(vars, o);
    }
    cJSON_AddItemToObject(m, "variables", vars);
    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    return text;
}

bd_status bd_trajectory_write(const bd_trajectory *tr, const char *dir, const char *system_name)
{
    if (!tr || !dir) return bd_fail(BD_ERR_INVALID_ARG, "bd_trajectory_write: NULL argument");
    bd_status dst = bd_dir_create(dir);
    if (dst) return bd_fail_context(dst, "bd_trajectory_write");
    size_t cap = strlen(dir) + 64;
    for (size_t v = 0; v < tr->nvars; v++)
        if (strlen(dir) + strlen(tr->names[v]) + 8 > cap) cap = strlen(dir) + strlen(tr->names[v]) + 8;
    char *path = malloc(cap), *text = manifest(tr, system_name);
    bd_status st = path && text ? BD_OK : bd_fail(BD_ERR_NOMEM, "out of memory");
    size_t shape[2] = {tr->nrec, tr->n};
    if (!st) {
        snprintf(path, cap, "%s/t.npy", dir);
        st = bd_npy_write(path, BD_F64, 1, shape, tr->t);
    }
    for (size_t v = 0; v < tr->nvars && !st; v++) {
        snprintf(path, cap, "%s/%s.npy", dir, tr->names[v]);
        st = bd_npy_write(path, BD_F64, 2, shape, tr->x[v]);
    }
    if (!st) {
        snprintf(path, cap, "%s/manifest.json", dir);
        st = bd_file_write_atomic(path, text, strlen(text));
    }
    cJSON_free(text);
    free(path);
    return st ? bd_fail_context(st, "bd_trajectory_write to '%s'", dir) : BD_OK;
}
