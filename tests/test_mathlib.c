/* The shared math library (core/mathlib.inc, C build): accuracy of every function against libm in a
 * wider precision over dense samples, special values, and the same source compiled again by the
 * system compiler at -O2 -march=native -ffp-contract=off giving bit-identical results. */
#include "test_common.h"
#include "mathlib.h"

#include <dlfcn.h>
#include <math.h>
#include <unistd.h>

/* Our own versions that stand in for missing natives (GLSL), built into the library everywhere. */
float bd_pow_f32_own(float x, float y);
double bd_exp_f64_own(double x);
double bd_log_f64_own(double x);
double bd_log1p_f64_own(double x);
double bd_expm1_f64_own(double x);
double bd_pow_f64_own(double x, double y);
double bd_sin_f64_own(double x);
double bd_cos_f64_own(double x);
double bd_tanh_f64_own(double x);

/* Error of y in units of the last place of the exact result (ulps of the result's binade). */
static double ulp_err(long double y, long double exact, int mant_bits, int min_exp)
{
    if (isnan(exact)) return isnan(y) ? 0 : INFINITY;
    if (isinf(exact) || isinf(y)) return y == exact ? 0 : INFINITY;
    int e;
    frexpl(exact, &e);
    if (e < min_exp) e = min_exp;
    return (double)(fabsl(y - exact) / ldexpl(1.0L, e - mant_bits));
}

static double ulp32(float y, double exact)
{
    /* beyond FLT_MAX the exact value rounds to infinity */
    if (fabs(exact) > 0x1.fffffep127 * (1 + 0x1p-25)) exact = copysign(INFINITY, exact);
    return ulp_err(y, exact, 24, -125);
}

static double ulp64(double y, long double exact)
{
    if (fabsl(exact) > 0x1.fffffffffffffp1023L * (1 + 0x1p-54L)) exact = copysignl(INFINITY, exact);
    return ulp_err(y, exact, 53, -1021);
}

typedef struct fn32 {
    const char *name;
    float (*f)(float);
    double (*ref)(double);
    float lo, hi; /* sampled domain */
    double max_ulp;
} fn32;

/* Every 251st float of the domain (about 17 million per full range). */
static void test_accuracy_f32(void)
{
    static const fn32 fns[] = {
        {"exp", bd_exp_f32, exp, -INFINITY, INFINITY, 2},
        {"log", bd_log_f32, log, 0, INFINITY, 2},
        {"log1p", bd_log1p_f32, log1p, -1, INFINITY, 2},
        {"expm1", bd_expm1_f32, expm1, -INFINITY, INFINITY, 2},
        {"sin", bd_sin_f32, sin, -16777215.0f, 16777215.0f, 2},
        {"cos", bd_cos_f32, cos, -16777215.0f, 16777215.0f, 2},
        {"tanh", bd_tanh_f32, tanh, -INFINITY, INFINITY, 2},
    };
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        const fn32 *fn = &fns[f];
        double worst = 0;
        float at = 0;
        size_t n = 0;
        for (uint64_t bits = 0; bits < (1ull << 32); bits += 251) {
            uint32_t b = (uint32_t)bits;
            float x;
            memcpy(&x, &b, sizeof x);
            if (!(x >= fn->lo && x <= fn->hi)) continue;
            double e = ulp32(fn->f(x), fn->ref(x));
            n++;
            if (e > worst) worst = e, at = x;
        }
        tc_check(worst <= fn->max_ulp, "bd_%s_f32: max %.3f ulp (at %a) over %zu samples, limit %.1f", fn->name, worst, at,
                 n, fn->max_ulp);
    }
}

typedef struct fn64 {
    const char *name;
    double (*f)(double);
    long double (*ref)(long double);
    double lo, hi;
    double max_ulp;
} fn64;

static void test_accuracy_f64(void)
{
    static const fn64 fns[] = {
        {"exp", bd_exp_f64_own, expl, -746, 710, 4},
        {"log", bd_log_f64_own, logl, 0x1p-1074, 0x1p1023, 4},
        {"log1p", bd_log1p_f64_own, log1pl, -1, 1e300, 4},
        {"expm1", bd_expm1_f64_own, expm1l, -50, 710, 4},
        {"sin", bd_sin_f64_own, sinl, -1e6, 1e6, 4},
        {"cos", bd_cos_f64_own, cosl, -1e6, 1e6, 4},
        {"tanh", bd_tanh_f64_own, tanhl, -30, 30, 4},
    };
    uint64_t seed = 99;
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        const fn64 *fn = &fns[f];
        double worst = 0, at = 0;
        /* Random doubles spread over the binades of the domain and, for the wide ones, uniform values. */
        for (int i = 0; i < 1000000; i++) {
            double x;
            if (i & 1) {
                x = fn->lo + (fn->hi - fn->lo) * tc_uniform(&seed);
            } else {
                double a = fmax(fabs(fn->lo), fabs(fn->hi));
                x = ldexp(1 + tc_uniform(&seed), -(int)(tc_below(&seed, 1000)) + ilogb(a));
                x = (fn->lo < 0 && tc_below(&seed, 2)) ? -x : x;
                if (!(x >= fn->lo && x <= fn->hi)) continue;
            }
            double e = ulp64(fn->f(x), fn->ref(x));
            if (e > worst) worst = e, at = x;
        }
        tc_check(worst <= fn->max_ulp, "bd_%s_f64_own: max %.3f ulp (at %a), limit %.1f", fn->name, worst, at, fn->max_ulp);
    }
}

/* pow through exp(y log x): the error grows with |y ln x| (docs/rng.md gives the bound). */
static void test_pow(void)
{
    uint64_t seed = 7;
    double w32 = 0, w64 = 0, wn = 0;
    for (int i = 0; i < 1000000; i++) {
        double x = exp(40 * (tc_uniform(&seed) - 0.5)), y = 8 * (tc_uniform(&seed) - 0.5);
        float xf = (float)x, yf = (float)y;
        double r32 = pow((double)xf, (double)yf);
        if (fabs(log(r32)) < 87) {
            w32 = fmax(w32, ulp32(bd_pow_f32_own(xf, yf), r32) / (1 + fabs(yf * log(xf)) / 2));
            wn = fmax(wn, ulp32(bd_pow_f32(xf, yf), r32));
        }
        long double r64 = powl(x, y);
        if (fabsl(logl(r64)) < 700) w64 = fmax(w64, ulp64(bd_pow_f64_own(x, y), r64) / (1 + fabs(y * log(x)) / 2));
    }
    tc_check(w32 <= 2, "bd_pow_f32_own: error <= %.3f (1 + |y ln x| / 2) ulp", w32);
    tc_check(w64 <= 2, "bd_pow_f64_own: error <= %.3f (1 + |y ln x| / 2) ulp", w64);
    tc_check(wn <= 1, "bd_pow_f32 (native in C): %.3f ulp", wn);
}

static int same32(float a, float b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }
static int same64(double a, double b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

static void test_special_values(void)
{
    const float inf = INFINITY, nan = NAN, den = 0x1p-140f;
    struct { const char *what; float got, want; } c32[] = {
        {"exp(NaN)", bd_exp_f32(nan), nan}, {"exp(inf)", bd_exp_f32(inf), inf}, {"exp(-inf)", bd_exp_f32(-inf), 0},
        {"exp(0)", bd_exp_f32(0), 1}, {"exp(-0)", bd_exp_f32(-0.0f), 1}, {"exp(89)", bd_exp_f32(89), inf},
        {"exp(-104)", bd_exp_f32(-104), 0}, {"exp(-100) subnormal", bd_exp_f32(-100), expf(-100)},
        {"log(0)", bd_log_f32(0), -inf}, {"log(-0)", bd_log_f32(-0.0f), -inf}, {"log(-1)", bd_log_f32(-1), nan},
        {"log(inf)", bd_log_f32(inf), inf}, {"log(NaN)", bd_log_f32(nan), nan}, {"log(1)", bd_log_f32(1), 0},
        {"log(2^-140)", bd_log_f32(den), logf(den)}, {"log(2^-149)", bd_log_f32(0x1p-149f), logf(0x1p-149f)},
        {"log1p(-1)", bd_log1p_f32(-1), -inf}, {"log1p(-2)", bd_log1p_f32(-2), nan},
        {"log1p(-0)", bd_log1p_f32(-0.0f), -0.0f}, {"log1p(inf)", bd_log1p_f32(inf), inf},
        {"log1p(2^-140)", bd_log1p_f32(den), den}, {"expm1(-0)", bd_expm1_f32(-0.0f), -0.0f},
        {"expm1(-inf)", bd_expm1_f32(-inf), -1}, {"expm1(inf)", bd_expm1_f32(inf), inf},
        {"expm1(NaN)", bd_expm1_f32(nan), nan}, {"expm1(2^-140)", bd_expm1_f32(den), den},
        {"sin(-0)", bd_sin_f32(-0.0f), -0.0f}, {"sin(2^-140)", bd_sin_f32(den), den}, {"cos(0)", bd_cos_f32(0), 1},
        {"sin(inf)", bd_sin_f32(inf), nan}, {"cos(-inf)", bd_cos_f32(-inf), nan}, {"sin(NaN)", bd_sin_f32(nan), nan},
        {"sin(2^24) (beyond range)", bd_sin_f32(16777216.0f), nan}, {"tanh(inf)", bd_tanh_f32(inf), 1},
        {"tanh(-inf)", bd_tanh_f32(-inf), -1}, {"tanh(-0)", bd_tanh_f32(-0.0f), -0.0f},
        {"tanh(NaN)", bd_tanh_f32(nan), nan}, {"tanh(2^-140)", bd_tanh_f32(den), den},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof c32 / sizeof c32[0]; i++)
        if (!same32(c32[i].got, c32[i].want)) bad++, tc_line(TC_FAIL, "%s = %a, want %a", c32[i].what, c32[i].got, c32[i].want);
    tc_check(!bad, "f32 special values (%zu cases)", sizeof c32 / sizeof c32[0]);

    const double dinf = INFINITY, dnan = NAN;
    struct { const char *what; double got, want; } c64[] = {
        {"exp(NaN)", bd_exp_f64_own(dnan), dnan}, {"exp(inf)", bd_exp_f64_own(dinf), dinf},
        {"exp(-inf)", bd_exp_f64_own(-dinf), 0}, {"exp(0)", bd_exp_f64_own(0), 1}, {"exp(710)", bd_exp_f64_own(710), dinf},
        {"exp(-740) subnormal", bd_exp_f64_own(-740), exp(-740)}, {"log(0)", bd_log_f64_own(0), -dinf},
        {"log(-1)", bd_log_f64_own(-1), dnan}, {"log(inf)", bd_log_f64_own(dinf), dinf}, {"log(1)", bd_log_f64_own(1), 0},
        {"log(2^-1074)", bd_log_f64_own(0x1p-1074), log(0x1p-1074)}, {"log1p(-1)", bd_log1p_f64_own(-1), -dinf},
        {"log1p(-0)", bd_log1p_f64_own(-0.0), -0.0}, {"expm1(-0)", bd_expm1_f64_own(-0.0), -0.0},
        {"expm1(-inf)", bd_expm1_f64_own(-dinf), -1}, {"sin(-0)", bd_sin_f64_own(-0.0), -0.0},
        {"sin(inf)", bd_sin_f64_own(dinf), dnan}, {"cos(2^40) (beyond range)", bd_cos_f64_own(0x1p40), dnan},
        {"tanh(-inf)", bd_tanh_f64_own(-dinf), -1}, {"tanh(-0)", bd_tanh_f64_own(-0.0), -0.0},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof c64 / sizeof c64[0]; i++)
        if (!same64(c64[i].got, c64[i].want)) bad++, tc_line(TC_FAIL, "%s = %a, want %a", c64[i].what, c64[i].got, c64[i].want);
    tc_check(!bad, "f64 special values (%zu cases)", sizeof c64 / sizeof c64[0]);

    /* pow: C99 Annex F cases, in both precisions; finite results within 2 ulp, the rest exactly. */
    static const double pw[][3] = {
        {NAN, 0, 1}, {1, NAN, 1}, {-2, 3, -8}, {-2, 2, 4}, {-2, 0.5, NAN}, {-0.0, 3, -0.0}, {-0.0, 2, 0},
        {0, -1, INFINITY}, {-0.0, -1, -INFINITY}, {-0.0, -2, INFINITY}, {-1, INFINITY, 1}, {-1, -INFINITY, 1},
        {2, INFINITY, INFINITY}, {0.5, INFINITY, 0}, {2, -INFINITY, 0}, {-INFINITY, 3, -INFINITY},
        {-INFINITY, -3, -0.0}, {INFINITY, -1, 0}, {4, 0.5, 2}, {2, 10, 1024},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof pw / sizeof pw[0]; i++) {
        float g32 = bd_pow_f32_own((float)pw[i][0], (float)pw[i][1]);
        double g64 = bd_pow_f64_own(pw[i][0], pw[i][1]);
        int ok32 = isfinite(pw[i][2]) && pw[i][2] != 0 ? ulp32(g32, pw[i][2]) <= 2 : same32(g32, (float)pw[i][2]);
        int ok64 = isfinite(pw[i][2]) && pw[i][2] != 0 ? ulp64(g64, pw[i][2]) <= 2 : same64(g64, pw[i][2]);
        if (!ok32 || !ok64)
            bad++, tc_line(TC_FAIL, "pow(%g, %g) = %a / %a, want %a", pw[i][0], pw[i][1], g32, g64, pw[i][2]);
    }
    tc_check(!bad, "pow special values (%zu cases)", sizeof pw / sizeof pw[0]);
}

/* The C prelude compiled by the system compiler as the CPU backend uses it, in vectorised loops at
 * -O3 -march=native (FMA available, contraction off, -fno-trapping-math so that the selects
 * vectorise), must give the library's bits: nothing in the source may depend on the compiler's choices. */
#define NREC 4096
static const char *wrapper =
    "#define LOOP(T, F) for (int i = 0; i < n; i++) y[i] = F;\n"
    "void a32(int f, const float *x, float *y, int n) { switch (f) {\n"
    " case 0: LOOP(float, bd_exp_f32(x[i])) break; case 1: LOOP(float, bd_log_f32(x[i])) break;\n"
    " case 2: LOOP(float, bd_log1p_f32(x[i])) break; case 3: LOOP(float, bd_expm1_f32(x[i])) break;\n"
    " case 4: LOOP(float, bd_sin_f32(x[i])) break; case 5: LOOP(float, bd_cos_f32(x[i])) break;\n"
    " case 6: LOOP(float, bd_tanh_f32(x[i])) break; default: LOOP(float, bd_pow_f32_own(x[i], 1.75f)) } }\n"
    "void a64(int f, const double *x, double *y, int n) { switch (f) {\n"
    " case 0: LOOP(double, bd_exp_f64_own(x[i])) break; case 1: LOOP(double, bd_log_f64_own(x[i])) break;\n"
    " case 2: LOOP(double, bd_log1p_f64_own(x[i])) break; case 3: LOOP(double, bd_expm1_f64_own(x[i])) break;\n"
    " case 4: LOOP(double, bd_sin_f64_own(x[i])) break; case 5: LOOP(double, bd_cos_f64_own(x[i])) break;\n"
    " case 6: LOOP(double, bd_tanh_f64_own(x[i])) break; default: LOOP(double, bd_pow_f64_own(x[i], 1.75)) } }\n";

static void test_recompiled(void)
{
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    char dir[] = "/tmp/bd_mathlib_XXXXXX";
    if (!mkdtemp(dir)) {
        tc_line(TC_SKIP, "recompiled prelude: no temporary directory");
        return;
    }
    char src[64], so[64], cmd[512];
    snprintf(src, sizeof src, "%s/m.c", dir);
    snprintf(so, sizeof so, "%s/m.so", dir);
    FILE *f = fopen(src, "w");
    if (f) {
        fprintf(f, "#define BD_ENABLE_F64 1\n%s\n%s", bd_mathlib_source(BD_DIALECT_C), wrapper);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd,
             "%s -std=c11 -O3 -march=native -ffp-contract=off -fno-trapping-math -shared -fPIC -o %s %s 2>/dev/null", cc,
             so, src);
    void *h = f && system(cmd) == 0 ? dlopen(so, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!h) {
        tc_line(TC_SKIP, "recompiled prelude: '%s' could not build it", cc);
    } else {
        void (*a32)(int, const float *, float *, int);
        void (*a64)(int, const double *, double *, int);
        *(void **)&a32 = dlsym(h, "a32");
        *(void **)&a64 = dlsym(h, "a64");
        float (*lib32[8])(float) = {bd_exp_f32, bd_log_f32, bd_log1p_f32, bd_expm1_f32,
                                    bd_sin_f32, bd_cos_f32, bd_tanh_f32, NULL};
        double (*lib64[8])(double) = {bd_exp_f64_own, bd_log_f64_own, bd_log1p_f64_own, bd_expm1_f64_own,
                                      bd_sin_f64_own, bd_cos_f64_own, bd_tanh_f64_own, NULL};
        static float x[NREC], y[NREC];
        static double xd[NREC], yd[NREC];
        uint64_t seed = 3;
        size_t diff = 0, n = 0;
        for (int rep = 0; rep < 100 && a32 && a64; rep++) {
            for (int i = 0; i < NREC; i++) {
                uint32_t b = (uint32_t)tc_rand(&seed);
                memcpy(&x[i], &b, sizeof x[i]);
                x[i] = i % 2 ? x[i] : (float)(60 * (tc_uniform(&seed) - 0.5));
                xd[i] = i % 2 ? (double)x[i] * (1 + 1e-9 * tc_uniform(&seed)) : 1400 * (tc_uniform(&seed) - 0.5);
            }
            for (int fn = 0; fn < 8; fn++) {
                a32(fn, x, y, NREC);
                a64(fn, xd, yd, NREC);
                for (int i = 0; i < NREC; i++, n += 2) {
                    diff += !same32(y[i], lib32[fn] ? lib32[fn](x[i]) : bd_pow_f32_own(x[i], 1.75f));
                    diff += !same64(yd[i], lib64[fn] ? lib64[fn](xd[i]) : bd_pow_f64_own(xd[i], 1.75));
                }
            }
        }
        tc_check(a32 && a64 && diff == 0, "prelude recompiled by %s -O3 -march=native: %zu of %zu results differ", cc,
                 diff, n);
        dlclose(h);
    }
    unlink(so);
    unlink(src);
    rmdir(dir);
}

int main(void)
{
    tc_begin();
    test_special_values();
    test_accuracy_f32();
    test_accuracy_f64();
    test_pow();
    test_recompiled();
    return tc_finish();
}
