#version 450
/* bd_gemv: y = alpha op(A) x + beta y with A m x n row-major. Without -DBD_TRANS one work group
 * computes one row (a strided dot product folded by a shared-memory tree); with it, one invocation
 * computes one column of A (y[j] over A[i, j] x[i]), reading consecutive columns side by side.
 * beta_zero = 1 means beta == 0: y is then written without being read. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer A { T a[]; };
layout(std430, binding = 1) readonly buffer X { T x[]; };
layout(std430, binding = 2) buffer Y { T y[]; };
layout(push_constant) uniform Pc {
    layout(offset = 0) uint base;
    layout(offset = 4) uint m;
    layout(offset = 8) uint n;
    layout(offset = 12) uint beta_zero;
    layout(offset = 16) T alpha;
    layout(offset = 24) T beta;
} pc;

void store(uint r, T acc)
{
    y[r] = pc.beta_zero == 1u ? pc.alpha * acc : pc.alpha * acc + pc.beta * y[r];
}

#ifndef BD_TRANS
shared T part[gl_WorkGroupSize.x];

void main()
{
    const uint r = pc.base + gl_WorkGroupID.x;
    if (r >= pc.m) return; /* uniform across the group */
    const uint lid = gl_LocalInvocationID.x;
    T acc = T(0);
    for (uint j = lid; j < pc.n; j += gl_WorkGroupSize.x) acc += a[r * pc.n + j] * x[j];
    part[lid] = acc;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
        if (lid < s) part[lid] += part[lid + s];
        barrier();
    }
    if (lid == 0u) store(r, part[0]);
}
#else
void main()
{
    const uint j = pc.base + gl_GlobalInvocationID.x;
    if (j >= pc.n) return;
    T acc = T(0);
    for (uint i = 0u; i < pc.m; i++) acc += a[i * pc.n + j] * x[i];
    store(j, acc);
}
#endif
