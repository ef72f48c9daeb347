/* bd_rng_fill with the mathlib's Philox and conversions, laid out as docs/rng.md fixes them: one
 * work-item per Philox block (counter {lo32(b), hi32(b), c2, c3}, key {k0, k1}). Raw words and f32
 * values take one word each, so element i is word i % 4 of block i / 4; f64 values take two words
 * each, so element i comes from block i / 2 (words x, y for even i, z, w for odd i).
 * A whole block is written with one vector store (no per-element loop, which keeps PoCL's
 * vectorisation across work-items); only the last, partial block goes element by element. */

uint4 bd_block(ulong b, uint k0, uint k1, uint c2, uint c3)
{
    return bd_philox((uint4)((uint)b, (uint)(b >> 32), c2, c3), k0, k1);
}

__kernel void rng_u32(__global uint *out, const ulong n, const uint k0, const uint k1, const uint c2, const uint c3)
{
    const ulong b = get_global_id(0), i = b * 4;
    if (i >= n) return;
    const uint4 v = bd_block(b, k0, k1, c2, c3);
    if (i + 4 <= n) {
        vstore4(v, b, out);
    } else {
        uint tail[4];
        vstore4(v, 0, tail);
        for (uint j = 0; i + j < n; j++) out[i + j] = tail[j];
    }
}

#ifdef BD_ENABLE_F64
#define BD_PER_BLOCK 2u
#define BD_TN double2
#define BD_VSTORE vstore2
#define BD_UNIFORMS(v) ((double2)(bd_u01_f64(v.x, v.y), bd_u01_f64(v.z, v.w)))
#define BD_NORMALS(v) ((double2)(bd_normal_f64(v, 0u), bd_normal_f64(v, 1u)))
#else
#define BD_PER_BLOCK 4u
#define BD_TN float4
#define BD_VSTORE vstore4
#define BD_UNIFORMS(v) ((float4)(bd_u01_f32(v.x), bd_u01_f32(v.y), bd_u01_f32(v.z), bd_u01_f32(v.w)))
#define BD_NORMALS(v) \
    ((float4)(bd_normal_f32(v, 0u), bd_normal_f32(v, 1u), bd_normal_f32(v, 2u), bd_normal_f32(v, 3u)))
#endif

void bd_store_block(__global T *out, ulong b, ulong n, BD_TN x)
{
    const ulong i = b * BD_PER_BLOCK;
    if (i + BD_PER_BLOCK <= n) {
        BD_VSTORE(x, b, out);
    } else {
        T tail[BD_PER_BLOCK];
        BD_VSTORE(x, 0, tail);
        for (uint j = 0; i + j < n; j++) out[i + j] = tail[j];
    }
}

__kernel void rng_uniform(__global T *out, const ulong n, const uint k0, const uint k1, const uint c2,
                          const uint c3)
{
    const ulong b = get_global_id(0);
    if (b * BD_PER_BLOCK >= n) return;
    const uint4 v = bd_block(b, k0, k1, c2, c3);
    bd_store_block(out, b, n, BD_UNIFORMS(v));
}

__kernel void rng_normal(__global T *out, const ulong n, const uint k0, const uint k1, const uint c2,
                         const uint c3)
{
    const ulong b = get_global_id(0);
    if (b * BD_PER_BLOCK >= n) return;
    const uint4 v = bd_block(b, k0, k1, c2, c3);
    bd_store_block(out, b, n, BD_NORMALS(v));
}
