#version 450
/* bd_rng_fill: Philox4x32-10 numbers laid out as docs/rng.md fixes them, one invocation per Philox
 * block (counter {block, 0, c2, c3}, key {k0, k1}). Raw words (-DBD_RNG_U32) and f32 values take
 * one word each, 4 per block: element i is word i % 4 of block i / 4. f64 values (-DBD_DOUBLE)
 * take two words each, 2 per block: element i uses block i / 2. */
#extension GL_GOOGLE_include_directive : require
#ifdef BD_DOUBLE
#define BD_ENABLE_F64
#endif
#include "mathlib_glsl.h"
#include "mathlib.inc"
#include "bd_common.glsl"

layout(local_size_x_id = 0) in;
/* Philox words per element. */
#ifdef BD_DOUBLE
#define BD_WORDS 2u
#else
#define BD_WORDS 1u
#endif
#ifdef BD_RNG_U32
#define OUT uint
#else
#define OUT T
#endif
layout(std430, binding = 0) writeonly buffer Out { OUT y[]; };
layout(push_constant) uniform Pc {
    uint base; /* first block of this dispatch */
    uint n;    /* elements */
    uint k0, k1, c2, c3;
    uint dist; /* 1 uniform, 2 normal (bd_rng_dist) */
} pc;

OUT value(uvec4 w, uint j)
{
#if defined(BD_RNG_U32)
    return w[j];
#elif defined(BD_DOUBLE)
    if (pc.dist == 2u) return bd_normal_f64(w, j);
    return j == 0u ? bd_u01_f64(w.x, w.y) : bd_u01_f64(w.z, w.w);
#else
    if (pc.dist == 2u) return bd_normal_f32(w, j);
    return bd_u01_f32(w[j]);
#endif
}

void main()
{
    const uint block = pc.base + gl_GlobalInvocationID.x;
    const uint per = 4u / BD_WORDS;
    if (block >= pc.n / per + uint(pc.n % per != 0u)) return;
    const uvec4 w = bd_philox(uvec4(block, 0u, pc.c2, pc.c3), pc.k0, pc.k1);
    for (uint j = 0u; j < per; j++) {
        const uint i = block * per + j;
        if (i < pc.n) y[i] = value(w, j);
    }
}
