/* SDE methods through the public API: Ornstein–Uhlenbeck moments at T against the analytic mean and
 * variance (10^5 paths, within 3 standard errors) on every device, identical paths across devices for one
 * seed, and strong orders on geometric Brownian motion against the exact solution of the same Wiener path
 * (integrated alongside as dW/dt = xi, whose Euler–Maruyama update is exact). Devices: cpu, opencl:0,
 * vulkan:0, restricted by $BDYN_TEST_DEVICES. */
#include "test_integrate_common.h"

#include <math.h>


static bd_trajectory *run(bd_device *dev, const bd_system *s, const char *method, double dt, double T, size_t n,
                          uint64_t seed)
{
    bd_integrate_opts o;
    bd_integrate_opts_init(&o);
    o.method = method;
    o.dt = dt;
    o.duration = T;
    o.n = n;
    o.record_every = T;
    o.seed = seed;
    bd_trajectory *tr = NULL;
    bd_status st = bd_integrate(dev, s, &o, &tr);
    if (st) {
        tc_line(TC_FAIL, "integrate %s dt=%g n=%zu: %s: %s", method, dt, n, bd_status_name(st), bd_last_error());
        return NULL;
    }
    return tr;
}

/* --- Ornstein–Uhlenbeck ---------------------------------------------------------------------------- */

/* dx = theta (mu - x) dt + sigma dW, x(0) = 0: mean mu (1 - e^{-theta T}), variance
 * sigma^2 / (2 theta) (1 - e^{-2 theta T}). Euler–Maruyama's own moments are those of the AR(1) recursion
 * x' = a x + theta mu dt + sigma sqrt(dt) N, a = 1 - theta dt; with theta dt = 2e-3 they differ from the
 * analytic ones by about 0.2 standard errors at 10^5 paths (printed), small against the 3 allowed. */
#define OU_N 100000
static void test_ou(double *cpu_end)
{
    /* sigma in ms^-1/2 (a declared unit needs whole powers, so the unit goes into the equation) */
    const char *text = "dx/dt = theta*(mu - x) + sigma*xi*ms^-0.5 : 1\n"
                       "theta : ms^-1 (constant)\n"
                       "mu : 1 (constant)\n"
                       "sigma : 1 (constant)\n";
    const char *names[] = {"theta", "mu", "sigma"};
    const double theta = 0.5, mu = 1.0, sigma = 0.5, T = 1.0, dt = 0.004;
    double vals[] = {theta, mu, sigma};
    bd_system *s = ti_system(text, names, vals, 3);
    if (!s) return;
    double m_exact = mu * (1.0 - exp(-theta * T));
    double v_exact = sigma * sigma / (2.0 * theta) * (1.0 - exp(-2.0 * theta * T));
    double a = 1.0 - theta * dt, aN = pow(a, T / dt);
    double m_em = mu * (1.0 - aN), v_em = sigma * sigma * dt * (1.0 - aN * aN) / (1.0 - a * a);
    double se_m = sqrt(v_exact / OU_N), se_v = v_exact * sqrt(2.0 / (OU_N - 1));
    double bias_m = (m_em - m_exact) / se_m, bias_v = (v_em - v_exact) / se_v;
    tc_check(fabs(bias_m) < 0.5 && fabs(bias_v) < 0.5,
             "ou: Euler-Maruyama bias at dt = %g: mean %.2f SE, variance %.2f SE", dt, bias_m, bias_v);
    for (size_t d = 0; d < NDEV; d++) {
        if (!devs[d]) continue;
        bd_trajectory *tr = run(devs[d], s, "euler_maruyama", dt, T, OU_N, 1234);
        if (!tr) continue;
        const double *x = tr->x[0] + OU_N; /* sample 1 = T */
        double m = 0, v = 0;
        for (size_t i = 0; i < OU_N; i++)
            m += x[i];
        m /= OU_N;
        for (size_t i = 0; i < OU_N; i++)
            v += (x[i] - m) * (x[i] - m);
        v /= OU_N - 1;
        tc_check(tr->nrec == 2 && fabs(tr->t[1] - T) < 1e-9, "ou %s: two samples, the last at T (%zu, %g)",
                 device_names[d], tr->nrec, tr->nrec ? tr->t[tr->nrec - 1] : -1.0);
        tc_check(fabs(m - m_exact) < 3 * se_m, "ou %s: mean %.5f vs %.5f (%.2f SE); run %.2f s, compile %.2f s",
                 device_names[d], m, m_exact, (m - m_exact) / se_m, tr->wall_s, tr->compile_s);
        tc_check(fabs(v - v_exact) < 3 * se_v, "ou %s: variance %.5f vs %.5f (%.2f SE)", device_names[d], v, v_exact,
                 (v - v_exact) / se_v);
        if (d == 0) {
            memcpy(cpu_end, x, sizeof *cpu_end * OU_N);
        } else {
            double maxd = 0;
            for (size_t i = 0; i < OU_N; i++)
                maxd = fmax(maxd, fabs(x[i] - cpu_end[i]));
            tc_check(maxd <= 1e-12, "ou %s: same seed, same paths as cpu (max |diff| %.3g)", device_names[d], maxd);
        }
        bd_trajectory_free(tr);
    }
    bd_system_free(s);
}

/* --- strong orders on geometric Brownian motion ---------------------------------------------------- */

/* dX = m X dt + s X dW with W integrated alongside. Itô: X_T = X0 exp((m - s^2/2) T + s W_T);
 * Stratonovich: X0 exp(m T + s W_T). Returns E|X_T - X_exact| over the paths. */
static double gbm_error(bd_device *dev, const bd_system *s, const char *method, int strat, double dt, size_t n,
                        double m, double sg, double T, const double *cmp, double *maxdiff, double *out_end)
{
    bd_trajectory *tr = run(dev, s, method, dt, T, n, 99);
    if (!tr) return NAN;
    const double *X = tr->x[0] + n, *W = tr->x[1] + n;
    double err = 0;
    for (size_t i = 0; i < n; i++) {
        double ex = exp((strat ? m : m - 0.5 * sg * sg) * T + sg * W[i]);
        err += fabs(X[i] - ex);
        if (cmp) *maxdiff = fmax(*maxdiff, fabs(X[i] - cmp[i]));
        if (out_end) out_end[i] = X[i];
    }
    bd_trajectory_free(tr);
    return err / n;
}

#define GBM_N 2000
#define GBM_K 5
static void test_strong_orders(void)
{
    const char *text = "dX/dt = m*X + s*X*xi*ms^-0.5 : 1\n"
                       "dW/dt = xi*ms^-0.5 : 1\n"
                       "m : ms^-1 (constant)\n"
                       "s : 1 (constant)\n";
    const char *names[] = {"m", "s"};
    const double m = 1.0, sg = 0.8, T = 1.0;
    double vals[] = {m, sg};
    bd_system *s = ti_system(text, names, vals, 2);
    if (!s) return;
    bd_system_init(s, "X", "1");
    struct {
        const char *method;
        int strat;
        double order, tol;
    } cases[] = {
        {"euler_maruyama", 0, 0.5, 0.1},  {"milstein", 0, 1.0, 0.15}, {"milstein_dfree", 0, 1.0, 0.15},
        {"milstein_strat", 1, 1.0, 0.15}, {"heun", 1, 1.0, 0.15},
    };
    static double ends[GBM_N];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double dts[GBM_K], errs[GBM_K];
        char line[256];
        int len = 0;
        for (int k = 0; k < GBM_K; k++) {
            dts[k] = T / (double)(16 << k);
            errs[k] = gbm_error(devs[0], s, cases[c].method, cases[c].strat, dts[k], GBM_N, m, sg, T, NULL, NULL,
                                k == GBM_K - 1 ? ends : NULL);
            len += snprintf(line + len, sizeof line - (size_t)len, " %.3g", errs[k]);
        }
        double slope = ti_slope(dts, errs, GBM_K);
        tc_check(isfinite(slope) && fabs(slope - cases[c].order) <= cases[c].tol,
                 "gbm %s (%s): strong order %.3f (want %.1f +- %.2f); E|err| at dt = 1/16..1/256:%s", cases[c].method,
                 cases[c].strat ? "Stratonovich" : "Itô", slope, cases[c].order, cases[c].tol, line);
        /* the finest run again on the other devices: the same paths within rounding */
        for (size_t d = 1; d < NDEV; d++) {
            if (!devs[d]) continue;
            double maxd = 0;
            double e = gbm_error(devs[d], s, cases[c].method, cases[c].strat, dts[GBM_K - 1], GBM_N, m, sg, T, ends,
                                 &maxd, NULL);
            tc_check(isfinite(e) && maxd <= 1e-10, "gbm %s on %s: max |X - X_cpu| = %.3g", cases[c].method,
                     device_names[d], maxd);
        }
    }
    bd_system_free(s);
}

/* Methods and names: the SDE methods are listed with a description; the plain "euler" on a noisy system is
 * Euler–Maruyama (BrainPy's sdeint default), path for path. */
static void test_names(void)
{
    const char *const *names = bd_integrate_methods();
    const char *want[] = {"euler_maruyama", "milstein", "milstein_strat", "milstein_dfree", "heun"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int found = 0;
        for (const char *const *p = names; p && *p; p++)
            found |= strcmp(*p, want[w]) == 0;
        const char *doc = bd_integrate_method_doc(want[w]);
        tc_check(found && doc && *doc, "method %s listed: %s", want[w], doc ? doc : "(no doc)");
    }
    const char *names_p[] = {"theta", "sigma"};
    double vals[] = {1.0, 0.3};
    bd_system *s = ti_system("dx/dt = -theta*x + sigma*xi*ms^-0.5 : 1\ntheta : ms^-1 (constant)\n"
                               "sigma : 1 (constant)\n",
                               names_p, vals, 2);
    if (!s) return;
    bd_trajectory *a = run(devs[0], s, "euler", 0.01, 1.0, 100, 5);
    bd_trajectory *b = run(devs[0], s, "euler_maruyama", 0.01, 1.0, 100, 5);
    int same = a && b && memcmp(a->x[0], b->x[0], sizeof(double) * 2 * 100) == 0;
    tc_check(same, "euler on a noisy system is euler_maruyama (same paths)");
    bd_trajectory_free(a);
    bd_trajectory_free(b);
    bd_system_free(s);
}

int main(void)
{
    tc_begin();
    if (!ti_open_devices()) return tc_finish();
    test_names();
    double *cpu_end = malloc(sizeof *cpu_end * OU_N);
    if (cpu_end) test_ou(cpu_end);
    free(cpu_end);
    test_strong_orders();
    ti_close_devices();
    return tc_finish();
}
