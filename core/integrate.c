/* TEMPORARY STUB, replaced by the ODE/driver helper. */
#include "integrate_impl.h"
#include "error.h"
#include <string.h>
bd_status bd_system_new(const char *equations, const char *source_name, bd_system **out) { (void)equations; (void)source_name; *out = NULL; return bd_fail(BD_ERR_UNSUPPORTED, "not yet"); }
void bd_system_free(bd_system *s) { (void)s; }
bd_status bd_system_set(bd_system *s, const char *name, const char *quantity) { (void)s; (void)name; (void)quantity; return BD_ERR_UNSUPPORTED; }
bd_status bd_system_set_value(bd_system *s, const char *name, double value) { (void)s; (void)name; (void)value; return BD_ERR_UNSUPPORTED; }
bd_status bd_system_set_array(bd_system *s, const char *name, const double *values, size_t n) { (void)s; (void)name; (void)values; (void)n; return BD_ERR_UNSUPPORTED; }
bd_status bd_system_init(bd_system *s, const char *var, const char *quantity) { (void)s; (void)var; (void)quantity; return BD_ERR_UNSUPPORTED; }
bd_status bd_system_init_array(bd_system *s, const char *var, const double *values, size_t n) { (void)s; (void)var; (void)values; (void)n; return BD_ERR_UNSUPPORTED; }
bd_status bd_system_history(bd_system *s, const char *var, const char *expr) { (void)s; (void)var; (void)expr; return BD_ERR_UNSUPPORTED; }
size_t bd_system_nstate(const bd_system *s) { (void)s; return 0; }
const char *bd_system_state_name(const bd_system *s, size_t v) { (void)s; (void)v; return NULL; }
const char *bd_system_state_unit(const bd_system *s, size_t v) { (void)s; (void)v; return NULL; }
void bd_integrate_opts_init(bd_integrate_opts *o) { memset(o, 0, sizeof *o); }
const char *const *bd_integrate_methods(void) { static const char *const m[] = {NULL}; return m; }
const char *bd_integrate_method_doc(const char *method) { (void)method; return NULL; }
bd_status bd_integrate(bd_device *dev, const bd_system *s, const bd_integrate_opts *o, bd_trajectory **out) { (void)dev; (void)s; (void)o; *out = NULL; return BD_ERR_UNSUPPORTED; }
void bd_trajectory_free(bd_trajectory *tr) { (void)tr; }
bd_status bd_trajectory_write(const bd_trajectory *tr, const char *dir, const char *system_name) { (void)tr; (void)dir; (void)system_name; return BD_ERR_UNSUPPORTED; }
void bd_step_drift(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, bd_ir_val *out) { (void)c; (void)xs; (void)tt; (void)out; }
bd_ir_val bd_step_noise(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, int v, int k) { (void)c; (void)xs; (void)tt; (void)v; (void)k; return -1; }
bd_ir_val bd_step_normal(bd_step_ctx *c, unsigned draw) { (void)c; (void)draw; return -1; }
bd_ir_val bd_step_const(bd_step_ctx *c, double v) { (void)c; (void)v; return -1; }
const bd_method *bd_method_find(const char *name) { (void)name; return NULL; }
