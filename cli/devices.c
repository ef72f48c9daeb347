/* `bdyn devices`: the device table, or a JSON array with --json. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static void print_missing_backends(FILE *f)
{
    for (unsigned k = BD_BACKEND_OPENCL; k <= BD_BACKEND_VULKAN; k++) {
        const char *why = "";
        if (bd_backend_status((bd_backend_kind)k, &why) != BD_OK)
            fprintf(f, "note: no %s devices: %s\n", bd_backend_name((bd_backend_kind)k), why);
    }
}

static int print_json(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < bd_device_count(); i++) {
        bd_device_info info;
        if (bd_device_info_get(i, &info) != BD_OK) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", info.name);
        cJSON_AddStringToObject(o, "backend", bd_backend_name(info.backend));
        cJSON_AddStringToObject(o, "description", info.description);
        cJSON_AddStringToObject(o, "vendor", info.vendor);
        cJSON_AddStringToObject(o, "device_type", bd_device_type_name(info.device_type));
        cJSON_AddNumberToObject(o, "memory_bytes", (double)info.memory_bytes);
        cJSON_AddNumberToObject(o, "max_alloc_bytes", (double)info.max_alloc_bytes);
        if (info.max_binding_bytes == UINT64_MAX) cJSON_AddNullToObject(o, "max_binding_bytes"); /* no limit */
        else cJSON_AddNumberToObject(o, "max_binding_bytes", (double)info.max_binding_bytes);
        cJSON_AddBoolToObject(o, "fp64", info.fp64);
        cJSON_AddBoolToObject(o, "float_atomics", info.float_atomics);
        cJSON_AddNumberToObject(o, "max_workgroup", info.max_workgroup);
        cJSON_AddNumberToObject(o, "subgroup_size", info.subgroup_size);
        cJSON_AddNumberToObject(o, "compute_units", info.compute_units);
        cJSON_AddStringToObject(o, "driver", info.driver);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!text) {
        fprintf(stderr, "bdyn devices: out of memory\n");
        return 1;
    }
    puts(text);
    cJSON_free(text);
    print_missing_backends(stderr);
    return 0;
}

int cmd_devices(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else return cli_usage_error("devices", "unknown option '%s' (expected --json)", argv[i]);
    }
    if (json) return print_json();
    printf("%-10s %-7s %-14s %-44s %9s %5s %6s %4s  %s\n", "name", "backend", "type", "description", "memory",
           "fp64", "wgmax", "sub", "driver");
    for (size_t i = 0; i < bd_device_count(); i++) {
        bd_device_info d;
        if (bd_device_info_get(i, &d) != BD_OK) continue;
        printf("%-10s %-7s %-14s %-44.44s %6.1f GiB %5s %6u %4u  %s\n", d.name, bd_backend_name(d.backend),
               bd_device_type_name(d.device_type), d.description, (double)d.memory_bytes / (1 << 30),
               d.fp64 ? "yes" : "no", d.max_workgroup, d.subgroup_size, d.driver);
    }
    print_missing_backends(stdout);
    return 0;
}
