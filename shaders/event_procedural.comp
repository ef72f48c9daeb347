#version 450
/* bd_event_procedural: for every presynaptic neuron whose spike flag is set, its row of targets and
 * f32 weights is regenerated from (seed, proj, pre) by the mathlib's bd_proc_* functions, the same
 * integer-exact sequence as bd_procedural_row on the host (docs/rng.md), and each weight is added
 * atomically to y[target]. One invocation per presynaptic neuron. */
#extension GL_GOOGLE_include_directive : require
#include "bd_common.glsl"
#define BD_ACC_BINDING 1
#include "bd_atomic.glsl"
#include "mathlib_glsl.h"
#include "mathlib.inc"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Spikes { uint spikes[]; };
layout(push_constant) uniform Pc {
    uint base;
    uint n_pre;
    uint n_post;
    uint seed;
    uint proj;
    uint conn;      /* 0 fixed probability, 1 fixed out-degree (bd_proc_conn) */
    uint outdegree;
    uint weight;    /* bd_proc_weight kind */
    float logq;     /* (float)log1p(-p) from the host, -inf for p = 1 */
    float w0;
    float w1;
} pc;

void add(uint pre, uint m, uint target)
{
    bd_atomic_add(target, T(bd_proc_weight_f32(pc.weight, pc.w0, pc.w1, pc.seed, pc.proj, pre, m)));
}

void main()
{
    const uint pre = pc.base + gl_GlobalInvocationID.x;
    if (pre >= pc.n_pre || spikes[pre] == 0u) return;
    if (pc.conn == 0u) {
        /* Geometric skips: each word gives the number of non-targets before the next target. */
        uint m = 0u;
        for (uint j = 0u, c = 0u; c < pc.n_post; j++) {
            const uint g = bd_proc_gap(bd_proc_word(pc.seed, pc.proj, pre, 0u, j), pc.logq);
            if (g >= pc.n_post - c) break;
            add(pre, m++, c + g);
            c += g + 1u;
        }
    } else {
        for (uint m = 0u; m < pc.outdegree; m++)
            add(pre, m, bd_mulhi_u32(bd_proc_word(pc.seed, pc.proj, pre, 0u, m), pc.n_post));
    }
}
