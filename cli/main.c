/* bdyn: the command-line entry point; dispatches to the subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: bdyn <command> [options]\n"
    "\n"
    "commands:\n"
    "  devices [--json]                         list the cpu, OpenCL and Vulkan devices\n"
    "  demo [--device NAME] [--out DIR] [--steps N] [--threads N]\n"
    "                                           run a small LIF network built from kernel IR and\n"
    "                                           event-driven operators; write spikes (NPY) and a raster (PNG)\n"
    "  integrate SYSTEM.json [--method M] [--dt T] [--duration T] [--device NAME] [--out DIR] ...\n"
    "                                           integrate a system of equations (docs/integrate.md);\n"
    "                                           write trajectories (NPY), a manifest and traces (PNG)\n"
    "  run MODEL.json [--device NAME] [--duration T] [--out DIR] [--checkpoint FILE] [--resume FILE] ...\n"
    "                                           run a network model (docs/runner.md); write spikes, traces\n"
    "                                           and rates (NPY), figures (PNG) and a manifest\n"
    "  check MODEL.json                         validate a model file (docs/model-format.md) and summarise it;\n"
    "                                           exit 2 with file:line:col and the JSON path when it is invalid\n"
    "  measure MEASURE INPUT [--json] [--out FILE.npy] ...\n"
    "                                           rate, raster, cv, fano, coherence, synchrony, fc or spectrum\n"
    "                                           of a run's monitor (docs/measures.md)\n"
    "  list-types [NAME] [--kind K] [--markdown] list the built-in types: kind, doc, parameters, equations\n"
    "  version                                  print the version\n";

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bdyn %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

int cli_fail(const char *cmd, bd_status st)
{
    fprintf(stderr, "bdyn %s: %s: %s\n", cmd, bd_status_name(st), bd_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "devices") == 0) return cmd_devices(argc - 1, argv + 1);
    if (strcmp(argv[1], "demo") == 0) return cmd_demo(argc - 1, argv + 1);
    if (strcmp(argv[1], "integrate") == 0) return cmd_integrate(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0) return cmd_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "measure") == 0) return cmd_measure(argc - 1, argv + 1);
    if (strcmp(argv[1], "list-types") == 0) return cmd_list_types(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0) {
        printf("bdyn %s\n", BDYN_VERSION);
        return 0;
    }
    fprintf(stderr, "bdyn: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
