/* Reductions. op: 0 sum, 1 min, 2 max (mean is a sum divided by the count).
 * A full reduction runs in two passes with a fixed grid: every work-item folds its slice, each
 * work-group folds its items as a tree, and one work-group folds the partials. For a given device
 * the order of additions is therefore fixed: the same input gives the same sum.
 * A slice is strided (item g takes g, g + G, ...: coalesced on GPUs) when chunk is 0, else the
 * contiguous run [g * chunk, (g + 1) * chunk) (chunk a multiple of 8), folded in 8 lanes: CPU
 * drivers such as PoCL run one work-item's loop to its end before the next, so strided slices would
 * fetch every cache line many times, and one accumulator would be a chain of dependent adds. */

/* min/max keep the first operand unless the second is strictly better, so NaNs are never picked
 * and the result does not depend on the order. Works on vectors too (component-wise select). */
#define BD_COMBINE(op, a, b) ((op) == 0 ? (a) + (b) : (op) == 1 ? ((b) < (a) ? (b) : (a)) : ((a) < (b) ? (b) : (a)))

T bd_combine(uint op, T a, T b) { return BD_COMBINE(op, a, b); }

T bd_identity(uint op) { return op == 0 ? (T)0 : op == 1 ? (T)INFINITY : (T)(-INFINITY); }

/* Tree over the work-group's items in tmp (the local size is a power of two); item 0 gets the result. */
T bd_group_fold(uint op, __local T *tmp, T acc)
{
    const uint lid = get_local_id(0);
    tmp[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) tmp[lid] = bd_combine(op, tmp[lid], tmp[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return tmp[0];
}

__kernel void reduce_partial(__global const T *in, const ulong n, const ulong chunk, const uint op,
                             __global T *partial, __local T *tmp)
{
    T acc = bd_identity(op);
    if (chunk == 0) {
        for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) acc = bd_combine(op, acc, in[i]);
    } else {
        const ulong begin = get_global_id(0) * chunk, end = min(begin + chunk, n);
        ulong i = begin;
        if (i + 8 <= end) {
                        BD_T8 lanes = vload8(0, in + i);
            for (i += 8; i + 8 <= end; i += 8) lanes = BD_COMBINE(op, lanes, vload8(0, in + i));
            acc = bd_combine(op, bd_combine(op, bd_combine(op, lanes.s0, lanes.s1), bd_combine(op, lanes.s2, lanes.s3)),
                             bd_combine(op, bd_combine(op, lanes.s4, lanes.s5), bd_combine(op, lanes.s6, lanes.s7)));
        }
        for (; i < end; i++) acc = bd_combine(op, acc, in[i]);
    }
    acc = bd_group_fold(op, tmp, acc);
    if (get_local_id(0) == 0) partial[get_group_id(0)] = acc;
}

/* One work-group: folds the partials into out[0]; mean divides by n (0 / 0 gives NaN for n = 0). */
__kernel void reduce_final(__global const T *partial, const uint npartial, const uint op, const ulong n,
                           const uint mean, __global T *out, __local T *tmp)
{
    T acc = bd_identity(op);
    for (uint i = get_local_id(0); i < npartial; i += get_local_size(0)) acc = bd_combine(op, acc, partial[i]);
    acc = bd_group_fold(op, tmp, acc);
    if (get_local_id(0) == 0) out[0] = mean ? acc / (T)n : acc;
}

/* One work-item per segment, folding in index order. Ends past n are clamped; a decreasing pair is
 * an empty segment. */
__kernel void reduce_segments(__global const T *in, __global const uint *offsets, const uint n, const uint nseg,
                              const uint op, const uint mean, __global T *out)
{
    const uint s = get_global_id(0);
    if (s >= nseg) return;
    const uint begin = offsets[s], end = min(offsets[s + 1], n);
    T acc = bd_identity(op);
    for (uint i = begin; i < end; i++) acc = bd_combine(op, acc, in[i]);
    out[s] = mean ? acc / (T)(end > begin ? end - begin : 0) : acc;
}
