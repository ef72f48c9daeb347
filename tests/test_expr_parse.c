/* The equation parser (core/expr_parse.c, core/units.c): statements, noise and delays, unit normalisation checked
 * by evaluating the trees, exact error messages, quantities, and random mutations of valid text (no crash). */
#include "error.h"
#include "expr.h"
#include "test_common.h"

#include <math.h>

/* A small evaluator of our own, so that this test does not depend on core/expr_sym.c. Delayed references read
 * the current value. */
static double ev(const bd_eqs *q, const bd_expr *e, const double *v)
{
    double a = e->nargs > 0 ? ev(q, e->arg[0], v) : 0, b = e->nargs > 1 ? ev(q, e->arg[1], v) : 0;
    double c = e->nargs > 2 ? ev(q, e->arg[2], v) : 0;
    switch (e->kind) {
    case BD_EX_NUM: return e->value;
    case BD_EX_SYM: return q->syms[e->sym].kind == BD_SYM_ALGEBRAIC ? ev(q, q->syms[e->sym].def, v) : v[e->sym];
    case BD_EX_DELAY: return v[e->sym];
    case BD_EX_UNARY: return e->op == BD_EX_NEG ? -a : !a;
    case BD_EX_BINARY:
        switch (e->op) {
        case BD_EX_ADD: return a + b;
        case BD_EX_SUB: return a - b;
        case BD_EX_MUL: return a * b;
        case BD_EX_DIV: return a / b;
        case BD_EX_POW: return pow(a, b);
        case BD_EX_LT: return a < b;
        case BD_EX_LE: return a <= b;
        case BD_EX_GT: return a > b;
        case BD_EX_GE: return a >= b;
        case BD_EX_EQ: return a == b;
        case BD_EX_NE: return a != b;
        case BD_EX_AND: return a && b;
        case BD_EX_OR: return a || b;
        }
        return NAN;
    case BD_EX_CALL:
        switch ((bd_ex_fn)e->op) {
        case BD_FN_EXP: return exp(a);
        case BD_FN_LOG: return log(a);
        case BD_FN_LOG1P: return log1p(a);
        case BD_FN_EXPM1: return expm1(a);
        case BD_FN_EXPREL: return a == 0 ? 1 : expm1(a) / a;
        case BD_FN_POW: return pow(a, b);
        case BD_FN_SQRT: return sqrt(a);
        case BD_FN_ABS: return fabs(a);
        case BD_FN_SIGN: return (a > 0) - (a < 0);
        case BD_FN_SIN: return sin(a);
        case BD_FN_COS: return cos(a);
        case BD_FN_TAN: return tan(a);
        case BD_FN_TANH: return tanh(a);
        case BD_FN_SIGMOID: return 1 / (1 + exp(-a));
        case BD_FN_MIN: return fmin(a, b);
        case BD_FN_MAX: return fmax(a, b);
        case BD_FN_CLIP: return fmin(fmax(a, b), c);
        case BD_FN_HEAVISIDE: return a > 0 ? 1 : a == 0 ? 0.5 : 0;
        case BD_FN_WHERE: return a ? b : c;
        case BD_FN_RAND: /* no host value */
        case BD_FN_DT:
        case BD_FN_COUNT: break;
        }
    }
    return NAN;
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(1, fabs(b)); }

static bd_eqs *parse_ok(const char *what, const char *text)
{
    bd_eqs *q = NULL;
    bd_status st = bd_eqs_parse(text, what, &q);
    if (!tc_check(st == BD_OK && q, "%s parses (%s)", what, st ? bd_last_error() : "ok")) return NULL;
    return q;
}

/* vals[] from "name=value" pairs; every other symbol NaN. */
static void set_vals(const bd_eqs *q, double *v, const char *const *names, const double *vals, int n)
{
    for (int i = 0; i < q->nsyms; i++) v[i] = NAN;
    for (int i = 0; i < n; i++) {
        int s = bd_eqs_find(q, names[i]);
        if (s >= 0) v[s] = vals[i];
        else tc_line(TC_FAIL, "symbol %s missing", names[i]);
    }
}

static const bd_ode *ode_of(const bd_eqs *q, const char *name)
{
    int s = bd_eqs_find(q, name);
    for (int i = 0; i < q->nodes; i++)
        if (q->odes[i].sym == s) return &q->odes[i];
    return NULL;
}

static const char *hh_text =
    "# Hodgkin-Huxley squid axon (1952), in the units of the paper\n"
    "dv/dt = (I_Na + I_K + I_L + I_ext)/Cm : mV\n"
    "dm/dt = alpha_m*(1 - m) - beta_m*m : 1\n"
    "dh/dt = alpha_h*(1 - h) - beta_h*h : 1\n"
    "dn/dt = alpha_n*(1 - n) - beta_n*n : 1\n"
    "I_Na = gNa*m**3*h*(ENa - v) : uA/cm^2\n"
    "I_K = gK*n^4*(EK - v) : uA/cm^2\n"
    "I_L = gL*(EL - v) : uA/cm^2   # leak\n"
    "alpha_m = 1/exprel(-(v + 40*mV)/(10*mV))/ms : 1/ms\n"
    "beta_m = 4*exp(-(v + 65*mV)/(18*mV))/ms : 1/ms\n"
    "alpha_h = 0.07*exp(-(v + 65*mV)/(20*mV))/ms : 1/ms\n"
    "beta_h = 1/(1 + exp(-(v + 35*mV)/(10*mV)))/ms : 1/ms\n"
    "alpha_n = 0.1/exprel(-(v + 55*mV)/(10*mV))/ms : 1/ms\n"
    "beta_n = 0.125*exp(-(v + 65*mV)/(80*mV))/ms : 1/ms\n"
    "\n"
    "gNa : mS/cm^2 (constant)\n"
    "gK : mS/cm^2 (constant)\n"
    "gL : mS/cm^2 (constant)\n"
    "ENa : mV (constant)\n"
    "EK : mV (constant)\n"
    "EL : mV (constant)\n"
    "Cm : uF/cm^2 (constant)\n"
    "I_ext : uA/cm^2\n";

static void test_hh(void)
{
    bd_eqs *q = parse_ok("hh", hh_text);
    if (!q) return;
    tc_check(q->nodes == 4 && q->nsyms == 1 + 4 + 9 + 8, "hh: 4 ODEs, %d symbols", q->nsyms);
    tc_check(q->syms[0].kind == BD_SYM_TIME && !strcmp(q->syms[0].name, "t"), "hh: symbol 0 is t");
    int m = bd_eqs_find(q, "m"), ina = bd_eqs_find(q, "I_Na"), gna = bd_eqs_find(q, "gNa"), iext = bd_eqs_find(q, "I_ext");
    tc_check(m > 0 && q->syms[m].kind == BD_SYM_STATE && ina > 0 && q->syms[ina].kind == BD_SYM_ALGEBRAIC &&
                 q->syms[ina].def && gna > 0 && q->syms[gna].kind == BD_SYM_CONST && isnan(q->syms[gna].value) &&
                 iext > 0 && q->syms[iext].kind == BD_SYM_PARAM && !strcmp(q->syms[ina].unit_text, "uA/cm^2"),
             "hh: symbol kinds, 'm' is the gating variable (not the metre), unit text kept");
    static const char *const names[] = {"v", "m", "h", "n", "gNa", "gK", "gL", "ENa", "EK", "EL", "Cm", "I_ext"};
    static const double vals[] = {-62, 0.05, 0.6, 0.32, 120, 36, 0.3, 50, -77, -54.387, 1, 10};
    double v[64];
    set_vals(q, v, names, vals, 12);
    double V = -62, want = (120 * pow(0.05, 3) * 0.6 * (50 - V) + 36 * pow(0.32, 4) * (-77 - V) + 0.3 * (-54.387 - V) + 10);
    double got = ev(q, ode_of(q, "v")->drift, v);
    tc_check(close_to(got, want), "hh: dv/dt = %.15g mV/ms (want %.15g)", got, want);
    double am = 0.1 * (V + 40) / (1 - exp(-(V + 40) / 10)), bm = 4 * exp(-(V + 65) / 18);
    got = ev(q, ode_of(q, "m")->drift, v);
    want = am * (1 - 0.05) - bm * 0.05;
    tc_check(close_to(got, want), "hh: dm/dt = %.15g /ms with alpha_m through exprel (want %.15g)", got, want);
    double an = 0.01 * (V + 55) / (1 - exp(-(V + 55) / 10)), bn = 0.125 * exp(-(V + 65) / 80);
    got = ev(q, ode_of(q, "n")->drift, v);
    want = an * (1 - 0.32) - bn * 0.32;
    tc_check(close_to(got, want), "hh: dn/dt = %.15g /ms (want %.15g)", got, want);
    bd_eqs_free(q);
}

static void test_lif_and_conversion(void)
{
    bd_eqs *q = parse_ok("lif", "dV/dt = (El - V + R*I)/tau : mV (unless refractory)\n"
                                "El : mV\nR : Mohm\nI : nA\ntau : ms\n");
    if (q) {
        static const char *const names[] = {"V", "El", "R", "I", "tau"};
        static const double vals[] = {-70, -65, 100, 0.2, 20};
        double v[16];
        set_vals(q, v, names, vals, 5);
        const bd_ode *o = ode_of(q, "V");
        double got = o ? ev(q, o->drift, v) : NAN;
        tc_check(o && o->unless_refractory && o->nnoise == 0 && close_to(got, (-65 + 70 + 100 * 0.2) / 20),
                 "lif: unless refractory, Mohm*nA is mV, dV/dt = %.15g", got);
        bd_eqs_free(q);
    }
    /* tau in seconds: the drift gains the factor 1e-3 that makes it per ms */
    q = parse_ok("convert", "dv/dt = -v/tau : mV\ntau : second\n"
                            "I = g*(E - v) : nA\ng : uS\nE : volt\n"
                            "tau_eff = 1/(1/tau + 1/tau2) : ms\ntau2 : ms\n");
    if (q) {
        static const char *const names[] = {"v", "tau", "g", "E", "tau2"};
        static const double vals[] = {1, 0.02, 2, 0.05, 30};
        double v[16];
        set_vals(q, v, names, vals, 5);
        double d = ev(q, ode_of(q, "v")->drift, v), i = ev(q, q->syms[bd_eqs_find(q, "I")].def, v);
        double te = ev(q, q->syms[bd_eqs_find(q, "tau_eff")].def, v);
        tc_check(close_to(d, -0.05), "convert: -v/tau with tau = 0.02 s, v = 1 mV gives %.15g mV/ms (want -0.05)", d);
        tc_check(fabs(i - 2e-6 * (0.05 - 1e-3) / 1e-9) < 1e-9, "convert: g*(E - v) in nA = %.15g (want 98)", i);
        tc_check(close_to(te, 12), "convert: 1/(1/20 ms + 1/30 ms) = %.15g ms", te);
        bd_eqs_free(q);
    }
}

static void test_noise(void)
{
    bd_eqs *q = parse_ok("ou", "dx/dt = -x/tau + sigma*xi/sqrt(tau) : mV\ntau : ms\nsigma : mV\n");
    if (q) {
        const bd_ode *o = ode_of(q, "x");
        static const char *const names[] = {"x", "tau", "sigma"};
        static const double vals[] = {2, 10, 3};
        double v[16];
        set_vals(q, v, names, vals, 3);
        int ok = o && o->nnoise == 1 && !strcmp(q->syms[o->noise_sym[0]].name, "xi") &&
                 q->syms[o->noise_sym[0]].kind == BD_SYM_NOISE;
        tc_check(ok && close_to(ev(q, o->drift, v), -0.2) && close_to(ev(q, o->noise[0], v), 3 / sqrt(10)),
                 "ou: one Wiener process xi, drift -x/tau, coefficient sigma/sqrt(tau)");
        bd_eqs_free(q);
    }
    /* tau in seconds: the coefficient is per sqrt(ms) */
    q = parse_ok("ou-s", "dx/dt = -x/tau + sigma*xi/sqrt(tau) : mV\ntau : second\nsigma : mV\n");
    if (q) {
        const bd_ode *o = ode_of(q, "x");
        static const char *const names[] = {"x", "tau", "sigma"};
        static const double vals[] = {2, 0.01, 1};
        double v[16];
        set_vals(q, v, names, vals, 3);
        double g = ev(q, o->noise[0], v);
        tc_check(close_to(g, 10 * sqrt(1e-3)), "ou-s: sigma/sqrt(tau) = 10 mV/s^0.5 = %.15g mV/ms^0.5", g);
        bd_eqs_free(q);
    }
    q = parse_ok("two-noise", "dx/dt = -x/tau + s1*sqrt(2/tau)*xi_a + s2*xi_b/sqrt(tau) - s3*xi_a/sqrt(tau) : 1\n"
                              "tau : ms\ns1 : 1\ns2 : 1\ns3 : 1\n");
    if (q) {
        const bd_ode *o = ode_of(q, "x");
        static const char *const names[] = {"x", "tau", "s1", "s2", "s3"};
        static const double vals[] = {1, 4, 0.5, 0.25, 2};
        double v[16];
        set_vals(q, v, names, vals, 5);
        int ok = o && o->nnoise == 2 && !strcmp(q->syms[o->noise_sym[0]].name, "xi_a") &&
                 !strcmp(q->syms[o->noise_sym[1]].name, "xi_b");
        tc_check(ok && close_to(ev(q, o->noise[0], v), 0.5 * sqrt(0.5) - 1) &&
                     close_to(ev(q, o->noise[1], v), 0.125) && close_to(ev(q, o->drift, v), -0.25),
                 "two-noise: xi_a's two terms combine, xi_b separate");
        bd_eqs_free(q);
    }
}

static const bd_expr *find_delay(const bd_expr *e, int nth, int *seen)
{
    if (e->kind == BD_EX_DELAY && (*seen)++ == nth) return e;
    for (int i = 0; i < e->nargs; i++) {
        const bd_expr *d = find_delay(e->arg[i], nth, seen);
        if (d) return d;
    }
    return NULL;
}

static void test_delay(void)
{
    bd_eqs *q = parse_ok("delay", "dx/dt = -x/tau + a*x(t - d)/tau : 1\n"
                                  "dy/dt = (x(t-5*ms) + x(t - 0.002*second) + x(t))/tau : 1\n"
                                  "tau : ms\na : 1\nd : ms (constant)\n");
    if (!q) return;
    int x = bd_eqs_find(q, "x"), seen = 0;
    const bd_expr *d0 = find_delay(ode_of(q, "x")->drift, 0, &seen);
    tc_check(d0 && d0->sym == x && d0->arg[0]->kind == BD_EX_SYM && d0->arg[0]->sym == bd_eqs_find(q, "d"),
             "delay: x(t - d) is a DELAY node of x with the constant d");
    seen = 0;
    const bd_expr *d1 = find_delay(ode_of(q, "y")->drift, 0, &seen);
    seen = 0;
    const bd_expr *d2 = find_delay(ode_of(q, "y")->drift, 1, &seen);
    double v[16] = {0};
    tc_check(d1 && d2 && close_to(ev(q, d1->arg[0], v), 5) && close_to(ev(q, d2->arg[0], v), 2) &&
                 q->max_delay == 5,
             "delay: numeric delays in ms (5, 2), max_delay %g", q->max_delay);
    bd_eqs_free(q);
}

/* Parses text that must fail with status want and exactly the message msg. */
static void expect_error(const char *what, const char *text, bd_status want, const char *msg)
{
    bd_eqs *q = NULL;
    bd_status st = bd_eqs_parse(text, "eqs", &q);
    const char *got = bd_last_error();
    tc_check(st == want && !q && !strcmp(got, msg), "%s -> %s:\n%s%s%s", what, bd_status_name(st), got,
             strcmp(got, msg) ? "\nwanted:\n" : "", strcmp(got, msg) ? msg : "");
    bd_eqs_free(q);
}

static void test_errors(void)
{
    expect_error("syntax", "dx/dt = (x + ) / tau : 1\ntau : ms", BD_ERR_PARSE,
                 "eqs:1:14: expected an expression, found ')'\n"
                 "  dx/dt = (x + ) / tau : 1\n"
                 "               ^");
    expect_error("unknown identifier", "Vth : mV\ntau : ms\ndV/dt = (Vht - V)/tau : mV", BD_ERR_NOT_FOUND,
                 "eqs:3:10: unknown identifier 'Vht'; did you mean 'Vth'?\n"
                 "  dV/dt = (Vht - V)/tau : mV\n"
                 "           ^~~");
    expect_error("unit mismatch", "dV/dt = (El - V + I)/tau : mV\nEl : mV\nI : nA\ntau : ms", BD_ERR_UNITS,
                 "eqs:1:19: in dV/dt: cannot add: V vs A\n"
                 "  dV/dt = (El - V + I)/tau : mV\n"
                 "                    ^");
    expect_error("right side unit", "dV/dt = (El - V) : mV\nEl : mV", BD_ERR_UNITS,
                 "eqs:1:9: in dV/dt: the right side has dimension V, expected V/s (mV/ms)\n"
                 "  dV/dt = (El - V) : mV\n"
                 "          ^~~~~~~~");
    expect_error("exp of a voltage", "dV/dt = -V/tau + exp(V)*mV/ms : mV\ntau : ms", BD_ERR_UNITS,
                 "eqs:1:22: in dV/dt: exp() needs a dimensionless argument, got V\n"
                 "  dV/dt = -V/tau + exp(V)*mV/ms : mV\n"
                 "                       ^");
    expect_error("cyclic", "a = 2*b : 1\nb = c + 1 : 1\nc = a : 1\ndx/dt = a/ms : 1", BD_ERR_MODEL,
                 "eqs:1:1: cyclic definition: a -> b -> c -> a\n"
                 "  a = 2*b : 1\n"
                 "  ^");
    expect_error("argument count", "dx/dt = exp(x, 2)/ms : 1", BD_ERR_PARSE,
                 "eqs:1:9: exp() takes 1 argument, got 2\n"
                 "  dx/dt = exp(x, 2)/ms : 1\n"
                 "          ^~~~~~~~~");
    expect_error("nonlinear noise", "dx/dt = -x/tau + exp(xi*sqrt(ms)) : 1\ntau : ms", BD_ERR_MODEL,
                 "eqs:1:18: in dx/dt: noise must appear linearly, as one factor of a term (as in sigma*xi)\n"
                 "  dx/dt = -x/tau + exp(xi*sqrt(ms)) : 1\n"
                 "                   ^~~~~~~~~~~~~~~~");
    expect_error("unknown function", "dx/dt = -x/tua + epx(x)/ms : 1\ntau : ms", BD_ERR_NOT_FOUND,
                 "eqs:1:12: unknown identifier 'tua'; did you mean 'tau'?\n"
                 "  dx/dt = -x/tua + epx(x)/ms : 1\n"
                 "             ^~~");
    expect_error("unknown function call", "dx/dt = -x/tau + epx(x)/ms : 1\ntau : ms", BD_ERR_NOT_FOUND,
                 "eqs:1:18: unknown function 'epx'; did you mean 'exp'?\n"
                 "  dx/dt = -x/tau + epx(x)/ms : 1\n"
                 "                   ^~~");
    expect_error("duplicate", "x : 1\ny : mV\nx : mV", BD_ERR_MODEL,
                 "eqs:3:1: 'x' is already defined as a parameter on line 1\n"
                 "  x : mV\n"
                 "  ^");
    expect_error("ODE for a parameter", "tau : ms\ndtau/dt = 1 : 1", BD_ERR_MODEL,
                 "eqs:2:2: a differential equation for 'tau', which is a parameter (line 1)\n"
                 "  dtau/dt = 1 : 1\n"
                 "   ^~~");
    expect_error("two ODEs", "dx/dt = 0 : 1\ndx/dt = 1/ms : 1", BD_ERR_MODEL,
                 "eqs:2:2: 'x' has two differential equations (the first on line 1)\n"
                 "  dx/dt = 1/ms : 1\n"
                 "   ^");
    expect_error("unknown flag", "dx/dt = -x/ms : 1 (unless refractory, event-driven)", BD_ERR_PARSE,
                 "eqs:1:39: unknown flag 'event-driven' (a differential equation accepts 'unless refractory')\n"
                 "  dx/dt = -x/ms : 1 (unless refractory, event-driven)\n"
                 "                                        ^~~~~~~~~~~~");
    expect_error("unknown flag word", "dx/dt = -x/ms : 1 (unless refractory, clock driven)", BD_ERR_PARSE,
                 "eqs:1:39: unknown flag 'clock driven' (a differential equation accepts 'unless refractory')\n"
                 "  dx/dt = -x/ms : 1 (unless refractory, clock driven)\n"
                 "                                        ^~~~~~~~~~~~");
    expect_error("number and unit", "tau = 10 ms : ms", BD_ERR_PARSE,
                 "eqs:1:7: write 10*ms: equations need '*' between a number and its unit\n"
                 "  tau = 10 ms : ms\n"
                 "        ^~~~~");
    expect_error("missing unit", "dx/dt = -x/ms", BD_ERR_PARSE,
                 "eqs:1:14: missing ': unit' after the expression\n"
                 "  dx/dt = -x/ms\n"
                 "               ^");
    expect_error("unknown unit", "x : mVV", BD_ERR_NOT_FOUND,
                 "eqs:1:5: unknown unit 'mVV'\n"
                 "  x : mVV\n"
                 "      ^~~");
    expect_error("delay of a parameter", "dx/dt = -g(t - 1*ms)/ms : 1\ng : 1", BD_ERR_PARSE,
                 "eqs:1:10: 'g' is not a function; only state variables take a delay, as in x(t - d)\n"
                 "  dx/dt = -g(t - 1*ms)/ms : 1\n"
                 "           ^");
    expect_error("delay not constant", "dx/dt = -x(t - x*ms)/ms : 1", BD_ERR_MODEL,
                 "eqs:1:16: in dx/dt: a delay must be constant (numbers, units and parameters only)\n"
                 "  dx/dt = -x(t - x*ms)/ms : 1\n"
                 "                 ^");
    expect_error("delay in volts", "dx/dt = -x(t - 1*mV)/ms : 1", BD_ERR_UNITS,
                 "eqs:1:16: in dx/dt: the delay has dimension V, expected s (ms)\n"
                 "  dx/dt = -x(t - 1*mV)/ms : 1\n"
                 "                 ^~~~");
    expect_error("noise in a definition", "a = xi : 1", BD_ERR_MODEL,
                 "eqs:1:5: noise 'xi' can only appear in differential equations\n"
                 "  a = xi : 1\n"
                 "      ^~");
    expect_error("noise coefficient unit", "dx/dt = -x/ms + sigma*xi : mV\nsigma : mV", BD_ERR_UNITS,
                 "eqs:1:17: in dx/dt: the coefficient of 'xi' has dimension V, expected V/s^0.5 (mV/ms^0.5)\n"
                 "  dx/dt = -x/ms + sigma*xi : mV\n"
                 "                  ^~~~~");
    expect_error("power of a unit", "x = V^y : 1\nV : mV\ny : 1", BD_ERR_UNITS,
                 "eqs:1:7: in x: x^y with a base in units needs a constant numeric exponent\n"
                 "  x = V^y : 1\n"
                 "        ^");
    expect_error("chained comparison", "x = where(0 < y < 1, 1, 0) : 1\ny : 1", BD_ERR_PARSE,
                 "eqs:1:17: comparisons do not chain; write (a < b) and (b < c)\n"
                 "  x = where(0 < y < 1, 1, 0) : 1\n"
                 "                  ^");
    expect_error("statement", "= 3", BD_ERR_PARSE,
                 "eqs:1:1: expected a statement: 'dx/dt = expr : unit', 'name = expr : unit' or 'name : unit'\n"
                 "  = 3\n"
                 "  ^");

    /* deep nesting is refused, not a stack overflow */
    char deep[4096];
    int n = 0;
    n += snprintf(deep + n, sizeof deep - n, "x = ");
    for (int i = 0; i < 1000; i++) deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 1000; i++) deep[n++] = ')';
    snprintf(deep + n, sizeof deep - n, " : 1");
    bd_eqs *q = NULL;
    bd_status st = bd_eqs_parse(deep, "deep", &q);
    tc_check(st == BD_ERR_PARSE && strstr(bd_last_error(), "nested too deeply"), "1000 parentheses: %s",
             bd_status_name(st));
    bd_eqs_free(q);
}

static void test_language(void)
{
    /* precedence, logic, comparisons, functions, where, pi, user symbols shadowing units */
    bd_eqs *q = parse_ok("language", "a = -x^2 + 2**3**0 : 1\n"
                                     "b = where(x > 1 and not (x >= 3 || x == 2), 1, 0) + (x != 1) : 1\n"
                                     "c = clip(x, 0, 1.5) + min(x, .5) + max(x, 2e-1) + abs(-x) + sign(x) : 1\n"
                                     "d = sigmoid(0) + tanh(0) + heaviside(0) + log1p(0) + expm1(0) + pow(x, 2) : 1\n"
                                     "e = sin(pi/2) + cos(0) + tan(0) + log(1) + exprel(0) + sqrt(4*ms/ms) : 1\n"
                                     "f = (m*m + m*m)/m + x*cm : m\n"
                                     "m : m\n"
                                     "x : 1\n"
                                     "dummy : 1  # trailing comment\n");
    bd_eqs *q2 = parse_ok("metre", "g = x*cm + 2*m : mm\nx : 1\n");
    if (q2) {
        double v2[4] = {NAN, NAN, 2.5};
        double got = ev(q2, q2->syms[1].def, v2);
        tc_check(close_to(got, 2025), "metre: without a symbol m, m is the metre: 2.5 cm + 2 m = %.15g mm", got);
        bd_eqs_free(q2);
    }
    if (!q) return;
    double v[32];
    static const char *const names[] = {"x", "m"};
    static const double vals[] = {2.5, 3};
    set_vals(q, v, names, vals, 2);
    const char *want_names[] = {"a", "b", "c", "d", "e", "f"};
    double want[] = {-6.25 + 2, 1 + 1, 1.5 + 0.5 + 2.5 + 2.5 + 1, 0.5 + 0 + 0.5 + 0 + 0 + 6.25, 1 + 1 + 0 + 0 + 1 + 2,
                     6 + 2.5 * 0.01};
    for (int i = 0; i < 6; i++) {
        double got = ev(q, q->syms[bd_eqs_find(q, want_names[i])].def, v);
        tc_check(close_to(got, want[i]), "language: %s = %.15g (want %.15g)", want_names[i], got, want[i]);
    }
    bd_eqs_free(q);
}

static void test_quantities(void)
{
    bd_unit ms, mv, one, mscm2, u;
    bd_status st = bd_unit_parse("ms", &ms) | bd_unit_parse("mV", &mv) | bd_unit_parse("1", &one) |
                   bd_unit_parse("mS/cm^2", &mscm2);
    tc_check(!st && ms.scale == 1e-3 && ms.dim[2] == 1 && close_to(mscm2.scale, 10) && mscm2.dim[0] == -4,
             "units ms, mV, 1, mS/cm^2");
    static const struct { const char *text; double scale; signed char dim[7]; } units[] = {
        {"uA/cm^2", 1e-2, {-2, 0, 0, 1, 0, 0, 0}}, {"ms^-1", 1e3, {0, 0, -1, 0, 0, 0, 0}},
        {"Hz", 1, {0, 0, -1, 0, 0, 0, 0}},          {"(mV/ms)^2", 1, {4, 2, -8, -2, 0, 0, 0}},
        {"mM", 1, {-3, 0, 0, 0, 0, 1, 0}},          {"Mohm", 1e6, {2, 1, -3, -2, 0, 0, 0}},
        {"kHz", 1e3, {0, 0, -1, 0, 0, 0, 0}},       {"uF/cm**2", 1e-2, {-4, -1, 4, 2, 0, 0, 0}},
        {"(s^2)^(1/2)", 1, {0, 0, 1, 0, 0, 0, 0}},  {"msecond", 1e-3, {0, 0, 1, 0, 0, 0, 0}},
        {"nS", 1e-9, {-2, -1, 3, 2, 0, 0, 0}},      {"1/ms", 1e3, {0, 0, -1, 0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        st = bd_unit_parse(units[i].text, &u);
        tc_check(!st && close_to(u.scale, units[i].scale) && !memcmp(u.dim, units[i].dim, 7), "unit %s: scale %g",
                 units[i].text, u.scale);
    }
    tc_expect_status(bd_unit_parse("s^0.5", &u), BD_ERR_UNITS, "unit s^0.5");
    tc_expect_status(bd_unit_parse("mV mV", &u), BD_ERR_PARSE, "unit 'mV mV'");
    tc_expect_status(bd_unit_parse("parsec", &u), BD_ERR_NOT_FOUND, "unit parsec");

    const struct { const char *text; const bd_unit *in; double want; } ok[] = {
        {"10 ms", &ms, 10}, {"0.01 s", &ms, 10}, {"-65 mV", &mv, -65}, {"5", &one, 5}, {"5", &ms, 5},
        {" 2.5e-3 uS/cm^2", &mscm2, 2.5e-6}, {"10*ms", &ms, 10}, {"+.5 second", &ms, 500}, {"3 1", &one, 3},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = NAN;
        st = bd_quantity_parse(ok[i].text, ok[i].in, "test", &v);
        tc_check(!st && close_to(v, ok[i].want), "quantity '%s' -> %.17g", ok[i].text, v);
    }
    double v;
    st = bd_quantity_parse("10 mV", &ms, "parameter tau", &v);
    tc_check(st == BD_ERR_UNITS && !strcmp(bd_last_error(), "parameter tau: '10 mV' has dimension V, expected s"),
             "quantity with the wrong unit: %s", bd_last_error());
    tc_expect_status(bd_quantity_parse("ten ms", &ms, "tau", &v), BD_ERR_PARSE, "quantity 'ten ms'");
    tc_expect_status(bd_quantity_parse("10 foo", &ms, "tau", &v), BD_ERR_NOT_FOUND, "quantity '10 foo'");
    tc_expect_status(bd_quantity_parse("10 ms x", &ms, "tau", &v), BD_ERR_PARSE, "quantity '10 ms x'");
}

/* Random edits of valid text must give a tree or an error, never a crash (the sanitizer build checks memory). */
static void test_mutations(void)
{
    static const char alphabet[] = "()+-*/^<>=!:,#.0123456789 \nxtdmVsiu_aen";
    size_t n = strlen(hh_text);
    char *buf = malloc(n + 64);
    uint64_t seed = 12345;
    int parsed = 0, failed = 0, nomsg = 0;
    for (int it = 0; it < 3000 && buf; it++) {
        memcpy(buf, hh_text, n + 1);
        size_t len = n;
        int edits = 1 + (int)tc_below(&seed, 4);
        for (int k = 0; k < edits; k++) {
            size_t at = tc_below(&seed, (uint32_t)len);
            char c = alphabet[tc_below(&seed, sizeof alphabet - 1)];
            switch (tc_below(&seed, 3)) {
            case 0: buf[at] = c; break;
            case 1: memmove(buf + at, buf + at + 1, len - at), len--; break;
            default:
                if (len + 1 < n + 63) memmove(buf + at + 1, buf + at, len - at + 1), buf[at] = c, len++;
            }
        }
        bd_eqs *q = NULL;
        if (bd_eqs_parse(buf, "mut", &q) == BD_OK) parsed++;
        else failed++, nomsg += !*bd_last_error();
        bd_eqs_free(q);
    }
    free(buf);
    tc_check(parsed + failed == 3000 && nomsg == 0, "3000 mutations of the HH text: %d parse, %d fail with a message",
             parsed, failed);
}

int main(void)
{
    tc_begin();
    test_hh();
    test_lif_and_conversion();
    test_noise();
    test_delay();
    test_language();
    test_errors();
    test_quantities();
    test_mutations();
    return tc_finish();
}
