/* bd_rng_fill with the mathlib's Philox and conversions, laid out as docs/rng.md fixes them: one
 * work-item per Philox block (counter {lo32(b), hi32(b), c2, c3}, key {k0, k1}). Raw words and f32
 * values take one word each, so element i is word i % 4 of block i / 4; f64 values take two words
 * each, so element i comes from block i / 2 (words x, y for even i, z, w for odd i). */

uint4 bd_block(ulong b, uint k0, uint k1, uint c2, uint c3)
{
    return bd_philox((uint4)((uint)b, (uint)(b >> 32), c2, c3), k0, k1);
}

uint bd_word(uint4 v, uint j) { return j == 0u ? v.x : j == 1u ? v.y : j == 2u ? v.z : v.w; }

__kernel void rng_u32(__global uint *out, const ulong n, const uint k0, const uint k1, const uint c2, const uint c3)
{
    const ulong b = get_global_id(0);
    const uint4 v = bd_block(b, k0, k1, c2, c3);
    for (uint j = 0; j < 4u && b * 4 + j < n; j++) out[b * 4 + j] = bd_word(v, j);
}

#ifdef BD_ENABLE_F64
#define BD_PER_BLOCK 2u
T bd_uniform(uint4 v, uint j) { return j == 0u ? bd_u01_f64(v.x, v.y) : bd_u01_f64(v.z, v.w); }
T bd_normal(uint4 v, uint j) { return bd_normal_f64(v, j); }
#else
#define BD_PER_BLOCK 4u
T bd_uniform(uint4 v, uint j) { return bd_u01_f32(bd_word(v, j)); }
T bd_normal(uint4 v, uint j) { return bd_normal_f32(v, j); }
#endif

__kernel void rng_uniform(__global T *out, const ulong n, const uint k0, const uint k1, const uint c2,
                          const uint c3)
{
    const ulong b = get_global_id(0);
    const uint4 v = bd_block(b, k0, k1, c2, c3);
    for (uint j = 0; j < BD_PER_BLOCK && b * BD_PER_BLOCK + j < n; j++) out[b * BD_PER_BLOCK + j] = bd_uniform(v, j);
}

__kernel void rng_normal(__global T *out, const ulong n, const uint k0, const uint k1, const uint c2,
                         const uint c3)
{
    const ulong b = get_global_id(0);
    const uint4 v = bd_block(b, k0, k1, c2, c3);
    for (uint j = 0; j < BD_PER_BLOCK && b * BD_PER_BLOCK + j < n; j++) out[b * BD_PER_BLOCK + j] = bd_normal(v, j);
}
