#version 450
/* bd_spike_compact: indices[k] = i for every set flag, k taken from an atomic counter in count[0]
 * (zeroed beforehand), so the order of the indices is unspecified. */
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Flags { uint flags[]; };
layout(std430, binding = 1) writeonly buffer Indices { uint indices[]; };
layout(std430, binding = 2) buffer Count { uint count[]; };
layout(push_constant) uniform Pc {
    uint base;
    uint n;
} pc;

void main()
{
    const uint i = pc.base + gl_GlobalInvocationID.x;
    if (i >= pc.n || flags[i] == 0u) return;
    indices[atomicAdd(count[0], 1u)] = i;
}
