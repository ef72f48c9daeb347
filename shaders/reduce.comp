#version 450
/* bd_reduce: out[0] = sum/min/max/mean of in[0..n). Each work group folds a strided share of the
 * input into one partial with a shared-memory tree; with final = 0 the partials go to out[group]
 * and a second one-group dispatch over them (final = 1) writes the result. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer In { T x[]; };
layout(std430, binding = 1) writeonly buffer Out { T y[]; };
layout(push_constant) uniform Pc {
    uint base;   /* unused: a reduction never needs more groups than one dispatch holds */
    uint n;      /* elements in x */
    uint kind;   /* BD_SUM .. BD_MEAN */
    uint count;  /* elements of the original input (the divisor of a mean) */
    uint final;  /* 1: this is the last pass, write the result to y[0] */
} pc;

shared T part[gl_WorkGroupSize.x];

T identity()
{
    return pc.kind == BD_MIN ? BD_INF : pc.kind == BD_MAX ? -BD_INF : T(0);
}

T combine(T a, T b)
{
    if (pc.kind == BD_MIN) return b < a ? b : a;
    if (pc.kind == BD_MAX) return b > a ? b : a;
    precise T s = a + b;
    return s;
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    T acc = identity();
    /* Stops before i + stride could wrap around 2^32. */
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        acc = combine(acc, x[i]);
        if (pc.n - i <= stride) break;
    }
    part[lid] = acc;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
        if (lid < s) part[lid] = combine(part[lid], part[lid + s]);
        barrier();
    }
    if (lid != 0u) return;
    T r = part[0];
    if (pc.final == 1u && pc.kind == BD_MEAN) {
        precise T mean = r / T(pc.count);
        r = pc.count == 0u ? BD_NAN : mean;
    }
    y[gl_WorkGroupID.x] = r;
}
