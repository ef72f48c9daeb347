/* Operator benchmark: per device, throughput of an elementwise IR kernel, the event-driven CSR
 * product and GEMM, and the per-launch overhead with and without a sync after each launch.
 * Prints a readable table and writes JSON (--json FILE). Not a test: it asserts nothing.
 * usage: bench_ops [--device NAME]... [--json FILE] [--threads N] [--quick] */
#include "bdyn/bdyn.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define CHECK(x)                                                                                          \
    do {                                                                                                  \
        bd_status st_ = (x);                                                                              \
        if (st_) {                                                                                        \
            fprintf(stderr, "%s: %s: %s\n", #x, bd_status_name(st_), bd_last_error());                    \
            goto fail;                                                                                    \
        }                                                                                                 \
    } while (0)

typedef struct result {
    double elementwise_gbs, event_gev_s, gemm_gflops, launch_us_queued, launch_us_synced;
} result;

/* y = a*x + y: 12 bytes of traffic per element. */
static bd_ir *saxpy_ir(void)
{
    bd_ir *k;
    if (bd_ir_new("bench_saxpy", &k)) return NULL;
    int x = bd_ir_buffer(k, BD_F32, 0), y = bd_ir_buffer(k, BD_F32, 1), a = bd_ir_scalar(k, BD_F32);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_store(k, y, i, bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MUL, bd_ir_param(k, a), bd_ir_load(k, x, i)),
                                      bd_ir_load(k, y, i)));
    if (bd_ir_status(k)) {
        bd_ir_free(k);
        return NULL;
    }
    return k;
}

static int bench_device(const char *name, int threads, int quick, result *r)
{
    bd_device *dev = NULL;
    bd_ir *ir = saxpy_ir();
    bd_kernel *kern = NULL;
    bd_buffer *x = NULL, *y = NULL, *rp = NULL, *ci = NULL, *sp = NULL, *post = NULL, *A = NULL, *B = NULL, *C = NULL;
    uint32_t *hrp = NULL, *hci = NULL, *hsp = NULL;
    int ok = 0;
    memset(r, 0, sizeof *r);
    CHECK(bd_device_open(name, &dev));
    if (threads > 0) CHECK(bd_device_set_threads(dev, threads));
    if (!ir) goto fail;
    CHECK(bd_kernel_compile(dev, ir, &kern));

    /* Elementwise: 1e7 floats, best of several repetitions after a warm-up. */
    size_t n = quick ? 1000000 : 10000000;
    float one = 1.0f;
    CHECK(bd_buffer_alloc(dev, n * 4, &x));
    CHECK(bd_buffer_alloc(dev, n * 4, &y));
    CHECK(bd_buffer_fill(x, 0, n * 4, &one, 4));
    CHECK(bd_buffer_fill(y, 0, n * 4, &one, 4));
    bd_buffer *bufs[2] = {x, y};
    bd_value a = {.f32 = 0.5f};
    CHECK(bd_kernel_launch(kern, n, bufs, 2, &a, 1));
    CHECK(bd_device_sync(dev));
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        CHECK(bd_kernel_launch(kern, n, bufs, 2, &a, 1));
        CHECK(bd_device_sync(dev));
        double t = now() - t0;
        best = t < best ? t : best;
    }
    r->elementwise_gbs = 12.0 * n / best / 1e9;

    /* Launch overhead: a 1000-element launch repeated, queued with one sync, and synced each time. */
    int launches = quick ? 200 : 2000;
    double t0 = now();
    for (int l = 0; l < launches; l++) CHECK(bd_kernel_launch(kern, 1000, bufs, 2, &a, 1));
    CHECK(bd_device_sync(dev));
    r->launch_us_queued = (now() - t0) / launches * 1e6;
    t0 = now();
    for (int l = 0; l < launches; l++) {
        CHECK(bd_kernel_launch(kern, 1000, bufs, 2, &a, 1));
        CHECK(bd_device_sync(dev));
    }
    r->launch_us_synced = (now() - t0) / launches * 1e6;

    /* Event-driven push product: 100k presynaptic neurons x 80 targets, 2 % of them spiking. */
    size_t npre = quick ? 20000 : 100000, npost = npre, deg = 80, nnz = npre * deg;
    hrp = malloc((npre + 1) * 4), hci = malloc(nnz * 4), hsp = calloc(npre, 4);
    if (!hrp || !hci || !hsp) goto fail;
    uint64_t s = 12345;
    for (size_t p = 0; p <= npre; p++) hrp[p] = (uint32_t)(p * deg);
    for (size_t e = 0; e < nnz; e++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        hci[e] = (uint32_t)((s >> 33) % npost);
    }
    size_t nspk = 0;
    for (size_t p = 0; p < npre; p += 50, nspk++) hsp[p] = 1;
    CHECK(bd_buffer_alloc(dev, (npre + 1) * 4, &rp));
    CHECK(bd_buffer_alloc(dev, nnz * 4, &ci));
    CHECK(bd_buffer_alloc(dev, npre * 4, &sp));
    CHECK(bd_buffer_alloc(dev, npost * 4, &post));
    CHECK(bd_buffer_upload(rp, 0, hrp, (npre + 1) * 4));
    CHECK(bd_buffer_upload(ci, 0, hci, nnz * 4));
    CHECK(bd_buffer_upload(sp, 0, hsp, npre * 4));
    CHECK(bd_buffer_fill(post, 0, npost * 4, &one, 4));
    bd_csr m = {npre, npost, nnz, rp, ci, NULL, 0.1};
    CHECK(bd_event_csr(dev, BD_F32, &m, sp, post));
    CHECK(bd_device_sync(dev));
    int reps = quick ? 10 : 50;
    t0 = now();
    for (int rep = 0; rep < reps; rep++) CHECK(bd_event_csr(dev, BD_F32, &m, sp, post));
    CHECK(bd_device_sync(dev));
    r->event_gev_s = (double)nspk * deg * reps / (now() - t0) / 1e9;

    /* GEMM f32, square. */
    size_t g = quick ? 256 : 1024;
    CHECK(bd_buffer_alloc(dev, g * g * 4, &A));
    CHECK(bd_buffer_alloc(dev, g * g * 4, &B));
    CHECK(bd_buffer_alloc(dev, g * g * 4, &C));
    CHECK(bd_buffer_fill(A, 0, g * g * 4, &one, 4));
    CHECK(bd_buffer_fill(B, 0, g * g * 4, &one, 4));
    ok = 1; /* the figures above stand even where GEMM is missing (OpenCL without CLBlast) */
    r->gemm_gflops = NAN;
    bd_status gst = bd_gemm(dev, BD_F32, 0, 0, g, g, g, 1.0, A, B, 0.0, C); /* warm-up (CLBlast compiles here) */
    if (gst) {
        fprintf(stderr, "%s: gemm skipped: %s\n", name, bd_last_error());
        goto fail;
    }
    CHECK(bd_device_sync(dev));
    best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        CHECK(bd_gemm(dev, BD_F32, 0, 0, g, g, g, 1.0, A, B, 0.0, C));
        CHECK(bd_device_sync(dev));
        double t = now() - t0;
        best = t < best ? t : best;
    }
    r->gemm_gflops = 2.0 * g * g * g / best / 1e9;
    ok = 1;
fail:
    free(hrp), free(hci), free(hsp);
    bd_buffer *all[] = {x, y, rp, ci, sp, post, A, B, C};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) bd_buffer_free(all[i]);
    bd_kernel_free(kern);
    bd_ir_free(ir);
    bd_device_close(dev);
    return ok;
}

int main(int argc, char **argv)
{
    const char *names[16];
    int ndev = 0, threads = 0, quick = 0;
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc && ndev < 16) names[ndev++] = argv[++i];
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else {
            fprintf(stderr, "usage: bench_ops [--device NAME]... [--json FILE] [--threads N] [--quick]\n");
            return 2;
        }
    }
    static bd_device_info infos[16];
    if (ndev == 0)
        for (size_t i = 0; i < bd_device_count() && ndev < 16; i++)
            if (bd_device_info_get(i, &infos[ndev]) == BD_OK) names[ndev] = infos[ndev].name, ndev++;

    cJSON *arr = cJSON_CreateArray();
    printf("%-10s %7s %14s %14s %12s %14s %14s\n", "device", "threads", "elementwise", "event push", "gemm f32",
           "launch queued", "launch synced");
    printf("%-10s %7s %14s %14s %12s %14s %14s\n", "", "", "GB/s", "Gevents/s", "GFLOP/s", "us/launch", "us/launch");
    int failed = 0;
    for (int d = 0; d < ndev; d++) {
        result r;
        int ok = bench_device(names[d], threads, quick, &r);
        failed |= !ok;
        int th = threads > 0 ? threads : (getenv("BDYN_THREADS") ? atoi(getenv("BDYN_THREADS")) : 1);
        if (!ok) {
            printf("%-10s failed (see above)\n", names[d]);
            continue;
        }
        printf("%-10s %7d %14.2f %14.3f %12.2f %14.2f %14.2f\n", names[d], th, r.elementwise_gbs, r.event_gev_s,
               r.gemm_gflops, r.launch_us_queued, r.launch_us_synced);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "device", names[d]);
        cJSON_AddNumberToObject(o, "threads", th);
        cJSON_AddNumberToObject(o, "elementwise_saxpy_GBps", r.elementwise_gbs);
        cJSON_AddNumberToObject(o, "event_csr_push_Gevents_per_s", r.event_gev_s);
        cJSON_AddNumberToObject(o, "gemm_f32_GFLOPs", r.gemm_gflops);
        cJSON_AddNumberToObject(o, "launch_us_queued", r.launch_us_queued);
        cJSON_AddNumberToObject(o, "launch_us_sync_each", r.launch_us_synced);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr);
    if (json_path && text && bd_file_write_atomic(json_path, text, strlen(text)) != BD_OK)
        fprintf(stderr, "cannot write %s: %s\n", json_path, bd_last_error());
    cJSON_free(text);
    cJSON_Delete(arr);
    return failed;
}
