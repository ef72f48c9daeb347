#version 450
/* bd_gemv: y = alpha op(A) x + beta y with A m x n row-major, over the slice [start, start + count)
 * of the summed dimension (columns of A without -DBD_TRANS, rows with it); the host splits long
 * sums into slices (beta = 1 after the first), so no invocation loops more than a few thousand
 * times. beta_zero = 1 means beta == 0: y is then written without being read.
 * A work group computes `tile` outputs (a power of two) with wg / tile lanes each, folded by a
 * shared-memory tree. Without -DBD_TRANS an output is a row: its lanes read neighbouring columns.
 * With it, an output is a column: neighbouring columns are read together and the lanes stride
 * down the rows. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer A { T a[]; };
layout(std430, binding = 1) readonly buffer X { T x[]; };
layout(std430, binding = 2) buffer Y { T y[]; };
layout(push_constant) uniform Pc {
    layout(offset = 0) uint base; /* first tile of this dispatch */
    layout(offset = 4) uint m;
    layout(offset = 8) uint n;
    layout(offset = 12) uint beta_zero;
    layout(offset = 16) T alpha;
    layout(offset = 24) T beta;
    layout(offset = 32) uint start;
    layout(offset = 36) uint count;
    layout(offset = 40) uint tile;
} pc;

shared T part[gl_WorkGroupSize.x];

void store(uint r, T acc)
{
    y[r] = pc.beta_zero == 1u ? pc.alpha * acc : pc.alpha * acc + pc.beta * y[r];
}

#ifndef BD_TRANS
void main()
{
    const uint lid = gl_LocalInvocationID.x, lanes = gl_WorkGroupSize.x / pc.tile;
    const uint lane = lid % lanes, r = (pc.base + gl_WorkGroupID.x) * pc.tile + lid / lanes;
    const uint end = pc.start + pc.count;
    T acc = T(0);
    if (r < pc.m)
        for (uint j = pc.start + lane; j < end; j += lanes) acc += a[r * pc.n + j] * x[j];
    part[lid] = acc;
    barrier();
    for (uint s = lanes / 2u; s > 0u; s >>= 1u) {
        if (lane < s) part[lid] += part[lid + s];
        barrier();
    }
    if (lane == 0u && r < pc.m) store(r, part[lid]);
}
#else
void main()
{
    const uint lid = gl_LocalInvocationID.x, lanes = gl_WorkGroupSize.x / pc.tile;
    const uint col = lid % pc.tile, lane = lid / pc.tile;
    const uint j = (pc.base + gl_WorkGroupID.x) * pc.tile + col, end = pc.start + pc.count;
    T acc = T(0);
    if (j < pc.n)
        for (uint i = pc.start + lane; i < end; i += lanes) acc += a[i * pc.n + j] * x[i];
    part[lid] = acc;
    barrier();
    for (uint s = lanes / 2u; s > 0u; s >>= 1u) {
        if (lane < s) part[lid] += part[lid + s * pc.tile];
        barrier();
    }
    if (lane == 0u && j < pc.n) store(j, part[lid]);
}
#endif
