/* `bdyn integrate`: integrates a bare system of equations (a system file, docs/integrate.md) with a
 * chosen method on a device and writes the trajectories (NPY), a manifest and a traces figure. */
#include "cli.h"
#include "figure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bdyn integrate SYSTEM.json [--method M] [--dt T] [--duration T] [--t0 T] [--n N]\n"
    "                      [--record-every T] [--atol X] [--rtol X] [--alpha A] [--memory STEPS]\n"
    "                      [--seed S] [--precision f32|f64] [--device NAME] [--threads N] [--out DIR]\n"
    "       bdyn integrate --list-methods\n"
    "Times are numbers of ms or quantities such as \"10 ms\"; options override the file's \"integrate\" object.\n";

static int list_methods(void)
{
    for (const char *const *m = bd_integrate_methods(); *m; m++) {
        const char *doc = bd_integrate_method_doc(*m);
        printf("%-16s %s\n", *m, doc ? doc : "");
    }
    return 0;
}

static int parse_count(const char *text, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '-' || end == text || *end) return -1;
    *out = (size_t)v;
    return 0;
}

/* The file name without folders and extension, for the manifest. */
static void stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    snprintf(out, cap, "%s", base ? base + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

static int write_figure(const bd_trajectory *tr, const char *out)
{
    size_t panels = tr->nvars < 16 ? tr->nvars : 16, curves = tr->n < 5 ? tr->n : 5;
    char path[4096];
    snprintf(path, sizeof path, "%s/traces.png", out);
    return figure_traces(path, tr->t, tr->nrec, (const double *const *)tr->x, panels, curves, tr->n);
}

int cmd_integrate(int argc, char **argv)
{
    const char *file = NULL, *out = "bdyn-integrate", *method = NULL, *precision = NULL;
    const char *times[4] = {NULL}; /* dt, duration, t0, record_every */
    const char *reals[3] = {NULL}; /* atol, rtol, alpha */
    const char *counts[3] = {NULL}; /* n, memory, seed */
    char device[64] = "";
    int threads = 0;
    static const char *const time_opts[4] = {"--dt", "--duration", "--t0", "--record-every"};
    static const char *const real_opts[3] = {"--atol", "--rtol", "--alpha"};
    static const char *const count_opts[3] = {"--n", "--memory", "--seed"};
    for (int a = 1; a < argc; a++) {
        const char *o = argv[a];
        int more = a + 1 < argc, known = 0;
        if (strcmp(o, "--list-methods") == 0) return list_methods();
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) return fputs(usage, stdout), 0;
        if (o[0] != '-') {
            if (file) return cli_usage_error("integrate", "more than one system file ('%s', '%s')", file, o);
            file = o;
            continue;
        }
        if (!more) return cli_usage_error("integrate", "option '%s' needs a value\n%s", o, usage);
        for (int i = 0; i < 4; i++) if (strcmp(o, time_opts[i]) == 0) times[i] = argv[++a], known = 1;
        for (int i = 0; i < 3 && !known; i++) if (strcmp(o, real_opts[i]) == 0) reals[i] = argv[++a], known = 1;
        for (int i = 0; i < 3 && !known; i++) if (strcmp(o, count_opts[i]) == 0) counts[i] = argv[++a], known = 1;
        if (known) continue;
        if (strcmp(o, "--method") == 0) method = argv[++a];
        else if (strcmp(o, "--precision") == 0) precision = argv[++a];
        else if (strcmp(o, "--device") == 0) snprintf(device, sizeof device, "%s", argv[++a]);
        else if (strcmp(o, "--out") == 0) out = argv[++a];
        else if (strcmp(o, "--threads") == 0) threads = atoi(argv[++a]);
        else return cli_usage_error("integrate", "unknown option '%s'\n%s", o, usage);
    }
    if (!file) return cli_usage_error("integrate", "no system file given\n%s", usage);

    bd_system *sys = NULL;
    bd_integrate_opts opts;
    bd_status st = bd_system_load(file, &sys, &opts);
    if (st) return cli_fail("integrate", st);
    int rc = 2;
    double *time_dst[4] = {&opts.dt, &opts.duration, &opts.t0, &opts.record_every};
    double *real_dst[3] = {&opts.atol, &opts.rtol, &opts.alpha};
    size_t seed = 0, *count_dst[3] = {&opts.n, &opts.memory, &seed};
    for (int i = 0; i < 4; i++)
        if (times[i] && bd_quantity_in(times[i], "ms", time_dst[i]) != BD_OK) {
            cli_usage_error("integrate", "%s: %s", time_opts[i], bd_last_error());
            goto done;
        }
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        if (reals[i] && ((*real_dst[i] = strtod(reals[i], &end)), end == reals[i] || *end)) {
            cli_usage_error("integrate", "%s: '%s' is not a number", real_opts[i], reals[i]);
            goto done;
        }
    }
    for (int i = 0; i < 3; i++)
        if (counts[i] && parse_count(counts[i], count_dst[i]) != 0) {
            cli_usage_error("integrate", "%s: '%s' is not a non-negative integer", count_opts[i], counts[i]);
            goto done;
        }
    if (counts[2]) opts.seed = seed;
    if (method) opts.method = method;
    if (precision) {
        if (strcmp(precision, "f32") && strcmp(precision, "f64")) {
            cli_usage_error("integrate", "--precision must be f32 or f64, not '%s'", precision);
            goto done;
        }
        opts.precision = precision[2] == '2' ? BD_F32 : BD_F64;
    }
    if (!device[0]) bd_device_default(device, sizeof device);
    if (bd_dir_create(out) != BD_OK) {
        cli_usage_error("integrate", "%s", bd_last_error());
        goto done;
    }

    bd_device *dev = NULL;
    bd_trajectory *tr = NULL;
    char name[256];
    stem(file, name, sizeof name);
    rc = 1;
    st = bd_device_open(device, &dev);
    if (!st && threads > 0) st = bd_device_set_threads(dev, threads);
    if (!st) st = bd_integrate(dev, sys, &opts, &tr);
    if (!st) st = bd_trajectory_write(tr, out, name);
    if (st) {
        cli_fail("integrate", st);
    } else {
        if (write_figure(tr, out) != 0) fprintf(stderr, "bdyn integrate: warning: could not write %s/traces.png\n", out);
        printf("bdyn integrate: %s with %s on %s: %zu variable(s) x %zu element(s), %llu steps, %zu samples in "
               "%.3f s (compile %.3f s)",
               name, tr->method, tr->device, tr->nvars, tr->n, (unsigned long long)tr->steps, tr->nrec, tr->wall_s,
               tr->compile_s);
        if (tr->accepted || tr->rejected)
            printf(", %llu accepted / %llu rejected steps", (unsigned long long)tr->accepted,
                   (unsigned long long)tr->rejected);
        printf("; wrote %s/{manifest.json,t.npy,<variable>.npy,traces.png}\n", out);
        rc = 0;
    }
    bd_trajectory_free(tr);
    bd_device_close(dev);
done:
    bd_system_free(sys);
    return rc;
}
