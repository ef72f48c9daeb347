#version 450
/* bd_csr_spmv: y[r] = sum of A[r, c] * x[c] over the stored entries of row r, in stored order (one
 * invocation per row, so the result is the reference's, operation for operation). */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#include "bd_csr.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 3) readonly buffer X { T x[]; };
layout(std430, binding = 4) writeonly buffer Y { T y[]; };

T entry(T acc, uint j)
{
    const uint c = colidx[j];
    if (c >= pc.cols) return acc;
    precise T sum = acc + bd_value(j) * x[c];
    return sum;
}

void main()
{
    const uint r = pc.base + gl_GlobalInvocationID.x;
    if (r >= pc.rows) return;
    const uvec2 row = bd_row(r);
    precise T acc = T(0);
#define STEP(j) acc = entry(acc, j)
    BD_FOR4(row.x, row.y, 1u, STEP)
    y[r] = acc;
}
