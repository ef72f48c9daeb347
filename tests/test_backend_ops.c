/* The operator matrix: every fixed operator and a set of IR kernels on every device (and on the
 * reference device "cpu:ref"), in f32 and f64, at sizes 0, 1, 4099 and 2^24 + 3, each compared with
 * an expectation computed here on the host and, where the API promises it, with cpu:ref bit for bit.
 *
 * Expectations are independent of the library wherever that is possible: sums in long double,
 * libm for the math functions, the LIF update and all integer semantics re-implemented here, and a
 * Philox4x32-10 written here and checked against the Random123 known-answer vectors. Only uniform and
 * normal fills (whose conversion is the library's own definition) are compared with cpu:ref.
 *
 * Tolerances (eps = machine epsilon of the dtype; K = number of terms summed into one output;
 * "scale" = the sum of the absolute values of everything added into that output, |a*x| + |y| style,
 * never |result|). Inputs of the summing ops are zero-mean random reals, for which the rounding error
 * of any summation order stays far below (2 sqrt(K) + 8) eps * scale.
 *   op                                     tolerance
 *   reduce sum / segments sum              (2 sqrt(K) + 8) eps * sum|x|
 *   reduce mean                            the sum's tolerance / K + 2 eps |mean|
 *   reduce min / max, gather, IR gather    exact
 *   scatter_add, csr_spmv(_t), event_csr   (2 sqrt(K + 1) + 8) eps * (|y0| + sum|a x|)
 *   event_csr_pull                         the same vs the host, and BIT-IDENTICAL to cpu:ref
 *   gemv, gemm                             (2 sqrt(K + 2) + 8) eps * (|alpha| sum|a b| + |beta c|)
 *   event_procedural                       (2 sqrt(K + 1) + 8) eps_f32 * (|y0| + sum|w|) vs rows
 *                                          from bd_procedural_row (f32 weights), dtype eps vs cpu:ref
 *   spike_compact                          count exact, indices equal as sets
 *   rng u32 (and the 3 keys x 10^6 words)  exact; uniform 2 eps, normal 64 eps max(1, |v|) vs cpu:ref
 *   IR LIF update (host-precomputed decay) BIT-IDENTICAL to the host's own computation
 *   IR math: exp expm1 log1p sqrt          32 eps |want|      pow 64 eps |want|
 *            log sin cos tanh              32 eps max(1, |want|)
 *            floor ceil min max clamp select abs casts division, integer and bool ops: exact
 * Arrays over 2^24 elements use exact data instead: values in {-1, 0, 1} (and alpha, beta, weights that
 * are short binary fractions), so every partial sum in any order is exact and the expected result is
 * exact: a dropped or doubled element, invisible under a relative tolerance, shows.
 *
 * Every output buffer has G guard elements after the part the op may write, holding a sentinel that
 * must survive; every input has G poison elements after its declared size (1e30, spike flag 1, ...)
 * that would change the result if read. An op that answers BD_ERR_UNSUPPORTED or BD_ERR_LIMIT is
 * printed as SKIP with the library's message; any other error is a failure.
 * Environment: BDYN_TEST_DEVICES="cpu,vulkan:0" restricts the devices (cpu:ref always runs);
 * BDYN_TEST_QUICK=1 leaves out the arrays over 2^24 elements (each printed as a skip). */
#include "test_common.h"
#include "backend.h" /* bd_event_csr_prepare, bd_op_run: the runner's way to mark sorted rows */

#include <float.h>
#include <math.h>
#include <time.h>

#define G 16
#define BIG (((size_t)1 << 24) + 3)
#define MAXDEV 16

static const size_t SIZES[] = {0, 1, 4099, BIG};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])
static const bd_dtype FTYPES[] = {BD_F32, BD_F64};

typedef struct tdev {
    char name[40];
    bd_device *d;
} tdev;

static tdev devs[MAXDEV]; /* devs[0] is cpu:ref */
static int ndevs;
static int quick;

static unsigned char sentinel[G * 8];
static float poison_f32[G];
static double poison_f64[G];
static uint32_t tail_zero[G], tail_one[G], tail_huge[G];

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        printf("FAIL host out of memory allocating %zu bytes for test data\n", n);
        exit(2);
    }
    return p;
}

static double eps_of(bd_dtype t) { return t == BD_F64 ? DBL_EPSILON : FLT_EPSILON; }
static double sum_tol(bd_dtype t, size_t k) { return (2.0 * sqrt((double)k) + 8.0) * eps_of(t); }
static int big(size_t n) { return n > ((size_t)1 << 24); }

static double getv(const void *p, bd_dtype t, size_t i)
{
    switch (t) {
    case BD_F32: return ((const float *)p)[i];
    case BD_F64: return ((const double *)p)[i];
    case BD_I32: return ((const int32_t *)p)[i];
    default: return ((const uint32_t *)p)[i];
    }
}

static void setv(void *p, bd_dtype t, size_t i, double v)
{
    if (t == BD_F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

static void fill_real(void *p, bd_dtype t, size_t n, double lo, double hi, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) setv(p, t, i, lo + (hi - lo) * tc_uniform(s));
}

/* -1, 0, 0, 1 with equal probability: sums of these are exact in any order below 2^24 terms. */
static void fill_ternary(void *p, bd_dtype t, size_t n, uint64_t *s)
{
    static const double map[4] = {-1.0, 0.0, 0.0, 1.0};
    for (size_t i = 0; i < n; i++) setv(p, t, i, map[tc_rand(s) >> 62]);
}

/* Test data for a summing op: exact ternary values for arrays over 2^24 elements, else reals. */
static void fill_data(void *p, bd_dtype t, size_t n, int exact, uint64_t *s)
{
    if (exact) fill_ternary(p, t, n, s);
    else fill_real(p, t, n, -1.0, 1.0, s);
}

static void fill_value(void *p, bd_dtype t, size_t n, double v)
{
    for (size_t i = 0; i < n; i++) setv(p, t, i, v);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------------- */
/* One device run of one case: its buffers are freed together; the first error is kept.           */

typedef struct run {
    const tdev *dv;
    double t0;
    bd_buffer *bufs[32];
    int nbufs;
    bd_status st;
    char what[64];
    char err[1024];
    size_t guard_bad;
} run;

static void run_begin(run *r, const tdev *dv)
{
    memset(r, 0, sizeof *r);
    r->dv = dv;
    r->t0 = now();
}

static void run_status(run *r, bd_status st, const char *what)
{
    if (st == BD_OK || r->st) return;
    r->st = st;
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->err, sizeof r->err, "%s", bd_last_error());
}

static void run_end(run *r)
{
    for (int i = 0; i < r->nbufs; i++) bd_buffer_free(r->bufs[i]);
    r->nbufs = 0;
}

/* A buffer of bytes + tail_bytes holding data followed by tail. */
static bd_buffer *run_alloc(run *r, const void *data, size_t bytes, const void *tail, size_t tail_bytes)
{
    if (r->st) return NULL;
    bd_buffer *b = NULL;
    run_status(r, bd_buffer_alloc(r->dv->d, bytes + tail_bytes, &b), "bd_buffer_alloc");
    if (r->st) return NULL;
    r->bufs[r->nbufs++] = b;
    if (bytes) run_status(r, bd_buffer_upload(b, 0, data, bytes), "bd_buffer_upload");
    if (tail_bytes) run_status(r, bd_buffer_upload(b, bytes, tail, tail_bytes), "bd_buffer_upload");
    return b;
}

/* An input of n elements of es bytes followed by G poison elements. */
static bd_buffer *in_buf(run *r, const void *data, size_t n, size_t es, const void *poison)
{
    return run_alloc(r, data, n * es, poison, G * es);
}

static const void *fpoison(bd_dtype t) { return t == BD_F64 ? (const void *)poison_f64 : (const void *)poison_f32; }

/* An output of n elements initialised from init, followed by G sentinel elements. */
static bd_buffer *out_buf(run *r, const void *init, size_t n, size_t es)
{
    return run_alloc(r, init, n * es, sentinel, G * es);
}

/* Downloads n elements and checks that the G guard elements after them still hold the sentinel. */
static void out_get(run *r, bd_buffer *b, void *dst, size_t n, size_t es)
{
    if (r->st) return;
    if (n) run_status(r, bd_buffer_download(b, 0, dst, n * es), "bd_buffer_download");
    unsigned char tail[G * 8];
    run_status(r, bd_buffer_download(b, n * es, tail, G * es), "bd_buffer_download");
    if (r->st) return;
    for (size_t w = 0; w < G * es / 4; w++)
        if (memcmp(tail + 4 * w, sentinel, 4) != 0) r->guard_bad++;
}

/* ---------------------------------------------------------------------------------------------- */
/* Comparison of one run's outputs with the expectation.                                           */

typedef struct cmp {
    size_t bad, checked, first;
    double got_first, want_first, tol_first;
    double maxabs, maxfrac;
    int exact;       /* every comparison so far had tolerance 0 */
    char fail[512];  /* a failed extra property */
    char note[256];  /* appended to the PASS line */
} cmp;

static void cmp_init(cmp *c)
{
    memset(c, 0, sizeof *c);
    c->exact = 1;
}

static void cmp_one(cmp *c, size_t i, double g, double w, double tol)
{
    c->checked++;
    int ok;
    double d = 0;
    if (isnan(w) || isnan(g)) ok = isnan(w) && isnan(g), d = ok ? 0 : INFINITY;
    else if (isinf(w) || isinf(g)) ok = g == w, d = ok ? 0 : INFINITY;
    else {
        d = fabs(g - w);
        ok = d <= tol;
    }
    if (tol > 0) c->exact = 0;
    if (d > c->maxabs) c->maxabs = d;
    if (tol > 0 && d / tol > c->maxfrac) c->maxfrac = d / tol;
    if (!ok) {
        if (!c->bad) c->first = i, c->got_first = g, c->want_first = w, c->tol_first = tol;
        c->bad++;
    }
}

/* got: n values of type t; want, tol: n doubles (tol NULL: exact). */
static void cmp_vals(cmp *c, bd_dtype t, const void *got, const double *want, const double *tol, size_t n)
{
    for (size_t i = 0; i < n; i++) cmp_one(c, i, getv(got, t, i), want[i], tol ? tol[i] : 0.0);
}

/* Bitwise equality of n elements of es bytes; values shown as type t. */
static size_t cmp_bits(cmp *c, bd_dtype t, const void *got, const void *want, size_t n)
{
    size_t es = bd_dtype_size(t), diff = 0;
    for (size_t i = 0; i < n; i++) {
        c->checked++;
        if (memcmp((const char *)got + i * es, (const char *)want + i * es, es) != 0) {
            if (!c->bad) c->first = i, c->got_first = getv(got, t, i), c->want_first = getv(want, t, i), c->tol_first = 0;
            c->bad++;
            diff++;
            double d = fabs(getv(got, t, i) - getv(want, t, i));
            if (!(d <= c->maxabs)) c->maxabs = isnan(d) ? INFINITY : d;
        }
    }
    return diff;
}

static void cmp_failf(cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmp_failf(cmp *c, const char *fmt, ...)
{
    size_t len = strlen(c->fail);
    if (len + 3 >= sizeof c->fail) return;
    if (len) strcat(c->fail, "; "), len += 2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail + len, sizeof c->fail - len, fmt, ap);
    va_end(ap);
}

static void verdict(const char *op, const char *dt, size_t n, const run *r, const cmp *c)
{
    const char *dn = r->dv->name;
    double ms = 1e3 * (now() - r->t0);
    if (r->st == BD_ERR_UNSUPPORTED || r->st == BD_ERR_LIMIT) {
        tc_line(TC_SKIP, "%s %s n=%zu on %s: %s", op, dt, n, dn, r->err);
    } else if (r->st) {
        tc_line(TC_FAIL, "%s %s n=%zu on %s: %s returned %s: %s", op, dt, n, dn, r->what, bd_status_name(r->st),
                r->err);
    } else if (c->bad || r->guard_bad || c->fail[0]) {
        char vals[256] = "";
        if (c->bad)
            snprintf(vals, sizeof vals, "%zu of %zu values off, first [%zu]: got %.17g want %.17g (tol %.3g); ", c->bad,
                     c->checked, c->first, c->got_first, c->want_first, c->tol_first);
        tc_line(TC_FAIL, "%s %s n=%zu on %s: %s%zu guard words overwritten%s%s; maxerr=%.3g [%.0f ms]", op, dt, n, dn,
                vals, r->guard_bad, c->fail[0] ? "; " : "", c->fail, c->maxabs, ms);
    } else if (c->exact) {
        tc_line(TC_PASS, "%s %s n=%zu on %s: maxerr=0 (exact, %zu values)%s%s [%.0f ms]", op, dt, n, dn, c->checked,
                c->note[0] ? "; " : "", c->note, ms);
    } else {
        tc_line(TC_PASS, "%s %s n=%zu on %s: maxerr=%.3g (%.3f of tol, %zu values)%s%s [%.0f ms]", op, dt, n, dn,
                c->maxabs, c->maxfrac, c->checked, c->note[0] ? "; " : "", c->note, ms);
    }
}

/* In quick mode the arrays over 2^24 elements are left out, each printed as a skip. */
static int skip_big(const char *op, const char *dt, size_t n)
{
    if (!quick || !big(n)) return 0;
    for (int d = 0; d < ndevs; d++)
        tc_line(TC_SKIP, "%s %s n=%zu on %s: left out by BDYN_TEST_QUICK", op, dt, n, devs[d].name);
    return 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Philox4x32-10, written from Salmon et al. (SC'11) / Random123, independent of core/mathlib.     */

static void philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r) k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* The documented fill layout: element i is word i % 4 of philox({lo(i/4), hi(i/4), c2, c3}, {k0, k1}). */
static void philox_fill(const bd_rng_key *k, uint32_t *out, size_t n)
{
    uint32_t key[2] = {k->k0, k->k1}, w[4];
    for (size_t b = 0; b * 4 < n; b++) {
        uint32_t ctr[4] = {(uint32_t)b, (uint32_t)((uint64_t)b >> 32), k->c2, k->c3};
        philox(ctr, key, w);
        for (size_t j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = w[j];
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* IR kernels.                                                                                     */

typedef struct kset {
    bd_kernel *k[MAXDEV];
    bd_status st[MAXDEV];
    char err[MAXDEV][1024];
} kset;

static void kset_compile(kset *ks, bd_ir *ir)
{
    for (int d = 0; d < ndevs; d++) {
        ks->k[d] = NULL;
        ks->st[d] = bd_ir_status(ir);
        if (ks->st[d] == BD_OK) ks->st[d] = bd_kernel_compile(devs[d].d, ir, &ks->k[d]);
        snprintf(ks->err[d], sizeof ks->err[d], "%s", ks->st[d] ? bd_last_error() : "");
    }
}

static void kset_free(kset *ks)
{
    for (int d = 0; d < ndevs; d++) bd_kernel_free(ks->k[d]);
}

/* The compile outcome as the run's status, so that verdict() reports it. */
static int kset_ok(const kset *ks, int d, run *r)
{
    if (ks->st[d] == BD_OK) return 1;
    r->st = ks->st[d];
    snprintf(r->what, sizeof r->what, "bd_kernel_compile");
    snprintf(r->err, sizeof r->err, "%s", ks->err[d]);
    return 0;
}

#define C_T(k, t, v) bd_ir_const(k, t, v)
#define BIN(k, op, a, b) bd_ir_binary(k, BD_IR_##op, a, b)
#define UN(k, op, a) bd_ir_unary(k, BD_IR_##op, a)

/* Exponential-Euler LIF: v = vinf + (v - vinf) * decay; threshold, reset, spike flag, spike count. */
static bd_ir *ir_lif(bd_dtype t)
{
    bd_ir *k = NULL;
    bd_ir_new("lif_update", &k);
    int bv = bd_ir_buffer(k, t, 1), bvi = bd_ir_buffer(k, t, 0), bdc = bd_ir_buffer(k, t, 0);
    int bs = bd_ir_buffer(k, BD_U32, 1), bc = bd_ir_buffer(k, BD_U32, 1);
    int sth = bd_ir_scalar(k, t), sre = bd_ir_scalar(k, t);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val vinf = bd_ir_let(k, bd_ir_load(k, bvi, i));
    bd_ir_val diff = BIN(k, SUB, bd_ir_load(k, bv, i), vinf);
    bd_ir_val vn = bd_ir_var(k, BIN(k, ADD, vinf, BIN(k, MUL, diff, bd_ir_load(k, bdc, i))));
    bd_ir_if(k, BIN(k, GT, vn, bd_ir_param(k, sth)));
    bd_ir_assign(k, vn, bd_ir_param(k, sre));
    bd_ir_store(k, bs, i, C_T(k, BD_U32, 1));
    bd_ir_store(k, bc, i, BIN(k, ADD, bd_ir_load(k, bc, i), C_T(k, BD_U32, 1)));
    bd_ir_else(k);
    bd_ir_store(k, bs, i, C_T(k, BD_U32, 0));
    bd_ir_end(k);
    bd_ir_store(k, bv, i, vn);
    return k;
}

#define LIF_STEPS 3
#define LIF_VTH (-50.0)
#define LIF_VRESET (-65.0)

/* The host's own LIF steps, in the kernel's precision and operation order (no contraction). */
static void lif_host(bd_dtype t, void *v, const void *vinf, const void *dec, uint32_t *spk, uint32_t *cnt, size_t n)
{
    for (int s = 0; s < LIF_STEPS; s++)
        for (size_t i = 0; i < n; i++) {
            int fired;
            if (t == BD_F32) {
                float *vv = v;
                const float *vi = vinf, *d = dec;
                float x = vi[i] + (vv[i] - vi[i]) * d[i];
                fired = x > (float)LIF_VTH;
                vv[i] = fired ? (float)LIF_VRESET : x;
            } else {
                double *vv = v;
                const double *vi = vinf, *d = dec;
                double x = vi[i] + (vv[i] - vi[i]) * d[i];
                fired = x > LIF_VTH;
                vv[i] = fired ? LIF_VRESET : x;
            }
            spk[i] = (uint32_t)fired;
            cnt[i] += (uint32_t)fired;
        }
}

static void test_lif(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    bd_ir *ir = ir_lif(t);
    kset ks;
    kset_compile(&ks, ir);
    bd_value sc[2];
    if (t == BD_F32) sc[0].f32 = (float)LIF_VTH, sc[1].f32 = (float)LIF_VRESET;
    else sc[0].f64 = LIF_VTH, sc[1].f64 = LIF_VRESET;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si];
        if (skip_big("ew_lif", dt, n)) continue;
        uint64_t seed = 0x11f0 + n;
        void *v0 = xmalloc(n * es), *vinf = xmalloc(n * es), *dec = xmalloc(n * es), *vw = xmalloc(n * es);
        void *vg = xmalloc(n * es);
        uint32_t *spk_w = xmalloc(n * 4), *cnt0 = xmalloc(n * 4), *cnt_w = xmalloc(n * 4), *spk_g = xmalloc(n * 4),
                 *cnt_g = xmalloc(n * 4), *spk0 = xmalloc(n * 4);
        fill_real(v0, t, n, -56.0, -44.0, &seed);
        fill_real(vinf, t, n, -60.0, -35.0, &seed);
        for (size_t i = 0; i < n; i++) setv(dec, t, i, exp(-0.1 / (5.0 + 45.0 * tc_uniform(&seed))));
        for (size_t i = 0; i < n; i++) cnt0[i] = (uint32_t)tc_below(&seed, 5), spk0[i] = 0xAAAAAAAAu;
        memcpy(vw, v0, n * es);
        memcpy(cnt_w, cnt0, n * 4);
        lif_host(t, vw, vinf, dec, spk_w, cnt_w, n);
        size_t spikes = 0;
        for (size_t i = 0; i < n; i++) spikes += spk_w[i];
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            if (kset_ok(&ks, d, &r)) {
                bd_buffer *b[5];
                b[0] = out_buf(&r, v0, n, es);
                b[1] = in_buf(&r, vinf, n, es, fpoison(t));
                b[2] = in_buf(&r, dec, n, es, fpoison(t));
                b[3] = out_buf(&r, spk0, n, 4);
                b[4] = out_buf(&r, cnt0, n, 4);
                for (int s = 0; s < LIF_STEPS && !r.st; s++)
                    run_status(&r, bd_kernel_launch(ks.k[d], n, b, 5, sc, 2), "bd_kernel_launch");
                out_get(&r, b[0], vg, n, es);
                out_get(&r, b[3], spk_g, n, 4);
                out_get(&r, b[4], cnt_g, n, 4);
                if (!r.st) {
                    cmp_bits(&c, t, vg, vw, n);
                    cmp_bits(&c, BD_U32, spk_g, spk_w, n);
                    cmp_bits(&c, BD_U32, cnt_g, cnt_w, n);
                    snprintf(c.note, sizeof c.note, "bit-identical to the host after %d steps, %zu spikes in the last",
                             LIF_STEPS, spikes);
                }
            }
            verdict("ew_lif", dt, n, &r, &c);
            run_end(&r);
        }
        free(v0), free(vinf), free(dec), free(vw), free(vg), free(spk_w), free(cnt0), free(cnt_w), free(spk_g);
        free(cnt_g), free(spk0);
    }
    kset_free(&ks);
    bd_ir_free(ir);
}

/* The semantics the IR promises for integers, re-implemented. */
static int32_t h_div_i32(int32_t a, int32_t b) { return (b == 0 || (b == -1 && a == INT32_MIN)) ? 0 : a / b; }
static int32_t h_mod_i32(int32_t a, int32_t b) { return (b == 0 || b == -1) ? 0 : a % b; }
static uint32_t h_div_u32(uint32_t a, uint32_t b) { return b ? a / b : 0; }
static uint32_t h_mod_u32(uint32_t a, uint32_t b) { return b ? a % b : 0; }
static int32_t h_shr_i32(int32_t a, int32_t c) { return a >> (c & 31); }
static double h_min(double a, double b) { return b < a ? b : a; }
static double h_max(double a, double b) { return a < b ? b : a; }

enum { M_EXP, M_LOG, M_LOG1P, M_EXPM1, M_POW, M_SQRT, M_TRIG, M_TANH, M_NOUT };
static const char *const math_names[M_NOUT] = {"exp", "log", "log1p", "expm1", "pow", "sqrt", "sin/cos", "tanh"};

/* Every math function, comparison, integer op and cast of the IR, into 12 outputs. */
static bd_ir *ir_math(bd_dtype t)
{
    bd_ir *k = NULL;
    bd_ir_new("math_all", &k);
    int bx = bd_ir_buffer(k, t, 0), by = bd_ir_buffer(k, t, 0), bk = bd_ir_buffer(k, BD_I32, 0),
        bj = bd_ir_buffer(k, BD_I32, 0);
    int o[M_NOUT];
    for (int m = 0; m < M_NOUT; m++) o[m] = bd_ir_buffer(k, t, 1);
    int oe1 = bd_ir_buffer(k, t, 1), oe2 = bd_ir_buffer(k, t, 1), oi = bd_ir_buffer(k, BD_U32, 1),
        ob = bd_ir_buffer(k, BD_U32, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val x = bd_ir_let(k, bd_ir_load(k, bx, i)), y = bd_ir_let(k, bd_ir_load(k, by, i));
    bd_ir_val kk = bd_ir_let(k, bd_ir_load(k, bk, i)), j = bd_ir_let(k, bd_ir_load(k, bj, i));
    bd_ir_store(k, o[M_EXP], i, UN(k, EXP, x));
    bd_ir_store(k, o[M_LOG], i, UN(k, LOG, y));
    bd_ir_store(k, o[M_LOG1P], i, UN(k, LOG1P, BIN(k, SUB, y, C_T(k, t, 0.9))));
    bd_ir_store(k, o[M_EXPM1], i, UN(k, EXPM1, BIN(k, MUL, x, C_T(k, t, 0.01))));
    bd_ir_store(k, o[M_POW], i, BIN(k, POW, y, BIN(k, MUL, x, C_T(k, t, 0.5))));
    bd_ir_store(k, o[M_SQRT], i, UN(k, SQRT, y));
    bd_ir_val i2 = bd_ir_let(k, BIN(k, MUL, i, C_T(k, BD_U32, 2)));
    bd_ir_store(k, o[M_TRIG], i2, UN(k, SIN, x));
    bd_ir_store(k, o[M_TRIG], BIN(k, ADD, i2, C_T(k, BD_U32, 1)), UN(k, COS, x));
    bd_ir_store(k, o[M_TANH], i, UN(k, TANH, x));
    /* exact float operations */
    bd_ir_val a = bd_ir_let(k, bd_ir_select(k, BIN(k, LT, x, y), UN(k, FLOOR, x), UN(k, CEIL, y)));
    bd_ir_val b = bd_ir_let(k, bd_ir_clamp(k, x, C_T(k, t, -2), C_T(k, t, 3)));
    bd_ir_val e = bd_ir_let(k, BIN(k, MAX, BIN(k, MIN, x, y), UN(k, NEG, UN(k, ABS, x))));
    bd_ir_val tr = bd_ir_cast(k, t, bd_ir_cast(k, BD_I32, BIN(k, MUL, x, C_T(k, t, 3))));
    bd_ir_store(k, oe1, i, BIN(k, ADD, BIN(k, ADD, BIN(k, MUL, BIN(k, ADD, a, b), C_T(k, t, 0.5)), e), tr));
    /* conversions and division */
    bd_ir_val u = bd_ir_let(k, bd_ir_cast(k, BD_U32, kk));
    bd_ir_val conv = BIN(k, ADD, bd_ir_cast(k, t, u), bd_ir_cast(k, t, kk));
    bd_ir_val third = BIN(k, DIV, x, C_T(k, t, 3));
    if (t == BD_F64) third = bd_ir_cast(k, BD_F64, bd_ir_cast(k, BD_F32, third));
    bd_ir_store(k, oe2, i, BIN(k, ADD, conv, third));
    /* integers: i32 division and modulo by 0 and -1 (INT_MIN among k), shifts by up to 42, u32 ops;
     * all sums are taken in u32, whose wrap-around is defined */
    bd_ir_val cnt = bd_ir_let(k, BIN(k, MUL, BIN(k, ADD, j, C_T(k, BD_I32, 3)), C_T(k, BD_I32, 7)));
    bd_ir_val uj = bd_ir_let(k, bd_ir_cast(k, BD_U32, BIN(k, ADD, j, C_T(k, BD_I32, 3))));
    bd_ir_val q = bd_ir_cast(k, BD_U32, BIN(k, DIV, kk, j)), r = bd_ir_cast(k, BD_U32, BIN(k, MOD, kk, j));
    bd_ir_val s1 = bd_ir_cast(k, BD_U32, BIN(k, SHR, kk, cnt)), s2 = BIN(k, SHL, u, bd_ir_cast(k, BD_U32, cnt));
    bd_ir_val s3 = BIN(k, SHR, u, uj);
    bd_ir_val ud = BIN(k, DIV, u, uj), um = BIN(k, MOD, u, uj);
    bd_ir_val mm = bd_ir_cast(k, BD_U32, BIN(k, MAX, BIN(k, MIN, kk, BIN(k, MUL, j, C_T(k, BD_I32, 1000))),
                                            C_T(k, BD_I32, -5000)));
    bd_ir_val ab = bd_ir_cast(k, BD_U32, BIN(k, SUB, UN(k, ABS, j), UN(k, NEG, j)));
    bd_ir_val bits = BIN(k, BXOR, BIN(k, BAND, u, C_T(k, BD_U32, 0xF0F0F0F0u)), BIN(k, BOR, UN(k, BNOT, u), uj));
    bd_ir_val mu = BIN(k, MUL, u, C_T(k, BD_U32, 2654435761u));
    bd_ir_val umm = BIN(k, MIN, BIN(k, MAX, u, C_T(k, BD_U32, 1000u)), C_T(k, BD_U32, 4000000000u));
    bd_ir_val ki = bd_ir_cast(k, BD_U32, UN(k, BNOT, kk));
    bd_ir_val acc = BIN(k, ADD, BIN(k, ADD, BIN(k, ADD, q, BIN(k, MUL, r, C_T(k, BD_U32, 3))), s1), s2);
    acc = BIN(k, ADD, BIN(k, ADD, BIN(k, ADD, acc, BIN(k, MUL, s3, C_T(k, BD_U32, 5))), BIN(k, BXOR, ud, um)), mm);
    acc = BIN(k, ADD, BIN(k, ADD, BIN(k, ADD, acc, ab), bits), BIN(k, SUB, mu, BIN(k, BXOR, umm, ki)));
    bd_ir_store(k, oi, i, acc);
    /* comparisons and bool logic, one bit each */
    bd_ir_val cond[12];
    cond[0] = BIN(k, LT, x, y);
    cond[1] = BIN(k, LE, x, C_T(k, t, 0));
    cond[2] = BIN(k, GT, kk, BIN(k, MUL, j, C_T(k, BD_I32, 100000)));
    cond[3] = BIN(k, GE, u, C_T(k, BD_U32, 0x80000000u));
    cond[4] = BIN(k, EQ, j, C_T(k, BD_I32, 0));
    cond[5] = BIN(k, NE, j, C_T(k, BD_I32, -1));
    cond[6] = BIN(k, AND, cond[0], cond[4]);
    cond[7] = BIN(k, OR, cond[1], cond[3]);
    cond[8] = UN(k, NOT, cond[5]);
    cond[9] = BIN(k, EQ, UN(k, FLOOR, x), UN(k, CEIL, x));
    cond[10] = BIN(k, LT, uj, C_T(k, BD_U32, 3));
    cond[11] = BIN(k, NE, BIN(k, GE, y, C_T(k, t, 1)), cond[0]);
    bd_ir_val word = C_T(k, BD_U32, 0);
    for (int c = 0; c < 12; c++)
        word = BIN(k, BOR, word, BIN(k, SHL, bd_ir_cast(k, BD_U32, cond[c]), C_T(k, BD_U32, (double)c)));
    bd_ir_store(k, ob, i, word);
    return k;
}

typedef struct math_want {
    double *v[M_NOUT], *tol[M_NOUT];
    double *e1, *e2;
    uint32_t *iv, *bv;
} math_want;

static void math_host(bd_dtype t, size_t n, const void *xs, const void *ys, const int32_t *ks, const int32_t *js,
                      math_want *w)
{
    double eps = eps_of(t);
    for (size_t i = 0; i < n; i++) {
        int f32 = t == BD_F32;
        double x = getv(xs, t, i), y = getv(ys, t, i);
        /* arguments rounded to the kernel's precision exactly as the kernel rounds them */
        double a_log1p = f32 ? (double)((float)y - 0.9f) : y - 0.9;
        double a_expm1 = f32 ? (double)((float)x * 0.01f) : x * 0.01;
        double a_pow = x * 0.5;
        long double want[M_NOUT] = {expl(x), logl(y), log1pl(a_log1p), expm1l(a_expm1), powl(y, a_pow), sqrtl(y),
                                    sinl(x), tanhl(x)};
        for (int m = 0; m < M_NOUT; m++) {
            double wv = (double)want[m];
            double scale = fabs(wv);
            if (m == M_LOG || m == M_TRIG || m == M_TANH) scale = fmax(scale, 1.0);
            w->v[m][i] = wv;
            w->tol[m][i] = (m == M_POW ? 64 : 32) * eps * scale;
        }
        /* the trig output holds sin at 2i and cos at 2i + 1 */
        w->v[M_TRIG][n + i] = (double)cosl(x);
        w->tol[M_TRIG][n + i] = 32 * eps * fmax(fabs(w->v[M_TRIG][n + i]), 1.0);
        int32_t k = ks[i], j = js[i];
        uint32_t u = (uint32_t)k;
        if (f32) {
            float xf = (float)x, yf = (float)y;
            float a = xf < yf ? floorf(xf) : ceilf(yf);
            float b = (float)h_min(h_max(xf, -2.0f), 3.0f);
            float e = (float)h_max(h_min(xf, yf), -fabsf(xf));
            float tr = (float)(int32_t)(xf * 3.0f);
            w->e1[i] = (double)((((a + b) * 0.5f) + e) + tr);
            w->e2[i] = (double)(((float)u + (float)k) + xf / 3.0f);
        } else {
            double a = x < y ? floor(x) : ceil(y);
            double b = h_min(h_max(x, -2.0), 3.0);
            double e = h_max(h_min(x, y), -fabs(x));
            double tr = (double)(int32_t)(x * 3.0);
            w->e1[i] = (((a + b) * 0.5) + e) + tr;
            w->e2[i] = ((double)u + (double)k) + (double)(float)(x / 3.0);
        }
        int32_t cnt = (j + 3) * 7;
        uint32_t uj = (uint32_t)(j + 3);
        uint32_t q = (uint32_t)h_div_i32(k, j), r = (uint32_t)h_mod_i32(k, j);
        uint32_t s1 = (uint32_t)h_shr_i32(k, cnt), s2 = u << ((uint32_t)cnt & 31u), s3 = u >> (uj & 31u);
        uint32_t ud = h_div_u32(u, uj), um = h_mod_u32(u, uj);
        int32_t mn = k < j * 1000 ? k : j * 1000;
        uint32_t mm = (uint32_t)(mn < -5000 ? -5000 : mn);
        uint32_t ab = (uint32_t)((j < 0 ? -j : j) - (-j));
        uint32_t bits = (u & 0xF0F0F0F0u) ^ (~u | uj);
        uint32_t mu = u * 2654435761u;
        uint32_t umm = u < 1000u ? 1000u : u;
        umm = umm > 4000000000u ? 4000000000u : umm;
        uint32_t ki = (uint32_t)~k;
        uint32_t acc = q + r * 3u + s1 + s2;
        acc = acc + s3 * 5u + (ud ^ um) + mm;
        acc = acc + ab + bits + (mu - (umm ^ ki));
        w->iv[i] = acc;
        int c[12];
        c[0] = x < y;
        c[1] = x <= 0;
        c[2] = k > j * 100000;
        c[3] = u >= 0x80000000u;
        c[4] = j == 0;
        c[5] = j != -1;
        c[6] = c[0] && c[4];
        c[7] = c[1] || c[3];
        c[8] = !c[5];
        c[9] = floor(x) == ceil(x);
        c[10] = uj < 3u;
        c[11] = (y >= 1) != c[0];
        uint32_t word = 0;
        for (int b = 0; b < 12; b++) word |= (uint32_t)c[b] << b;
        w->bv[i] = word;
    }
}

static void test_math(bd_dtype t)
{
    static const size_t msizes[] = {0, 1, 4099, 65537};
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    bd_ir *ir = ir_math(t);
    kset ks;
    kset_compile(&ks, ir);
    for (size_t si = 0; si < sizeof msizes / sizeof msizes[0]; si++) {
        size_t n = msizes[si];
        uint64_t seed = 0x3a7 + n;
        void *xs = xmalloc(n * es), *ys = xmalloc(n * es);
        int32_t *kv = xmalloc(n * 4), *jv = xmalloc(n * 4);
        fill_real(xs, t, n, -10.0, 10.0, &seed);
        fill_real(ys, t, n, 0.01, 5.0, &seed);
        for (size_t i = 0; i < n; i++) kv[i] = (int32_t)(uint32_t)tc_rand(&seed), jv[i] = (int32_t)tc_below(&seed, 7) - 3;
        static const double xspec[] = {0.0, -0.0, 1e-6, -1e-6, 2.5, -3.0, 10.0, -10.0, 1e-30, 0.5};
        static const double yspec[] = {0.9, 1.0, 0.9000001, 5.0, 0.01, 2.0, 0.25, 1.5, 3.0, 0.5};
        static const int32_t kspec[] = {INT32_MIN, INT32_MIN, INT32_MAX, -1, 0, 7, -7, INT32_MIN, 12345, -99};
        static const int32_t jspec[] = {-1, 0, -1, 0, 3, -3, 2, 1, -2, -1};
        for (size_t i = 0; i < n && i < 10; i++) setv(xs, t, i, xspec[i]), setv(ys, t, i, yspec[i]), kv[i] = kspec[i], jv[i] = jspec[i];
        math_want w;
        for (int m = 0; m < M_NOUT; m++) {
            size_t len = m == M_TRIG ? 2 * n : n;
            w.v[m] = xmalloc(len * sizeof(double));
            w.tol[m] = xmalloc(len * sizeof(double));
        }
        w.e1 = xmalloc(n * sizeof(double)), w.e2 = xmalloc(n * sizeof(double));
        w.iv = xmalloc(n * 4), w.bv = xmalloc(n * 4);
        math_host(t, n, xs, ys, kv, jv, &w);
        /* host layout of the trig output: sin at 2i, cos at 2i + 1 */
        double *trig_w = xmalloc(2 * n * sizeof(double)), *trig_t = xmalloc(2 * n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            trig_w[2 * i] = w.v[M_TRIG][i], trig_w[2 * i + 1] = w.v[M_TRIG][n + i];
            trig_t[2 * i] = w.tol[M_TRIG][i], trig_t[2 * i + 1] = w.tol[M_TRIG][n + i];
        }
        void *got = xmalloc(2 * n * es);
        double *zeros = xmalloc(2 * n * es);
        memset(zeros, 0, 2 * n * es);
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            if (kset_ok(&ks, d, &r)) {
                bd_buffer *b[16];
                b[0] = in_buf(&r, xs, n, es, fpoison(t));
                b[1] = in_buf(&r, ys, n, es, fpoison(t));
                b[2] = in_buf(&r, kv, n, 4, tail_zero);
                b[3] = in_buf(&r, jv, n, 4, tail_zero);
                for (int m = 0; m < M_NOUT; m++) b[4 + m] = out_buf(&r, zeros, m == M_TRIG ? 2 * n : n, es);
                b[12] = out_buf(&r, zeros, n, es);
                b[13] = out_buf(&r, zeros, n, es);
                b[14] = out_buf(&r, zeros, n, 4);
                b[15] = out_buf(&r, zeros, n, 4);
                if (!r.st) run_status(&r, bd_kernel_launch(ks.k[d], n, b, 16, NULL, 0), "bd_kernel_launch");
                char worst[128] = "";
                double worst_frac = 0;
                for (int m = 0; m < M_NOUT && !r.st; m++) {
                    size_t len = m == M_TRIG ? 2 * n : n;
                    out_get(&r, b[4 + m], got, len, es);
                    if (r.st) break;
                    size_t before = c.bad;
                    double frac = c.maxfrac;
                    c.maxfrac = 0;
                    cmp_vals(&c, t, got, m == M_TRIG ? trig_w : w.v[m], m == M_TRIG ? trig_t : w.tol[m], len);
                    if (c.bad > before) cmp_failf(&c, "%s: %zu off", math_names[m], c.bad - before);
                    if (c.maxfrac > worst_frac) {
                        worst_frac = c.maxfrac;
                        snprintf(worst, sizeof worst, "worst %s at %.3f of tol", math_names[m], c.maxfrac);
                    }
                    c.maxfrac = fmax(frac, c.maxfrac);
                }
                const double *ew[2] = {w.e1, w.e2};
                const char *en[2] = {"floor/ceil/min/max/clamp/select/abs/f->i", "casts/division"};
                for (int m = 0; m < 2 && !r.st; m++) {
                    out_get(&r, b[12 + m], got, n, es);
                    size_t before = c.bad;
                    if (!r.st) cmp_vals(&c, t, got, ew[m], NULL, n);
                    if (c.bad > before) cmp_failf(&c, "%s: %zu not exact", en[m], c.bad - before);
                }
                const uint32_t *iw[2] = {w.iv, w.bv};
                const char *in[2] = {"integer ops", "comparisons/bool ops"};
                for (int m = 0; m < 2 && !r.st; m++) {
                    out_get(&r, b[14 + m], got, n, 4);
                    size_t before = c.bad;
                    if (!r.st) cmp_bits(&c, BD_U32, got, iw[m], n);
                    if (c.bad > before) cmp_failf(&c, "%s: %zu not exact", in[m], c.bad - before);
                }
                snprintf(c.note, sizeof c.note, "%s", worst);
            }
            verdict("ew_math", dt, n, &r, &c);
            run_end(&r);
        }
        for (int m = 0; m < M_NOUT; m++) free(w.v[m]), free(w.tol[m]);
        free(w.e1), free(w.e2), free(w.iv), free(w.bv), free(trig_w), free(trig_t), free(got), free(zeros);
        free(xs), free(ys), free(kv), free(jv);
    }
    kset_free(&ks);
    bd_ir_free(ir);
}

/* A gather through computed indices: u32 indices from a buffer (out of range among them), a u32
 * index computed with wrap-around, an i32 index that is negative for i < 3, and a scattered store
 * at 2i into a buffer of n + 1 elements (the upper half is out of range and must be dropped). */
static bd_ir *ir_gather(bd_dtype t)
{
    bd_ir *k = NULL;
    bd_ir_new("gather_computed", &k);
    int bs = bd_ir_buffer(k, t, 0), bi = bd_ir_buffer(k, BD_U32, 0), bo = bd_ir_buffer(k, t, 1),
        bo2 = bd_ir_buffer(k, t, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val j = bd_ir_let(k, bd_ir_load(k, bi, i));
    bd_ir_val a = bd_ir_let(k, bd_ir_load(k, bs, j));
    bd_ir_val b = bd_ir_load(k, bs, BIN(k, ADD, BIN(k, MUL, j, C_T(k, BD_U32, 3)), C_T(k, BD_U32, 1)));
    bd_ir_val c = bd_ir_load(k, bs, BIN(k, SUB, bd_ir_cast(k, BD_I32, i), C_T(k, BD_I32, 3)));
    bd_ir_store(k, bo, i, BIN(k, ADD, BIN(k, ADD, a, BIN(k, MUL, b, C_T(k, t, 2))), BIN(k, MUL, c, C_T(k, t, 4))));
    bd_ir_store(k, bo2, BIN(k, MUL, i, C_T(k, BD_U32, 2)), a);
    return k;
}

static void test_ir_gather(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    bd_ir *ir = ir_gather(t);
    kset ks;
    kset_compile(&ks, ir);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si];
        if (skip_big("ew_gather", dt, n)) continue;
        size_t m = n / 2 + 1, n2 = n + 1; /* src and out2 have exactly these lengths: no guard */
        uint64_t seed = 0x6a7 + n;
        void *src = xmalloc(m * es), *o2 = xmalloc(n2 * es), *g = xmalloc(n2 * es), *o0 = xmalloc(n * es);
        uint32_t *idx = xmalloc(n * 4);
        double *want = xmalloc(n * sizeof(double)), *want2 = xmalloc(n2 * sizeof(double));
        fill_real(src, t, m, -1.0, 1.0, &seed);
        fill_real(o2, t, n2, -1.0, 1.0, &seed);
        fill_value(o0, t, n, NAN);
        for (size_t i = 0; i < n; i++) idx[i] = tc_below(&seed, (uint32_t)(2 * m + 2));
        static const uint32_t spec[] = {0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, 0x55555555u, 0xAAAAAAABu};
        for (size_t s = 0; s < 5 && s < n; s++) idx[n - 1 - s] = spec[s];
        if (n > 8) idx[n / 2] = (uint32_t)m, idx[n / 2 + 1] = (uint32_t)(m - 1);
        for (size_t i = 0; i < n2; i++) want2[i] = getv(o2, t, i);
        for (size_t i = 0; i < n; i++) {
            uint32_t j = idx[i], jb = j * 3u + 1u;
            int32_t jc = (int32_t)i - 3;
            double a = j < m ? getv(src, t, j) : 0.0, b = jb < m ? getv(src, t, jb) : 0.0;
            double c = jc >= 0 && (size_t)jc < m ? getv(src, t, (size_t)jc) : 0.0;
            if (t == BD_F32) want[i] = (double)(((float)a + (float)b * 2.0f) + (float)c * 4.0f);
            else want[i] = (a + b * 2.0) + c * 4.0;
            if (2 * i < n2) want2[2 * i] = a;
        }
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            if (kset_ok(&ks, d, &r)) {
                bd_buffer *b[4];
                b[0] = run_alloc(&r, src, m * es, NULL, 0);
                b[1] = in_buf(&r, idx, n, 4, tail_zero);
                b[2] = out_buf(&r, o0, n, es);
                b[3] = run_alloc(&r, o2, n2 * es, NULL, 0);
                if (!r.st) run_status(&r, bd_kernel_launch(ks.k[d], n, b, 4, NULL, 0), "bd_kernel_launch");
                out_get(&r, b[2], g, n, es);
                if (!r.st) cmp_vals(&c, t, g, want, NULL, n);
                if (!r.st) run_status(&r, bd_buffer_download(b[3], 0, g, n2 * es), "bd_buffer_download");
                size_t before = c.bad;
                if (!r.st) cmp_vals(&c, t, g, want2, NULL, n2);
                if (c.bad > before) cmp_failf(&c, "scattered store: %zu wrong (out-of-range stores must be dropped)",
                                              c.bad - before);
            }
            verdict("ew_gather", dt, n, &r, &c);
            run_end(&r);
        }
        free(src), free(o2), free(g), free(o0), free(idx), free(want), free(want2);
    }
    kset_free(&ks);
    bd_ir_free(ir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Reductions.                                                                                     */

static const char *const red_names[4] = {"sum", "min", "max", "mean"};

/* The expectation and tolerance of one reduction over x[lo, hi) (empty if hi <= lo). */
static void red_host(bd_reduce_kind kind, bd_dtype t, const void *x, size_t lo, size_t hi, int exact, double *want,
                     double *tol)
{
    size_t k = hi > lo ? hi - lo : 0;
    long double sum = 0, sabs = 0;
    double mn = INFINITY, mx = -INFINITY;
    for (size_t i = lo; i < lo + k; i++) {
        double v = getv(x, t, i);
        sum += v, sabs += fabs(v);
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    double stol = exact ? 0.0 : sum_tol(t, k) * (double)sabs;
    switch (kind) {
    case BD_REDUCE_SUM: *want = (double)sum, *tol = stol; break;
    case BD_REDUCE_MIN: *want = mn, *tol = 0; break;
    case BD_REDUCE_MAX: *want = mx, *tol = 0; break;
    case BD_REDUCE_MEAN:
        *want = k ? (double)(sum / (long double)k) : NAN;
        *tol = k ? stol / (double)k + 2 * eps_of(t) * fabs(*want) : 0;
        break;
    }
}

/* Reduction input: data (exact ternary above 2^24), a unique maximum at the last element and a
 * unique minimum in the middle, so that a dropped tail or an over-read shows in min and max. */
static void *red_input(bd_dtype t, size_t n, uint64_t *seed)
{
    void *x = xmalloc(n * bd_dtype_size(t));
    fill_data(x, t, n, big(n), seed);
    if (n >= 2) setv(x, t, n - 1, 2.0), setv(x, t, n / 2, -2.0);
    return x;
}

static void test_reduce(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    for (int kind = 0; kind < 4; kind++) {
        char op[32];
        snprintf(op, sizeof op, "reduce_%s", red_names[kind]);
        for (size_t si = 0; si < NSIZES; si++) {
            size_t n = SIZES[si];
            if (skip_big(op, dt, n)) continue;
            uint64_t seed = 0x7ed + n;
            void *x = red_input(t, n, &seed);
            double want, tol;
            red_host((bd_reduce_kind)kind, t, x, 0, n, big(n), &want, &tol);
            double init = 12345.0, got[1];
            for (int d = 0; d < ndevs; d++) {
                run r;
                cmp c;
                run_begin(&r, &devs[d]);
                cmp_init(&c);
                char init_t[8];
                setv(init_t, t, 0, init);
                bd_buffer *bx = in_buf(&r, x, n, es, fpoison(t)), *by = out_buf(&r, init_t, 1, es);
                if (!r.st) run_status(&r, bd_reduce(r.dv->d, (bd_reduce_kind)kind, t, bx, n, by), "bd_reduce");
                out_get(&r, by, got, 1, es);
                if (!r.st) cmp_vals(&c, t, got, &want, &tol, 1);
                verdict(op, dt, n, &r, &c);
                run_end(&r);
            }
            free(x);
        }
    }
}

/* Segment offsets over n elements: empty segments, one decreasing pair (empty by definition; its
 * neighbours overlap), first 0 and last n. */
static uint32_t *seg_offsets(size_t n, size_t *nseg, uint64_t *seed)
{
    uint32_t *off;
    if (n <= 1) {
        *nseg = 3;
        off = xmalloc(4 * 4);
        off[0] = 0, off[1] = 0, off[2] = (uint32_t)n, off[3] = (uint32_t)n;
        return off;
    }
    *nseg = n > 10000 ? 257 : 61;
    off = xmalloc((*nseg + 1) * 4);
    for (size_t s = 0; s <= *nseg; s++) off[s] = tc_below(seed, (uint32_t)n + 1);
    off[0] = 0, off[*nseg] = (uint32_t)n;
    /* insertion sort of the interior (small) */
    for (size_t a = 1; a < *nseg; a++)
        for (size_t b = a; b > 1 && off[b - 1] > off[b]; b--) {
            uint32_t tmp = off[b];
            off[b] = off[b - 1], off[b - 1] = tmp;
        }
    off[4] = off[3];                                  /* an empty segment */
    off[9] = off[8] + 1 <= off[10] ? off[8] + 1 : off[10]; /* a short one */
    if (off[6] < off[7]) {                            /* a decreasing pair: segment 6 is empty */
        uint32_t tmp = off[6];
        off[6] = off[7], off[7] = tmp;
    } else {
        off[6] = off[7] + 1 <= (uint32_t)n ? off[7] + 1 : off[7];
    }
    return off;
}

static void test_reduce_segments(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    for (int kind = 0; kind < 4; kind++) {
        char op[32];
        snprintf(op, sizeof op, "segments_%s", red_names[kind]);
        for (size_t si = 0; si < NSIZES; si++) {
            size_t n = SIZES[si], nseg;
            if (skip_big(op, dt, n)) continue;
            uint64_t seed = 0x5e9 + n;
            void *x = red_input(t, n, &seed);
            uint32_t *off = seg_offsets(n, &nseg, &seed);
            double *want = xmalloc(nseg * sizeof(double)), *tol = xmalloc(nseg * sizeof(double));
            size_t empty = 0;
            for (size_t s = 0; s < nseg; s++) {
                red_host((bd_reduce_kind)kind, t, x, off[s], off[s + 1], big(n), &want[s], &tol[s]);
                empty += off[s + 1] <= off[s];
            }
            void *init = xmalloc(nseg * es), *got = xmalloc(nseg * es);
            fill_value(init, t, nseg, 12345.0);
            for (int d = 0; d < ndevs; d++) {
                run r;
                cmp c;
                run_begin(&r, &devs[d]);
                cmp_init(&c);
                bd_buffer *bx = in_buf(&r, x, n, es, fpoison(t)), *bo = in_buf(&r, off, nseg + 1, 4, tail_huge);
                bd_buffer *by = out_buf(&r, init, nseg, es);
                if (!r.st)
                    run_status(&r, bd_reduce_segments(r.dv->d, (bd_reduce_kind)kind, t, bx, n, bo, nseg, by),
                               "bd_reduce_segments");
                out_get(&r, by, got, nseg, es);
                if (!r.st) cmp_vals(&c, t, got, want, tol, nseg);
                snprintf(c.note, sizeof c.note, "%zu segments, %zu empty", nseg, empty);
                verdict(op, dt, n, &r, &c);
                run_end(&r);
            }
            free(x), free(off), free(want), free(tol), free(init), free(got);
        }
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* gather and scatter_add.                                                                         */

static void test_gather(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si], nsrc = n ? n / 2 + 1 : 0;
        if (skip_big("gather", dt, n)) continue;
        uint64_t seed = 0x9a7 + n;
        void *src = xmalloc(nsrc * es), *init = xmalloc(n * es), *got = xmalloc(n * es);
        uint32_t *idx = xmalloc(n * 4);
        double *want = xmalloc(n * sizeof(double));
        fill_real(src, t, nsrc, -1.0, 1.0, &seed);
        fill_value(init, t, n, NAN);
        for (size_t i = 0; i < n; i++) idx[i] = tc_below(&seed, (uint32_t)(nsrc + nsrc / 8 + 2));
        /* just past the end (where the poison lies), and far out */
        if (n >= 3) idx[n - 1] = (uint32_t)nsrc, idx[n - 2] = (uint32_t)nsrc + 1, idx[n / 2] = 0xFFFFFFFFu;
        for (size_t i = 0; i < n; i++) want[i] = idx[i] < nsrc ? getv(src, t, idx[i]) : 0.0;
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_buffer *bs = in_buf(&r, src, nsrc, es, fpoison(t)), *bi = in_buf(&r, idx, n, 4, tail_zero);
            bd_buffer *bd = out_buf(&r, init, n, es);
            if (!r.st) run_status(&r, bd_gather(r.dv->d, t, bs, nsrc, bi, n, bd), "bd_gather");
            out_get(&r, bd, got, n, es);
            if (!r.st) cmp_vals(&c, t, got, want, NULL, n);
            verdict("gather", dt, n, &r, &c);
            run_end(&r);
        }
        free(src), free(init), free(got), free(idx), free(want);
    }
}

static void test_scatter_add(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si], ndst = n > 4099 ? 65536 + 7 : n / 3 + 1;
        if (skip_big("scatter_add", dt, n)) continue;
        uint64_t seed = 0x5ca + n;
        int exact = big(n);
        void *src = xmalloc(n * es), *dst0 = xmalloc(ndst * es), *got = xmalloc(ndst * es);
        uint32_t *idx = xmalloc(n * 4);
        double *want = xmalloc(ndst * sizeof(double)), *tol = xmalloc(ndst * sizeof(double));
        size_t *cnt = calloc(ndst ? ndst : 1, sizeof *cnt);
        fill_data(src, t, n, exact, &seed);
        fill_data(dst0, t, ndst, exact, &seed);
        for (size_t i = 0; i < n; i++) idx[i] = tc_below(&seed, (uint32_t)ndst);
        if (n >= 3) idx[n - 1] = (uint32_t)ndst, idx[n / 2] = 0xFFFFFFFFu; /* skipped, never followed */
        for (size_t e = 0; e < ndst; e++) want[e] = getv(dst0, t, e), tol[e] = fabs(want[e]);
        for (size_t i = 0; i < n; i++)
            if (idx[i] < ndst) {
                double v = getv(src, t, i);
                want[idx[i]] += v, tol[idx[i]] += fabs(v), cnt[idx[i]]++;
            }
        for (size_t e = 0; e < ndst; e++) tol[e] = exact ? 0.0 : sum_tol(t, cnt[e] + 1) * tol[e];
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_buffer *bs = in_buf(&r, src, n, es, fpoison(t)), *bi = in_buf(&r, idx, n, 4, tail_zero);
            bd_buffer *bd = out_buf(&r, dst0, ndst, es);
            if (!r.st) run_status(&r, bd_scatter_add(r.dv->d, t, bs, bi, n, bd, ndst), "bd_scatter_add");
            out_get(&r, bd, got, ndst, es);
            if (!r.st) cmp_vals(&c, t, got, want, exact ? NULL : tol, ndst);
            snprintf(c.note, sizeof c.note, "%zu targets", ndst);
            verdict("scatter_add", dt, n, &r, &c);
            run_end(&r);
        }
        free(src), free(dst0), free(got), free(idx), free(want), free(tol), free(cnt);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* CSR products and event-driven propagation.                                                      */

typedef struct hcsr {
    size_t rows, cols, nnz;
    uint32_t *rowptr, *colidx;
    void *values; /* NULL: every entry is `weight` */
    double weight;
} hcsr;

/* Row lengths uniform in [lo, hi]; about one column index in 500 is out of range (cols, or ~0u). */
static void csr_make(hcsr *a, bd_dtype t, size_t rows, size_t cols, uint32_t lo, uint32_t hi, int with_values,
                     uint64_t *seed)
{
    a->rows = rows, a->cols = cols;
    a->rowptr = xmalloc((rows + 1) * 4);
    a->rowptr[0] = 0;
    for (size_t r = 0; r < rows; r++) a->rowptr[r + 1] = a->rowptr[r] + lo + tc_below(seed, hi - lo + 1);
    a->nnz = a->rowptr[rows];
    a->colidx = xmalloc(a->nnz * 4);
    for (size_t e = 0; e < a->nnz; e++) {
        uint32_t roll = tc_below(seed, 1000);
        a->colidx[e] = roll == 0 ? (uint32_t)cols : roll == 1 ? 0xFFFFFFFFu : tc_below(seed, (uint32_t)cols);
    }
    a->weight = 0.75;
    a->values = NULL;
    if (with_values) {
        a->values = xmalloc(a->nnz * bd_dtype_size(t));
        fill_real(a->values, t, a->nnz, -1.0, 1.0, seed);
    }
}

static void csr_free(hcsr *a) { free(a->rowptr), free(a->colidx), free(a->values); }

static double csr_val(const hcsr *a, bd_dtype t, size_t e) { return a->values ? getv(a->values, t, e) : a->weight; }

/* Uploads a host CSR for a run (with poison after each array). */
static bd_csr csr_upload(run *r, const hcsr *a, bd_dtype t)
{
    bd_csr m;
    memset(&m, 0, sizeof m);
    m.rows = a->rows, m.cols = a->cols, m.nnz = a->nnz, m.weight = a->weight;
    m.rowptr = in_buf(r, a->rowptr, a->rows + 1, 4, tail_huge);
    m.colidx = in_buf(r, a->colidx, a->nnz, 4, tail_zero);
    m.values = a->values ? in_buf(r, a->values, a->nnz, bd_dtype_size(t), fpoison(t)) : NULL;
    return m;
}

/* The CSR shapes of a size class: its number of stored entries is the class's n (about). */
static void csr_shape(size_t n, size_t *rows, size_t *cols, uint32_t *lo, uint32_t *hi)
{
    if (n == 0) *rows = 3, *cols = 2, *lo = 0, *hi = 0;
    else if (n == 1) *rows = 1, *cols = 1, *lo = 1, *hi = 1;
    else if (!big(n)) *rows = 1000, *cols = 777, *lo = 0, *hi = 8;
    else *rows = ((size_t)1 << 20) + 1, *cols = ((size_t)1 << 20) + 7, *lo = 2, *hi = 32; /* nnz ~ 17.8 M */
}

static void test_spmv(bd_dtype t, int transposed, int with_values)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    char op[32];
    snprintf(op, sizeof op, "csr_spmv%s%s", transposed ? "_t" : "", with_values ? "" : "_w");
    for (size_t si = 0; si < NSIZES; si++) {
        size_t rows, cols;
        uint32_t lo, hi;
        csr_shape(SIZES[si], &rows, &cols, &lo, &hi);
        if (skip_big(op, dt, SIZES[si])) continue;
        uint64_t seed = 0xc5 + SIZES[si] + (size_t)transposed * 3;
        hcsr a;
        csr_make(&a, t, rows, cols, lo, hi, with_values, &seed);
        size_t nx = transposed ? rows : cols, ny = transposed ? cols : rows;
        void *x = xmalloc(nx * es), *y0 = xmalloc(ny * es), *got = xmalloc(ny * es);
        fill_real(x, t, nx, -1.0, 1.0, &seed);
        fill_value(y0, t, ny, NAN); /* y is overwritten */
        double *want = calloc(ny ? ny : 1, sizeof(double)), *tol = calloc(ny ? ny : 1, sizeof(double));
        size_t *cnt = calloc(ny ? ny : 1, sizeof *cnt);
        for (size_t r = 0; r < rows; r++)
            for (uint32_t e = a.rowptr[r]; e < a.rowptr[r + 1]; e++) {
                uint32_t col = a.colidx[e];
                if (col >= cols) continue;
                size_t out = transposed ? col : r, in = transposed ? r : col;
                double p = csr_val(&a, t, e) * getv(x, t, in);
                want[out] += p, tol[out] += fabs(p), cnt[out]++;
            }
        for (size_t i = 0; i < ny; i++) tol[i] *= sum_tol(t, cnt[i] + 1);
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_csr m = csr_upload(&r, &a, t);
            bd_buffer *bx = in_buf(&r, x, nx, es, fpoison(t)), *by = out_buf(&r, y0, ny, es);
            if (!r.st)
                run_status(&r, transposed ? bd_csr_spmv_t(r.dv->d, t, &m, bx, by) : bd_csr_spmv(r.dv->d, t, &m, bx, by),
                           op);
            out_get(&r, by, got, ny, es);
            if (!r.st) cmp_vals(&c, t, got, want, tol, ny);
            snprintf(c.note, sizeof c.note, "%zux%zu, nnz=%zu", rows, cols, a.nnz);
            verdict(op, dt, a.nnz, &r, &c);
            run_end(&r);
        }
        csr_free(&a);
        free(x), free(y0), free(got), free(want), free(tol), free(cnt);
    }
}

/* Spike flags: about a fifth set, with assorted non-zero values (any non-zero means spiked). */
static uint32_t *make_spikes(size_t n, uint64_t *seed, size_t *nspk)
{
    static const uint32_t on[4] = {1u, 7u, 0x80000000u, 0xFFFFFFFFu};
    uint32_t *s = xmalloc(n * 4);
    *nspk = 0;
    for (size_t i = 0; i < n; i++) {
        s[i] = tc_below(seed, 5) == 0 ? on[tc_below(seed, 4)] : 0u;
        *nspk += s[i] != 0;
    }
    return s;
}

/* bd_event_csr (push) on A and bd_event_csr_pull on its transpose; the pull results must be
 * bit-identical to cpu:ref, and so must the cpu's push (two threads splitting the post range add in the
 * pull's order). */
static void test_event(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t rows, cols;
        uint32_t lo, hi;
        csr_shape(SIZES[si], &rows, &cols, &lo, &hi);
        if (skip_big("event_csr", dt, SIZES[si]) + skip_big("event_csr_pull", dt, SIZES[si])) continue;
        uint64_t seed = 0xe7 + SIZES[si];
        hcsr a, at;
        csr_make(&a, t, rows, cols, lo, hi, 1, &seed);
        /* the transpose, by the library's host helper (its output is checked against A here) */
        at.rows = cols, at.cols = rows, at.weight = a.weight;
        bd_status tst = bd_csr_transpose_host(rows, cols, a.rowptr, a.colidx, a.values, t, &at.rowptr, &at.colidx,
                                              &at.values);
        if (tst) {
            tc_line(TC_FAIL, "csr_transpose_host %s n=%zu: %s: %s", dt, a.nnz, bd_status_name(tst), bd_last_error());
            csr_free(&a);
            continue;
        }
        at.nnz = at.rowptr[cols];
        size_t nspk;
        uint32_t *spk = make_spikes(rows, &seed, &nspk);
        void *y0 = xmalloc(cols * es), *got = xmalloc(cols * es), *refout = xmalloc(cols * es);
        fill_real(y0, t, cols, -1.0, 1.0, &seed);
        double *want = xmalloc((cols ? cols : 1) * sizeof(double)), *tol = xmalloc((cols ? cols : 1) * sizeof(double));
        size_t *cnt = calloc(cols ? cols : 1, sizeof *cnt), in_range = 0;
        for (size_t p = 0; p < cols; p++) want[p] = getv(y0, t, p), tol[p] = fabs(want[p]);
        for (size_t r = 0; r < rows; r++)
            for (uint32_t e = a.rowptr[r]; e < a.rowptr[r + 1]; e++) {
                uint32_t col = a.colidx[e];
                if (col >= cols) continue;
                in_range++;
                if (!spk[r]) continue;
                double w = csr_val(&a, t, e);
                want[col] += w, tol[col] += fabs(w), cnt[col]++;
            }
        for (size_t p = 0; p < cols; p++) tol[p] *= sum_tol(t, cnt[p] + 1);
        /* the transpose: every in-range entry once, rows sorted by source row */
        int tr_ok = at.nnz == in_range;
        for (size_t p = 0; p < cols && tr_ok; p++)
            for (uint32_t e = at.rowptr[p]; e + 1 < at.rowptr[p + 1] && tr_ok; e++)
                tr_ok = at.colidx[e] <= at.colidx[e + 1]; /* equal: a repeated entry of one row */
        tc_check(tr_ok, "csr_transpose_host %s n=%zu: %zu entries, rows in source order", dt, a.nnz, at.nnz);
        int have_ref = 0;
        for (int k = 0; k < 2; k++) {
            int pull = k == 0; /* the pull first: cpu:ref's result is the bits the others must match */
            const char *op = pull ? "event_csr_pull" : "event_csr";
            for (int d = 0; d < ndevs; d++) {
                run r;
                cmp c;
                run_begin(&r, &devs[d]);
                cmp_init(&c);
                bd_csr m = csr_upload(&r, pull ? &at : &a, t);
                bd_buffer *bs = in_buf(&r, spk, rows, 4, tail_one), *by = out_buf(&r, y0, cols, es);
                if (!r.st)
                    run_status(&r, pull ? bd_event_csr_pull(r.dv->d, t, &m, bs, by) : bd_event_csr(r.dv->d, t, &m, bs, by),
                               op);
                out_get(&r, by, got, cols, es);
                if (!r.st) {
                    cmp_vals(&c, t, got, want, tol, cols);
                    if (pull && d == 0) {
                        memcpy(refout, got, cols * es);
                        have_ref = 1;
                        snprintf(c.note, sizeof c.note, "%zu of %zu rows spiking", nspk, rows);
                    } else if (pull || strcmp(devs[d].name, "cpu") == 0) {
                        cmp bits;
                        cmp_init(&bits);
                        if (!have_ref) cmp_failf(&c, "no cpu:ref result to compare bits with");
                        else if (cmp_bits(&bits, t, got, refout, cols))
                            cmp_failf(&c, "NOT bit-identical to cpu:ref: %zu of %zu differ, first [%zu] %.17g vs %.17g",
                                      bits.bad, cols, bits.first, bits.got_first, bits.want_first);
                        else snprintf(c.note, sizeof c.note, "bit-identical to cpu:ref");
                    }
                }
                verdict(op, dt, a.nnz, &r, &c);
                run_end(&r);
            }
        }
        csr_free(&a);
        free(at.rowptr), free(at.colidx), free(at.values);
        free(spk), free(y0), free(got), free(refout), free(want), free(tol), free(cnt);
    }
}

/* The cpu's push of a matrix whose rows ascend, as the runner marks it (bd_op.rows_sorted): with two
 * threads each owns a post range and searches every spiking row for it (cpu_push.c). It must give the
 * one-thread push's bits, and the sums within tolerance. 70001 columns put it over the parallel push's
 * threshold; the out-of-range columns of csr_make (cols, 0xFFFFFFFF) sort to the rows' ends. */
static void test_event_sorted(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t), rows = 20000, cols = 70001;
    uint64_t seed = 0x50e7;
    hcsr a;
    csr_make(&a, t, rows, cols, 0, 40, 1, &seed);
    for (size_t r = 0; r < rows; r++) /* insertion sort of each row, its values moved along */
        for (uint32_t e = a.rowptr[r] + 1; e < a.rowptr[r + 1]; e++)
            for (uint32_t q = e; q > a.rowptr[r] && a.colidx[q - 1] > a.colidx[q]; q--) {
                uint32_t c = a.colidx[q];
                a.colidx[q] = a.colidx[q - 1], a.colidx[q - 1] = c;
                unsigned char v[8], *pv = (unsigned char *)a.values;
                memcpy(v, pv + q * es, es), memcpy(pv + q * es, pv + (q - 1) * es, es), memcpy(pv + (q - 1) * es, v, es);
            }
    size_t nspk;
    uint32_t *spk = make_spikes(rows, &seed, &nspk);
    void *y0 = xmalloc(cols * es), *got[2] = {xmalloc(cols * es), xmalloc(cols * es)};
    fill_real(y0, t, cols, -1.0, 1.0, &seed);
    double *want = xmalloc(cols * sizeof(double)), *tol = xmalloc(cols * sizeof(double));
    size_t *cnt = calloc(cols, sizeof *cnt);
    for (size_t p = 0; p < cols; p++) want[p] = getv(y0, t, p), tol[p] = fabs(want[p]);
    for (size_t r = 0; r < rows; r++)
        for (uint32_t e = a.rowptr[r]; e < a.rowptr[r + 1] && spk[r]; e++)
            if (a.colidx[e] < cols) {
                double w = csr_val(&a, t, e);
                want[a.colidx[e]] += w, tol[a.colidx[e]] += fabs(w), cnt[a.colidx[e]]++;
            }
    for (size_t p = 0; p < cols; p++) tol[p] *= sum_tol(t, cnt[p] + 1);
    for (int d = 1; d < ndevs; d++) {
        if (strcmp(devs[d].name, "cpu") != 0) continue;
        run r[2];
        cmp c;
        cmp_init(&c);
        for (int k = 0; k < 2; k++) { /* 1 thread, then 2 */
            run_begin(&r[k], &devs[d]);
            bd_device_set_threads(devs[d].d, k + 1);
            bd_csr m = csr_upload(&r[k], &a, t);
            bd_buffer *bs = in_buf(&r[k], spk, rows, 4, tail_one), *by = out_buf(&r[k], y0, cols, es);
            bd_op op;
            if (!r[k].st) run_status(&r[k], bd_event_csr_prepare(devs[d].d, t, &m, bs, by, &op), "bd_event_csr_prepare");
            op.rows_sorted = 1;
            if (!r[k].st) run_status(&r[k], bd_op_run(devs[d].d, &op), "bd_op_run");
            out_get(&r[k], by, got[k], cols, es);
            run_end(&r[k]);
        }
        bd_device_set_threads(devs[d].d, 2);
        if (r[0].st) r[1] = r[0]; /* the verdict names the first failure */
        if (!r[1].st) {
            cmp_vals(&c, t, got[1], want, tol, cols);
            cmp bits;
            cmp_init(&bits);
            if (cmp_bits(&bits, t, got[1], got[0], cols))
                cmp_failf(&c, "2 threads NOT bit-identical to 1: %zu of %zu differ, first [%zu]", bits.bad, cols, bits.first);
            else snprintf(c.note, sizeof c.note, "%zu of %zu rows spiking; 2 threads bit-identical to 1", nspk, rows);
        }
        verdict("event_csr (sorted rows)", dt, a.nnz, &r[1], &c);
    }
    csr_free(&a);
    free(spk), free(y0), free(got[0]), free(got[1]), free(want), free(tol), free(cnt);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void test_spike_compact(void)
{
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si], nspk = 0;
        if (skip_big("spike_compact", "u32", n)) continue;
        uint64_t seed = 0xc0 + n;
        uint32_t *flags = xmalloc(n * 4), *init = xmalloc(n * 4), *got = xmalloc(n * 4), *want = xmalloc(n * 4);
        static const uint32_t on[3] = {1u, 2u, 0xFFFFFFFFu};
        for (size_t i = 0; i < n; i++) {
            flags[i] = tc_below(&seed, 10) == 0 ? on[tc_below(&seed, 3)] : 0u;
            if (i + 1 == n) flags[i] = 3u; /* the last element spikes: a dropped tail shows */
            if (flags[i]) want[nspk++] = (uint32_t)i;
            init[i] = 0xEEEEEEEEu;
        }
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            uint32_t count_init = 0xDDDDDDDDu, count = 0;
            bd_buffer *bf = in_buf(&r, flags, n, 4, tail_one), *bi = out_buf(&r, init, n, 4);
            bd_buffer *bc = out_buf(&r, &count_init, 1, 4);
            if (!r.st) run_status(&r, bd_spike_compact(r.dv->d, bf, n, bi, bc), "bd_spike_compact");
            out_get(&r, bi, got, n, 4);
            out_get(&r, bc, &count, 1, 4);
            if (!r.st) {
                c.checked++;
                if (count != nspk) cmp_failf(&c, "count %u, want %zu", count, nspk);
                else {
                    qsort(got, nspk, 4, cmp_u32);
                    size_t before = c.bad;
                    cmp_bits(&c, BD_U32, got, want, nspk);
                    if (c.bad > before) cmp_failf(&c, "index sets differ (sorted)");
                }
                snprintf(c.note, sizeof c.note, "%zu spikes, compared as a set", nspk);
            }
            verdict("spike_compact", "u32", n, &r, &c);
            run_end(&r);
        }
        free(flags), free(init), free(got), free(want);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Dense BLAS. Row-major: op(A) is m x k, stored m x k (or k x m when transposed).                 */

typedef struct albe {
    double alpha, beta; /* beta == 0: the output starts as NaN, which must not propagate */
    const char *tag;
} albe;
static const albe ALBE[2] = {{1.5, 0.0, "b0"}, {-0.5, 0.75, "ab"}};

/* want/tol of C = alpha op(A) op(B) + beta C0 (gemv: n = 1, B = x). */
static void gemm_host(bd_dtype t, int ta, int tb, size_t m, size_t n, size_t k, double alpha, const void *a,
                      const void *b, double beta, const void *c0, int exact, double *want, double *tol)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0, sa = 0;
            for (size_t l = 0; l < k; l++) {
                double av = getv(a, t, ta ? l * m + i : i * k + l), bv = getv(b, t, tb ? j * k + l : l * n + j);
                s += (long double)av * bv, sa += fabsl((long double)av * bv);
            }
            double cv = beta != 0 ? getv(c0, t, i * n + j) : 0.0;
            want[i * n + j] = (double)(alpha * s + (long double)beta * cv);
            tol[i * n + j] = exact ? 0.0 : sum_tol(t, k + 2) * (double)(fabs(alpha) * sa + fabs(beta * cv));
        }
}

static void test_gemv(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    static const size_t shapes[][2] = {{0, 4}, {4, 0}, {1, 1}, {37, 111}, {1, BIG}};
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        size_t m = shapes[sh][0], n = shapes[sh][1], nel = m * n;
        int exact = big(nel);
        for (int trans = 0; trans < 2; trans++)
            for (int ab = 0; ab < 2; ab++) {
                char op[64];
                snprintf(op, sizeof op, "gemv_%c_%s[%zux%zu]", trans ? 'T' : 'N', ALBE[ab].tag, m, n);
                if (skip_big(op, dt, nel)) continue;
                uint64_t seed = 0x9e + nel + (size_t)trans * 5 + (size_t)ab;
                size_t nx = trans ? m : n, ny = trans ? n : m;
                void *a = xmalloc(nel * es), *x = xmalloc(nx * es), *y0 = xmalloc(ny * es), *got = xmalloc(ny * es);
                fill_data(a, t, nel, exact, &seed);
                fill_data(x, t, nx, exact, &seed);
                if (ALBE[ab].beta == 0) fill_value(y0, t, ny, NAN);
                else fill_data(y0, t, ny, exact, &seed);
                double *want = xmalloc(ny * sizeof(double)), *tol = xmalloc(ny * sizeof(double));
                /* y = op(A) x is the gemm of op(A) (ny x nx) with x (nx x 1) */
                gemm_host(t, trans, 0, ny, 1, nx, ALBE[ab].alpha, a, x, ALBE[ab].beta, y0, exact, want, tol);
                for (int d = 0; d < ndevs; d++) {
                    run r;
                    cmp c;
                    run_begin(&r, &devs[d]);
                    cmp_init(&c);
                    bd_buffer *ba = in_buf(&r, a, nel, es, fpoison(t)), *bx = in_buf(&r, x, nx, es, fpoison(t));
                    bd_buffer *by = out_buf(&r, y0, ny, es);
                    if (!r.st)
                        run_status(&r, bd_gemv(r.dv->d, t, trans, m, n, ALBE[ab].alpha, ba, bx, ALBE[ab].beta, by),
                                   "bd_gemv");
                    out_get(&r, by, got, ny, es);
                    if (!r.st) cmp_vals(&c, t, got, want, exact ? NULL : tol, ny);
                    verdict(op, dt, nel, &r, &c);
                    run_end(&r);
                }
                free(a), free(x), free(y0), free(got), free(want), free(tol);
            }
    }
}

static void test_gemm(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    /* Over 2^24 elements: one long dot product, k = 2^24 + 3 (A and B over 2^24 elements), in two
     * variants (NN with beta = 0, TT with both scalars): tall shapes are far slower on some devices */
    static const size_t shapes[][3] = {{0, 3, 2}, {2, 3, 0}, {1, 1, 1}, {61, 67, 23}, {1, 1, BIG}};
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        size_t m = shapes[sh][0], n = shapes[sh][1], k = shapes[sh][2];
        size_t na = m * k, nb = k * n, nc = m * n, nel = na > nb ? (na > nc ? na : nc) : (nb > nc ? nb : nc);
        int exact = big(nel), longdot = big(k);
        for (int tr = 0; tr < 4; tr++)
            for (int ab = 0; ab < 2; ab++) {
                int ta = tr >> 1, tb = tr & 1;
                if (longdot && !((tr == 0 && ab == 0) || (tr == 3 && ab == 1))) continue;
                char op[64];
                snprintf(op, sizeof op, "gemm_%c%c_%s[%zux%zux%zu]", ta ? 'T' : 'N', tb ? 'T' : 'N', ALBE[ab].tag, m, n, k);
                if (skip_big(op, dt, nel)) continue;
                uint64_t seed = 0x6e + nel + (size_t)tr * 11 + (size_t)ab;
                void *a = xmalloc(na * es), *b = xmalloc(nb * es), *c0 = xmalloc(nc * es), *got = xmalloc(nc * es);
                fill_data(a, t, na, exact, &seed);
                fill_data(b, t, nb, exact, &seed);
                if (ALBE[ab].beta == 0) fill_value(c0, t, nc, NAN);
                else fill_data(c0, t, nc, exact, &seed);
                double *want = xmalloc(nc * sizeof(double)), *tol = xmalloc(nc * sizeof(double));
                gemm_host(t, ta, tb, m, n, k, ALBE[ab].alpha, a, b, ALBE[ab].beta, c0, exact, want, tol);
                for (int d = 0; d < ndevs; d++) {
                    run r;
                    cmp c;
                    run_begin(&r, &devs[d]);
                    cmp_init(&c);
                    bd_buffer *ba = in_buf(&r, a, na, es, fpoison(t)), *bb = in_buf(&r, b, nb, es, fpoison(t));
                    bd_buffer *bc = out_buf(&r, c0, nc, es);
                    if (!r.st)
                        run_status(&r, bd_gemm(r.dv->d, t, ta, tb, m, n, k, ALBE[ab].alpha, ba, bb, ALBE[ab].beta, bc),
                                   "bd_gemm");
                    out_get(&r, bc, got, nc, es);
                    if (!r.st) cmp_vals(&c, t, got, want, exact ? NULL : tol, nc);
                    verdict(op, dt, nel, &r, &c);
                    run_end(&r);
                }
                free(a), free(b), free(c0), free(got), free(want), free(tol);
            }
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Philox RNG.                                                                                     */

/* Random123's known-answer vectors for Philox4x32-10 (kat_vectors). */
static const uint32_t KAT[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
    {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu,
     0xa20bc7c6u, 0x6d5451fdu},
    {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu,
     0x5001e420u, 0x24126ea1u},
};

static void test_philox_kat(void)
{
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        philox(KAT[v], KAT[v] + 4, out);
        tc_check(memcmp(out, KAT[v] + 6, 16) == 0, "philox_kat vector %d (this test's own Philox): %08x %08x %08x %08x",
                 v, out[0], out[1], out[2], out[3]);
    }
    /* counter {0, 0, 0, 0}, key {0, 0} is elements 0..3 of a fill with a zero key, on every device */
    bd_rng_key key = {0, 0, 0, 0};
    for (int d = 0; d < ndevs; d++) {
        run r;
        cmp c;
        run_begin(&r, &devs[d]);
        cmp_init(&c);
        uint32_t init[4] = {0, 0, 0, 0}, got[4];
        bd_buffer *b = out_buf(&r, init, 4, 4);
        if (!r.st) run_status(&r, bd_rng_fill(r.dv->d, BD_RNG_U32, BD_U32, &key, b, 4), "bd_rng_fill");
        out_get(&r, b, got, 4, 4);
        if (!r.st) cmp_bits(&c, BD_U32, got, KAT[0] + 6, 4);
        verdict("philox_kat", "u32", 4, &r, &c);
        run_end(&r);
    }
}

/* Done-when 4: the first 10^6 words of three keys, identical on every device and to this file's Philox. */
static void test_philox_streams(void)
{
    static const bd_rng_key keys[3] = {{42u, 0u, 0u, 0u}, {0xDEADBEEFu, 7u, 1000u, 3u}, {0xFFFFFFFFu, 0x12345678u, 0u, 0xFFFFFFFFu}};
    const size_t n = 1000000;
    uint32_t *want = xmalloc(n * 4), *got = xmalloc(n * 4), *init = calloc(n, 4);
    for (int kk = 0; kk < 3; kk++) {
        philox_fill(&keys[kk], want, n);
        char op[64];
        snprintf(op, sizeof op, "philox_1e6[key %08x:%08x:%08x:%08x]", keys[kk].k0, keys[kk].k1, keys[kk].c2, keys[kk].c3);
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_buffer *b = out_buf(&r, init, n, 4);
            if (!r.st) run_status(&r, bd_rng_fill(r.dv->d, BD_RNG_U32, BD_U32, &keys[kk], b, n), "bd_rng_fill");
            out_get(&r, b, got, n, 4);
            if (!r.st) {
                cmp_bits(&c, BD_U32, got, want, n);
                snprintf(c.note, sizeof c.note, "every word equal to the independent Philox");
            }
            verdict(op, "u32", n, &r, &c);
            run_end(&r);
        }
    }
    free(want), free(got), free(init);
}

static void test_rng_u32(void)
{
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si];
        if (skip_big("rng_u32", "u32", n)) continue;
        bd_rng_key key = {(uint32_t)n * 2654435761u, 99u, 5u, 6u};
        uint32_t *want = xmalloc(n * 4), *got = xmalloc(n * 4), *init = calloc(n ? n : 1, 4);
        philox_fill(&key, want, n);
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_buffer *b = out_buf(&r, init, n, 4);
            if (!r.st) run_status(&r, bd_rng_fill(r.dv->d, BD_RNG_U32, BD_U32, &key, b, n), "bd_rng_fill");
            out_get(&r, b, got, n, 4);
            if (!r.st) cmp_bits(&c, BD_U32, got, want, n);
            verdict("rng_u32", "u32", n, &r, &c);
            run_end(&r);
        }
        free(want), free(got), free(init);
    }
}

/* Range and moments of a uniform or normal sample (checked on every device, cpu:ref included). */
static void rng_stats(cmp *c, bd_rng_dist dist, bd_dtype t, const void *v, size_t n)
{
    long double s = 0, s2 = 0;
    size_t outside = 0;
    for (size_t i = 0; i < n; i++) {
        double x = getv(v, t, i);
        if (dist == BD_RNG_UNIFORM ? !(x >= 0.0 && x < 1.0) : !isfinite(x)) outside++;
        s += x, s2 += (long double)x * x;
    }
    if (outside) cmp_failf(c, "%zu values outside %s", outside, dist == BD_RNG_UNIFORM ? "[0, 1)" : "the finite reals");
    if (n < 1000) return;
    double mean = (double)(s / n), var = (double)(s2 / n) - mean * mean;
    double m0 = dist == BD_RNG_UNIFORM ? 0.5 : 0.0, v0 = dist == BD_RNG_UNIFORM ? 1.0 / 12 : 1.0;
    double m4 = dist == BD_RNG_UNIFORM ? 1.0 / 80 : 3.0; /* fourth central moment */
    if (fabs(mean - m0) > 6 * sqrt(v0 / n)) cmp_failf(c, "mean %.5f, expected %.3f", mean, m0);
    if (fabs(var - v0) > 6 * sqrt((m4 - v0 * v0) / n)) cmp_failf(c, "variance %.5f, expected %.5f", var, v0);
}

/* The uniform and normal values of a fill, re-derived from this file's Philox words by the
 * conversions the library defines (core/mathlib.inc, docs/rng.md): f32 element i from word i
 * (uniform: top 24 bits * 2^-24; normal: Box-Muller on words (0,1) or (2,3) of its block, cos for
 * even, sin for odd elements); f64 element i from words (0,1) or (2,3) of block i / 2 (uniform: 53
 * bits; normal: radius from words (0,1), angle from (2,3), cos for even i, sin for odd). Uniform
 * values are exact; normal ones are computed here with libm in double. */
static double u01_f32(uint32_t w) { return (double)(w >> 8) * 0x1p-24; }
static double u01_open_f32(uint32_t w) { return (double)((w >> 8) + 1u) * 0x1p-24; }
static double u01_f64(uint32_t hi, uint32_t lo) { return ((double)(hi >> 5) * 67108864.0 + (double)(lo >> 6)) * 0x1p-53; }

static void rng_rederive(bd_rng_dist dist, bd_dtype t, const bd_rng_key *k, size_t n, double *want, double *tol)
{
    uint32_t key[2] = {k->k0, k->k1}, w[4];
    size_t per = t == BD_F32 ? 4 : 2;
    for (size_t b = 0; b * per < n; b++) {
        uint32_t ctr[4] = {(uint32_t)b, (uint32_t)((uint64_t)b >> 32), k->c2, k->c3};
        philox(ctr, key, w);
        for (size_t l = 0; l < per && b * per + l < n; l++) {
            size_t i = b * per + l;
            double v;
            if (t == BD_F32 && dist == BD_RNG_UNIFORM) v = u01_f32(w[l]);
            else if (t == BD_F64 && dist == BD_RNG_UNIFORM) v = u01_f64(w[2 * l], w[2 * l + 1]);
            else if (t == BD_F32) {
                uint32_t a = l < 2 ? w[0] : w[2], c = l < 2 ? w[1] : w[3];
                double r = sqrt(-2.0 * log(u01_open_f32(a)));
                double ang = (float)(6.2831855f * (float)u01_f32(c)); /* the f32 product, as printed */
                v = l % 2 == 0 ? r * cos(ang) : r * sin(ang);
            } else {
                double r = sqrt(-2.0 * log(u01_f64(w[0], w[1]) + 0x1p-53));
                double ang = 6.283185307179586 * u01_f64(w[2], w[3]);
                v = l == 0 ? r * cos(ang) : r * sin(ang);
            }
            want[i] = v;
            tol[i] = dist == BD_RNG_UNIFORM ? 0.0 : 64 * eps_of(t) * fmax(1.0, fabs(v));
        }
    }
}

static void test_rng_real(bd_rng_dist dist, bd_dtype t)
{
    const char *dt = bd_dtype_name(t), *op = dist == BD_RNG_UNIFORM ? "rng_uniform" : "rng_normal";
    size_t es = bd_dtype_size(t);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = SIZES[si];
        if (skip_big(op, dt, n)) continue;
        bd_rng_key key = {(uint32_t)n + 17u, 3u, 9u, (uint32_t)dist};
        void *got = xmalloc(n * es), *ref = xmalloc(n * es), *init = xmalloc(n * es);
        double *want = xmalloc(n * sizeof(double)), *tol = xmalloc(n * sizeof(double));
        fill_value(init, t, n, NAN);
        rng_rederive(dist, t, &key, n, want, tol);
        int have_ref = 0;
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_buffer *b = out_buf(&r, init, n, es);
            if (!r.st) run_status(&r, bd_rng_fill(r.dv->d, dist, t, &key, b, n), "bd_rng_fill");
            out_get(&r, b, got, n, es);
            if (!r.st) {
                rng_stats(&c, dist, t, got, n);
                cmp_vals(&c, t, got, want, dist == BD_RNG_UNIFORM ? NULL : tol, n);
                if (d == 0) {
                    memcpy(ref, got, n * es);
                    have_ref = 1;
                    snprintf(c.note, sizeof c.note, "vs the host's re-derivation; range and moments checked");
                } else if (have_ref) {
                    cmp bits;
                    cmp_init(&bits);
                    size_t diff = cmp_bits(&bits, t, got, ref, n);
                    if (diff) snprintf(c.note, sizeof c.note, "%zu of %zu values NOT bit-identical to cpu:ref", diff, n);
                    else snprintf(c.note, sizeof c.note, "bit-identical to cpu:ref");
                }
            }
            verdict(op, dt, n, &r, &c);
            run_end(&r);
        }
        free(got), free(ref), free(init), free(want), free(tol);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Procedural connectivity.                                                                        */

typedef struct pcase {
    const char *name;
    size_t n_pre, n_post;
    bd_proc_conn conn;
    double p;
    uint32_t outdegree;
    bd_proc_weight weight;
    double w0, w1;
} pcase;

/* Word j of stream s (0 targets, 1 weights) of row `pre`: Philox counter {pre, j / 4, s, 0}, key
 * {seed, proj_id}, word j % 4 (the layout core/mathlib.inc defines). */
static uint32_t proc_word(const bd_procedural *pc, uint32_t pre, uint32_t stream, uint32_t j)
{
    uint32_t ctr[4] = {pre, j >> 2, stream, 0}, key[2] = {pc->seed, pc->proj_id}, w[4];
    philox(ctr, key, w);
    return w[j & 3];
}

/* Row `pre` re-derived here: fixed probability by geometric gaps floor(log(u) / log(1 - p)) with
 * u = ((word >> 8) + 1) 2^-24, fixed outdegree by the high word of word * n_post; weights constant,
 * w0 + (w1 - w0) u (exact in f32), or Box-Muller (computed with libm; *wtol is its tolerance).
 * *boundary is the first entry whose gap quotient lies so close to an integer that the library's own
 * f32 log may round it the other way (SIZE_MAX if none): targets from there on are not comparable.
 * Returns the row length (entries beyond cap are not stored). */
static size_t proc_rederive(const bd_procedural *pc, uint32_t pre, uint32_t *tg, double *w, double *wtol, size_t cap,
                            size_t *boundary)
{
    uint32_t n_post = (uint32_t)pc->n_post;
    size_t m = 0;
    *boundary = SIZE_MAX;
    if (pc->conn == BD_PROC_FIXED_PROB && pc->p > 0) {
        float logq = pc->p >= 1.0 ? -INFINITY : (float)log1p(-pc->p);
        for (uint32_t c = 0, j = 0; c < n_post; j++) {
            double lu = log(u01_open_f32(proc_word(pc, pre, 0, j)));
            double q = lu / (double)logq;
            if (isfinite(logq) && fabs(q - nearbyint(q)) < 1e-5 * fmax(1.0, fabs(q)) && *boundary == SIZE_MAX)
                *boundary = m;
            float gf = floorf((float)lu / logq);
            uint32_t g = gf < 4294967296.0f ? (uint32_t)gf : 0xFFFFFFFFu;
            if (g >= n_post - c) break;
            if (m < cap) tg[m] = c + g;
            m++;
            c = c + g + 1;
        }
    } else if (pc->conn == BD_PROC_FIXED_OUTDEGREE && n_post) {
        for (; m < pc->outdegree; m++)
            if (m < cap) tg[m] = (uint32_t)(((uint64_t)proc_word(pc, pre, 0, (uint32_t)m) * n_post) >> 32);
    }
    float w0 = (float)pc->w0, w1 = (float)pc->w1;
    for (size_t e = 0; e < m && e < cap; e++) {
        uint32_t j = (uint32_t)e;
        wtol[e] = 0;
        if (pc->weight == BD_WEIGHT_CONSTANT) w[e] = w0;
        else if (pc->weight == BD_WEIGHT_UNIFORM) w[e] = w0 + (w1 - w0) * (float)u01_f32(proc_word(pc, pre, 1, j));
        else {
            double r = sqrt(-2.0 * log(u01_open_f32(proc_word(pc, pre, 1, 2 * j))));
            double ang = (float)(6.2831855f * (float)u01_f32(proc_word(pc, pre, 1, 2 * j + 1)));
            w[e] = w0 + w1 * (r * cos(ang));
            wtol[e] = 64 * FLT_EPSILON * (fabs(w0) + fabs(w1) * r);
        }
    }
    return m;
}

/* Checks the rows of every presynaptic neuron from the host helper against the definition (range,
 * length, order, weight distribution); fills the expected y and tolerance for the spiking ones. */
static int proc_rows(const bd_procedural *pc, const uint32_t *spk, const void *y0, bd_dtype t, double *want,
                     double *tol, char *why, size_t whylen)
{
    size_t cap = pc->conn == BD_PROC_FIXED_OUTDEGREE ? pc->outdegree : pc->n_post;
    uint32_t *tg = xmalloc((cap + 1) * 4);
    float *w = xmalloc((cap + 1) * sizeof(float));
    uint32_t *tg2 = xmalloc((cap + 1) * 4);
    double *w2 = xmalloc((cap + 1) * sizeof(double)), *w2tol = xmalloc((cap + 1) * sizeof(double));
    size_t *cnt = calloc(pc->n_post ? pc->n_post : 1, sizeof *cnt), total = 0, boundary_rows = 0;
    long double ws = 0, ws2 = 0;
    int ok = 1;
    why[0] = 0;
    for (size_t p = 0; p < pc->n_post; p++) want[p] = getv(y0, t, p), tol[p] = fabs(want[p]);
    for (size_t pre = 0; pre < pc->n_pre && ok; pre++) {
        size_t len = 0, len2 = 0;
        bd_status st = bd_procedural_row(pc, (uint32_t)pre, tg, w, cap + 1, &len);
        if (st) {
            snprintf(why, whylen, "bd_procedural_row(%zu): %s: %s", pre, bd_status_name(st), bd_last_error());
            ok = 0;
            break;
        }
        /* the length alone (NULL outputs) must agree */
        if (bd_procedural_row(pc, (uint32_t)pre, NULL, NULL, 0, &len2) || len2 != len) {
            snprintf(why, whylen, "row %zu: length %zu with outputs, %zu without", pre, len, len2);
            ok = 0;
        }
        if (pc->conn == BD_PROC_FIXED_OUTDEGREE && len != pc->outdegree) {
            snprintf(why, whylen, "row %zu has %zu targets, outdegree is %u", pre, len, pc->outdegree);
            ok = 0;
        }
        if (len > cap) {
            snprintf(why, whylen, "row %zu has %zu targets, more than n_post", pre, len);
            ok = 0;
        }
        size_t boundary;
        size_t len3 = proc_rederive(pc, (uint32_t)pre, tg2, w2, w2tol, cap + 1, &boundary);
        boundary_rows += boundary != SIZE_MAX;
        if (ok && boundary == SIZE_MAX && len3 != len) {
            snprintf(why, whylen, "row %zu: %zu targets, the re-derivation has %zu", pre, len, len3);
            ok = 0;
        }
        for (size_t e = 0; e < len && e < len3 && ok; e++)
            if ((e < boundary && tg[e] != tg2[e]) || !(fabs((double)w[e] - w2[e]) <= w2tol[e]))
                snprintf(why, whylen, "row %zu entry %zu: target %u weight %.9g, re-derived %u %.9g", pre, e, tg[e],
                         (double)w[e], tg2[e], w2[e]),
                    ok = 0;
        for (size_t e = 0; e < len && ok; e++) {
            float w0 = (float)pc->w0, w1 = (float)pc->w1;
            if (tg[e] >= pc->n_post) snprintf(why, whylen, "row %zu: target %u out of range", pre, tg[e]), ok = 0;
            if (pc->conn == BD_PROC_FIXED_PROB && e && tg[e] <= tg[e - 1])
                snprintf(why, whylen, "row %zu: targets not strictly increasing", pre), ok = 0;
            if (pc->weight == BD_WEIGHT_CONSTANT && w[e] != w0)
                snprintf(why, whylen, "row %zu: weight %g, constant is %g", pre, w[e], w0), ok = 0;
            if (pc->weight == BD_WEIGHT_UNIFORM && !(w[e] >= w0 && w[e] <= w1))
                snprintf(why, whylen, "row %zu: weight %g outside [%g, %g)", pre, w[e], w0, w1), ok = 0;
            ws += w[e], ws2 += (long double)w[e] * w[e];
            if (spk[pre] && ok) want[tg[e]] += w[e], tol[tg[e]] += fabs(w[e]), cnt[tg[e]]++;
        }
        total += len;
    }
    if (ok && pc->conn == BD_PROC_FIXED_PROB) {
        double mu = (double)pc->n_pre * (double)pc->n_post * pc->p, sd = sqrt(mu * (1 - pc->p));
        if (fabs((double)total - mu) > 6 * sd + 1e-9)
            snprintf(why, whylen, "%zu targets in all rows, expected %.1f +- %.1f", total, mu, sd), ok = 0;
    }
    if (ok && pc->weight != BD_WEIGHT_CONSTANT && total >= 1000) {
        double mean = (double)(ws / total), sd = sqrt(fmax(0.0, (double)(ws2 / total) - mean * mean));
        double m0 = pc->weight == BD_WEIGHT_UNIFORM ? (pc->w0 + pc->w1) / 2 : pc->w0;
        double s0 = pc->weight == BD_WEIGHT_UNIFORM ? (pc->w1 - pc->w0) / sqrt(12.0) : pc->w1;
        if (fabs(mean - m0) > 6 * s0 / sqrt((double)total) || fabs(sd - s0) > 0.1 * s0)
            snprintf(why, whylen, "weights: mean %g sd %g, expected %g and %g", mean, sd, m0, s0), ok = 0;
    }
    for (size_t p = 0; p < pc->n_post; p++) tol[p] *= (2.0 * sqrt((double)cnt[p] + 1) + 8.0) * FLT_EPSILON;
    if (ok)
        snprintf(why, whylen, "%zu targets in %zu rows, equal to the re-derivation (targets after a rounding boundary not compared in %zu rows)",
                 total, pc->n_pre, boundary_rows);
    free(tg), free(w), free(cnt), free(tg2), free(w2), free(w2tol);
    return ok;
}

static void test_procedural(bd_dtype t)
{
    const char *dt = bd_dtype_name(t);
    size_t es = bd_dtype_size(t);
    static const pcase cases[] = {
        {"proc_prob0_const", 200, 4099, BD_PROC_FIXED_PROB, 0.0, 0, BD_WEIGHT_CONSTANT, 0.5, 0},
        {"proc_prob1_const", 200, 4099, BD_PROC_FIXED_PROB, 1.0, 0, BD_WEIGHT_CONSTANT, 0.375, 0},
        {"proc_prob1_const", 1, 1, BD_PROC_FIXED_PROB, 1.0, 0, BD_WEIGHT_CONSTANT, 0.375, 0},
        {"proc_prob1_const", 3, 0, BD_PROC_FIXED_PROB, 1.0, 0, BD_WEIGHT_CONSTANT, 0.375, 0},
        {"proc_prob_const", 200, 4099, BD_PROC_FIXED_PROB, 0.05, 0, BD_WEIGHT_CONSTANT, -0.25, 0},
        {"proc_prob_uniform", 200, 4099, BD_PROC_FIXED_PROB, 0.05, 0, BD_WEIGHT_UNIFORM, 0.1, 0.6},
        {"proc_prob_normal", 200, 4099, BD_PROC_FIXED_PROB, 0.05, 0, BD_WEIGHT_NORMAL, 1.0, 0.2},
        {"proc_outdeg_const", 200, 4099, BD_PROC_FIXED_OUTDEGREE, 0, 25, BD_WEIGHT_CONSTANT, 0.5, 0},
        {"proc_outdeg_uniform", 200, 4099, BD_PROC_FIXED_OUTDEGREE, 0, 25, BD_WEIGHT_UNIFORM, -1.0, 1.0},
        {"proc_outdeg_normal", 200, 4099, BD_PROC_FIXED_OUTDEGREE, 0, 25, BD_WEIGHT_NORMAL, 0.0, 0.5},
        {"proc_outdeg_const", 16, BIG, BD_PROC_FIXED_OUTDEGREE, 0, 500, BD_WEIGHT_CONSTANT, 0.25, 0},
        {"proc_prob_uniform", 16, BIG, BD_PROC_FIXED_PROB, 1e-4, 0, BD_WEIGHT_UNIFORM, 0.0, 1.0},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const pcase *pk = &cases[ci];
        if (skip_big(pk->name, dt, pk->n_post)) continue;
        bd_procedural pc;
        memset(&pc, 0, sizeof pc);
        pc.seed = 1234u + (uint32_t)ci, pc.proj_id = 7u, pc.n_pre = pk->n_pre, pc.n_post = pk->n_post;
        pc.conn = pk->conn, pc.p = pk->p, pc.outdegree = pk->outdegree, pc.weight = pk->weight;
        pc.w0 = pk->w0, pc.w1 = pk->w1;
        uint64_t seed = 0x9c + ci;
        size_t nspk, np = pk->n_post;
        uint32_t *spk = make_spikes(pk->n_pre, &seed, &nspk);
        if (pk->n_pre && !spk[0]) spk[0] = 1, nspk++;
        void *y0 = xmalloc(np * es), *got = xmalloc(np * es), *ref = xmalloc(np * es);
        double *want = xmalloc((np ? np : 1) * sizeof(double)), *tol = xmalloc((np ? np : 1) * sizeof(double));
        double *rtol = xmalloc((np ? np : 1) * sizeof(double)), *rwant = xmalloc((np ? np : 1) * sizeof(double));
        fill_real(y0, t, np, -1.0, 1.0, &seed);
        char why[256];
        int rows_ok = proc_rows(&pc, spk, y0, t, want, tol, why, sizeof why);
        tc_check(rows_ok, "procedural_row %s %s n=%zu: %s", pk->name, dt, np, why);
        /* p = 1 with constant weights needs no row helper: every post gets w per spiking pre */
        if (pk->conn == BD_PROC_FIXED_PROB && pk->p == 1.0 && pk->weight == BD_WEIGHT_CONSTANT)
            for (size_t p = 0; p < np; p++) {
                want[p] = getv(y0, t, p) + (double)nspk * (float)pk->w0;
                tol[p] = (2.0 * sqrt((double)nspk + 1) + 8.0) * eps_of(t) * (fabs(getv(y0, t, p)) + nspk * fabs(pk->w0));
            }
        if (pk->conn == BD_PROC_FIXED_PROB && pk->p == 0.0)
            for (size_t p = 0; p < np; p++) want[p] = getv(y0, t, p), tol[p] = 0;
        int have_ref = 0;
        for (int d = 0; d < ndevs; d++) {
            run r;
            cmp c;
            run_begin(&r, &devs[d]);
            cmp_init(&c);
            bd_buffer *bs = in_buf(&r, spk, pk->n_pre, 4, tail_one), *by = out_buf(&r, y0, np, es);
            if (!r.st) run_status(&r, bd_event_procedural(r.dv->d, t, &pc, bs, by), "bd_event_procedural");
            out_get(&r, by, got, np, es);
            if (!r.st) {
                cmp_vals(&c, t, got, want, tol, np);
                if (d == 0) {
                    memcpy(ref, got, np * es);
                    have_ref = 1;
                    for (size_t p = 0; p < np; p++) {
                        rwant[p] = getv(ref, t, p);
                        rtol[p] = tol[p] / FLT_EPSILON * eps_of(t);
                    }
                } else if (have_ref) {
                    size_t before = c.bad;
                    cmp_vals(&c, t, got, rwant, rtol, np);
                    if (c.bad > before) cmp_failf(&c, "%zu values differ from cpu:ref beyond dtype tolerance", c.bad - before);
                    cmp bits;
                    cmp_init(&bits);
                    size_t diff = cmp_bits(&bits, t, got, ref, np);
                    snprintf(c.note, sizeof c.note, "%zu spiking pre; %s", nspk,
                             diff ? "not bit-identical to cpu:ref" : "bit-identical to cpu:ref");
                }
            }
            verdict(pk->name, dt, np, &r, &c);
            run_end(&r);
        }
        free(spk), free(y0), free(got), free(ref), free(want), free(tol), free(rtol), free(rwant);
    }
}

/* ---------------------------------------------------------------------------------------------- */

static void open_devices(void)
{
    bd_status st = bd_device_open("cpu:ref", &devs[0].d);
    if (st) {
        tc_line(TC_FAIL, "open cpu:ref: %s: %s", bd_status_name(st), bd_last_error());
        return;
    }
    snprintf(devs[0].name, sizeof devs[0].name, "cpu:ref");
    ndevs = 1;
    size_t count = bd_device_count();
    for (size_t i = 0; i < count && ndevs < MAXDEV; i++) {
        bd_device_info info;
        if (bd_device_info_get(i, &info)) {
            tc_line(TC_FAIL, "bd_device_info_get(%zu): %s", i, bd_last_error());
            continue;
        }
        if (!tc_device_selected(info.name)) continue;
        tdev *dv = &devs[ndevs];
        st = bd_device_open(info.name, &dv->d);
        if (st) {
            tc_line(TC_FAIL, "open %s: %s: %s", info.name, bd_status_name(st), bd_last_error());
            continue;
        }
        snprintf(dv->name, sizeof dv->name, "%s", info.name);
        /* the cpu device runs with two threads so that its parallel paths are exercised */
        if (info.backend == BD_BACKEND_CPU) bd_device_set_threads(dv->d, 2);
        printf("device %s: %s (%s), fp64 %s, max alloc %llu, max binding %llu\n", info.name, info.description,
               info.driver, info.fp64 ? "yes" : "no", (unsigned long long)info.max_alloc_bytes,
               (unsigned long long)info.max_binding_bytes);
        ndevs++;
    }
}

int main(void)
{
    tc_begin();
    quick = getenv("BDYN_TEST_QUICK") && atoi(getenv("BDYN_TEST_QUICK")) != 0;
    memset(sentinel, 0xA5, sizeof sentinel);
    for (int i = 0; i < G; i++) {
        poison_f32[i] = i % 2 ? -1e30f : 1e30f;
        poison_f64[i] = i % 2 ? -1e30 : 1e30;
        tail_zero[i] = 0, tail_one[i] = 1, tail_huge[i] = 0xFFFFFFF0u;
    }
    open_devices();
    if (ndevs == 0) return tc_finish();
    double t0 = now(), ts = t0;
/* Runs one section and prints its time (not a result line). */
#define SECTION(call)                                                                                   \
    do {                                                                                                \
        call;                                                                                           \
        double t1_ = now();                                                                             \
        printf("time %-40s %7.2f s\n", #call, t1_ - ts);                                                 \
        ts = t1_;                                                                                       \
    } while (0)
    SECTION(test_philox_kat());
    SECTION(test_philox_streams());
    SECTION(test_rng_u32());
    SECTION(test_spike_compact());
    for (int ti = 0; ti < 2; ti++) {
        bd_dtype t = FTYPES[ti];
        SECTION(test_lif(t));
        SECTION(test_math(t));
        SECTION(test_ir_gather(t));
        SECTION(test_reduce(t));
        SECTION(test_reduce_segments(t));
        SECTION(test_gather(t));
        SECTION(test_scatter_add(t));
        SECTION(test_spmv(t, 0, 1));
        SECTION(test_spmv(t, 0, 0));
        SECTION(test_spmv(t, 1, 1));
        SECTION(test_spmv(t, 1, 0));
        SECTION(test_event(t));
        SECTION(test_event_sorted(t));
        SECTION(test_gemv(t));
        SECTION(test_gemm(t));
        SECTION(test_rng_real(BD_RNG_UNIFORM, t));
        SECTION(test_rng_real(BD_RNG_NORMAL, t));
        SECTION(test_procedural(t));
    }
    printf("test_backend_ops: %d devices, %.1f s\n", ndevs, now() - t0);
    for (int d = 0; d < ndevs; d++) bd_device_close(devs[d].d);
    return tc_finish();
}
