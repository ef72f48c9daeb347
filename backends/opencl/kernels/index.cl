/* Gather and scatter-add through u32 index arrays; an out-of-range index is skipped (gather: 0). */

__kernel void gather(__global const T *src, const ulong n_src, __global const uint *idx, const ulong n,
                     __global T *dst)
{
    const ulong i = get_global_id(0);
    if (i >= n) return;
    const uint j = idx[i];
    dst[i] = j < n_src ? src[j] : (T)0;
}

#ifdef BD_HAVE_ATOMIC_ADD
__kernel void scatter_add(__global const T *src, __global const uint *idx, const ulong n, __global T *dst,
                          const ulong n_dst)
{
    const ulong i = get_global_id(0);
    if (i >= n) return;
    const uint j = idx[i];
    if (j < n_dst) bd_atomic_add(&dst[j], src[i]);
}
#endif
