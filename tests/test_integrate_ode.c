/* ODE methods through the public API: the convergence order of every fixed-step method on a problem with
 * a known solution (a nonlinear non-autonomous equation beside a linear oscillator), exponential Euler
 * exact on linear equations and on the Hodgkin-Huxley squid axon against rk4, every adaptive pair on
 * Van der Pol against a reference, the same runs on every other device against cpu, the output files,
 * and the driver's refusals. Devices: cpu, opencl:0, vulkan:0, restricted by $BDYN_TEST_DEVICES. */
#include "test_integrate_common.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static bd_device *devs64[NDEV]; /* the devices with double precision (the f64 runs) */

static bd_system *make_system(const char *text, const char *const *names, const char *const *values, int count)
{
    bd_system *s = NULL;
    bd_status st = bd_system_new(text, "<test>", &s);
    if (st) {
        tc_line(TC_FAIL, "system_new: %s: %s", bd_status_name(st), bd_last_error());
        return NULL;
    }
    for (int p = 0; p < count; p++) {
        /* a name that is a state variable gets an initial value, anything else a parameter value */
        int is_state = 0;
        for (size_t v = 0; v < bd_system_nstate(s); v++) is_state |= strcmp(bd_system_state_name(s, v), names[p]) == 0;
        st = is_state ? bd_system_init(s, names[p], values[p]) : bd_system_set(s, names[p], values[p]);
        if (st) {
            tc_line(TC_FAIL, "set %s = %s: %s: %s", names[p], values[p], bd_status_name(st), bd_last_error());
            bd_system_free(s);
            return NULL;
        }
    }
    return s;
}

static bd_trajectory *run(bd_device *dev, const bd_system *s, const char *method, double dt, double T, double every,
                          double tol)
{
    bd_integrate_opts o;
    bd_integrate_opts_init(&o);
    o.method = method;
    o.dt = dt;
    o.duration = T;
    o.record_every = every;
    if (tol > 0) o.atol = o.rtol = tol;
    bd_trajectory *tr = NULL;
    bd_status st = bd_integrate(dev, s, &o, &tr);
    if (st) {
        tc_line(TC_FAIL, "integrate %s dt=%g on %s: %s: %s", method, dt, bd_device_get_info(dev)->name,
                bd_status_name(st), bd_last_error());
        return NULL;
    }
    return tr;
}

static double last(const bd_trajectory *tr, size_t v) { return tr->x[v][(tr->nrec - 1) * tr->n]; }

/* --- orders of the fixed-step methods --------------------------------------------------------------- */

/* x' = -2 t x^2, x(0) = 1/2: x = 1/(2 + t^2); y' = z, z' = -y, (1, 0): y = cos t, z = -sin t. (x' = x^2 cos t
 * looks nicer but its leading error term nearly cancels at some T, which bends the fitted slopes.) */
static const char *const conv_eqs = "dx/dt = -2*(t/ms)*x**2 / ms : 1\n"
                                    "dy/dt = z / ms : 1\n"
                                    "dz/dt = -y / ms : 1\n";
#define CONV_T 4.0
#define CONV_M 4

/* Errors at T of the nonlinear equation (err[0]) and of the oscillator (err[1]): kept apart because on the
 * linear oscillator every s-stage method of order s has the same stability polynomial (and exp_euler is
 * Euler there), so only the first one tells the methods apart. */
static void conv_error(const bd_trajectory *tr, double err[2])
{
    err[0] = fabs(last(tr, 0) - 1 / (2 + CONV_T * CONV_T));
    err[1] = fmax(fabs(last(tr, 1) - cos(CONV_T)), fabs(last(tr, 2) + sin(CONV_T)));
}

static void test_orders(void)
{
    static const struct {
        const char *name;
        int order;
        double dt0;
    } methods[] = {
        {"euler", 1, 0.02},  {"midpoint", 2, 0.1}, {"heun2", 2, 0.1},  {"ralston2", 2, 0.1},
        {"rk2", 2, 0.1},     {"rk3", 3, 0.1},      {"heun3", 3, 0.1},  {"ralston3", 3, 0.1},
        {"ssprk3", 3, 0.1},  {"rk4", 4, 0.1},      {"ralston4", 4, 0.1}, {"rk4_38rule", 4, 0.1},
        {"exp_euler", 1, 0.02}, {"exp_euler_simultaneous", 1, 0.02}, {"exp_midpoint", 2, 0.1},
    };
    bd_system *s = make_system(conv_eqs, (const char *[]){"x", "y", "z"}, (const char *[]){"0.5", "1", "0"}, 3);
    if (!s) return;
    for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
        double dt[CONV_M], err[2][CONV_M], cpu_end[3] = {0};
        int ok = 1;
        for (int j = 0; j < CONV_M && ok; j++) {
            dt[j] = methods[mi].dt0 / (1 << j);
            bd_trajectory *tr = run(devs64[0], s, methods[mi].name, dt[j], CONV_T, 0.5, 0);
            if (!(ok = tr != NULL)) break;
            double e[2];
            conv_error(tr, e);
            err[0][j] = e[0], err[1][j] = e[1];
            if (j == 1)
                for (int v = 0; v < 3; v++) cpu_end[v] = last(tr, (size_t)v);
            ok = tr->nrec == 9 && fabs(tr->t[8] - CONV_T) < 1e-12 && e[0] > 0 && e[1] > 0;
            if (!ok) tc_line(TC_FAIL, "%s: %zu samples, last at %g ms, errors %g %g", methods[mi].name, tr->nrec,
                             tr->t[tr->nrec - 1], e[0], e[1]);
            bd_trajectory_free(tr);
        }
        if (!ok) continue;
        double p0 = ti_slope(dt, err[0], CONV_M), p1 = ti_slope(dt, err[1], CONV_M);
        tc_check(fabs(p0 - methods[mi].order) <= 0.15 && fabs(p1 - methods[mi].order) <= 0.15,
                 "%s on cpu (f64): order %.3f on x' = -2 t x^2 (errors %.2e %.2e %.2e %.2e), %.3f on the oscillator "
                 "(%.2e .. %.2e), dt %g..%g ms (want %d +- 0.15)", methods[mi].name, p0, err[0][0], err[0][1], err[0][2],
                 err[0][3], p1, err[1][0], err[1][CONV_M - 1], dt[0], dt[CONV_M - 1], methods[mi].order);
        /* every other device: the same run at dt[1] agrees with cpu; the arithmetic is the same IR without
         * contraction, only cos and the division may differ by an ulp or so between math libraries */
        for (size_t d = 1; d < NDEV; d++) {
            if (!devs64[d]) continue;
            bd_trajectory *tr = run(devs64[d], s, methods[mi].name, dt[1], CONV_T, 0.5, 0);
            if (!tr) continue;
            double rel = 0;
            for (int v = 0; v < 3; v++) rel = fmax(rel, fabs(last(tr, (size_t)v) - cpu_end[v]) / fmax(fabs(cpu_end[v]), 1e-3));
            tc_check(rel <= 1e-12, "%s on %s (f64) agrees with cpu: relative difference %.2e (<= 1e-12)",
                     methods[mi].name, device_names[d], rel);
            bd_trajectory_free(tr);
        }
    }
    bd_system_free(s);
}

/* --- exponential Euler ----------------------------------------------------------------------------- */

/* dx/dt = (a - x)/tau has x = a + (x0 - a) e^{-t/tau}: exponential Euler is exact at any dt, up to
 * rounding; tau per element (bd_system_set_array). */
static void test_exp_linear(void)
{
    bd_system *s = make_system("dx/dt = (a - x) / tau : mV\na : mV (constant)\ntau : ms\n",
                               (const char *[]){"a", "x"}, (const char *[]){"-65 mV", "10 mV"}, 2);
    if (!s) return;
    static const double taus[3] = {0.5, 3, 20};
    bd_status st = bd_system_set_array(s, "tau", taus, 3);
    tc_check(st == BD_OK, "set_array tau (3 elements): %s", st ? bd_last_error() : "ok");
    for (size_t d = 0; d < NDEV; d++) {
        if (!devs64[d]) continue;
        for (int j = 0; j < 4; j++) {
            double dt = j ? 0.37 : 0.1;
            bd_integrate_opts o;
            bd_integrate_opts_init(&o);
            static const char *const exp_methods[4] = {"exp_euler", "exp_auto", "exp_midpoint", "exp_euler_simultaneous"};
            o.method = exp_methods[j];
            o.dt = dt;
            o.duration = 100 * dt;
            o.n = 3;
            bd_trajectory *tr = NULL;
            st = bd_integrate(devs64[d], s, &o, &tr);
            if (st) {
                tc_line(TC_FAIL, "exp_euler linear on %s: %s: %s", device_names[d], bd_status_name(st), bd_last_error());
                continue;
            }
            double worst = 0;
            for (size_t r = 0; r < tr->nrec; r++)
                for (size_t e = 0; e < 3; e++) {
                    double want = -65 + 75 * exp(-tr->t[r] / taus[e]);
                    worst = fmax(worst, fabs(tr->x[0][r * 3 + e] - want) / 75);
                }
            tc_check(tr->nrec == 101 && worst <= 1e-14,
                     "%s on %s, dx/dt = (a - x)/tau, dt = %g ms (dt/tau up to %.2f), 100 steps: worst error %.2e of the "
                     "amplitude (<= 1e-14)", o.method, device_names[d], dt, dt / taus[0], worst);
            bd_trajectory_free(tr);
        }
    }
    bd_system_free(s);
}

/* Classic Hodgkin-Huxley squid axon (rest -65 mV), rates with exprel, 10 uA/cm^2. */
static const char *const hh_eqs =
    "dV/dt = (I - gNa*m**3*h*(V - ENa) - gK*n**4*(V - EK) - gL*(V - EL)) / C : mV\n"
    "dm/dt = alpha_m*(1 - m) - beta_m*m : 1\n"
    "dh/dt = alpha_h*(1 - h) - beta_h*h : 1\n"
    "dn/dt = alpha_n*(1 - n) - beta_n*n : 1\n"
    "alpha_m = 1/exprel(-(V + 40*mV)/(10*mV)) / ms : 1/ms\n"
    "beta_m = 4*exp(-(V + 65*mV)/(18*mV)) / ms : 1/ms\n"
    "alpha_h = 0.07*exp(-(V + 65*mV)/(20*mV)) / ms : 1/ms\n"
    "beta_h = 1/(1 + exp(-(V + 35*mV)/(10*mV))) / ms : 1/ms\n"
    "alpha_n = 0.1/exprel(-(V + 55*mV)/(10*mV)) / ms : 1/ms\n"
    "beta_n = 0.125*exp(-(V + 65*mV)/(80*mV)) / ms : 1/ms\n"
    "I : uA/cm^2 (constant)\nC : uF/cm^2 (constant)\n"
    "gNa : mS/cm^2 (constant)\ngK : mS/cm^2 (constant)\ngL : mS/cm^2 (constant)\n"
    "ENa : mV (constant)\nEK : mV (constant)\nEL : mV (constant)\n";

/* Upward crossings of 0 mV, linearly interpolated between samples. */
static int spikes(const bd_trajectory *tr, double *times, int cap)
{
    int count = 0;
    for (size_t r = 1; r < tr->nrec; r++) {
        double a = tr->x[0][r - 1], b = tr->x[0][r];
        if (a < 0 && b >= 0 && count < cap) times[count++] = tr->t[r - 1] + (tr->t[r] - tr->t[r - 1]) * (-a) / (b - a);
    }
    return count;
}

/* Spike times of exponential Euler at dt = 0.01 ms from an independent double-precision implementation of the
 * same scheme (V, then m, h, n from the new V; Python's math.expm1/exp, 10 000 steps). */
static const double hh_exp_py[7] = {1.9015, 16.8239, 31.4739, 46.1118, 60.7488, 75.3857, 90.0227};

static void test_hh(void)
{
    static const char *const names[] = {"I", "C", "gNa", "gK", "gL", "ENa", "EK", "EL", "V", "m", "h", "n"};
    static const char *const values[] = {"10 uA/cm^2", "1 uF/cm^2", "120 mS/cm^2", "36 mS/cm^2", "0.3 mS/cm^2",
                                         "50 mV", "-77 mV", "-54.387 mV", "-65 mV", "0.0529", "0.5961", "0.3177"};
    bd_system *s = make_system(hh_eqs, names, values, 12);
    if (!s) return;
    double ref[64], got[64];
    bd_trajectory *tr = run(devs64[0], s, "rk4", 0.001, 100, 0.01, 0);
    int nref = tr ? spikes(tr, ref, 64) : -1;
    bd_trajectory_free(tr);
    /* every spike of exponential Euler within 0.05 ms of rk4 at dt = 0.001 ms, at dt = 0.01 and 0.001 ms */
    for (size_t d = 0; d < NDEV && nref > 0; d++) {
        if (!devs64[d]) continue;
        double worst[2] = {0, 0}, first = 0, py = 0;
        int counts[2] = {0, 0};
        for (int j = 0; j < 2; j++) {
            tr = run(devs64[d], s, "exp_euler", j ? 0.001 : 0.01, 100, 0.01, 0);
            if (!tr) break;
            counts[j] = spikes(tr, got, 64);
            for (int q = 0; q < counts[j] && q < nref; q++) worst[j] = fmax(worst[j], fabs(got[q] - ref[q]));
            if (j == 0) {
                first = fabs(got[0] - ref[0]);
                for (int q = 0; q < counts[j] && q < 7; q++) py = fmax(py, fabs(got[q] - hh_exp_py[q]));
            }
            bd_trajectory_free(tr);
        }
        tc_check(nref == 7 && counts[0] == nref && counts[1] == nref && worst[0] <= 0.05 && worst[1] <= 0.05 && py <= 1e-3,
                 "HH squid axon, 10 uA/cm^2, 100 ms on %s: exp_euler gives %d / %d spikes (rk4 dt = 0.001 ms: %d, first "
                 "at %.4f ms); dt = 0.01 ms: every spike within %.4f ms (<= 0.05; first %.4f), independent Python run "
                 "of the scheme within %.1e ms (<= 1e-3); dt = 0.001 ms: every spike within %.4f ms (<= 0.05)",
                 device_names[d], counts[0], counts[1], nref, ref[0], worst[0], first, py, worst[1]);
        /* the second-order exponential midpoint meets 0.05 ms at dt = 0.01 ms for every spike */
        tr = run(devs64[d], s, "exp_midpoint", 0.01, 100, 0.01, 0);
        if (!tr) continue;
        int count = spikes(tr, got, 64);
        double w = 0;
        for (int q = 0; q < count && q < nref; q++) w = fmax(w, fabs(got[q] - ref[q]));
        tc_check(count == nref && w <= 0.05, "HH squid axon on %s: exp_midpoint at dt = 0.01 ms gives %d / %d spikes, "
                 "every one within %.4f ms of rk4 at dt = 0.001 ms (<= 0.05)", device_names[d], count, nref, w);
        bd_trajectory_free(tr);
    }
    bd_system_free(s);
}

/* --- adaptive methods ------------------------------------------------------------------------------ */

/* Van der Pol, mu = 1, x(0) = 2, y(0) = 0, t in [0, 20] (time in ms). */
static const char *const vdp_eqs = "dx/dt = y / ms : 1\ndy/dt = mu*(1 - x**2)*y/ms - x/ms : 1\nmu : 1 (constant)\n";

static void test_adaptive(void)
{
    /* atol and rtol bound the estimated error of each step, as in SciPy and MATLAB. "Meets the tolerance" is
     * checked on the global error at t = 20: at most C * tol with C stated per method, and falling at least
     * tenfold when tol falls a hundredfold (cpu). Error-per-step control lets the global error grow with the
     * number of steps; for the high-order pairs that is a few dozen tol, for rkf12, whose estimate measures its
     * 1st-order solution (Fehlberg made that error constant tiny, 1/512), about the steps taken times tol. */
    static const struct {
        const char *name;
        double tol, C;
    } methods[] = {
        {"rkf45", 1e-6, 100}, {"rkdp", 1e-6, 100}, {"ck", 1e-6, 100}, {"bs", 1e-6, 10},
        {"heun_euler", 1e-5, 10}, {"rkf12", 1e-5, 2000},
    };
    bd_system *s = make_system(vdp_eqs, (const char *[]){"mu", "x", "y"}, (const char *[]){"1", "2", "0"}, 3);
    if (!s) return;
    bd_trajectory *tr = run(devs64[0], s, "rk4", 5e-4, 20, 20, 0);
    if (!tr) {
        bd_system_free(s);
        return;
    }
    double ref[2] = {last(tr, 0), last(tr, 1)};
    bd_trajectory_free(tr);
    /* rk4 at dt = 1e-3 differs from the reference by 16x its own error: a check of the reference */
    tr = run(devs64[0], s, "rk4", 1e-3, 20, 20, 0);
    if (tr) {
        double e = fmax(fabs(last(tr, 0) - ref[0]), fabs(last(tr, 1) - ref[1]));
        tc_check(e < 1e-10, "Van der Pol reference: rk4 at dt 5e-4 and 1e-3 ms agree to %.1e; x(20) = %.12f", e, ref[0]);
        bd_trajectory_free(tr);
    }
    for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
        for (size_t d = 0; d < NDEV; d++) {
            if (!devs64[d]) continue;
            tr = run(devs64[d], s, methods[mi].name, 0.1, 20, 1, methods[mi].tol);
            if (!tr) continue;
            double e = fmax(fabs(last(tr, 0) - ref[0]), fabs(last(tr, 1) - ref[1]));
            double bound = methods[mi].C * methods[mi].tol;
            tc_check(e <= bound && tr->accepted > 0 && tr->nrec == 21 && fabs(tr->t[20] - 20) < 1e-12,
                     "%s on %s, Van der Pol to t = 20 ms, rtol = atol = %g: error %.2e (<= %.1e), %llu accepted, "
                     "%llu rejected steps, %zu samples", methods[mi].name, device_names[d], methods[mi].tol, e, bound,
                     (unsigned long long)tr->accepted, (unsigned long long)tr->rejected, tr->nrec);
            bd_trajectory_free(tr);
            if (d) continue;
            tr = run(devs64[d], s, methods[mi].name, 0.1, 20, 20, methods[mi].tol / 100);
            if (!tr) continue;
            double e2 = fmax(fabs(last(tr, 0) - ref[0]), fabs(last(tr, 1) - ref[1]));
            tc_check(e2 <= e / 10, "%s on cpu: tol / 100 gives error %.2e (<= %.2e / 10; %llu accepted steps)",
                     methods[mi].name, e2, e, (unsigned long long)tr->accepted);
            bd_trajectory_free(tr);
        }
    }
    bd_system_free(s);
}

/* --- files and refusals ---------------------------------------------------------------------------- */

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t i = 0; i < len; i++) buf[i] = buf[i] ? buf[i] : ' '; /* the NPY magic holds a NUL byte */
    buf[len] = 0;
    return strstr(buf, needle) != NULL;
}

static void test_files_and_errors(void)
{
    bd_system *s = make_system(vdp_eqs, (const char *[]){"x", "y"}, (const char *[]){"2", "0"}, 2);
    if (!s) return;
    bd_integrate_opts o;
    bd_integrate_opts_init(&o);
    o.duration = 1;
    bd_trajectory *tr = NULL;
    bd_status st = bd_integrate(devs[0], s, &o, &tr);
    tc_expect_status(st, BD_ERR_MODEL, "integrate with constant 'mu' unset");
    tc_check(strstr(bd_last_error(), "mu") != NULL, "the message names 'mu': %s", bd_last_error());
    bd_system_set_value(s, "mu", 1);
    o.method = "rk_4";
    st = bd_integrate(devs[0], s, &o, &tr);
    tc_expect_status(st, BD_ERR_NOT_FOUND, "method 'rk_4'");
    tc_check(strstr(bd_last_error(), "rk4") != NULL, "the message suggests 'rk4': %s", bd_last_error());
    o.method = "rk4";
    o.dt = 0;
    tc_expect_status(bd_integrate(devs[0], s, &o, &tr), BD_ERR_INVALID_ARG, "dt = 0");
    o.dt = 0.1;
    o.duration = -1;
    tc_expect_status(bd_integrate(devs[0], s, &o, &tr), BD_ERR_INVALID_ARG, "duration = -1");
    o.duration = 1;
    tc_expect_status(bd_system_set(s, "muu", "1"), BD_ERR_NOT_FOUND, "set unknown parameter 'muu'");
    tc_check(strstr(bd_last_error(), "'mu'") != NULL, "the message suggests 'mu': %s", bd_last_error());
    tc_expect_status(bd_system_init(s, "mu", "1"), BD_ERR_INVALID_ARG, "init of a constant");
    for (size_t d = 1; d < NDEV; d++)
        if (devs[d] && !bd_device_get_info(devs[d])->fp64)
            tc_expect_status(bd_integrate(devs[d], s, &o, &tr), BD_ERR_UNSUPPORTED, "f64 on a device without fp64");

    /* f32 runs, and the files of a trajectory */
    o.precision = BD_F32;
    o.duration = 2;
    o.record_every = 0.5;
    o.n = 2;
    st = bd_integrate(devs[0], s, &o, &tr);
    if (!tc_check(st == BD_OK, "rk4 in f32 on cpu: %s", st ? bd_last_error() : "ok")) {
        bd_system_free(s);
        return;
    }
    tc_check(tr->nrec == 5 && tr->n == 2 && fabs(tr->x[0][4 * 2 + 1] - tr->x[0][4 * 2]) == 0 && tr->steps == 20 &&
                 strcmp(tr->method, "rk4") == 0 && strcmp(tr->device, "cpu") == 0,
             "trajectory: 5 samples x 2 elements, %llu steps, method %s, device %s", (unsigned long long)tr->steps,
             tr->method, tr->device);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/bdyn_test_ode_%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    st = bd_trajectory_write(tr, dir, "Van der \"Pol\"");
    char path[300];
    int ok = st == BD_OK;
    snprintf(path, sizeof path, "%s/x.npy", dir);
    ok = ok && file_has(path, "'shape': (5, 2)") && file_has(path, "<f8");
    snprintf(path, sizeof path, "%s/t.npy", dir);
    ok = ok && file_has(path, "'shape': (5,)");
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    /* cJSON's layout: a tab after each colon */
    ok = ok && file_has(path, "\"system\":\t\"Van der \\\"Pol\\\"\"") && file_has(path, "\"precision\":\t\"f32\"") &&
         file_has(path, "\"file\":\t\"y.npy\"") && file_has(path, "\"steps\":\t20");
    tc_check(ok, "trajectory_write: x.npy, y.npy (f8, 5 x 2), t.npy and manifest.json in %s: %s", dir,
             st ? bd_last_error() : "ok");
    if (!ok) return;
    static const char *const files[] = {"x.npy", "y.npy", "t.npy", "manifest.json"};
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        remove(path);
    }
    rmdir(dir);
    bd_trajectory_free(tr);
    bd_system_free(s);
}

int main(void)
{
    tc_begin();
    ti_open_devices();
    for (size_t d = 0; d < NDEV; d++) {
        if (devs[d] && !bd_device_get_info(devs[d])->fp64)
            tc_line(TC_SKIP, "%s has no fp64: its f64 comparisons are skipped", device_names[d]);
        else devs64[d] = devs[d];
    }
    if (!devs64[0]) return tc_finish();
    test_files_and_errors();
    test_orders();
    test_exp_linear();
    test_hh();
    test_adaptive();
    ti_close_devices();
    return tc_finish();
}
