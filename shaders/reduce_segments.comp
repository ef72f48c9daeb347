#version 450
/* bd_reduce_segments: out[s] = reduce(in[offsets[s] .. offsets[s+1])), the end clamped to n and a
 * decreasing pair read as an empty segment. per_group = 1: one work group per segment (a
 * shared-memory tree, for long segments); 0: one invocation per segment (for short ones). */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer In { T x[]; };
layout(std430, binding = 1) readonly buffer Off { uint offsets[]; };
layout(std430, binding = 2) writeonly buffer Out { T y[]; };
layout(push_constant) uniform Pc {
    uint base; /* first segment (per group) or first invocation (per invocation) of this dispatch */
    uint nseg;
    uint kind;
    uint n;
    uint per_group;
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

void finish(uint seg, uint begin, uint end, T r)
{
    if (pc.kind == BD_MEAN) {
        precise T mean = r / T(end - begin);
        r = begin == end ? BD_NAN : mean;
    }
    y[seg] = r;
}

void main()
{
    if (pc.per_group == 1u) {
        const uint seg = pc.base + gl_WorkGroupID.x;
        if (seg >= pc.nseg) return; /* uniform across the group */
        const uint lid = gl_LocalInvocationID.x;
        const uint end = min(offsets[seg + 1u], pc.n);
        const uint begin = min(offsets[seg], end);
        T acc = identity();
#define STEP(i) acc = combine(acc, x[i])
        BD_FOR4(begin + lid, end, gl_WorkGroupSize.x, STEP)
        part[lid] = acc;
        barrier();
        for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
            if (lid < s) part[lid] = combine(part[lid], part[lid + s]);
            barrier();
        }
        if (lid == 0u) finish(seg, begin, end, part[0]);
    } else {
        const uint seg = pc.base + gl_GlobalInvocationID.x;
        if (seg >= pc.nseg) return;
        const uint end = min(offsets[seg + 1u], pc.n);
        const uint begin = min(offsets[seg], end);
        T acc = identity();
        BD_FOR4(begin, end, 1u, STEP)
        finish(seg, begin, end, acc);
    }
}
