/* `bdyn measure MEASURE INPUT`: the measures of include/bdyn/measure.h (docs/measures.md) on a monitor of a
 * `bdyn run` result folder (its NPY files, with N, dt and the time grid from manifest.json) or on plain NPY
 * files. Prints a readable summary, or one JSON object with --json; --out writes the result arrays as NPY
 * (atomically, through bd_npy_write). */
#include "cli.h"
#include "bdyn/measure.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bdyn measure MEASURE INPUT [options]\n"
    "measures (docs/measures.md):\n"
    "  rate       spikes  population firing rate per step (Hz), box window --window (default 5 ms)\n"
    "  raster     spikes -> (steps x N) spike-count matrix; a (steps x N) matrix -> index/time pairs\n"
    "  cv         spikes  ISI coefficient of variation per neuron and its mean (neurons with >= 3 spikes)\n"
    "  fano       spikes  Fano factor of spike counts in bins of --bin (default 100 ms)\n"
    "  coherence  spikes  spike-train coherence kappa (Wang & Buzsaki 1996), bins of --bin (default 5 ms)\n"
    "  synchrony  traces  voltage-fluctuation synchrony chi^2 = Var(mean V) / mean Var(V_i) (Golomb 2007)\n"
    "  fc         traces  functional connectivity: the Pearson correlation matrix of the columns\n"
    "  spectrum   rate    power spectral density of a population rate (a spike input: its rate, --window);\n"
    "                     periodogram, or Welch with --segment T; peak frequency in [--fmin, --fmax]\n"
    "INPUT: a monitor of a `bdyn run` folder, DIR/<monitor> (DIR/<monitor>_i.npy and _t.npy for spikes,\n"
    "       DIR/<monitor>.npy and _t.npy for variables and rates; DIR/manifest.json gives N, dt and the\n"
    "       time grid), or NPY files of the same layout without a manifest (then give --dt, and --n for rates)\n"
    "options:\n"
    "  --n N             population size (default: the manifest's; else 1 + the largest index)\n"
    "  --dt T            time step or sample interval (default: the manifest's, else from <input>_t.npy)\n"
    "  --t0 T            time of the first step (default: the manifest's, else dt: the runner stamps a\n"
    "                    step's spikes with its end time)\n"
    "  --duration T      length of the time grid for spike inputs (default: the manifest's steps, else up to\n"
    "                    the last spike)\n"
    "  --window T, --bin T, --segment T, --fmin F, --fmax F   (times: \"5 ms\", \"0.1 s\" or bare ms; F in Hz)\n"
    "  --json            print one JSON object instead of text\n"
    "  --out FILE.npy    write the result: FILE.npy, and its axis as FILE_t.npy (times) or FILE_f.npy\n"
    "                    (frequencies); a raster of pairs as FILE_i.npy and FILE_t.npy\n";

#define CMD "measure"

/* ------------------------------------------------------------------------------------------------ */
/* NPY reading (the writer is the library's bd_npy_write)                                           */

typedef struct array {
    double *v;
    size_t rows, cols; /* cols = 1 for 1-D arrays */
    int ndim;
} array;

static void array_free(array *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Reads a C-order NPY array (versions 1-3; little-endian f8, f4, i8, i4, u4, u1 and bool) of up to 2
 * dimensions as doubles. 0, or 1 with a message in err that names the path. */
static int npy_read(const char *path, array *a, char *err, size_t cap)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, cap, "cannot read '%s': %s", path, strerror(errno)), 1;
    unsigned char head[12];
    char *hdr = NULL;
    int rc = 1;
    size_t hl = 0;
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0 || head[6] < 1 || head[6] > 3) {
        snprintf(err, cap, "'%s' is not an NPY file", path);
        goto done;
    }
    hl = (size_t)head[8] | (size_t)head[9] << 8;
    if (head[6] >= 2) { /* versions 2 and 3: a 4-byte header length */
        if (fread(head + 10, 1, 2, f) != 2) {
            snprintf(err, cap, "'%s': truncated NPY header", path);
            goto done;
        }
        hl |= (size_t)head[10] << 16 | (size_t)head[11] << 24;
    }
    if (hl > (1u << 20) || !(hdr = malloc(hl + 1)) || fread(hdr, 1, hl, f) != hl) {
        snprintf(err, cap, "'%s': bad NPY header", path);
        goto done;
    }
    hdr[hl] = '\0';
    const char *d = strstr(hdr, "'descr':"), *sh = strstr(hdr, "'shape':");
    if (!d || !sh || strstr(hdr, "'fortran_order': True")) {
        snprintf(err, cap, "'%s': expected a C-order NPY array", path);
        goto done;
    }
    d = strchr(d + 8, '\'');
    char descr[8] = "";
    if (d) snprintf(descr, sizeof descr, "%.*s", (int)strcspn(d + 1, "'"), d + 1);
    static const char *const kinds[] = {"<f8", "<f4", "<i8", "<i4", "<u4", "|u1", "|b1"};
    static const size_t sizes[] = {8, 4, 8, 4, 4, 1, 1};
    int kind = -1;
    for (int k = 0; k < 7; k++)
        if (strcmp(descr, kinds[k]) == 0) kind = k;
    if (kind < 0) {
        snprintf(err, cap, "'%s': dtype '%s' not supported (float64/32, int64/32, uint32/8, bool)", path, descr);
        goto done;
    }
    sh = strchr(sh, '(');
    size_t dims[3] = {1, 1, 1};
    int nd = 0;
    for (const char *p = sh ? sh + 1 : ""; *p && *p != ')';) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || nd == 3) {
            nd = 3;
            break;
        }
        dims[nd++] = (size_t)v;
        p = end;
    }
    if (!sh || nd > 2) {
        snprintf(err, cap, "'%s': expected a 1-D or 2-D array", path);
        goto done;
    }
    a->ndim = nd;
    a->rows = nd ? dims[0] : 1;
    a->cols = nd == 2 ? dims[1] : 1;
    size_t count = a->rows * a->cols, es = sizes[kind];
    if (a->cols && count / a->cols != a->rows) {
        snprintf(err, cap, "'%s': shape too large", path);
        goto done;
    }
    unsigned char *raw = malloc(count * es + 1);
    a->v = malloc((count ? count : 1) * sizeof *a->v);
    if (!raw || !a->v) {
        free(raw);
        snprintf(err, cap, "'%s': out of memory for %zu values", path, count);
        goto done;
    }
    if (fread(raw, es, count, f) != count) {
        free(raw);
        snprintf(err, cap, "'%s': file shorter than its shape (%zu values)", path, count);
        goto done;
    }
    for (size_t k = 0; k < count; k++) {
        const unsigned char *b = raw + k * es;
        uint64_t u = 0;
        for (int j = (int)es - 1; j >= 0; j--) u = u << 8 | b[j];
        double x;
        switch (kind) {
        case 0: memcpy(&x, &u, 8); break;
        case 1: {
            uint32_t w = (uint32_t)u;
            float y;
            memcpy(&y, &w, 4);
            x = y;
            break;
        }
        case 2: x = (double)(int64_t)u; break;
        case 3: x = (double)(int32_t)(uint32_t)u; break;
        default: x = (double)u; break;
        }
        a->v[k] = x;
    }
    free(raw);
    rc = 0;
done:
    free(hdr);
    fclose(f);
    if (rc) array_free(a);
    return rc;
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* Inputs                                                                                           */

typedef struct opts {
    const char *measure, *input, *out;
    long long n;               /* -1: not given */
    double dt, t0, duration;   /* NAN: not given */
    double window, bin, segment, fmin, fmax;
    int json;
} opts;

typedef struct input {
    char stem[4096], name[256];
    int spikes;          /* a spike train (idx, t) or a signal matrix x */
    int32_t *idx;
    double *t;
    size_t count;
    array x, xt;         /* signals (samples x signals) and their times, if a _t file exists */
    /* from the manifest, when there is one */
    int manifest;
    char kind[16], pop[256];
    long long pop_size, start_step, steps;
    double dt, every;
} input;

static void input_free(input *in)
{
    free(in->idx), free(in->t);
    array_free(&in->x), array_free(&in->xt);
}

static int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bdyn " CMD ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* The monitor's entry of DIR/manifest.json: kind, population size, dt and the grid. 0 when there is none. */
static int read_manifest(input *in, char *err, size_t cap)
{
    char dir[4096], path[4200];
    const char *slash = strrchr(in->stem, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - in->stem) : 1, slash ? in->stem : ".");
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!text || got != (size_t)len) {
        free(text);
        return snprintf(err, cap, "cannot read '%s'", path), -1;
    }
    text[len] = '\0';
    cJSON *m = cJSON_Parse(text);
    free(text);
    if (!m) return snprintf(err, cap, "'%s' is not valid JSON", path), -1;
    const cJSON *mons = cJSON_GetObjectItemCaseSensitive(m, "monitors"), *mon = NULL, *it;
    cJSON_ArrayForEach(it, mons) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (cJSON_IsString(nm) && strcmp(nm->valuestring, in->name) == 0) mon = it;
    }
    int rc = 0;
    if (mon) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(mon, "kind"), *pop = cJSON_GetObjectItemCaseSensitive(mon, "population");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(m, "dt_ms"), *ss = cJSON_GetObjectItemCaseSensitive(m, "start_step");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "steps"), *ev = cJSON_GetObjectItemCaseSensitive(mon, "every_ms");
        const cJSON *pops = cJSON_GetObjectItemCaseSensitive(m, "populations");
        const cJSON *pe = cJSON_IsString(pop) ? cJSON_GetObjectItemCaseSensitive(pops, pop->valuestring) : NULL;
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(pe, "size");
        if (!cJSON_IsString(kind) || !cJSON_IsNumber(dt) || !cJSON_IsNumber(st) || !cJSON_IsNumber(size)) {
            snprintf(err, cap, "'%.4000s': monitor '%.100s' lacks kind, population size, dt_ms or steps", path, in->name);
            rc = -1;
        } else {
            in->manifest = 1;
            snprintf(in->kind, sizeof in->kind, "%s", kind->valuestring);
            snprintf(in->pop, sizeof in->pop, "%s", pop->valuestring);
            in->pop_size = (long long)size->valuedouble;
            in->dt = dt->valuedouble;
            in->start_step = cJSON_IsNumber(ss) ? (long long)ss->valuedouble : 0;
            in->steps = (long long)st->valuedouble;
            in->every = cJSON_IsNumber(ev) ? ev->valuedouble : dt->valuedouble;
        }
    }
    cJSON_Delete(m);
    return rc;
}

/* Finds the monitor's files: DIR/<name>_i.npy + _t.npy (spikes) or DIR/<name>.npy (+ _t.npy). INPUT may
 * also name one of those files. */
static int load_input(const char *arg, input *in)
{
    memset(in, 0, sizeof *in);
    char err[4400];
    snprintf(in->stem, sizeof in->stem, "%s", arg);
    size_t len = strlen(in->stem);
    int file = len > 4 && strcmp(in->stem + len - 4, ".npy") == 0;
    if (file) in->stem[len -= 4] = '\0';
    /* OUT/spikes_E_i.npy or _t.npy names the spike monitor OUT/spikes_E */
    if (file && len > 2 && (!strcmp(in->stem + len - 2, "_i") || !strcmp(in->stem + len - 2, "_t"))) {
        char base[4096], a[4200], b[4200];
        snprintf(base, sizeof base, "%.*s", (int)(len - 2), in->stem);
        snprintf(a, sizeof a, "%s_i.npy", base), snprintf(b, sizeof b, "%s_t.npy", base);
        if (exists(a) && exists(b)) snprintf(in->stem, sizeof in->stem, "%s", base);
    }
    const char *slash = strrchr(in->stem, '/');
    snprintf(in->name, sizeof in->name, "%s", slash ? slash + 1 : in->stem);
    char ipath[4200], tpath[4200], xpath[4200];
    snprintf(ipath, sizeof ipath, "%s_i.npy", in->stem);
    snprintf(tpath, sizeof tpath, "%s_t.npy", in->stem);
    snprintf(xpath, sizeof xpath, "%s.npy", in->stem);
    in->spikes = exists(ipath) && !(file && exists(xpath));
    if (!in->spikes && !exists(xpath)) {
        if (file) return fail_msg("cannot read '%s': %s", arg, strerror(ENOENT));
        return fail_msg("no monitor files for '%s': neither '%s' (spikes) nor '%s' exists", arg, ipath, xpath);
    }
    if (read_manifest(in, err, sizeof err) < 0) return fail_msg("%s", err);
    if (in->spikes) {
        array ai, at;
        if (npy_read(ipath, &ai, err, sizeof err)) return fail_msg("%s", err);
        if (npy_read(tpath, &at, err, sizeof err)) return array_free(&ai), fail_msg("%s", err);
        size_t n = ai.rows * ai.cols;
        if (ai.ndim != 1 || at.ndim != 1 || at.rows != n) {
            fail_msg("'%s' and '%s' must be 1-D arrays of equal length (%zu and %zu values)", ipath, tpath, n, at.rows * at.cols);
            return array_free(&ai), array_free(&at), 1;
        }
        in->idx = malloc((n ? n : 1) * sizeof *in->idx);
        if (!in->idx) return array_free(&ai), array_free(&at), fail_msg("out of memory");
        for (size_t k = 0; k < n; k++) {
            double v = ai.v[k];
            if (!(v >= 0 && v <= 2147483647.0 && v == floor(v))) {
                fail_msg("'%s': entry %zu is %g, not a neuron index", ipath, k, v);
                return array_free(&ai), array_free(&at), 1;
            }
            in->idx[k] = (int32_t)v;
        }
        in->t = at.v, in->count = n;
        array_free(&ai);
        return 0;
    }
    if (npy_read(xpath, &in->x, err, sizeof err)) return fail_msg("%s", err);
    if (exists(tpath) && npy_read(tpath, &in->xt, err, sizeof err)) return fail_msg("%s", err);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Settings derived from the options and the manifest                                               */

static int need_spikes(const input *in, const char *measure)
{
    if (in->spikes) return 0;
    return fail_msg("%s needs a spike monitor (<name>_i.npy and <name>_t.npy); '%s' is %s%s%s", measure, in->stem,
                    in->manifest ? "a " : "a signal (", in->manifest ? in->kind : "<name>.npy)",
                    in->manifest ? " monitor" : "");
}

/* The spike grid: the manifest's run (t0 = (start_step + 1) dt, its steps), or dt/t0/duration options, or up
 * to the last spike. */
static int spike_grid(const input *in, const opts *o, bd_time_grid *g)
{
    g->dt_ms = !isnan(o->dt) ? o->dt : in->manifest ? in->dt : NAN;
    if (isnan(g->dt_ms)) return fail_msg("'%s' has no manifest: give the time step with --dt", in->stem);
    if (!(g->dt_ms > 0)) return fail_msg("--dt must be > 0");
    g->t0_ms = !isnan(o->t0) ? o->t0 : in->manifest && isnan(o->dt) ? (double)(in->start_step + 1) * in->dt : g->dt_ms;
    if (!isnan(o->duration)) {
        double s = floor(o->duration / g->dt_ms + 0.5);
        if (!(s >= 1)) return fail_msg("--duration must be at least one step");
        g->steps = (size_t)s;
    } else if (in->manifest && isnan(o->dt) && isnan(o->t0)) {
        g->steps = (size_t)(in->steps > 0 ? in->steps : 0);
    } else {
        double last = g->t0_ms;
        for (size_t k = 0; k < in->count; k++)
            if (in->t[k] > last) last = in->t[k];
        g->steps = (size_t)floor((last - g->t0_ms) / g->dt_ms + 0.5) + 1;
    }
    if (!g->steps) return fail_msg("'%s': the run has 0 steps", in->stem);
    return 0;
}

static long long pop_size(const input *in, const opts *o, int *guessed)
{
    *guessed = 0;
    if (o->n >= 0) return o->n;
    if (in->manifest) return in->pop_size;
    long long n = 0;
    for (size_t k = 0; k < in->count; k++)
        if (in->idx[k] + 1LL > n) n = in->idx[k] + 1LL;
    *guessed = 1;
    if (!o->json) fprintf(stderr, "bdyn " CMD ": warning: population size unknown (no manifest); taking 1 + the largest "
                                  "index = %lld (give --n)\n", n);
    return n;
}

/* The sample interval of a signal: --dt, the manifest (every_ms of a var monitor, dt of a rate), or the
 * spacing of <name>_t.npy. */
static double sample_dt(const input *in, const opts *o)
{
    if (!isnan(o->dt)) return o->dt;
    if (in->manifest) return in->every;
    if (in->xt.v && in->xt.rows * in->xt.cols >= 2) return in->xt.v[1] - in->xt.v[0];
    return NAN;
}

/* ------------------------------------------------------------------------------------------------ */
/* Output                                                                                           */

/* FILE.npy -> FILE<suffix>.npy */
static void out_path(const char *out, const char *suffix, char *buf, size_t cap)
{
    size_t len = strlen(out);
    if (len > 4 && strcmp(out + len - 4, ".npy") == 0) len -= 4;
    snprintf(buf, cap, "%.*s%s.npy", (int)len, out, suffix);
}

static int write_npy(const opts *o, const char *suffix, bd_dtype t, int ndim, size_t a, size_t b, const void *data,
                     cJSON *files)
{
    char path[4200];
    out_path(o->out, suffix, path, sizeof path);
    size_t shape[2] = {a, b};
    static const double none = 0;
    /* missing parent folders are created, as `bdyn run --out` does */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    bd_status st = BD_OK;
    if (slash && slash != dir) *slash = '\0', st = bd_dir_create(dir);
    if (!st) st = bd_npy_write(path, t, ndim, shape, data ? data : &none);
    if (st) return cli_fail(CMD, st);
    if (files) cJSON_AddItemToArray(files, cJSON_CreateString(path));
    return 0;
}

static int finish(const opts *o, cJSON *j)
{
    if (o->json) {
        char *s = cJSON_Print(j);
        if (s) printf("%s\n", s);
        cJSON_free(s);
    }
    cJSON_Delete(j);
    return 0;
}

static cJSON *header(const opts *o, const input *in)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "measure", o->measure);
    cJSON_AddStringToObject(j, "input", o->input);
    cJSON_AddStringToObject(j, "monitor", in->name);
    if (in->manifest) cJSON_AddStringToObject(j, "population", in->pop);
    return j;
}

static void add_grid(cJSON *j, const bd_time_grid *g, long long n, size_t spikes)
{
    cJSON_AddNumberToObject(j, "n", (double)n);
    cJSON_AddNumberToObject(j, "dt_ms", g->dt_ms);
    cJSON_AddNumberToObject(j, "t0_ms", g->t0_ms);
    cJSON_AddNumberToObject(j, "steps", (double)g->steps);
    cJSON_AddNumberToObject(j, "spikes", (double)spikes);
}

/* ------------------------------------------------------------------------------------------------ */
/* The measures                                                                                     */

static int m_rate(const opts *o, const input *in)
{
    if (need_spikes(in, "rate")) return 1;
    bd_time_grid g;
    int guessed;
    if (spike_grid(in, o, &g)) return 1;
    long long n = pop_size(in, o, &guessed);
    double width = isnan(o->window) ? 5 : o->window;
    double *r = malloc(g.steps * sizeof *r), *t = malloc(g.steps * sizeof *t);
    if (!r || !t) return free(r), free(t), fail_msg("out of memory");
    bd_status st = bd_measure_rate(in->idx, in->t, in->count, (size_t)(n > 0 ? n : 0), &g, width, r);
    if (st) return free(r), free(t), cli_fail(CMD, st);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < g.steps; k++) {
        lo = fmin(lo, r[k]), hi = fmax(hi, r[k]);
        t[k] = bd_time_grid_time(&g, k);
    }
    /* the mean over the whole run, from the total count (the smoothed mean differs at the edges) */
    double overall = (double)in->count / ((double)n * (double)g.steps * g.dt_ms * 1e-3);
    size_t bins = 2 * (size_t)floor(width / (2 * g.dt_ms) + 1e-9) + 1;
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    add_grid(j, &g, n, in->count);
    cJSON_AddNumberToObject(j, "window_ms", width);
    cJSON_AddNumberToObject(j, "window_bins", (double)bins);
    cJSON_AddNumberToObject(j, "mean_rate_hz", overall);
    cJSON_AddNumberToObject(j, "min_hz", lo);
    cJSON_AddNumberToObject(j, "max_hz", hi);
    int rc = 0;
    if (o->out) rc = write_npy(o, "", BD_F64, 1, g.steps, 0, r, files) || write_npy(o, "_t", BD_F64, 1, g.steps, 0, t, files);
    cJSON_AddItemToObject(j, "files", files);
    if (!o->json && !rc)
        printf("rate of %s: N = %lld%s, %zu spikes, %zu steps of %g ms from %g ms; window %g ms (%zu bins)\n"
               "  mean %.4g Hz (total spikes / N / duration); smoothed rate min %.4g Hz, max %.4g Hz\n", in->name, n,
               guessed ? " (guessed)" : "", in->count, g.steps, g.dt_ms, g.t0_ms, width, bins, overall, lo, hi);
    free(r), free(t);
    if (rc) return cJSON_Delete(j), rc;
    if (!o->json && o->out) printf("  wrote %s (Hz per step) and its times\n", cJSON_GetArrayItem(files, 0)->valuestring);
    return finish(o, j);
}

static int m_raster(const opts *o, const input *in)
{
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    cJSON_AddItemToObject(j, "files", files);
    if (in->spikes) {
        /* pairs -> (steps x N) spike-count matrix */
        bd_time_grid g;
        int guessed;
        if (spike_grid(in, o, &g)) return cJSON_Delete(j), 1;
        long long n = pop_size(in, o, &guessed);
        add_grid(j, &g, n, in->count);
        cJSON_AddStringToObject(j, "direction", "pairs -> matrix");
        if (!o->out) return cJSON_Delete(j), fail_msg("raster of spike pairs writes a (steps x N) matrix: give --out FILE.npy");
        if (n <= 0 || g.steps > ((size_t)1 << 28) / (size_t)n) /* 2 GiB of doubles */
            return cJSON_Delete(j), fail_msg("a %zu x %lld matrix is too large to write", g.steps, n);
        double *m = malloc(g.steps * (size_t)n * sizeof *m), *t = malloc(g.steps * sizeof *t);
        if (!m || !t) return free(m), free(t), cJSON_Delete(j), fail_msg("out of memory");
        bd_status st = bd_measure_spike_matrix(in->idx, in->t, in->count, (size_t)n, &g, m);
        for (size_t k = 0; k < g.steps; k++) t[k] = bd_time_grid_time(&g, k);
        int rc = st ? cli_fail(CMD, st) : write_npy(o, "", BD_F64, 2, g.steps, (size_t)n, m, files) ||
                                              write_npy(o, "_t", BD_F64, 1, g.steps, 0, t, files);
        free(m), free(t);
        if (rc) return cJSON_Delete(j), rc;
        if (!o->json)
            printf("raster %s: %zu spikes of N = %lld into a %zu x %lld spike-count matrix (steps of %g ms from %g ms); "
                   "wrote %s\n", in->name, in->count, n, g.steps, n, g.dt_ms, g.t0_ms,
                   cJSON_GetArrayItem(files, 0)->valuestring);
        return finish(o, j);
    }
    /* matrix -> pairs */
    double dt = sample_dt(in, o);
    if (isnan(dt)) return cJSON_Delete(j), fail_msg("'%s': give the time step with --dt", in->stem);
    bd_time_grid g = {!isnan(o->t0) ? o->t0 : in->xt.v && in->xt.rows ? in->xt.v[0] : dt, dt, in->x.rows};
    size_t n = in->x.cols, count = 0;
    bd_status st = bd_measure_raster(in->x.v, n, &g, NULL, NULL, 0, &count);
    if (st) return cJSON_Delete(j), cli_fail(CMD, st);
    int32_t *idx = malloc((count ? count : 1) * sizeof *idx);
    double *t = malloc((count ? count : 1) * sizeof *t);
    if (!idx || !t) return free(idx), free(t), cJSON_Delete(j), fail_msg("out of memory");
    st = bd_measure_raster(in->x.v, n, &g, idx, t, count, &count);
    int rc = st ? cli_fail(CMD, st) : 0;
    add_grid(j, &g, (long long)n, count);
    cJSON_AddStringToObject(j, "direction", "matrix -> pairs");
    if (!rc && o->out) rc = write_npy(o, "_i", BD_I32, 1, count, 0, idx, files) || write_npy(o, "_t", BD_F64, 1, count, 0, t, files);
    if (!rc && !o->json) {
        printf("raster %s: a %zu x %zu matrix (steps of %g ms from %g ms) holds %zu spikes\n", in->name, g.steps, n, g.dt_ms,
               g.t0_ms, count);
        for (size_t k = 0; k < count && k < 5; k++) printf("  neuron %d at %g ms\n", (int)idx[k], t[k]);
        if (count > 5) printf("  ...\n");
        if (o->out) printf("  wrote %s and %s\n", cJSON_GetArrayItem(files, 0)->valuestring, cJSON_GetArrayItem(files, 1)->valuestring);
    }
    free(idx), free(t);
    return rc ? (cJSON_Delete(j), rc) : finish(o, j);
}

static int m_cv(const opts *o, const input *in)
{
    if (need_spikes(in, "cv")) return 1;
    int guessed;
    long long n = pop_size(in, o, &guessed);
    double *cv = malloc((size_t)(n > 0 ? n : 1) * sizeof *cv), mean;
    size_t used;
    if (!cv) return fail_msg("out of memory");
    bd_status st = bd_measure_cv(in->idx, in->t, in->count, (size_t)(n > 0 ? n : 0), cv, &mean, &used);
    if (st) return free(cv), cli_fail(CMD, st);
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "n", (double)n);
    cJSON_AddNumberToObject(j, "spikes", (double)in->count);
    cJSON_AddNumberToObject(j, "mean_cv", mean);
    cJSON_AddNumberToObject(j, "used", (double)used);
    cJSON_AddNumberToObject(j, "excluded", (double)((size_t)n - used));
    int rc = o->out ? write_npy(o, "", BD_F64, 1, (size_t)n, 0, cv, files) : 0;
    cJSON_AddItemToObject(j, "files", files);
    free(cv);
    if (rc) return cJSON_Delete(j), rc;
    if (!o->json) {
        printf("ISI CV of %s: mean %.4g over %zu neurons with >= 3 spikes; %lld excluded (fewer spikes); N = %lld%s\n",
               in->name, mean, used, n - (long long)used, n, guessed ? " (guessed)" : "");
        if (o->out) printf("  wrote %s (CV per neuron, NaN where excluded)\n", cJSON_GetArrayItem(files, 0)->valuestring);
    }
    return finish(o, j);
}

static int m_fano(const opts *o, const input *in)
{
    if (need_spikes(in, "fano")) return 1;
    bd_time_grid g;
    int guessed;
    if (spike_grid(in, o, &g)) return 1;
    long long n = pop_size(in, o, &guessed);
    double bin = isnan(o->bin) ? 100 : o->bin, mean, pop;
    double *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    size_t used;
    if (!f) return fail_msg("out of memory");
    bd_status st = bd_measure_fano(in->idx, in->t, in->count, (size_t)(n > 0 ? n : 0), &g, bin, f, &mean, &used, &pop);
    if (st) return free(f), cli_fail(CMD, st);
    size_t per = (size_t)fmax(1, floor(bin / g.dt_ms + 0.5)), nb = g.steps / per;
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    add_grid(j, &g, n, in->count);
    cJSON_AddNumberToObject(j, "bin_ms", bin);
    cJSON_AddNumberToObject(j, "bins", (double)nb);
    cJSON_AddNumberToObject(j, "mean_fano", mean);
    cJSON_AddNumberToObject(j, "used", (double)used);
    cJSON_AddNumberToObject(j, "population_fano", pop);
    int rc = o->out ? write_npy(o, "", BD_F64, 1, (size_t)n, 0, f, files) : 0;
    cJSON_AddItemToObject(j, "files", files);
    free(f);
    if (rc) return cJSON_Delete(j), rc;
    if (!o->json) {
        printf("Fano factor of %s: %zu bins of %g ms; mean %.4g over %zu neurons with spikes (of N = %lld%s); "
               "population count %.4g\n", in->name, nb, (double)per * g.dt_ms, mean, used, n, guessed ? ", guessed" : "", pop);
        if (o->out) printf("  wrote %s (Fano factor per neuron, NaN for silent ones)\n", cJSON_GetArrayItem(files, 0)->valuestring);
    }
    return finish(o, j);
}

static int m_coherence(const opts *o, const input *in)
{
    if (need_spikes(in, "coherence")) return 1;
    bd_time_grid g;
    int guessed;
    if (spike_grid(in, o, &g)) return 1;
    long long n = pop_size(in, o, &guessed);
    double bin = isnan(o->bin) ? 5 : o->bin, kappa;
    size_t silent;
    bd_status st = bd_measure_coherence(in->idx, in->t, in->count, (size_t)(n > 0 ? n : 0), &g, bin, &kappa, &silent);
    if (st) return cli_fail(CMD, st);
    size_t per = (size_t)fmax(1, floor(bin / g.dt_ms + 0.5));
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    add_grid(j, &g, n, in->count);
    cJSON_AddNumberToObject(j, "bin_ms", (double)per * g.dt_ms);
    cJSON_AddNumberToObject(j, "bins", (double)(g.steps / per));
    cJSON_AddNumberToObject(j, "kappa", kappa);
    cJSON_AddNumberToObject(j, "silent", (double)silent);
    int rc = o->out ? write_npy(o, "", BD_F64, 1, 1, 0, &kappa, files) : 0;
    cJSON_AddItemToObject(j, "files", files);
    if (rc) return cJSON_Delete(j), rc;
    if (!o->json)
        printf("coherence of %s: kappa = %.4g (bins of %g ms, %zu bins; N = %lld%s, %zu silent neurons)\n", in->name, kappa,
               (double)per * g.dt_ms, g.steps / per, n, guessed ? " guessed" : "", silent);
    return finish(o, j);
}

static int need_signals(const input *in, const char *measure)
{
    if (!in->spikes) return 0;
    return fail_msg("%s needs a variable monitor or a (samples x signals) array; '%s' is a spike monitor", measure, in->stem);
}

static int m_synchrony(const opts *o, const input *in)
{
    if (need_signals(in, "synchrony")) return 1;
    double chi2;
    bd_status st = bd_measure_synchrony(in->x.v, in->x.rows, in->x.cols, &chi2);
    if (st) return cli_fail(CMD, st);
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "samples", (double)in->x.rows);
    cJSON_AddNumberToObject(j, "signals", (double)in->x.cols);
    cJSON_AddNumberToObject(j, "chi2", chi2);
    cJSON_AddNumberToObject(j, "chi", sqrt(chi2));
    int rc = o->out ? write_npy(o, "", BD_F64, 1, 1, 0, &chi2, files) : 0;
    cJSON_AddItemToObject(j, "files", files);
    if (rc) return cJSON_Delete(j), rc;
    if (!o->json)
        printf("synchrony of %s: chi^2 = %.4g (chi = %.4g) over %zu traces of %zu samples (1: identical, about 1/%zu "
               "for independent traces)\n", in->name, chi2, sqrt(chi2), in->x.cols, in->x.rows, in->x.cols);
    return finish(o, j);
}

static int m_fc(const opts *o, const input *in)
{
    if (need_signals(in, "fc")) return 1;
    size_t n = in->x.cols;
    if (n > 46340) return fail_msg("fc of %zu signals: the matrix is too large", n);
    double *fc = malloc(n * n * sizeof *fc);
    if (!fc) return fail_msg("out of memory");
    bd_status st = bd_measure_fc(in->x.v, in->x.rows, n, fc);
    if (st) return free(fc), cli_fail(CMD, st);
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++)
            if (i != k) sum += fc[i * n + k], lo = fmin(lo, fc[i * n + k]), hi = fmax(hi, fc[i * n + k]);
    double mean = n > 1 ? sum / ((double)n * (double)(n - 1)) : NAN;
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "samples", (double)in->x.rows);
    cJSON_AddNumberToObject(j, "signals", (double)n);
    cJSON_AddNumberToObject(j, "mean_offdiagonal", mean);
    if (n <= 16) {
        cJSON *mat = cJSON_AddArrayToObject(j, "matrix");
        for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(mat, cJSON_CreateDoubleArray(fc + i * n, (int)n));
    }
    int rc = o->out ? write_npy(o, "", BD_F64, 2, n, n, fc, files) : 0;
    cJSON_AddItemToObject(j, "files", files);
    if (!rc && !o->json) {
        printf("functional connectivity of %s: %zu signals, %zu samples; off-diagonal r mean %.4g, min %.4g, max %.4g\n",
               in->name, n, in->x.rows, mean, n > 1 ? lo : NAN, n > 1 ? hi : NAN);
        if (n <= 8)
            for (size_t i = 0; i < n; i++) {
                printf("  ");
                for (size_t k = 0; k < n; k++) printf("%8.4f", fc[i * n + k]);
                printf("\n");
            }
        if (o->out) printf("  wrote %s (%zu x %zu)\n", cJSON_GetArrayItem(files, 0)->valuestring, n, n);
    }
    free(fc);
    return rc ? (cJSON_Delete(j), rc) : finish(o, j);
}

static int m_spectrum(const opts *o, const input *in)
{
    double *x = NULL, dt;
    size_t samples;
    int owned = 0;
    const char *what = "signal";
    if (in->spikes) {
        /* the population rate first: unsmoothed unless --window */
        bd_time_grid g;
        int guessed;
        if (spike_grid(in, o, &g)) return 1;
        long long n = pop_size(in, o, &guessed);
        x = malloc(g.steps * sizeof *x);
        if (!x) return fail_msg("out of memory");
        owned = 1;
        bd_status st = bd_measure_rate(in->idx, in->t, in->count, (size_t)(n > 0 ? n : 0), &g, isnan(o->window) ? 0 : o->window, x);
        if (st) return free(x), cli_fail(CMD, st);
        dt = g.dt_ms, samples = g.steps, what = "population rate (Hz)";
    } else {
        if (in->x.cols != 1)
            return fail_msg("spectrum needs one signal (a rate monitor or a 1-D array); '%s' holds %zu columns", in->stem,
                            in->x.cols);
        dt = sample_dt(in, o);
        if (isnan(dt)) return fail_msg("'%s': give the sample interval with --dt", in->stem);
        x = in->x.v, samples = in->x.rows;
        if (in->manifest && !strcmp(in->kind, "rate")) what = "population rate (Hz)";
    }
    bd_spectrum_opts so = {dt, 0};
    if (!isnan(o->segment)) {
        double s = floor(o->segment / dt + 0.5);
        so.segment_len = s < 2 ? 2 : (size_t)s;
    }
    size_t nf = bd_measure_spectrum_size(samples, &so);
    double *f = malloc((nf ? nf : 1) * sizeof *f), *p = malloc((nf ? nf : 1) * sizeof *p), peak;
    if (!f || !p) {
        if (owned) free(x);
        return free(f), free(p), fail_msg("out of memory");
    }
    bd_status st = bd_measure_spectrum(x, samples, &so, f, p, &peak);
    if (owned) free(x);
    if (st) return free(f), free(p), cli_fail(CMD, st);
    /* the peak inside [fmin, fmax] (the library's is over everything above 0 Hz) */
    double fmin = isnan(o->fmin) ? 0 : o->fmin, fmax_ = isnan(o->fmax) ? INFINITY : o->fmax, best = -1;
    size_t kb = 0;
    for (size_t k = 1; k < nf; k++)
        if (f[k] >= fmin && f[k] <= fmax_ && p[k] > best) best = p[k], kb = k;
    if (best < 0) {
        fail_msg("no frequency in [%g, %g] Hz (resolution %g Hz, up to %g Hz)", fmin, fmax_, nf > 1 ? f[1] : 0,
                 nf ? f[nf - 1] : 0);
        return free(f), free(p), 1;
    }
    peak = f[kb];
    double df = nf > 1 ? f[1] - f[0] : 0;
    cJSON *j = header(o, in), *files = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "samples", (double)samples);
    cJSON_AddNumberToObject(j, "dt_ms", dt);
    cJSON_AddStringToObject(j, "method", so.segment_len ? "welch" : "periodogram");
    if (so.segment_len) cJSON_AddNumberToObject(j, "segment_samples", (double)so.segment_len);
    cJSON_AddNumberToObject(j, "frequencies", (double)nf);
    cJSON_AddNumberToObject(j, "resolution_hz", df);
    cJSON_AddNumberToObject(j, "peak_hz", peak);
    cJSON_AddNumberToObject(j, "peak_power", p[kb]);
    int rc = o->out ? write_npy(o, "", BD_F64, 1, nf, 0, p, files) || write_npy(o, "_f", BD_F64, 1, nf, 0, f, files) : 0;
    cJSON_AddItemToObject(j, "files", files);
    if (!rc && !o->json) {
        printf("power spectrum of %s, %s: %s, %zu samples of %g ms; %zu frequencies 0 .. %g Hz, resolution %.4g Hz\n"
               "  peak at %.4g Hz (power %.4g per Hz)%s\n", in->name, what,
               so.segment_len ? "Welch, Hann segments overlapping by half" : "Hann-windowed periodogram", samples, dt, nf,
               nf ? f[nf - 1] : 0, df, peak, p[kb], isnan(o->fmin) && isnan(o->fmax) ? "" : " in the band asked for");
        if (o->out) printf("  wrote %s (power) and %s (Hz)\n", cJSON_GetArrayItem(files, 0)->valuestring,
                           cJSON_GetArrayItem(files, 1)->valuestring);
    }
    free(f), free(p);
    return rc ? (cJSON_Delete(j), rc) : finish(o, j);
}

/* ------------------------------------------------------------------------------------------------ */

static int time_opt(const char *name, const char *text, double *out)
{
    bd_status st = bd_quantity_in(text, "ms", out);
    if (st || !isfinite(*out)) return cli_usage_error(CMD, "%s: '%s' is not a time (\"5 ms\", \"0.1 s\" or ms): %s", name, text,
                                                     st ? bd_last_error() : "not finite");
    return 0;
}

int cmd_measure(int argc, char **argv)
{
    opts o = {.n = -1, .dt = NAN, .t0 = NAN, .duration = NAN, .window = NAN, .bin = NAN, .segment = NAN, .fmin = NAN,
              .fmax = NAN};
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) return fputs(usage, stdout), 0;
        if (!strcmp(s, "--json")) {
            o.json = 1;
            continue;
        }
        if (s[0] != '-' || (s[1] >= '0' && s[1] <= '9')) {
            if (!o.measure) o.measure = s;
            else if (!o.input) o.input = s;
            else return cli_usage_error(CMD, "unexpected argument '%s'\n%s", s, usage);
            continue;
        }
        if (a + 1 >= argc) return cli_usage_error(CMD, "option '%s' needs a value\n%s", s, usage);
        const char *v = argv[++a];
        int rc = 0;
        if (!strcmp(s, "--out")) o.out = v;
        else if (!strcmp(s, "--n")) {
            char *end;
            o.n = strtoll(v, &end, 10);
            if (*end || end == v || o.n < 1) return cli_usage_error(CMD, "--n must be a positive integer, got '%s'", v);
        } else if (!strcmp(s, "--dt")) rc = time_opt(s, v, &o.dt);
        else if (!strcmp(s, "--t0")) rc = time_opt(s, v, &o.t0);
        else if (!strcmp(s, "--duration")) rc = time_opt(s, v, &o.duration);
        else if (!strcmp(s, "--window")) rc = time_opt(s, v, &o.window);
        else if (!strcmp(s, "--bin")) rc = time_opt(s, v, &o.bin);
        else if (!strcmp(s, "--segment")) rc = time_opt(s, v, &o.segment);
        else if (!strcmp(s, "--fmin") || !strcmp(s, "--fmax")) {
            char *end;
            double f = strtod(v, &end);
            if (*end || end == v || !(f >= 0)) return cli_usage_error(CMD, "%s must be a frequency >= 0 in Hz, got '%s'", s, v);
            *(!strcmp(s, "--fmin") ? &o.fmin : &o.fmax) = f;
        } else return cli_usage_error(CMD, "unknown option '%s'\n%s", s, usage);
        if (rc) return rc;
    }
    if (!o.measure || !o.input) return cli_usage_error(CMD, "need a measure and an input\n%s", usage);
    static const char *const names[] = {"rate", "raster", "cv", "fano", "coherence", "synchrony", "fc", "spectrum"};
    int (*const fns[])(const opts *, const input *) = {m_rate, m_raster, m_cv, m_fano, m_coherence, m_synchrony, m_fc,
                                                       m_spectrum};
    int which = -1;
    for (int k = 0; k < 8; k++)
        if (!strcmp(o.measure, names[k])) which = k;
    if (which < 0)
        return cli_usage_error(CMD, "unknown measure '%s' (rate, raster, cv, fano, coherence, synchrony, fc, spectrum)",
                               o.measure);
    input in;
    if (load_input(o.input, &in)) return input_free(&in), 1;
    int rc = fns[which](&o, &in);
    input_free(&in);
    return rc;
}
