/* TEMPORARY STUB, replaced by the SDE/DDE/FDE helper. */
#include "integrate_impl.h"
#include "error.h"
bd_status bd_dde_ring_len(const bd_eqs *eqs, double dt, uint32_t *len) { (void)eqs; (void)dt; *len = 0; return BD_ERR_UNSUPPORTED; }
bd_ir_val bd_dde_lower_delay(bd_lower_env *env, int sym, bd_ir_val delay_ms) { (void)env; (void)sym; (void)delay_ms; return -1; }
