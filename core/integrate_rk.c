/* TEMPORARY STUB, replaced by the ODE/driver helper. */
#include "integrate_impl.h"
const bd_method bd_methods_rk[] = {{0}};
