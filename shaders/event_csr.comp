#version 450
/* bd_event_csr (push): for every row whose spike flag is set, y[c] += A[r, c] over its stored
 * entries, one invocation per row with atomic adds. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#define BD_ACC_BINDING 4
#include "bd_atomic.glsl"
#include "bd_csr.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 3) readonly buffer Spikes { uint spikes[]; };

void entry(uint j)
{
    const uint c = colidx[j];
    if (c < pc.cols) bd_atomic_add(c, bd_value(j));
}

void main()
{
    const uint r = pc.base + gl_GlobalInvocationID.x;
    if (r >= pc.rows || spikes[r] == 0u) return;
    const uvec2 row = bd_row(r);
    BD_FOR4(row.x, row.y, 1u, entry)
}
