/* Philox4x32-10 on arrays, for host code: the C build of mathlib.inc's bd_philox. */
#include "philox.h"
#include "mathlib_c.h"
#include "mathlib.inc"

void bd_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    bd_u32x4 v = bd_philox(BD_MAKE_U32X4(ctr[0], ctr[1], ctr[2], ctr[3]), key[0], key[1]);
    out[0] = v.x;
    out[1] = v.y;
    out[2] = v.z;
    out[3] = v.w;
}
