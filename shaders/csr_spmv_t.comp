#version 450
/* bd_csr_spmv_t: y[c] += A[r, c] * x[r] for every stored entry (y zeroed beforehand), one
 * invocation per row of A with atomic adds into y. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#define BD_ACC_BINDING 4
#include "bd_atomic.glsl"
#include "bd_csr.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 3) readonly buffer X { T x[]; };

void entry(uint j, T xr)
{
    const uint c = colidx[j];
    if (c < pc.cols) {
        precise T term = bd_value(j) * xr;
        bd_atomic_add(c, term);
    }
}

void main()
{
    const uint r = pc.base + gl_GlobalInvocationID.x;
    if (r >= pc.rows) return;
    const uvec2 row = bd_row(r);
    const T xr = x[r];
#define STEP(j) entry(j, xr)
    BD_FOR4(row.x, row.y, 1u, STEP)
}
