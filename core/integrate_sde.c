/* TEMPORARY STUB, replaced by the SDE/DDE/FDE helper. */
#include "integrate_impl.h"
const bd_method bd_methods_sde[] = {{0}};
