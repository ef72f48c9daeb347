/* The integrator internals shared by the driver (core/integrate.c) and the method families
 * (integrate_rk.c: explicit, adaptive and exponential ODE methods; integrate_sde.c; integrate_dde.c;
 * integrate_fde.c).
 *
 * A method emits IR for one step of one element into an open kernel. The driver builds the kernel
 * around it: it loads the state into mutable locals, loops over the steps of one launch, stores the
 * state back and records samples. So a method only reads and assigns ctx->x[] and ctx->time. */
#ifndef BD_INTEGRATE_IMPL_H
#define BD_INTEGRATE_IMPL_H

#include "bdyn/integrate.h"
#include "expr.h"

struct bd_system {
    bd_eqs *eqs;
    double *init;        /* per state variable: constant initial value (declared unit) */
    double **init_array; /* per state variable: NULL or n values */
    size_t *init_n;
    double **param_array; /* per symbol: NULL or per-element values (BD_SYM_PARAM) */
    size_t *param_n;
    bd_expr **history;   /* per state variable: NULL (= initial value) or an expression in t */
};

typedef enum bd_method_kind {
    BD_METHOD_FIXED,    /* explicit fixed-step ODE (also exp_euler) */
    BD_METHOD_ADAPTIVE, /* embedded pair with error control */
    BD_METHOD_SDE,
    BD_METHOD_FDE,
} bd_method_kind;

typedef struct bd_step_ctx bd_step_ctx;

typedef struct bd_method {
    const char *name;
    bd_method_kind kind;
    double order; /* ODE: global order; SDE: strong order; FDE: expected order in dt */
    const char *doc;
    bd_status (*emit)(bd_step_ctx *c);
} bd_method;

struct bd_step_ctx {
    bd_ir *k;
    bd_dtype t;          /* working float type (BD_F32 or BD_F64) */
    const bd_system *sys;
    const bd_eqs *eqs;
    const bd_method *method;
    const bd_integrate_opts *opts;
    int nstate;          /* eqs->nodes; state v is eqs->odes[v].sym */
    bd_ir_val *x;        /* nstate mutable locals: the state, updated in place by emit */
    bd_ir_val time;      /* mutable local: t at the start of the step (ms); emit advances it by dt */
    bd_ir_val dt;        /* the step (ms, type t); adaptive methods get a mutable local to change */
    bd_ir_val step;      /* u32: the global index of this step (for noise counters and histories) */
    bd_ir_val elem;      /* u32: the element index i */
    bd_ir_val key0, key1; /* u32 Philox key from the seed */
    bd_ir_val *sym_vals; /* per symbol: parameter and constant values (loads, params); -1 = unset */
    /* DDE and FDE: the history ring the driver keeps when the equations have delays or the method is
     * an FDE method. Layout: element i of state v at step s is at ((v * hist_len + s % hist_len) * n + i);
     * the driver fills it for steps <= 0 from the histories (DDE) or the initial state, and stores
     * the state after every step s + 1 (after emit returns). */
    int hist_slot;       /* IR buffer slot of the ring (f32/f64 as the working type), or -1 */
    uint32_t hist_len;   /* ring length in steps */
    int init_slot;       /* FDE: IR buffer slot holding x(t0) of every state, (v * n + i); else -1 */
    bd_ir_val n;         /* u32: the number of elements */
};

/* Lowers the drift f_v(xs, tt) of every equation into out[nstate] (IR values of type c->t). */
void bd_step_drift(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, bd_ir_val *out);
/* The noise coefficient g of equation v's term k at (xs, tt). */
bd_ir_val bd_step_noise(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, int v, int k);
/* A standard normal draw for this element and step, stream `draw` (0, 1, ...): Philox counter
 * (elem, step, draw, 0), key (key0, key1), so paths are reproducible on every device. */
bd_ir_val bd_step_normal(bd_step_ctx *c, unsigned draw);
/* A float constant of the working type. */
bd_ir_val bd_step_const(bd_step_ctx *c, double v);

/* DDE (integrate_dde.c): ring length in steps for the delays of the system's n elements at step dt (covers
 * the largest delay plus one step for interpolation; refuses delays shorter than dt with BD_ERR_MODEL), and the
 * lowering hook for x(t - d): linear interpolation between the stored steps around t - d, where t is the
 * time of the stage being evaluated (env->user is the bd_step_ctx). */
bd_status bd_dde_ring_len(const bd_system *sys, size_t n, double dt, uint32_t *len);
bd_ir_val bd_dde_lower_delay(bd_lower_env *env, int sym, bd_ir_val delay_ms);

/* Method tables of each family, NULL-name terminated. */
extern const bd_method bd_methods_rk[];
extern const bd_method bd_methods_sde[];
extern const bd_method bd_methods_fde[];
const bd_method *bd_method_find(const char *name);

#endif
