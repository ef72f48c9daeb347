/* Private interface between the integration driver (core/integrate.c) and the ODE family
 * (core/integrate_rk.c): what the adaptive step control and the exponential methods need beyond
 * core/integrate_impl.h. */
#ifndef BD_INTEGRATE_DRIVER_H
#define BD_INTEGRATE_DRIVER_H

#include "integrate_impl.h"

/* Lowers any expression of the equations at state xs (nstate values) and time tt, with the same
 * environment as bd_step_drift (parameters, constants, delays); the result is a let of type c->t. */
bd_ir_val bd_step_lower(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, const bd_expr *e);

/* One trial step of an embedded pair from (c->x, c->time) with step c->dt, leaving c->x and c->time
 * alone: the propagated solution into xnew[nstate] and the error norm into *err (lets of type c->t),
 *   err = sqrt(mean_v (e_v / (atol + rtol * max(|x_v|, |xnew_v|)))^2),
 * so the step is accepted when err <= 1. */
bd_status bd_rk_trial(bd_step_ctx *c, bd_ir_val *xnew, bd_ir_val *err);

/* The step-size controller's exponent 1 / (q + 1), q the lower order of the method's pair. */
double bd_rk_control_exponent(const bd_method *m);

#endif
