/* Error paths: an unknown device name, allocations larger than the device, kernel compile failures
 * (bd_compile_error on real compiler logs, a broken $CC end to end, f64 without fp64), backend
 * libraries missing at run time, and API misuse. Each must give a status and a message, never a
 * crash. The cases that need a different environment run in a child process (this program
 * re-executed with --child <case> <fd>), which reports its counts back through a pipe. */
#include "test_common.h"
#include "backend.h"
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXDEV 16

typedef struct tdev {
    char name[40];
    bd_device *d;
    bd_device_info info;
} tdev;

static tdev devs[MAXDEV];
static int ndevs;

static int has(const char *text, const char *needle) { return text && needle && strstr(text, needle) != NULL; }

static void open_devices(void)
{
    size_t count = bd_device_count();
    for (size_t i = 0; i < count && ndevs < MAXDEV; i++) {
        tdev *dv = &devs[ndevs];
        if (bd_device_info_get(i, &dv->info) || !tc_device_selected(dv->info.name)) continue;
        if (bd_device_open(dv->info.name, &dv->d)) {
            tc_line(TC_FAIL, "open %s: %s", dv->info.name, bd_last_error());
            continue;
        }
        memcpy(dv->name, dv->info.name, sizeof dv->info.name); /* 32 bytes, NUL-terminated, into 40 */
        ndevs++;
    }
}

/* ---------------------------------------------------------------------------------------------- */

static void test_unknown_device(void)
{
    bd_device *d = (bd_device *)1;
    bd_status st = bd_device_open("no_such_device", &d);
    const char *msg = bd_last_error();
    size_t count = bd_device_count(), listed = 0;
    for (size_t i = 0; i < count; i++) {
        bd_device_info info;
        if (bd_device_info_get(i, &info) == BD_OK && has(msg, info.name)) listed++;
    }
    tc_check(st == BD_ERR_NOT_FOUND && d == NULL && count > 0 && listed == count,
             "unknown device -> %s, message lists %zu of %zu devices: %s", bd_status_name(st), listed, count, msg);
    static const char *const names[] = {"cpu:1", "opencl:99", "vulkan:99", "CPU", "cpu ", "opencl:", "vulkan:-1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        d = (bd_device *)1;
        st = bd_device_open(names[i], &d);
        msg = bd_last_error();
        tc_check((st == BD_ERR_NOT_FOUND || st == BD_ERR_BACKEND_MISSING) && d == NULL && has(msg, "cpu"),
                 "device name '%s' -> %s: %s", names[i], bd_status_name(st), msg);
    }
    d = (bd_device *)1;
    tc_expect_status(bd_device_open(NULL, &d), BD_ERR_INVALID_ARG, "bd_device_open(NULL name)");
    tc_check(d == NULL, "bd_device_open(NULL name) leaves *out NULL");
    tc_expect_status(bd_device_open("cpu", NULL), BD_ERR_INVALID_ARG, "bd_device_open(out NULL)");
    bd_device_info info;
    tc_expect_status(bd_device_info_get(count, &info), BD_ERR_NOT_FOUND, "bd_device_info_get(count)");
    tc_expect_status(bd_device_info_get(0, NULL), BD_ERR_INVALID_ARG, "bd_device_info_get(0, NULL)");
    const char *why = NULL;
    tc_expect_status(bd_backend_status((bd_backend_kind)7, &why), BD_ERR_INVALID_ARG, "bd_backend_status(7)");
}

/* ---------------------------------------------------------------------------------------------- */

/* A small upload/download round trip: the device still works after an error. */
static int still_works(bd_device *d)
{
    bd_buffer *b = NULL;
    uint32_t in[4] = {1, 2, 3, 0xDEADBEEFu}, out[4] = {0};
    bd_status st = bd_buffer_alloc(d, sizeof in, &b);
    if (!st) st = bd_buffer_upload(b, 0, in, sizeof in);
    if (!st) st = bd_buffer_download(b, 0, out, sizeof out);
    bd_buffer_free(b);
    return st == BD_OK && memcmp(in, out, sizeof in) == 0;
}

static void test_allocation(void)
{
    for (int i = 0; i < ndevs; i++) {
        tdev *dv = &devs[i];
        const size_t sizes[] = {(size_t)1 << 50, SIZE_MAX, dv->info.max_alloc_bytes < SIZE_MAX ? dv->info.max_alloc_bytes + 1 : 0};
        const char *what[] = {"1 PiB", "SIZE_MAX bytes", "max_alloc_bytes + 1"};
        for (int s = 0; s < 3; s++) {
            if (!sizes[s]) continue;
            bd_buffer *b = (bd_buffer *)1;
            bd_status st = bd_buffer_alloc(dv->d, sizes[s], &b);
            const char *msg = bd_last_error();
            int ok = (st == BD_ERR_LIMIT || st == BD_ERR_DEVICE_NOMEM) && b == NULL && msg[0];
            if (s == 2) ok = ok && st == BD_ERR_LIMIT;
            tc_check(ok, "alloc %s (%zu) on %s -> %s: %s", what[s], sizes[s], dv->name, bd_status_name(st), msg);
            if (st == BD_OK) bd_buffer_free(b);
        }
        tc_check(still_works(dv->d), "%s still allocates and transfers after the failed allocations", dv->name);
        /* the largest allocation the device reports (GPU devices; the cpu's is all of host memory) either
         * works, with its last bytes reachable past 2^31, or fails with a status */
        if (dv->info.backend == BD_BACKEND_CPU) continue;
        size_t most = (size_t)dv->info.max_alloc_bytes;
        bd_buffer *b = NULL;
        bd_status st = bd_buffer_alloc(dv->d, most, &b);
        uint64_t w = 0x0123456789ABCDEFull, r = 0;
        if (st == BD_OK) {
            bd_status st2 = bd_buffer_upload(b, most - 8, &w, 8);
            if (!st2) st2 = bd_buffer_download(b, most - 8, &r, 8);
            tc_check(st2 == BD_OK && r == w, "alloc of max_alloc_bytes (%zu) on %s: last 8 bytes round-trip -> %s %s", most,
                     dv->name, bd_status_name(st2), st2 ? bd_last_error() : "");
            bd_buffer_free(b);
        } else {
            tc_check((st == BD_ERR_DEVICE_NOMEM || st == BD_ERR_LIMIT || st == BD_ERR_NOMEM) && bd_last_error()[0],
                     "alloc of max_alloc_bytes (%zu) on %s -> %s: %s", most, dv->name, bd_status_name(st), bd_last_error());
        }
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* bd_compile_error on logs that real compilers produce now, from broken sources written here.     */

static char tmpdir[256];

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Runs a shell command and returns its output (stdout and stderr), malloc'd; NULL if it cannot run. */
static char *capture(const char *cmd, int *exit_status)
{
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    for (size_t got; out && (got = fread(out + len, 1, cap - len - 1, p)) > 0;) {
        len += got;
        if (cap - len < 2) {
            char *grown = realloc(out, cap * 2);
            if (!grown) break;
            out = grown, cap *= 2;
        }
    }
    int rc = pclose(p);
    *exit_status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (out) out[len] = 0;
    return out;
}

static int tool_exists(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

typedef struct broken {
    const char *compiler, *tool, *file, *cmd_fmt, *source;
    long line;          /* the line with the error */
    const char *text;   /* that line */
} broken;

static void test_compile_error_logs(void)
{
    static const broken cases[] = {
        {"gcc (system cc)", "cc", "k.c", "cc -x c -c -o /dev/null %s 2>&1",
         "/* bdyn kernel 'broken', generated */\n#include <stdint.h>\nstatic int twice(int x)\n{\n    return x + ;\n}\n",
         5, "    return x + ;"},
        {"clang (OpenCL C)", "clang", "k.cl", "clang -x cl -cl-std=CL1.2 -fsyntax-only %s 2>&1",
         "/* bdyn kernel 'broken', generated */\n#pragma OPENCL FP_CONTRACT OFF\n__kernel void bd_kernel(__global float *b0)\n{\n"
         "    b0[get_global_id(0)] = 1.0f * ;\n}\n",
         5, "    b0[get_global_id(0)] = 1.0f * ;"},
        {"glslc (GLSL)", "glslc", "k.comp", "glslc -fshader-stage=compute -o /dev/null %s 2>&1",
         "#version 450\n/* bdyn kernel 'broken', generated */\nlayout(local_size_x = 1) in;\nvoid main()\n{\n"
         "    float x = 1.0 + ;\n}\n",
         6, "    float x = 1.0 + ;"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const broken *b = &cases[c];
        if (!tool_exists(b->tool)) {
            tc_line(TC_SKIP, "compile error log from %s: '%s' is not installed", b->compiler, b->tool);
            continue;
        }
        char path[512], cmd[1024];
        snprintf(path, sizeof path, "%s/%s", tmpdir, b->file);
        snprintf(cmd, sizeof cmd, b->cmd_fmt, path);
        int rc = -1;
        char *log = write_file(path, b->source) ? capture(cmd, &rc) : NULL;
        if (!log || rc == 0 || !has(log, "error")) {
            tc_line(TC_FAIL, "compile error log from %s: the broken source did not fail as expected (exit %d): %s",
                    b->compiler, rc, log ? log : "(no output)");
            free(log);
            continue;
        }
        bd_status st = bd_compile_error(b->compiler, "broken", b->source, log);
        const char *msg = bd_last_error();
        char want_line[256];
        snprintf(want_line, sizeof want_line, "offending generated line %ld: %s", b->line, b->text);
        /* the log is quoted whole when it fits the message, else at least its first line */
        char first[256];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(log, "\n"), log);
        int quoted = strlen(log) < 2048 ? has(msg, log) : has(msg, first);
        tc_check(st == BD_ERR_COMPILE && has(msg, "broken") && quoted && has(msg, want_line),
                 "compile error log from %s -> %s, log quoted %s, names line %ld: %s", b->compiler, bd_status_name(st),
                 quoted ? "yes" : "NO", b->line, msg);
        free(log);
    }
    /* glslang's own format, "ERROR: 0:<line>:", as written by glslangValidator (a literal sample) */
    const char *src = "#version 450\nvoid main()\n{\n    int x = ;\n}\n";
    bd_status st = bd_compile_error("vulkan:0", "glsl_sample", src, "ERROR: 0:4: '' : syntax error, unexpected SEMICOLON\n");
    tc_check(st == BD_ERR_COMPILE && has(bd_last_error(), "offending generated line 4:     int x = ;"),
             "compile error log in glslang format names the line: %s", bd_last_error());
    st = bd_compile_error("opencl:0", "no_line", src, "internal compiler error, no position");
    tc_check(st == BD_ERR_COMPILE && has(bd_last_error(), "internal compiler error") && !has(bd_last_error(), "offending"),
             "compile error log without a line number is quoted alone: %s", bd_last_error());
    st = bd_compile_error("opencl:0", "past_end", src, "k.cl:999:1: error: past the end");
    tc_check(st == BD_ERR_COMPILE && has(bd_last_error(), "past the end"),
             "compile error log naming a line past the end -> %s: %s", bd_status_name(st), bd_last_error());
    st = bd_compile_error("cpu", "null_log", src, NULL);
    tc_check(st == BD_ERR_COMPILE && has(bd_last_error(), "null_log"), "compile error with no log -> %s: %s",
             bd_status_name(st), bd_last_error());
}

static bd_ir *small_kernel(bd_dtype t)
{
    bd_ir *k = NULL;
    bd_ir_new(t == BD_F64 ? "scale_f64" : "scale_f32", &k);
    int b = bd_ir_buffer(k, t, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_store(k, b, i, bd_ir_binary(k, BD_IR_MUL, bd_ir_load(k, b, i), bd_ir_const(k, t, 2)));
    return k;
}

/* f64 on a device without fp64: every such device here, and the cpu device with fp64 switched off in
 * its info (what the core's gate sees), must refuse cleanly with BD_ERR_UNSUPPORTED. */
static void test_f64_unsupported(void)
{
    bd_ir *k64 = small_kernel(BD_F64), *k32 = small_kernel(BD_F32);
    int real = 0;
    for (int i = 0; i < ndevs + 1; i++) {
        bd_device *d = NULL;
        const char *label;
        if (i < ndevs) {
            if (devs[i].info.fp64) continue;
            d = devs[i].d, label = devs[i].name, real++;
        } else {
            if (bd_device_open("cpu", &d)) {
                tc_line(TC_FAIL, "open cpu for the simulated no-fp64 device: %s", bd_last_error());
                break;
            }
            d->info.fp64 = 0;
            label = "cpu with fp64 switched off";
        }
        bd_kernel *kern = NULL;
        bd_status st = bd_kernel_compile(d, k64, &kern);
        tc_check(st == BD_ERR_UNSUPPORTED && kern == NULL && has(bd_last_error(), "f64"),
                 "f64 kernel on %s -> %s: %s", label, bd_status_name(st), bd_last_error());
        bd_kernel_free(kern);
        kern = NULL;
        bd_buffer *in = NULL, *out = NULL;
        st = bd_buffer_alloc(d, 64, &in);
        if (!st) st = bd_buffer_alloc(d, 64, &out);
        if (!st) st = bd_reduce(d, BD_REDUCE_SUM, BD_F64, in, 4, out);
        tc_check(st == BD_ERR_UNSUPPORTED && has(bd_last_error(), "f64"), "f64 reduce on %s -> %s: %s", label,
                 bd_status_name(st), bd_last_error());
        bd_rng_key key = {1, 2, 3, 4};
        st = bd_rng_fill(d, BD_RNG_NORMAL, BD_F64, &key, out, 4);
        tc_check(st == BD_ERR_UNSUPPORTED, "f64 normal fill on %s -> %s: %s", label, bd_status_name(st), bd_last_error());
        st = bd_kernel_compile(d, k32, &kern);
        tc_check(st == BD_OK, "f32 kernel still compiles on %s -> %s %s", label, bd_status_name(st), st ? bd_last_error() : "");
        bd_kernel_free(kern);
        bd_buffer_free(in), bd_buffer_free(out);
        if (i == ndevs) {
            d->info.fp64 = 1;
            bd_device_close(d);
        }
    }
    if (!real) tc_line(TC_SKIP, "f64 on a real device without fp64: every device here supports fp64");
    bd_ir_free(k64), bd_ir_free(k32);
}

/* ---------------------------------------------------------------------------------------------- */
/* API misuse on every device; buffers of "another device" come from cpu:ref.                      */

#define EXPECT(call, want, ...)                                                                         \
    do {                                                                                                \
        char what_[256];                                                                                \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                     \
        tc_expect_status((call), (want), what_);                                                        \
    } while (0)

static void test_misuse(bd_device *other)
{
    bd_buffer *foreign = NULL;
    if (bd_buffer_alloc(other, 1 << 16, &foreign)) {
        tc_line(TC_FAIL, "misuse: cannot allocate on cpu:ref: %s", bd_last_error());
        return;
    }
    bd_ir *kir = small_kernel(BD_F32);
    for (int i = 0; i < ndevs; i++) {
        bd_device *d = devs[i].d;
        char dn[40];
        memcpy(dn, devs[i].name, sizeof dn);
        bd_buffer *b = NULL, *b2 = NULL, *small = NULL, *tiny = NULL;
        bd_kernel *kern = NULL;
        if (bd_buffer_alloc(d, 1 << 16, &b) || bd_buffer_alloc(d, 1 << 16, &b2) || bd_buffer_alloc(d, 16, &small) ||
            bd_buffer_alloc(d, 4, &tiny) || bd_kernel_compile(d, kir, &kern)) {
            tc_line(TC_FAIL, "misuse on %s: setup failed: %s", dn, bd_last_error());
            bd_buffer_free(b), bd_buffer_free(b2), bd_buffer_free(small), bd_buffer_free(tiny);
            continue;
        }
        uint32_t host[64] = {0};
        bd_buffer *out = NULL;
        EXPECT(bd_buffer_alloc(NULL, 16, &out), BD_ERR_INVALID_ARG, "alloc on a NULL device");
        EXPECT(bd_buffer_alloc(d, 16, NULL), BD_ERR_INVALID_ARG, "alloc with out NULL on %s", dn);
        EXPECT(bd_buffer_upload(NULL, 0, host, 4), BD_ERR_INVALID_ARG, "upload to a NULL buffer");
        EXPECT(bd_buffer_upload(small, 8, host, 12), BD_ERR_INVALID_ARG, "upload past the end on %s", dn);
        EXPECT(bd_buffer_upload(small, SIZE_MAX - 1, host, 4), BD_ERR_INVALID_ARG, "upload at an offset that wraps on %s", dn);
        EXPECT(bd_buffer_upload(small, 0, NULL, 4), BD_ERR_INVALID_ARG, "upload from NULL on %s", dn);
        EXPECT(bd_buffer_download(small, 4, host, 16), BD_ERR_INVALID_ARG, "download past the end on %s", dn);
        EXPECT(bd_buffer_download(small, 0, NULL, 4), BD_ERR_INVALID_ARG, "download to NULL on %s", dn);
        EXPECT(bd_buffer_download(NULL, 0, host, 4), BD_ERR_INVALID_ARG, "download from a NULL buffer");
        uint32_t pat[2] = {1, 2};
        EXPECT(bd_buffer_fill(small, 0, 12, pat, 3), BD_ERR_INVALID_ARG, "fill with a 3-byte pattern on %s", dn);
        EXPECT(bd_buffer_fill(small, 0, 16, pat, 16), BD_ERR_INVALID_ARG, "fill with a 16-byte pattern on %s", dn);
        EXPECT(bd_buffer_fill(small, 4, 8, pat, 8), BD_ERR_INVALID_ARG, "fill at an offset not a multiple of 8 on %s", dn);
        EXPECT(bd_buffer_fill(small, 0, 6, pat, 4), BD_ERR_INVALID_ARG, "fill of 6 bytes with a 4-byte pattern on %s", dn);
        EXPECT(bd_buffer_fill(small, 0, 32, pat, 4), BD_ERR_INVALID_ARG, "fill past the end on %s", dn);
        EXPECT(bd_buffer_fill(small, 0, 16, NULL, 4), BD_ERR_INVALID_ARG, "fill with a NULL pattern on %s", dn);
        EXPECT(bd_buffer_copy(b, 0, foreign, 0, 64), BD_ERR_INVALID_ARG, "copy from cpu:ref to %s", dn);
        EXPECT(bd_buffer_copy(b, 0, b, 32, 64), BD_ERR_INVALID_ARG, "copy between overlapping ranges on %s", dn);
        EXPECT(bd_buffer_copy(small, 0, b, 0, 64), BD_ERR_INVALID_ARG, "copy past the destination's end on %s", dn);
        EXPECT(bd_buffer_copy(NULL, 0, b, 0, 4), BD_ERR_INVALID_ARG, "copy to a NULL buffer");
        /* a correct fill and copy after all that (positive control: the checks above reject, not the calls) */
        uint32_t eight[2] = {0x11111111u, 0x22222222u}, back[4] = {0};
        bd_status st = bd_buffer_fill(small, 0, 16, eight, 8);
        if (!st) st = bd_buffer_copy(b2, 0, small, 0, 16);
        if (!st) st = bd_buffer_download(b2, 0, back, 16);
        tc_check(st == BD_OK && back[0] == eight[0] && back[1] == eight[1] && back[2] == eight[0] && back[3] == eight[1],
                 "valid 8-byte fill and copy on %s -> %s", dn, bd_status_name(st));

        /* kernels */
        bd_buffer *bufs[2] = {b, b2};
        bd_value sc[1] = {{.f32 = 1}};
        bd_kernel *kout = (bd_kernel *)1;
        EXPECT(bd_kernel_compile(d, NULL, &kout), BD_ERR_INVALID_ARG, "compile a NULL kernel on %s", dn);
        EXPECT(bd_kernel_compile(NULL, kir, &kout), BD_ERR_INVALID_ARG, "compile on a NULL device");
        EXPECT(bd_kernel_compile(d, kir, NULL), BD_ERR_INVALID_ARG, "compile with out NULL on %s", dn);
        EXPECT(bd_kernel_launch(NULL, 4, bufs, 1, NULL, 0), BD_ERR_INVALID_ARG, "launch a NULL kernel");
        EXPECT(bd_kernel_launch(kern, 4, bufs, 2, NULL, 0), BD_ERR_INVALID_ARG, "launch with 2 buffers for 1 on %s", dn);
        EXPECT(bd_kernel_launch(kern, 4, bufs, 0, NULL, 0), BD_ERR_INVALID_ARG, "launch with no buffers on %s", dn);
        EXPECT(bd_kernel_launch(kern, 4, bufs, 1, sc, 1), BD_ERR_INVALID_ARG, "launch with a scalar too many on %s", dn);
        EXPECT(bd_kernel_launch(kern, 4, NULL, 1, NULL, 0), BD_ERR_INVALID_ARG, "launch with a NULL buffer array on %s", dn);
        bd_buffer *nullbuf[1] = {NULL};
        EXPECT(bd_kernel_launch(kern, 4, nullbuf, 1, NULL, 0), BD_ERR_INVALID_ARG, "launch with a NULL buffer on %s", dn);
        bd_buffer *tinyv[1] = {tiny};
        EXPECT(bd_kernel_launch(kern, 2, tinyv, 1, NULL, 0), BD_ERR_INVALID_ARG, "launch over n = 2 with a 1-element buffer on %s", dn);
        bd_buffer *foreignv[1] = {foreign};
        EXPECT(bd_kernel_launch(kern, 4, foreignv, 1, NULL, 0), BD_ERR_INVALID_ARG, "launch with a cpu:ref buffer on %s", dn);
        EXPECT(bd_kernel_launch(kern, (size_t)1 << 33, bufs, 1, NULL, 0), BD_ERR_LIMIT, "launch over n = 2^33 on %s", dn);

        /* operators */
        EXPECT(bd_reduce(NULL, BD_REDUCE_SUM, BD_F32, b, 4, b2), BD_ERR_INVALID_ARG, "reduce on a NULL device");
        EXPECT(bd_reduce(d, BD_REDUCE_SUM, BD_I32, b, 4, b2), BD_ERR_INVALID_ARG, "reduce of i32 on %s", dn);
        EXPECT(bd_reduce(d, (bd_reduce_kind)9, BD_F32, b, 4, b2), BD_ERR_INVALID_ARG, "reduce kind 9 on %s", dn);
        EXPECT(bd_reduce(d, BD_REDUCE_SUM, BD_F32, small, 5, b2), BD_ERR_INVALID_ARG, "reduce of 5 from 4 elements on %s", dn);
        EXPECT(bd_reduce(d, BD_REDUCE_SUM, BD_F32, b, 4, NULL), BD_ERR_INVALID_ARG, "reduce into NULL on %s", dn);
        EXPECT(bd_reduce(d, BD_REDUCE_SUM, BD_F32, foreign, 4, b2), BD_ERR_INVALID_ARG, "reduce of a cpu:ref buffer on %s", dn);
        EXPECT(bd_reduce_segments(d, BD_REDUCE_SUM, BD_F32, b, 4, tiny, 3, b2), BD_ERR_INVALID_ARG,
               "segments with 1 offset for 3 segments on %s", dn);
        EXPECT(bd_gather(d, BD_F32, b, 16, b2, 8, small), BD_ERR_INVALID_ARG, "gather of 8 into 4 elements on %s", dn);
        EXPECT(bd_gather(d, BD_F32, b, 16, foreign, 8, b2), BD_ERR_INVALID_ARG, "gather with cpu:ref indices on %s", dn);
        EXPECT(bd_scatter_add(d, BD_F32, b, b2, 8, small, 16), BD_ERR_INVALID_ARG, "scatter_add into a short target on %s", dn);
        EXPECT(bd_csr_spmv(d, BD_F32, NULL, b, b2), BD_ERR_INVALID_ARG, "spmv with a NULL matrix on %s", dn);
        bd_csr m = {4, 4, 4, tiny, b, NULL, 1.0};
        EXPECT(bd_csr_spmv(d, BD_F32, &m, b, b2), BD_ERR_INVALID_ARG, "spmv with a 1-entry rowptr for 4 rows on %s", dn);
        m.rowptr = b;
        EXPECT(bd_csr_spmv(d, BD_F32, &m, foreign, b2), BD_ERR_INVALID_ARG, "spmv with a cpu:ref x on %s", dn);
        EXPECT(bd_csr_spmv_t(d, BD_F32, NULL, b, b2), BD_ERR_INVALID_ARG, "spmv_t with a NULL matrix on %s", dn);
        EXPECT(bd_event_csr(d, BD_F32, NULL, b, b2), BD_ERR_INVALID_ARG, "event_csr with a NULL matrix on %s", dn);
        EXPECT(bd_event_csr_pull(d, BD_F32, NULL, b, b2), BD_ERR_INVALID_ARG, "event_csr_pull with a NULL matrix on %s", dn);
        EXPECT(bd_event_csr(d, BD_F32, &m, NULL, b2), BD_ERR_INVALID_ARG, "event_csr with NULL spikes on %s", dn);
        EXPECT(bd_event_csr_pull(d, BD_F32, &m, b, NULL), BD_ERR_INVALID_ARG, "event_csr_pull into NULL on %s", dn);
        EXPECT(bd_spike_compact(d, b, 8, small, b2), BD_ERR_INVALID_ARG, "spike_compact with 4 index slots for 8 on %s", dn);
        EXPECT(bd_spike_compact(d, b, 8, b2, NULL), BD_ERR_INVALID_ARG, "spike_compact without a count on %s", dn);
        EXPECT(bd_gemv(d, BD_F32, 0, 64, 64, 1.0, small, b, 0.0, b2), BD_ERR_INVALID_ARG, "gemv with a short A on %s", dn);
        st = bd_gemm(d, BD_F32, 0, 0, (size_t)1 << 40, (size_t)1 << 40, (size_t)1 << 40, 1.0, b, b, 0.0, b2);
        tc_check((st == BD_ERR_INVALID_ARG || st == BD_ERR_LIMIT) && bd_last_error()[0],
                 "gemm of 2^40 x 2^40 x 2^40 on %s -> %s: %s", dn, bd_status_name(st), bd_last_error());
        bd_rng_key key = {1, 2, 3, 4};
        EXPECT(bd_rng_fill(d, BD_RNG_U32, BD_F32, &key, b, 4), BD_ERR_INVALID_ARG, "raw u32 fill as f32 on %s", dn);
        EXPECT(bd_rng_fill(d, BD_RNG_UNIFORM, BD_F32, NULL, b, 4), BD_ERR_INVALID_ARG, "fill with a NULL key on %s", dn);
        EXPECT(bd_rng_fill(d, (bd_rng_dist)5, BD_F32, &key, b, 4), BD_ERR_INVALID_ARG, "fill of distribution 5 on %s", dn);
        EXPECT(bd_rng_fill(d, BD_RNG_UNIFORM, BD_F32, &key, small, 5), BD_ERR_INVALID_ARG, "fill of 5 into 4 on %s", dn);
        bd_procedural pc = {1, 2, 8, 8, BD_PROC_FIXED_PROB, 1.5, 0, BD_WEIGHT_CONSTANT, 1.0, 0.0};
        EXPECT(bd_event_procedural(d, BD_F32, &pc, b, b2), BD_ERR_INVALID_ARG, "procedural with p = 1.5 on %s", dn);
        pc.p = NAN;
        EXPECT(bd_event_procedural(d, BD_F32, &pc, b, b2), BD_ERR_INVALID_ARG, "procedural with p = NaN on %s", dn);
        pc.p = 0.5, pc.conn = (bd_proc_conn)9;
        EXPECT(bd_event_procedural(d, BD_F32, &pc, b, b2), BD_ERR_INVALID_ARG, "procedural kind 9 on %s", dn);
        EXPECT(bd_event_procedural(d, BD_F32, NULL, b, b2), BD_ERR_INVALID_ARG, "procedural with NULL connectivity on %s", dn);
        pc.conn = BD_PROC_FIXED_PROB, pc.n_post = 1 << 20;
        EXPECT(bd_event_procedural(d, BD_F32, &pc, b, small), BD_ERR_INVALID_ARG, "procedural into a short y on %s", dn);
        EXPECT(bd_device_set_threads(d, 0), BD_ERR_INVALID_ARG, "0 threads on %s", dn);
        tc_check(still_works(d), "%s still works after the misuse", dn);
        bd_kernel_free(kern);
        bd_buffer_free(b), bd_buffer_free(b2), bd_buffer_free(small), bd_buffer_free(tiny);
    }
    /* host helpers and NULL handles */
    size_t len = 0;
    bd_procedural pc = {1, 2, 8, 8, BD_PROC_FIXED_PROB, 0.5, 0, BD_WEIGHT_CONSTANT, 1.0, 0.0};
    EXPECT(bd_procedural_row(NULL, 0, NULL, NULL, 0, &len), BD_ERR_INVALID_ARG, "bd_procedural_row(NULL connectivity)");
    bd_status st = bd_procedural_row(&pc, 0, NULL, NULL, 0, NULL);
    tc_check(st == BD_ERR_INVALID_ARG, "bd_procedural_row(len NULL) -> %s: %s", bd_status_name(st), bd_last_error());
    st = bd_procedural_row(&pc, 8, NULL, NULL, 0, &len);
    tc_check(st == BD_ERR_INVALID_ARG || st == BD_ERR_NOT_FOUND, "bd_procedural_row(pre = n_pre) -> %s: %s",
             bd_status_name(st), bd_last_error());
    uint32_t *tp = NULL, *tc = NULL;
    EXPECT(bd_csr_transpose_host(2, 2, NULL, NULL, NULL, BD_F32, &tp, &tc, NULL), BD_ERR_INVALID_ARG,
           "bd_csr_transpose_host(NULL rowptr)");
    EXPECT(bd_device_sync(NULL), BD_ERR_INVALID_ARG, "bd_device_sync(NULL)");
    bd_device_close(NULL);
    bd_buffer_free(NULL);
    bd_kernel_free(NULL);
    bd_ir_free(NULL);
    tc_check(bd_buffer_size(NULL) == 0 && bd_device_get_info(NULL) == NULL,
             "NULL handles: close/free are no-ops, size 0, no info");
    bd_ir_free(kir);
    bd_buffer_free(foreign);
}

static void test_status_names(void)
{
    static const bd_status all[] = {BD_OK, BD_ERR_INVALID_ARG, BD_ERR_NOT_FOUND, BD_ERR_PARSE, BD_ERR_IO, BD_ERR_MODEL,
                                    BD_ERR_UNITS, BD_ERR_DEVICE, BD_ERR_UNSUPPORTED, BD_ERR_COMPILE, BD_ERR_LIMIT,
                                    BD_ERR_BACKEND_MISSING, BD_ERR_NOMEM, BD_ERR_DEVICE_NOMEM, BD_ERR_NUMERIC};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = bd_status_name(all[i]);
        bad += !n || strncmp(n, "BD_", 3) != 0 || strcmp(n, "BD_ERR_UNKNOWN") == 0;
        for (size_t j = 0; j < i; j++) bad += strcmp(n, bd_status_name(all[j])) == 0;
    }
    tc_check(bad == 0, "every status code has its own name (%zu bad)", bad);
}

/* ---------------------------------------------------------------------------------------------- */
/* Children: cases that need another environment.                                                 */

/* In the child: the backend libraries cannot be loaded. */
static void child_missing_libs(void)
{
    static const struct {
        bd_backend_kind kind;
        const char *dev, *lib;
    } b[2] = {{BD_BACKEND_OPENCL, "opencl:0", "/nonexistent/libOpenCL.so.1"},
              {BD_BACKEND_VULKAN, "vulkan:0", "/nonexistent/libvulkan.so.1"}};
    for (int i = 0; i < 2; i++) {
        const char *why = NULL;
        bd_status bs = bd_backend_status(b[i].kind, &why);
        if (bs == BD_ERR_UNSUPPORTED && has(why, "not compiled")) {
            tc_line(TC_SKIP, "missing %s library: the backend is not compiled into this build", b[i].dev);
            continue;
        }
        tc_check(bs == BD_ERR_BACKEND_MISSING && has(why, b[i].lib), "bd_backend_status(%s) with %s -> %s: %s",
                 bd_backend_name(b[i].kind), b[i].lib, bd_status_name(bs), why ? why : "(NULL)");
        bd_device *d = (bd_device *)1;
        bd_status st = bd_device_open(b[i].dev, &d);
        tc_check(st == BD_ERR_BACKEND_MISSING && d == NULL && has(bd_last_error(), b[i].lib),
                 "bd_device_open(%s) with %s -> %s: %s", b[i].dev, b[i].lib, bd_status_name(st), bd_last_error());
    }
    size_t count = bd_device_count();
    bd_device_info info;
    tc_check(count == 1 && bd_device_info_get(0, &info) == BD_OK && strcmp(info.name, "cpu") == 0,
             "without the OpenCL and Vulkan libraries only cpu is listed (%zu devices)", count);
    bd_device *cpu = NULL;
    bd_status st = bd_device_open("cpu", &cpu);
    bd_ir *k = small_kernel(BD_F32);
    bd_kernel *kern = NULL;
    bd_buffer *buf = NULL;
    float v[5] = {1, 2, 3, -4, 0.5f}, out[5] = {0};
    if (!st) st = bd_kernel_compile(cpu, k, &kern);
    if (!st) st = bd_buffer_alloc(cpu, sizeof v, &buf);
    if (!st) st = bd_buffer_upload(buf, 0, v, sizeof v);
    if (!st) st = bd_kernel_launch(kern, 5, &buf, 1, NULL, 0);
    if (!st) st = bd_buffer_download(buf, 0, out, sizeof out);
    tc_check(st == BD_OK && out[0] == 2 && out[3] == -8 && out[4] == 1,
             "cpu still compiles and runs a kernel without the other backends -> %s %s", bd_status_name(st),
             st ? bd_last_error() : "");
    bd_buffer_free(buf);
    bd_kernel_free(kern);
    bd_ir_free(k);
    bd_device_close(cpu);
}

/* In the child: $CC defines the entry point's name away, so every generated C kernel fails to compile
 * at its entry line; the cache is off so that nothing compiled earlier is reused. */
static void child_bad_cc(void)
{
    static const char *const names[2] = {"cpu", "cpu:ref"};
    for (int i = 0; i < 2; i++) {
        bd_device *d = NULL;
        bd_status st = bd_device_open(names[i], &d);
        if (st) {
            tc_line(TC_FAIL, "open %s: %s", names[i], bd_last_error());
            continue;
        }
        bd_ir *k = small_kernel(BD_F32);
        bd_kernel *kern = (bd_kernel *)1;
        st = bd_kernel_compile(d, k, &kern);
        const char *msg = bd_last_error();
        tc_check(st == BD_ERR_COMPILE && kern == NULL && has(msg, "error") && has(msg, "scale_f32") &&
                     has(msg, "offending generated line") && has(msg, "bd_kernel("),
                 "kernel compile failure on %s (CC=\"%s\") -> %s, log and offending line: %s", names[i], getenv("CC"),
                 bd_status_name(st), msg);
        tc_check(still_works(d), "%s still works after the failed compile", names[i]);
        bd_ir_free(k);
        bd_device_close(d);
    }
}

/* In the child: $CC does not exist. */
static void child_no_cc(void)
{
    bd_device *d = NULL;
    bd_status st = bd_device_open("cpu", &d);
    if (st) {
        tc_line(TC_FAIL, "open cpu: %s", bd_last_error());
        return;
    }
    bd_ir *k = small_kernel(BD_F32);
    bd_kernel *kern = (bd_kernel *)1;
    st = bd_kernel_compile(d, k, &kern);
    tc_check(st != BD_OK && kern == NULL && has(bd_last_error(), "/nonexistent/cc"),
             "kernel compile with a missing compiler -> %s: %s", bd_status_name(st), bd_last_error());
    tc_check(still_works(d), "cpu still works without a C compiler");
    bd_ir_free(k);
    bd_device_close(d);
}

/* Runs this program as a child with extra environment variables; adds its counts to ours. */
static void run_child(const char *mode, const char *const *env)
{
    int fds[2];
    if (pipe(fds) != 0) {
        tc_line(TC_FAIL, "child %s: pipe: %s", mode, strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        tc_line(TC_FAIL, "child %s: fork: %s", mode, strerror(errno));
        close(fds[0]), close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        for (const char *const *e = env; *e; e += 2) setenv(e[0], e[1], 1);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", fds[1]);
        execl("/proc/self/exe", "test_errors", "--child", mode, fd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[64] = "";
    ssize_t got = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int p = 0, f = 0, s = 0;
    if (got > 0 && sscanf(buf, "%d %d %d", &p, &f, &s) == 3 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        tc_passed += p, tc_failed += f, tc_skipped += s;
    } else {
        tc_line(TC_FAIL, "child %s did not finish cleanly (%s %d)", mode, WIFSIGNALED(status) ? "signal" : "exit",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        tc_passed += p, tc_failed += f, tc_skipped += s;
    }
}

/* In the child: API misuse on every device, with cpu:ref's buffers as those of another device. */
static void child_misuse(void)
{
    bd_device *ref = NULL;
    open_devices();
    if (bd_device_open("cpu:ref", &ref)) tc_line(TC_FAIL, "open cpu:ref: %s", bd_last_error());
    else test_misuse(ref);
    for (int i = 0; i < ndevs; i++) bd_device_close(devs[i].d);
    bd_device_close(ref);
}

static int child_main(const char *mode, int fd)
{
    if (strcmp(mode, "misuse") == 0) child_misuse();
    else if (strcmp(mode, "missing-libs") == 0) child_missing_libs();
    else if (strcmp(mode, "bad-cc") == 0) child_bad_cc();
    else if (strcmp(mode, "no-cc") == 0) child_no_cc();
    else tc_line(TC_FAIL, "unknown child mode %s", mode);
    char buf[64];
    int len = snprintf(buf, sizeof buf, "%d %d %d\n", tc_passed, tc_failed, tc_skipped);
    ssize_t w = write(fd, buf, (size_t)len);
    close(fd);
    return w == len ? 0 : 1;
}

/* One CSR row (and one segment) of 290,001 entries among 10,000: every device must either give the
 * exact sums or refuse with BD_ERR_LIMIT (llvmpipe ends a shader invocation after 65,535 loop
 * iterations, which once truncated such rows silently), never a wrong answer. */
static void test_long_rows(void)
{
    const size_t rows = 10000, nnz = 300000, longest = nnz - rows + 1;
    uint32_t *rp = malloc((rows + 1) * 4), *ci = malloc(nnz * 4), *flags = malloc(rows * 4);
    float *y = malloc(rows * 4);
    if (!rp || !ci || !flags || !y) {
        tc_line(TC_FAIL, "long rows: host out of memory");
        free(rp), free(ci), free(flags), free(y);
        return;
    }
    rp[0] = 0;
    for (size_t r = 1; r <= rows; r++) rp[r] = (uint32_t)(longest + r - 1); /* row 0 is the long one */
    for (size_t e = 0; e < nnz; e++) ci[e] = (uint32_t)(e % rows);
    for (size_t r = 0; r < rows; r++) flags[r] = 1;
    for (int i = 0; i < ndevs; i++) {
        bd_device *d = devs[i].d;
        bd_buffer *brp = NULL, *bci = NULL, *bfl = NULL, *bx = NULL, *by = NULL;
        float one = 1.0f, zero = 0.0f;
        bd_status st = bd_buffer_alloc(d, (rows + 1) * 4, &brp);
        if (!st) st = bd_buffer_alloc(d, nnz * 4, &bci);
        if (!st) st = bd_buffer_alloc(d, rows * 4, &bfl);
        if (!st) st = bd_buffer_alloc(d, nnz * 4, &bx);
        if (!st) st = bd_buffer_alloc(d, rows * 4, &by);
        if (!st) st = bd_buffer_upload(brp, 0, rp, (rows + 1) * 4);
        if (!st) st = bd_buffer_upload(bci, 0, ci, nnz * 4);
        if (!st) st = bd_buffer_upload(bfl, 0, flags, rows * 4);
        if (!st) st = bd_buffer_fill(bx, 0, nnz * 4, &one, 4);
        if (st) tc_line(TC_FAIL, "long rows on %s: setup: %s", devs[i].name, bd_last_error());
        bd_csr a = {rows, rows, nnz, brp, bci, NULL, 1.0};
        for (int op = 0; op < 3 && !st; op++) {
            const char *what = op == 0 ? "csr_spmv" : op == 1 ? "event_csr_pull" : "reduce_segments";
            bd_status rs = bd_buffer_fill(by, 0, rows * 4, &zero, 4);
            if (!rs) rs = op == 0   ? bd_csr_spmv(d, BD_F32, &a, bx, by)
                          : op == 1 ? bd_event_csr_pull(d, BD_F32, &a, bfl, by)
                                    : bd_reduce_segments(d, BD_REDUCE_SUM, BD_F32, bx, nnz, brp, rows, by);
            if (rs == BD_ERR_LIMIT) {
                tc_expect_status(rs, BD_ERR_LIMIT, what);
                continue;
            }
            if (!rs) rs = bd_buffer_download(by, 0, y, rows * 4);
            tc_check(rs == BD_OK && y[0] == (float)longest && y[1] == 1.0f,
                     "%s with a row of %zu entries on %s: %s, y[0] = %.0f (want %zu)", what, longest, devs[i].name,
                     bd_status_name(rs), (double)y[0], longest);
        }
        bd_buffer_free(brp), bd_buffer_free(bci), bd_buffer_free(bfl), bd_buffer_free(bx), bd_buffer_free(by);
    }
    free(rp), free(ci), free(flags), free(y);
}

int main(int argc, char **argv)
{
    tc_begin();
    if (argc == 4 && strcmp(argv[1], "--child") == 0) return child_main(argv[2], atoi(argv[3]));

    snprintf(tmpdir, sizeof tmpdir, "%s/bd_test_errors_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) snprintf(tmpdir, sizeof tmpdir, "/tmp");
    open_devices();
    test_status_names();
    test_unknown_device();
    test_allocation();
    test_compile_error_logs();
    test_f64_unsupported();
    test_long_rows();

    static const char *const missing[] = {"BDYN_OPENCL_LIBRARY", "/nonexistent/libOpenCL.so.1", "BDYN_VULKAN_LIBRARY",
                                          "/nonexistent/libvulkan.so.1", NULL};
    static const char *const bad_cc[] = {"CC", "cc -Dbd_kernel=+", "BDYN_CACHE", "0", NULL};
    static const char *const no_cc[] = {"CC", "/nonexistent/cc", "BDYN_CACHE", "0", NULL};
    static const char *const none[] = {NULL};
    run_child("misuse", none); /* a crash there is reported, and the other cases still run */
    run_child("missing-libs", missing);
    run_child("bad-cc", bad_cc);
    run_child("no-cc", no_cc);

    for (int i = 0; i < ndevs; i++) bd_device_close(devs[i].d);
    char rm[512];
    if (strcmp(tmpdir, "/tmp") != 0) {
        snprintf(rm, sizeof rm, "rm -rf '%s'", tmpdir);
        if (system(rm) != 0) printf("note: could not remove %s\n", tmpdir);
    }
    return tc_finish();
}
