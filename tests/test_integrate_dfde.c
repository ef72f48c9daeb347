/* Delay and fractional equations through the public API: x'(t) = -x(t - 1) against its method-of-steps
 * solution (orders of euler and rk2; linear interpolation of the history caps any method at order 2),
 * Mackey–Glass staying bounded and oscillating, refusals of delays shorter than dt, and the Caputo
 * equation D^alpha x = -x against the Mittag-Leffler function for l1 and gl. Every device (cpu, opencl:0,
 * vulkan:0, restricted by $BDYN_TEST_DEVICES) is compared with cpu. */
#include "test_integrate_common.h"

#include <math.h>


typedef struct run_opts {
    const char *method;
    double dt, T, record_every, alpha;
    size_t memory;
} run_opts;

static bd_trajectory *run(bd_device *dev, const bd_system *s, const run_opts *r)
{
    bd_integrate_opts o;
    bd_integrate_opts_init(&o);
    o.method = r->method;
    o.dt = r->dt;
    o.duration = r->T;
    o.record_every = r->record_every > 0 ? r->record_every : r->T;
    o.alpha = r->alpha;
    o.memory = r->memory;
    bd_trajectory *tr = NULL;
    bd_status st = bd_integrate(dev, s, &o, &tr);
    if (st) {
        tc_line(TC_FAIL, "integrate %s dt=%g: %s: %s", r->method, r->dt, bd_status_name(st), bd_last_error());
        return NULL;
    }
    return tr;
}

/* x of variable 0 at the last sample, or NaN. */
static double final_x(bd_device *dev, const bd_system *s, const run_opts *r)
{
    bd_trajectory *tr = run(dev, s, r);
    if (!tr) return NAN;
    double x = tr->x[0][(tr->nrec - 1) * tr->n];
    bd_trajectory_free(tr);
    return x;
}

/* Measures the error at T for dt = dt0 / 2^k on cpu, fits the order, and checks the finest run on the other
 * devices against cpu within tol_dev. */
static void convergence(const bd_system *s, run_opts r, double dt0, int K, double exact, double order, double tol,
                        double tol_dev, const char *label)
{
    double dts[8], errs[8], fine = NAN;
    char line[256];
    int len = 0;
    for (int k = 0; k < K; k++) {
        r.dt = dts[k] = dt0 / (double)(1 << k);
        fine = final_x(devs[0], s, &r);
        errs[k] = fabs(fine - exact);
        len += snprintf(line + len, sizeof line - (size_t)len, " %.3g", errs[k]);
    }
    double slope = ti_slope(dts, errs, K);
    tc_check(isfinite(slope) && fabs(slope - order) <= tol, "%s: order %.3f (want %.1f +- %.2f); errors:%s", label,
             slope, order, tol, line);
    for (size_t d = 1; d < NDEV; d++) {
        if (!devs[d]) continue;
        double x = final_x(devs[d], s, &r);
        tc_check(fabs(x - fine) <= tol_dev, "%s on %s: x(T) %.15g vs cpu %.15g", label, device_names[d], x, fine);
    }
}

/* --- x'(t) = -x(t - 1), x = 1 for t <= 0 ------------------------------------------------------------- */

/* The method-of-steps solution at t in [0, 3]. */
static double dde_exact(double t)
{
    double x = 1 - t;
    if (t > 1) x += (t - 1) * (t - 1) / 2;
    if (t > 2) x -= (t - 2) * (t - 2) * (t - 2) / 6;
    return x;
}

static void test_dde_orders(void)
{
    const char *names[] = {"tau"};
    double tau = 1.0;
    bd_system *s = ti_system("dx/dt = -x(t - tau)/tau : 1\ntau : ms (constant)\n", names, &tau, 1);
    if (!s) return;
    bd_system_init(s, "x", "1");
    const double T = 3.0;
    run_opts r = {.T = T};
    r.method = "euler";
    convergence(s, r, 0.1, 5, dde_exact(T), 1.0, 0.15, 1e-12, "dde x' = -x(t-1) euler");
    r.method = "rk2";
    convergence(s, r, 0.1, 5, dde_exact(T), 2.0, 0.15, 1e-12, "dde x' = -x(t-1) rk2");
    /* rk4 is capped at order 2 by the linear interpolation of the history (exact here only where the
     * solution is piecewise linear); it still converges */
    r.method = "rk4";
    double e1 = fabs(final_x(devs[0], s, &(run_opts){.method = "rk4", .dt = 0.1, .T = T}) - dde_exact(T));
    double e2 = fabs(final_x(devs[0], s, &(run_opts){.method = "rk4", .dt = 0.025, .T = T}) - dde_exact(T));
    tc_check(e2 < e1 || e2 < 1e-12, "dde rk4: error %.3g at dt 0.1, %.3g at dt 0.025 (observed order %.2f)", e1, e2,
             log(e1 / e2) / log(4.0));
    bd_system_free(s);
}

/* A delay shorter than the step, or zero, is refused with a message that names it. */
static void test_dde_refusals(void)
{
    const char *names[] = {"tau"};
    double tau = 0.05;
    bd_system *s = ti_system("dx/dt = -x(t - tau)/ms : 1\ntau : ms (constant)\n", names, &tau, 1);
    if (!s) return;
    bd_trajectory *tr = NULL;
    bd_integrate_opts o;
    bd_integrate_opts_init(&o);
    o.method = "euler";
    o.dt = 0.1;
    o.duration = 1.0;
    bd_status st = bd_integrate(devs[0], s, &o, &tr);
    int named = strstr(bd_last_error(), "delay") && strstr(bd_last_error(), "dt");
    tc_check(st == BD_ERR_MODEL && named && !tr, "dde: delay 0.05 ms < dt 0.1 ms refused: %s: %s", bd_status_name(st),
             bd_last_error());
    bd_trajectory_free(tr);
    tr = NULL;
    bd_system_set_value(s, "tau", 0.0);
    st = bd_integrate(devs[0], s, &o, &tr);
    tc_check(st == BD_ERR_MODEL && !tr && strstr(bd_last_error(), "delay"), "dde: delay 0 refused: %s: %s",
             bd_status_name(st), bd_last_error());
    bd_trajectory_free(tr);
    bd_system_free(s);
}

/* Per-element delays: x' = -x(t - d) with d = 1 and 2 ms in one run; the ring must cover the longest delay.
 * Exact at t = 3 (method of steps, history 1): d = 1: -1/6; d = 2: 1 - 3 + (3 - 2)^2 / 2 = -1.5. rk2 is exact on
 * the quadratic pieces of d = 2 and within 1e-3 for d = 1 at dt = 0.1 ms; every device. */
static void test_dde_per_element(void)
{
    bd_system *s = ti_system("dx/dt = -x(t - d)/ms : 1\nd : ms\n", NULL, NULL, 0);
    if (!s) return;
    static const double d[2] = {1, 2}, exact[2] = {-1.0 / 6, -1.5};
    bd_system_set_array(s, "d", d, 2);
    bd_system_init(s, "x", "1");
    for (size_t k = 0; k < NDEV; k++) {
        if (!devs[k]) continue;
        bd_integrate_opts o;
        bd_integrate_opts_init(&o);
        o.method = "rk2";
        o.dt = 0.1;
        o.duration = 3;
        o.record_every = 3;
        o.n = 2;
        bd_trajectory *tr = NULL;
        bd_status st = bd_integrate(devs[k], s, &o, &tr);
        if (!tc_check(st == BD_OK, "dde per-element delays on %s: %s", device_names[k], st ? bd_last_error() : "ok"))
            continue;
        double e0 = fabs(tr->x[0][2] - exact[0]), e1 = fabs(tr->x[0][3] - exact[1]);
        tc_check(e0 < 1e-3 && e1 < 1e-12, "dde per-element delays d = 1, 2 ms on %s: x(3) = %.6f, %.6f (exact %.6f, "
                 "%.6f; errors %.1e <= 1e-3, %.1e <= 1e-12)", device_names[k], tr->x[0][2], tr->x[0][3], exact[0],
                 exact[1], e0, e1);
        bd_trajectory_free(tr);
    }
    bd_system_free(s);
}

/* Mackey–Glass, beta 0.2, gamma 0.1, n 10, tau 17, history 1.2: a chaotic oscillation in (0, 2). */
static void test_mackey_glass(void)
{
    const char *text = "dx/dt = beta*x(t - tau)/(1 + x(t - tau)^n) - gamma*x : 1\n"
                       "beta : ms^-1 (constant)\ngamma : ms^-1 (constant)\nn : 1 (constant)\ntau : ms (constant)\n";
    const char *names[] = {"beta", "gamma", "n", "tau"};
    double vals[] = {0.2, 0.1, 10, 17};
    bd_system *s = ti_system(text, names, vals, 4);
    if (!s) return;
    bd_system_init(s, "x", "1.2");
    const double T = 1000.0, dt = 0.1;
    double *ref = NULL;
    size_t nref = 0;
    for (size_t d = 0; d < NDEV; d++) {
        if (!devs[d]) continue;
        bd_trajectory *tr = run(devs[d], s, &(run_opts){.method = "rk4", .dt = dt, .T = T, .record_every = 1.0});
        if (!tr) continue;
        const double *x = tr->x[0];
        double lo = INFINITY, hi = -INFINITY, m = 0, v = 0;
        size_t half = tr->nrec / 2, cnt = tr->nrec - half;
        int finite = 1;
        for (size_t i = 0; i < tr->nrec; i++) {
            finite &= isfinite(x[i]) != 0;
            lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
        }
        for (size_t i = half; i < tr->nrec; i++)
            m += x[i] / (double)cnt;
        for (size_t i = half; i < tr->nrec; i++)
            v += (x[i] - m) * (x[i] - m) / (double)(cnt - 1);
        tc_check(finite && lo > 0 && hi < 2 && sqrt(v) > 0.05,
                 "mackey-glass %s: %zu samples in [%.3f, %.3f], std of the second half %.3f, %.2f s", device_names[d],
                 tr->nrec, lo, hi, sqrt(v), tr->wall_s + tr->compile_s);
        if (d == 0) {
            ref = malloc(sizeof *ref * tr->nrec);
            if (ref) memcpy(ref, x, sizeof *ref * tr->nrec), nref = tr->nrec;
        } else if (ref && nref == tr->nrec) {
            /* chaos amplifies rounding: compare the first 200 ms, before differences can grow */
            double maxd = 0;
            for (size_t i = 0; i < nref && tr->t[i] <= 200.0; i++)
                maxd = fmax(maxd, fabs(x[i] - ref[i]));
            tc_check(maxd < 1e-9, "mackey-glass %s: first 200 ms within %.3g of cpu", device_names[d], maxd);
        }
        bd_trajectory_free(tr);
    }
    free(ref);
    bd_system_free(s);
}

/* --- D^alpha x = -x, x(0) = 1: x = E_alpha(-t^alpha) ---------------------------------------------------- */

/* The Mittag-Leffler series sum_k (-t^alpha)^k / Gamma(alpha k + 1), summed until the terms are below
 * 1e-17 (at t = 1 the largest term is 1 and the sum converges after ~40 terms for alpha = 0.5). */
static double mittag_leffler_neg(double alpha, double t)
{
    double sum = 1.0;
    for (int k = 1; k < 400; k++) {
        double term = exp(k * alpha * log(t) - lgamma(alpha * k + 1.0));
        sum += (k % 2 ? -term : term);
        if (term < 1e-17 && k > 10) break;
    }
    return sum;
}

/* The explicit schemes evaluate f at the old step and the solution behaves like 1 - t^alpha / Gamma(1 + alpha)
 * near 0, so at a fixed T both are first order (L1 is 2 - alpha only for smooth solutions and an implicit
 * right-hand side; see docs/integrate.md). Measured here in the prototype: 0.99 (l1) and 1.00 (gl). */
static void test_fde(void)
{
    bd_system *s = ti_system("dx/dt = -x/ms : 1\n", NULL, NULL, 0);
    if (!s) return;
    bd_system_init(s, "x", "1");
    const double T = 1.0;
    const char *methods[] = {"l1", "gl"};
    const double alphas[] = {0.5, 0.8};
    for (int a = 0; a < 2; a++)
        for (int m = 0; m < 2; m++) {
            char label[64];
            snprintf(label, sizeof label, "fde D^%.1f x = -x %s", alphas[a], methods[m]);
            run_opts r = {.method = methods[m], .T = T, .alpha = alphas[a]};
            convergence(s, r, T / 20, 5, mittag_leffler_neg(alphas[a], T), 1.0, 0.15, 1e-12, label);
        }
    /* short memory: forgetting all but the last 100 steps (1 ms) of a 4 ms run leaves a large error;
     * the figures are those of a Python prototype of the same schemes */
    struct {
        const char *method;
        double full, part;
    } mem[] = {{"gl", -2.4673e-4, 0.105242}, {"l1", -2.8183e-4, -0.205512}};
    double exact = mittag_leffler_neg(0.5, 4.0);
    for (int m = 0; m < 2; m++) {
        run_opts r = {.method = mem[m].method, .T = 4.0, .alpha = 0.5, .dt = 0.01};
        double full = final_x(devs[0], s, &r) - exact;
        r.memory = 100;
        double part = final_x(devs[0], s, &r) - exact;
        tc_check(fabs(full - mem[m].full) < 1e-7 && fabs(part - mem[m].part) < 1e-5,
                 "fde %s at T = 4 ms, dt 0.01: error %.5g with the whole memory (want %.5g), %.6g with memory 100 "
                 "(want %.6g)",
                 mem[m].method, full, mem[m].full, part, mem[m].part);
    }
    /* 800 steps with the whole memory: 320,000 memory iterations in all, more than llvmpipe lets one
     * invocation run (65,535), so the driver must split the run into launches that stay below it */
    run_opts r = {.method = "gl", .T = 4.0, .alpha = 0.5, .dt = 0.005};
    double ref = final_x(devs[0], s, &r);
    for (size_t d = 1; d < NDEV; d++) {
        if (!devs[d]) continue;
        double x = final_x(devs[d], s, &r);
        tc_check(fabs(x - ref) <= 1e-12, "fde gl, 800 steps, whole memory on %s: x(T) %.15g vs cpu %.15g",
                 device_names[d], x, ref);
    }
    bd_system_free(s);
}

int main(void)
{
    tc_begin();
    if (!ti_open_devices()) return tc_finish();
    test_dde_orders();
    test_dde_refusals();
    test_dde_per_element();
    test_mackey_glass();
    test_fde();
    ti_close_devices();
    return tc_finish();
}
