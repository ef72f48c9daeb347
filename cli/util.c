/* Small helpers shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

void cli_default_device(char *name, size_t cap)
{
    int best = -1;
    snprintf(name, cap, "cpu");
    for (size_t i = 0; i < bd_device_count(); i++) {
        bd_device_info d;
        if (bd_device_info_get(i, &d) != BD_OK) continue;
        int rank = d.device_type == BD_DEVICE_GPU_DISCRETE ? 2 : d.device_type == BD_DEVICE_GPU_INTEGRATED ? 1 : -1;
        if (rank > best) {
            best = rank;
            snprintf(name, cap, "%s", d.name);
        }
    }
}

int cli_ensure_dir(const char *dir)
{
    /* like mkdir -p: every missing folder along the path */
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int ok = mkdir(path, 0755) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok) return -1;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}
