#version 450
/* bd_csr_spmv: y[r] = sum of A[r, c] * x[c] over the stored entries of row r, in stored order (one
 * invocation per row, so the result is the reference's, operation for operation). */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#include "bd_csr.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 3) readonly buffer X { T x[]; };
layout(std430, binding = 4) writeonly buffer Y { T y[]; };

void main()
{
    const uint r = pc.base + gl_GlobalInvocationID.x;
    if (r >= pc.rows) return;
    const uvec2 row = bd_row(r);
    precise T acc = T(0);
    for (uint j = row.x; j < row.y; j++) {
        const uint c = colidx[j];
        if (c < pc.cols) {
            precise T term = bd_value(j) * x[c];
            acc = acc + term;
        }
    }
    y[r] = acc;
}
