/* The ODE family: explicit Runge-Kutta methods from Butcher tableaux (one emitter for all of them),
 * embedded pairs for adaptive step control (the driver owns the controller, see core/integrate.c) and
 * the exponential Euler method with the linear part from the symbolic derivative. */
#include "integrate_driver.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RK_MAX_STAGES 7
#define S5 2.2360679774997896964091736687312762 /* sqrt(5), for Ralston's 4th-order coefficients */

/* c[j] = sum_l a[j][l]; b the propagated weights; bhat the embedded weights of the other order. */
typedef struct rk_tab {
    int s;
    double a[RK_MAX_STAGES][RK_MAX_STAGES], b[RK_MAX_STAGES], c[RK_MAX_STAGES], bhat[RK_MAX_STAGES];
    int q; /* adaptive: the lower order of the pair (controller exponent 1 / (q + 1)); 0 = no pair */
} rk_tab;

static const rk_tab tab_euler = {.s = 1, .b = {1}};
static const rk_tab tab_midpoint = {.s = 2, .a = {[1] = {0.5}}, .b = {0, 1}, .c = {0, 0.5}};
static const rk_tab tab_heun2 = {.s = 2, .a = {[1] = {1}}, .b = {0.5, 0.5}, .c = {0, 1}};
static const rk_tab tab_ralston2 = {.s = 2, .a = {[1] = {2.0 / 3}}, .b = {0.25, 0.75}, .c = {0, 2.0 / 3}};
/* BrainPy's rk2: the generic two-stage method with beta = 2/3, weights 1 - 1/(2 beta), 1/(2 beta) */
static const rk_tab tab_rk2 = {.s = 2, .a = {[1] = {2.0 / 3}}, .b = {1 - 3.0 / 4, 3.0 / 4}, .c = {0, 2.0 / 3}};
static const rk_tab tab_rk3 = {.s = 3, .a = {[1] = {0.5}, [2] = {-1, 2}}, .b = {1.0 / 6, 2.0 / 3, 1.0 / 6},
                               .c = {0, 0.5, 1}};
static const rk_tab tab_heun3 = {.s = 3, .a = {[1] = {1.0 / 3}, [2] = {0, 2.0 / 3}}, .b = {0.25, 0, 0.75},
                                 .c = {0, 1.0 / 3, 2.0 / 3}};
static const rk_tab tab_ralston3 = {.s = 3, .a = {[1] = {0.5}, [2] = {0, 0.75}}, .b = {2.0 / 9, 1.0 / 3, 4.0 / 9},
                                    .c = {0, 0.5, 0.75}};
static const rk_tab tab_ssprk3 = {.s = 3, .a = {[1] = {1}, [2] = {0.25, 0.25}}, .b = {1.0 / 6, 1.0 / 6, 2.0 / 3},
                                  .c = {0, 1, 0.5}};
static const rk_tab tab_rk4 = {.s = 4, .a = {[1] = {0.5}, [2] = {0, 0.5}, [3] = {0, 0, 1}},
                               .b = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}, .c = {0, 0.5, 0.5, 1}};
static const rk_tab tab_rk4_38 = {.s = 4, .a = {[1] = {1.0 / 3}, [2] = {-1.0 / 3, 1}, [3] = {1, -1, 1}},
                                  .b = {0.125, 0.375, 0.375, 0.125}, .c = {0, 1.0 / 3, 2.0 / 3, 1}};
/* Ralston (1962), minimum error bound; exact values (BrainPy prints 8-digit decimals, which break
 * the order conditions at the 1e-9 level and would show as a loss of order at small dt). */
static const rk_tab tab_ralston4 = {
    .s = 4,
    .a = {[1] = {0.4},
          [2] = {(-2889 + 1428 * S5) / 1024, (3785 - 1620 * S5) / 1024},
          [3] = {(-3365 + 2094 * S5) / 6040, (-975 - 3046 * S5) / 2552, (467040 + 203968 * S5) / 240845}},
    .b = {(263 + 24 * S5) / 1812, (125 - 1000 * S5) / 3828, 1024 * (3346 + 1623 * S5) / 5924787, (30 - 4 * S5) / 123},
    .c = {0, 0.4, (14 - 3 * S5) / 16, 1}};

static const rk_tab tab_heun_euler = {.s = 2, .a = {[1] = {1}}, .b = {0.5, 0.5}, .bhat = {1, 0}, .c = {0, 1}, .q = 1};
/* Fehlberg's pairs propagate the higher-order solution (local extrapolation, as BrainPy's B1 row does), so
 * the global error follows the tolerance instead of tol^(q/(q+1)) */
static const rk_tab tab_rkf12 = {.s = 3, .a = {[1] = {0.5}, [2] = {1.0 / 256, 255.0 / 256}},
                                 .b = {1.0 / 512, 255.0 / 256, 1.0 / 512}, .bhat = {1.0 / 256, 255.0 / 256, 0},
                                 .c = {0, 0.5, 1}, .q = 1};
static const rk_tab tab_bs = {.s = 4, .a = {[1] = {0.5}, [2] = {0, 0.75}, [3] = {2.0 / 9, 1.0 / 3, 4.0 / 9}},
                              .b = {2.0 / 9, 1.0 / 3, 4.0 / 9, 0}, .bhat = {7.0 / 24, 0.25, 1.0 / 3, 0.125},
                              .c = {0, 0.5, 0.75, 1}, .q = 2};
static const rk_tab tab_rkf45 = {
    .s = 6,
    .a = {[1] = {0.25},
          [2] = {3.0 / 32, 9.0 / 32},
          [3] = {1932.0 / 2197, -7200.0 / 2197, 7296.0 / 2197},
          [4] = {439.0 / 216, -8, 3680.0 / 513, -845.0 / 4104},
          [5] = {-8.0 / 27, 2, -3544.0 / 2565, 1859.0 / 4104, -11.0 / 40}},
    .b = {16.0 / 135, 0, 6656.0 / 12825, 28561.0 / 56430, -9.0 / 50, 2.0 / 55},
    .bhat = {25.0 / 216, 0, 1408.0 / 2565, 2197.0 / 4104, -0.2, 0},
    .c = {0, 0.25, 3.0 / 8, 12.0 / 13, 1, 0.5},
    .q = 4};
/* Dormand-Prince and Cash-Karp propagate the 5th-order solution (local extrapolation) */
static const rk_tab tab_rkdp = {
    .s = 7,
    .a = {[1] = {0.2},
          [2] = {3.0 / 40, 9.0 / 40},
          [3] = {44.0 / 45, -56.0 / 15, 32.0 / 9},
          [4] = {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
          [5] = {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
          [6] = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}},
    .b = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0},
    .bhat = {5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40},
    .c = {0, 0.2, 0.3, 0.8, 8.0 / 9, 1, 1},
    .q = 4};
static const rk_tab tab_ck = {
    .s = 6,
    .a = {[1] = {0.2},
          [2] = {3.0 / 40, 9.0 / 40},
          [3] = {0.3, -0.9, 1.2},
          [4] = {-11.0 / 54, 2.5, -70.0 / 27, 35.0 / 27},
          [5] = {1631.0 / 55296, 175.0 / 512, 575.0 / 13824, 44275.0 / 110592, 253.0 / 4096}},
    .b = {37.0 / 378, 0, 250.0 / 621, 125.0 / 594, 0, 512.0 / 1771},
    .bhat = {2825.0 / 27648, 0, 18575.0 / 48384, 13525.0 / 55296, 277.0 / 14336, 0.25},
    .c = {0, 0.2, 0.3, 0.6, 1, 7.0 / 8},
    .q = 4};

static const struct {
    const char *name;
    const rk_tab *tab;
} tabs[] = {
    {"euler", &tab_euler},       {"midpoint", &tab_midpoint}, {"heun2", &tab_heun2},
    {"ralston2", &tab_ralston2}, {"rk2", &tab_rk2},           {"rk3", &tab_rk3},
    {"heun3", &tab_heun3},       {"ralston3", &tab_ralston3}, {"ssprk3", &tab_ssprk3},
    {"rk4", &tab_rk4},           {"ralston4", &tab_ralston4}, {"rk4_38rule", &tab_rk4_38},
    {"rkf12", &tab_rkf12},       {"rkf45", &tab_rkf45},       {"rkdp", &tab_rkdp},
    {"ck", &tab_ck},             {"bs", &tab_bs},             {"heun_euler", &tab_heun_euler},
};

static const rk_tab *tab_of(const bd_method *m)
{
    for (size_t i = 0; m && i < sizeof tabs / sizeof tabs[0]; i++)
        if (strcmp(tabs[i].name, m->name) == 0) return tabs[i].tab;
    return NULL;
}

static bd_ir_val fconst(bd_step_ctx *c, double v) { return bd_step_const(c, v); }
static bd_ir_val add(bd_step_ctx *c, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(c->k, BD_IR_ADD, a, b); }
static bd_ir_val mul(bd_step_ctx *c, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(c->k, BD_IR_MUL, a, b); }

/* sum_l w[l] * K[l][v] over the nonzero weights (l < count), or -1 if every weight is zero. */
static bd_ir_val weighted(bd_step_ctx *c, const double *w, int count, const bd_ir_val *K, int v)
{
    bd_ir_val acc = -1;
    for (int l = 0; l < count; l++) {
        if (w[l] == 0) continue;
        bd_ir_val term = w[l] == 1 ? K[l * c->nstate + v] : mul(c, fconst(c, w[l]), K[l * c->nstate + v]);
        acc = acc < 0 ? term : add(c, acc, term);
    }
    return acc;
}

/* x + dt * sum_l w[l] K[l], as lets. */
static void combine(bd_step_ctx *c, const double *w, int count, const bd_ir_val *K, bd_ir_val *out)
{
    for (int v = 0; v < c->nstate; v++) {
        bd_ir_val sum = weighted(c, w, count, K, v);
        out[v] = sum < 0 ? c->x[v] : bd_ir_let(c->k, add(c, c->x[v], mul(c, c->dt, sum)));
    }
}

/* The stage derivatives K[j][v] of the tableau; stages that no later stage, no propagated weight and
 * (with_error) no error weight uses are skipped (the FSAL stage of a pair used as a fixed method). */
static bd_status stages(bd_step_ctx *c, const rk_tab *T, int with_error, bd_ir_val *K)
{
    int ns = c->nstate, need[RK_MAX_STAGES] = {0};
    for (int j = T->s - 1; j >= 0; j--) {
        need[j] = T->b[j] != 0 || (with_error && T->bhat[j] != T->b[j]) || j == 0;
        for (int l = j + 1; l < T->s; l++) need[j] |= need[l] && T->a[l][j] != 0;
    }
    bd_ir_val *xs = malloc((size_t)ns * sizeof *xs);
    if (!xs) return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", c->method->name);
    for (int j = 0; j < T->s; j++) {
        for (int v = 0; v < ns; v++) K[j * ns + v] = -1;
        if (!need[j]) continue;
        combine(c, T->a[j], j, K, xs);
        bd_ir_val tt = T->c[j] == 0 ? c->time : bd_ir_let(c->k, add(c, c->time, mul(c, fconst(c, T->c[j]), c->dt)));
        bd_step_drift(c, xs, tt, K + j * ns);
    }
    free(xs);
    return bd_ir_status(c->k);
}

/* Assigns the new state and advances the time by dt. */
static bd_status advance(bd_step_ctx *c, const bd_ir_val *xnew)
{
    for (int v = 0; v < c->nstate; v++) bd_ir_assign(c->k, c->x[v], xnew[v]);
    bd_ir_assign(c->k, c->time, add(c, c->time, c->dt));
    return bd_ir_status(c->k);
}

/* Every tableau method used with a fixed step (the pairs too: their propagated solution). */
static bd_status emit_rk(bd_step_ctx *c)
{
    const rk_tab *T = tab_of(c->method);
    if (!T) return bd_fail(BD_ERR_NOT_FOUND, "method '%s' has no Butcher tableau", c->method->name);
    int ns = c->nstate;
    bd_ir_val *K = malloc((size_t)(T->s + 1) * (size_t)ns * sizeof *K);
    if (!K) return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", c->method->name);
    bd_ir_val *xnew = K + T->s * ns;
    bd_status st = stages(c, T, 0, K);
    if (!st) {
        combine(c, T->b, T->s, K, xnew);
        st = advance(c, xnew);
    }
    free(K);
    return st;
}

bd_status bd_rk_trial(bd_step_ctx *c, bd_ir_val *xnew, bd_ir_val *err)
{
    const rk_tab *T = tab_of(c->method);
    if (!T || !T->q) return bd_fail(BD_ERR_INVALID_ARG, "method '%s' has no embedded pair", c->method->name);
    int ns = c->nstate;
    bd_ir_val *K = malloc((size_t)T->s * (size_t)ns * sizeof *K);
    if (!K) return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", c->method->name);
    bd_status st = stages(c, T, 1, K);
    if (!st) {
        combine(c, T->b, T->s, K, xnew);
        double d[RK_MAX_STAGES];
        for (int l = 0; l < T->s; l++) d[l] = T->b[l] - T->bhat[l];
        bd_ir_val atol = fconst(c, c->opts->atol), rtol = fconst(c, c->opts->rtol), sum = -1;
        for (int v = 0; v < ns; v++) {
            bd_ir_val e = weighted(c, d, T->s, K, v);
            if (e < 0) continue; /* this variable's two solutions agree exactly */
            e = mul(c, c->dt, e);
            bd_ir_val big = bd_ir_binary(c->k, BD_IR_MAX, bd_ir_unary(c->k, BD_IR_ABS, c->x[v]),
                                         bd_ir_unary(c->k, BD_IR_ABS, xnew[v]));
            bd_ir_val r = bd_ir_let(c->k, bd_ir_binary(c->k, BD_IR_DIV, e, add(c, atol, mul(c, rtol, big))));
            sum = sum < 0 ? mul(c, r, r) : add(c, sum, mul(c, r, r));
        }
        *err = sum < 0 ? fconst(c, 0)
                       : bd_ir_let(c->k, bd_ir_unary(c->k, BD_IR_SQRT,
                                                     bd_ir_binary(c->k, BD_IR_DIV, sum, fconst(c, (double)ns))));
        st = bd_ir_status(c->k);
    }
    free(K);
    return st;
}

double bd_rk_control_exponent(const bd_method *m)
{
    const rk_tab *T = tab_of(m);
    return T && T->q ? 1.0 / (T->q + 1) : 0;
}

/* phi1(z) = (e^z - 1)/z = exprel(z), 1 at z = 0 (both branches are evaluated; the 0/0 one is discarded). */
static bd_ir_val phi1(bd_step_ctx *c, bd_ir_val z)
{
    bd_ir_val q = bd_ir_binary(c->k, BD_IR_DIV, bd_ir_unary(c->k, BD_IR_EXPM1, z), z);
    return bd_ir_let(c->k, bd_ir_select(c->k, bd_ir_binary(c->k, BD_IR_EQ, z, fconst(c, 0)), fconst(c, 1), q));
}

/* The linear parts A_v = df_v/dx_v at (xs, tt) (symbolic derivatives), -1 where f_v does not depend on x_v. */
static bd_status linear_parts(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, bd_ir_val *A)
{
    for (int v = 0; v < c->nstate; v++) {
        const bd_ode *ode = &c->eqs->odes[v];
        bd_expr *dA = bd_ex_diff(c->eqs, ode->drift, ode->sym);
        if (!dA)
            return bd_fail(BD_ERR_NOMEM, "method '%s': cannot differentiate the equation of '%s'", c->method->name,
                           c->eqs->syms[ode->sym].name);
        A[v] = dA->kind == BD_EX_NUM && dA->value == 0 ? -1 : bd_step_lower(c, xs, tt, dA);
        bd_ex_free(dA);
    }
    return bd_ir_status(c->k);
}

/* x_v + h * phi1(A_v h) * g_v, the exact solution of y' = A_v y + (g_v - A_v x_v) over h from x_v. */
static bd_ir_val exp_update(bd_step_ctx *c, bd_ir_val x, bd_ir_val A, bd_ir_val h, bd_ir_val g)
{
    bd_ir_val phi = A < 0 ? fconst(c, 1) : phi1(c, bd_ir_let(c->k, mul(c, A, h)));
    return bd_ir_let(c->k, add(c, x, mul(c, mul(c, h, phi), g)));
}

/* Exponential Euler: x_v += dt * phi1(A_v dt) * f_v with A_v = df_v/dx_v, exact when f_v is linear in x_v with
 * the other variables fixed; first order in general. `exp_euler` updates the variables in equation order, each
 * from the values already updated before it (Gauss-Seidel), as BrainPy's conductance-based neurons update
 * their channels before the membrane potential: the staggering cancels the leading splitting error (HH squid
 * axon at dt = 0.01 ms: spike times within 0.005 ms of a fine reference over 100 ms, against 0.47 ms).
 * `exp_euler_simultaneous` evaluates every variable at the step-start state, as Brian2's exponential_euler
 * and BrainPy's JointEq do (the same numbers as theirs). */
static bd_status exp_euler(bd_step_ctx *c, int sequential)
{
    int ns = c->nstate;
    bd_ir_val *xs = malloc((size_t)ns * 2 * sizeof *xs);
    if (!xs) return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", c->method->name);
    bd_ir_val *xnew = sequential ? xs : xs + ns; /* where updated values go: into the evaluation state or apart */
    memcpy(xs, c->x, (size_t)ns * sizeof *xs);
    bd_status st = BD_OK;
    for (int v = 0; v < ns && !st; v++) {
        const bd_ode *ode = &c->eqs->odes[v];
        bd_expr *dA = bd_ex_diff(c->eqs, ode->drift, ode->sym);
        if (!dA) {
            st = bd_fail(BD_ERR_NOMEM, "method '%s': cannot differentiate the equation of '%s'", c->method->name,
                         c->eqs->syms[ode->sym].name);
            break;
        }
        bd_ir_val f = bd_step_lower(c, xs, c->time, ode->drift);
        bd_ir_val A = dA->kind == BD_EX_NUM && dA->value == 0 ? -1 : bd_step_lower(c, xs, c->time, dA);
        bd_ex_free(dA);
        xnew[v] = exp_update(c, c->x[v], A, c->dt, f);
        st = bd_ir_status(c->k);
    }
    if (!st) st = advance(c, xnew);
    free(xs);
    return st;
}

static bd_status emit_exp_euler(bd_step_ctx *c) { return exp_euler(c, 1); }
static bd_status emit_exp_euler_simultaneous(bd_step_ctx *c) { return exp_euler(c, 0); }

/* Exponential midpoint: an exponential Euler half step to (x_h, t + dt/2), then the whole step with the linear
 * part L_v = df_v/dx_v and the remainder f_v - L_v x_v both frozen at the midpoint:
 *   x_v += dt * phi1(L_v dt) * (f_v(x_h) + L_v (x_v - x_h,v)).
 * Second order for coupled systems (explicit midpoint when L = 0), and still exact for linear equations. */
static bd_status emit_exp_midpoint(bd_step_ctx *c)
{
    int ns = c->nstate;
    bd_ir_val *f = malloc((size_t)ns * 3 * sizeof *f);
    if (!f) return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", c->method->name);
    bd_ir_val *A = f + ns, *xh = A + ns;
    bd_ir_val half = bd_ir_let(c->k, mul(c, c->dt, fconst(c, 0.5)));
    bd_step_drift(c, c->x, c->time, f);
    bd_status st = linear_parts(c, c->x, c->time, A);
    for (int v = 0; v < ns && !st; v++) xh[v] = exp_update(c, c->x[v], A[v], half, f[v]);
    bd_ir_val th = bd_ir_let(c->k, add(c, c->time, half));
    if (!st) bd_step_drift(c, xh, th, f);
    if (!st) st = linear_parts(c, xh, th, A);
    for (int v = 0; v < ns && !st; v++) {
        bd_ir_val g = A[v] < 0 ? f[v] : add(c, f[v], mul(c, A[v], bd_ir_binary(c->k, BD_IR_SUB, c->x[v], xh[v])));
        xh[v] = exp_update(c, c->x[v], A[v], c->dt, g); /* xh now holds the new state */
    }
    if (!st) st = bd_ir_status(c->k);
    if (!st) st = advance(c, xh);
    free(f);
    return st;
}

#define FIXED(name, order, doc) {name, BD_METHOD_FIXED, order, doc, emit_rk}
#define PAIR(name, order, doc) {name, BD_METHOD_ADAPTIVE, order, doc, emit_rk}

const bd_method bd_methods_rk[] = {
    FIXED("euler", 1, "explicit (forward) Euler, order 1"),
    FIXED("midpoint", 2, "explicit midpoint rule, order 2"),
    FIXED("heun2", 2, "Heun's method (explicit trapezoid), order 2"),
    FIXED("ralston2", 2, "Ralston's second-order method (minimum error bound)"),
    FIXED("rk2", 2, "generic two-stage Runge-Kutta with beta = 2/3 (BrainPy's rk2), order 2"),
    FIXED("rk3", 3, "Kutta's third-order method"),
    FIXED("heun3", 3, "Heun's third-order method"),
    FIXED("ralston3", 3, "Ralston's third-order method"),
    FIXED("ssprk3", 3, "strong-stability-preserving Runge-Kutta (Shu-Osher), order 3"),
    FIXED("rk4", 4, "classical fourth-order Runge-Kutta"),
    FIXED("ralston4", 4, "Ralston's fourth-order method (minimum error bound)"),
    FIXED("rk4_38rule", 4, "Kutta's 3/8-rule fourth-order method"),
    PAIR("rkf12", 2, "adaptive Runge-Kutta-Fehlberg 2(1), per-element step control"),
    PAIR("rkf45", 5, "adaptive Runge-Kutta-Fehlberg 5(4), per-element step control"),
    PAIR("rkdp", 5, "adaptive Dormand-Prince 5(4), per-element step control"),
    PAIR("ck", 5, "adaptive Cash-Karp 5(4), per-element step control"),
    PAIR("bs", 3, "adaptive Bogacki-Shampine 3(2), per-element step control"),
    PAIR("heun_euler", 2, "adaptive Heun-Euler 2(1), per-element step control"),
    {"exp_euler", BD_METHOD_FIXED, 1,
     "exponential Euler: x += dt * exprel(A dt) * f, A = df/dx symbolic, variables in equation order; exact for "
     "linear equations", emit_exp_euler},
    {"exp_auto", BD_METHOD_FIXED, 1, "alias of exp_euler (BrainPy's name)", emit_exp_euler},
    {"exp_euler_simultaneous", BD_METHOD_FIXED, 1,
     "exponential Euler with every variable from the step-start state (Brian2's exponential_euler, BrainPy's "
     "JointEq); less accurate than exp_euler on coupled systems", emit_exp_euler_simultaneous},
    {"exp_midpoint", BD_METHOD_FIXED, 2,
     "exponential midpoint: exp_euler half step, then the whole step linearised at the midpoint; order 2, exact "
     "for linear equations", emit_exp_midpoint},
    {0},
};
