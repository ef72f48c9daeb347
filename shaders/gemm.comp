#version 450
/* bd_gemm: C = alpha op(A) op(B) + beta C, row-major, C m x n, op(A) m x k, op(B) k x n. A work
 * group of 256 computes a 64 x 64 tile of C, each invocation a 4 x 4 block strided by 16 (so that
 * neighbours read neighbouring shared words); A and B pass through shared memory 16 deep in k.
 * Each dispatch sums the slice [k0, k1) of k; the host splits a long k into slices (beta = 1 after
 * the first), so that no invocation loops more than a few thousand times.
 * flags: 1 = A transposed, 2 = B transposed, 4 = beta is 0 (C is written without being read). */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bd_common.glsl"

#define TILE 64u
#define DEPTH 16u

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer A { T a[]; };
layout(std430, binding = 1) readonly buffer B { T b[]; };
layout(std430, binding = 2) buffer C { T c[]; };
layout(push_constant) uniform Pc {
    layout(offset = 0) uint tile_x; /* first tile column / row of this dispatch */
    layout(offset = 4) uint tile_y;
    layout(offset = 8) uint m;
    layout(offset = 12) uint n;
    layout(offset = 16) uint k;
    layout(offset = 20) uint flags;
    layout(offset = 24) T alpha;
    layout(offset = 32) T beta;
    layout(offset = 40) uint k0;
    layout(offset = 44) uint k1;
} pc;

/* 2 x 16 x 64 elements: 16 KiB for doubles, the least shared memory Vulkan guarantees. */
shared T as[DEPTH][TILE]; /* as[p][i] = op(A)[row0 + i][kt + p] */
shared T bs[DEPTH][TILE]; /* bs[p][j] = op(B)[kt + p][col0 + j] */

T load_a(uint i, uint p)
{
    if (i >= pc.m || p >= pc.k1) return T(0);
    return (pc.flags & 1u) != 0u ? a[p * pc.m + i] : a[i * pc.k + p];
}

T load_b(uint p, uint j)
{
    if (p >= pc.k1 || j >= pc.n) return T(0);
    return (pc.flags & 2u) != 0u ? b[j * pc.k + p] : b[p * pc.n + j];
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint tx = tid % 16u, ty = tid / 16u;
    const uint row0 = (pc.tile_y + gl_WorkGroupID.y) * TILE;
    const uint col0 = (pc.tile_x + gl_WorkGroupID.x) * TILE;
    const bool ta = (pc.flags & 1u) != 0u, tb = (pc.flags & 2u) != 0u;
    T acc[4][4];
    [[unroll]] for (uint r = 0u; r < 4u; r++)
        [[unroll]] for (uint q = 0u; q < 4u; q++) acc[r][q] = T(0);

    for (uint kt = pc.k0; kt < pc.k1; kt += DEPTH) {
        /* Each invocation loads 4 of the 1024 elements of each tile, walking along whichever
         * dimension is contiguous in memory. */
        [[unroll]] for (uint q = 0u; q < 4u; q++) {
            const uint e = tid + 256u * q;
            const uint ai = ta ? e % TILE : e / DEPTH, ap = ta ? e / TILE : e % DEPTH;
            as[ap][ai] = load_a(row0 + ai, kt + ap);
            const uint bj = tb ? e / DEPTH : e % TILE, bp = tb ? e % DEPTH : e / TILE;
            bs[bp][bj] = load_b(kt + bp, col0 + bj);
        }
        barrier();
        [[unroll]] for (uint p = 0u; p < DEPTH; p++) {
            T av[4], bv[4];
            [[unroll]] for (uint r = 0u; r < 4u; r++) av[r] = as[p][ty + 16u * r];
            [[unroll]] for (uint q = 0u; q < 4u; q++) bv[q] = bs[p][tx + 16u * q];
            [[unroll]] for (uint r = 0u; r < 4u; r++)
                [[unroll]] for (uint q = 0u; q < 4u; q++) acc[r][q] += av[r] * bv[q];
        }
        barrier();
    }
    [[unroll]] for (uint r = 0u; r < 4u; r++) {
        const uint i = row0 + ty + 16u * r;
        if (i >= pc.m) break;
        [[unroll]] for (uint q = 0u; q < 4u; q++) {
            const uint j = col0 + tx + 16u * q;
            if (j >= pc.n) break;
            const uint at = i * pc.n + j;
            c[at] = (pc.flags & 4u) != 0u ? pc.alpha * acc[r][q] : pc.alpha * acc[r][q] + pc.beta * c[at];
        }
    }
}
