#version 450
/* bd_event_csr_pull (deterministic): At has rows = post, cols = pre. Each post row adds, in stored
 * order, the weights of the entries whose presynaptic flag is set to y[post], one by one: the
 * reference's exact sequence of operations. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#include "bd_csr.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 3) readonly buffer Spikes { uint spikes[]; };
layout(std430, binding = 4) buffer Y { T y[]; };

T entry(T acc, uint j)
{
    const uint c = colidx[j];
    if (c >= pc.cols || spikes[c] == 0u) return acc;
    precise T sum = acc + bd_value(j);
    return sum;
}

void main()
{
    const uint p = pc.base + gl_GlobalInvocationID.x;
    if (p >= pc.rows) return;
    const uvec2 row = bd_row(p);
    precise T acc = y[p];
#define STEP(j) acc = entry(acc, j)
    BD_FOR4(row.x, row.y, 1u, STEP)
    y[p] = acc;
}
