/* `bdyn run MODEL.json`: resolves a network model, runs it on a device (include/bdyn/run.h) and writes
 * the monitors (NPY), a raster / traces / rate figure per monitor and the manifest (docs/runner.md);
 * optionally resumes from a checkpoint and saves one at the end. */
#include "cli.h"
#include "figure.h"
#include "bdyn/model.h"
#include "bdyn/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: bdyn run MODEL.json [--device NAME] [--duration T] [--dt T] [--seed N] [--threads N]\n"
    "                           [--precision f32|f64] [--out DIR] [--checkpoint FILE] [--resume FILE]\n"
    "                           [--deterministic]\n"
    "  --duration, --dt  quantities such as \"500 ms\" or \"0.05 ms\" (bare numbers are ms)\n"
    "  --checkpoint FILE save the full state at the end of the run (to resume from later)\n"
    "  --resume FILE     continue from a checkpoint of the same model up to the duration\n"
    "  --out DIR         result folder (default bdyn-run): manifest.json, <monitor>.npy ..., figures\n"
    "  --deterministic   bit-identical spike trains and states on every device and thread count (events are\n"
    "                    pulled in a fixed order; slower on the cpu, see docs/runner.md)\n";

/* A progress bar on a terminal: redrawn when the percentage changes. */
static void progress(void *user, uint64_t step, uint64_t total)
{
    int *last = user;
    int pct = total ? (int)(100 * step / total) : 100;
    if (pct == *last) return;
    *last = pct;
    char bar[41];
    for (int k = 0; k < 40; k++) bar[k] = k < pct * 40 / 100 ? '#' : '.';
    bar[40] = 0;
    fprintf(stderr, "\r[%s] %3d%% %llu/%llu steps", bar, pct, (unsigned long long)step, (unsigned long long)total);
    if (step >= total) fputc('\n', stderr);
    fflush(stderr);
}

/* A bare number is ms; otherwise the quantity text as given (the model resolves its units). */
static const char *as_ms(const char *text, char *buf, size_t cap)
{
    char *end;
    strtod(text, &end);
    if (end != text && *end == 0) {
        snprintf(buf, cap, "%s ms", text);
        return buf;
    }
    return text;
}

static void write_figures(const bd_run *r, const char *out)
{
    double t_end = (double)bd_run_step(r) * bd_run_dt(r);
    for (int m = 0; m < bd_run_monitor_count(r); m++) {
        bd_run_monitor mo;
        if (bd_run_monitor_get(r, m, &mo)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.png", out, mo.name);
        int rc = 0;
        if (mo.kind == BD_RUN_SPIKES) {
            rc = figure_raster(path, mo.i, mo.t, mo.n, (int32_t)mo.pop_size, t_end, (int32_t)mo.pop_size);
        } else if (mo.n > 1) {
            /* a variable monitor: one panel per recorded element (the first 8); a rate: one panel */
            size_t panels = mo.kind == BD_RUN_VAR ? (mo.cols < 8 ? mo.cols : 8) : 1;
            const double *y[8];
            for (size_t v = 0; v < panels; v++) y[v] = mo.x + v;
            rc = figure_traces(path, mo.t, mo.n, y, panels, 1, mo.kind == BD_RUN_VAR ? mo.cols : 1);
        }
        if (rc) fprintf(stderr, "bdyn run: warning: could not write %s\n", path);
    }
}

int cmd_run(int argc, char **argv)
{
    const char *file = NULL, *device = NULL, *duration = NULL, *dt = NULL, *seed = NULL, *precision = NULL;
    const char *out = "bdyn-run", *ckpt = NULL, *resume = NULL;
    int threads = 0, deterministic = 0;
    for (int a = 1; a < argc; a++) {
        const char *o = argv[a];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) return fputs(usage, stdout), 0;
        if (strcmp(o, "--deterministic") == 0) {
            deterministic = 1;
            continue;
        }
        if (o[0] != '-') {
            if (file) return cli_usage_error("run", "more than one model file ('%s', '%s')\n%s", file, o, usage);
            file = o;
            continue;
        }
        if (a + 1 >= argc) return cli_usage_error("run", "option '%s' needs a value\n%s", o, usage);
        const char *v = argv[++a];
        if (strcmp(o, "--device") == 0) device = v;
        else if (strcmp(o, "--duration") == 0) duration = v;
        else if (strcmp(o, "--dt") == 0) dt = v;
        else if (strcmp(o, "--seed") == 0) seed = v;
        else if (strcmp(o, "--threads") == 0) threads = atoi(v);
        else if (strcmp(o, "--precision") == 0) precision = v;
        else if (strcmp(o, "--out") == 0) out = v;
        else if (strcmp(o, "--checkpoint") == 0) ckpt = v;
        else if (strcmp(o, "--resume") == 0) resume = v;
        else return cli_usage_error("run", "unknown option '%s'\n%s", o, usage);
    }
    if (!file) return cli_usage_error("run", "no model file\n%s", usage);
    if (threads < 0) return cli_usage_error("run", "--threads must be >= 0");
    if (precision && strcmp(precision, "f32") && strcmp(precision, "f64"))
        return cli_usage_error("run", "--precision must be f32 or f64, got '%s'", precision);

    bd_model *m = NULL;
    bd_run *r = NULL;
    char buf[2][128];
    bd_status st = bd_model_load(file, &m);
    if (!st && dt) st = bd_model_set(m, "dt", as_ms(dt, buf[0], sizeof buf[0]));
    if (!st && duration) st = bd_model_set(m, "duration", as_ms(duration, buf[1], sizeof buf[1]));
    if (!st && seed) st = bd_model_set(m, "seed", seed);
    if (!st && precision) st = bd_model_set(m, "precision", precision);
    int last = -1;
    bd_run_opts o;
    bd_run_opts_init(&o);
    if (isatty(fileno(stderr))) o.progress = progress, o.user = &last;
    o.deterministic = deterministic;
    if (!st) st = bd_run_open(m, device, threads, &o, &r);
    if (!st && resume) st = bd_run_restore(r, resume);
    if (!st) st = bd_run_to_end(r);
    if (!st && ckpt) st = bd_run_save(r, ckpt);
    int rc = 0;
    if (!st && bd_dir_create(out) != BD_OK) {
        rc = cli_usage_error("run", "%s", bd_last_error());
    } else if (!st) {
        write_figures(r, out);
        st = bd_run_write(r, out);
    }
    if (st) {
        rc = cli_fail("run", st);
    } else if (!rc) {
        double setup, compile, wall;
        bd_run_times(r, &setup, &compile, &wall);
        uint64_t steps = bd_run_step(r);
        printf("bdyn run %s on %s: %llu steps in %.3f s wall (setup %.3f s, compile %.3f s)", bd_run_model_name(r),
               bd_run_device_name(r), (unsigned long long)steps, wall, setup, compile);
        double secs = (double)(steps - bd_run_start_step(r)) * bd_run_dt(r) * 1e-3; /* spikes count since a resume */
        for (int p = 0; p < bd_run_pop_count(r); p++) {
            uint64_t n = 0;
            size_t size = 1;
            bd_run_pop_spikes(r, p, &n, &size);
            printf("%s %s: %llu spikes (%.2f Hz)", p ? "," : ";", bd_run_pop_name(r, p), (unsigned long long)n,
                   secs > 0 ? (double)n / ((double)size * secs) : 0.0);
        }
        printf("; wrote %s/manifest.json%s%s\n", out, ckpt ? " and " : "", ckpt ? ckpt : "");
    }
    bd_run_free(r);
    bd_model_free(m);
    return rc;
}
