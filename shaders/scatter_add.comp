#version 450
/* bd_scatter_add: dst[idx[i]] += src[i] for i < n, skipping idx[i] >= n_dst; atomic, so the order
 * of the additions into one element is unspecified. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#define BD_ACC_BINDING 2
#include "bd_atomic.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Src { T src[]; };
layout(std430, binding = 1) readonly buffer Idx { uint idx[]; };
layout(push_constant) uniform Pc {
    uint base;
    uint n;
    uint n_dst;
} pc;

void main()
{
    const uint i = pc.base + gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
    const uint j = idx[i];
    if (j < pc.n_dst) bd_atomic_add(j, src[i]);
}
