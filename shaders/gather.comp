#version 450
/* bd_gather: dst[i] = src[idx[i]] for i < n, 0 where idx[i] >= n_src. It moves words, not numbers:
 * W is uint for 4-byte elements and uvec2 for 8-byte ones, so doubles need no fp64 here. */
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Src { W src[]; };
layout(std430, binding = 1) readonly buffer Idx { uint idx[]; };
layout(std430, binding = 2) writeonly buffer Dst { W dst[]; };
layout(push_constant) uniform Pc {
    uint base;
    uint n;
    uint n_src;
} pc;

void main()
{
    const uint i = pc.base + gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
    const uint j = idx[i];
    dst[i] = j < pc.n_src ? src[j] : W(0u);
}
