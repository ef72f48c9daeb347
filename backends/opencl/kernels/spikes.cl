/* Spike compaction: the indices of the non-zero flags and their count (count[0] is zeroed by the host
 * first). Work-item g takes the flags [g * chunk, (g + 1) * chunk) and writes its spikes in index
 * order; the order between work-items is unspecified. Each work-group sums its items' counts in local
 * memory and reserves its slots with one global atomic, so dense spiking does not serialise on count.
 * chunk is 1 on GPUs (coalesced loads) and 16 on CPU drivers such as PoCL, where each work-item
 * costs a loop trip per barrier region and a short private loop amortises it. */
__kernel void spike_compact(__global const uint *flags, const uint n, const uint chunk, __global uint *indices,
                            volatile __global uint *count)
{
    __local uint group_count, group_base;
    const ulong first = (ulong)get_global_id(0) * chunk;
    const uint begin = (uint)min(first, (ulong)n), end = (uint)min(first + chunk, (ulong)n);
    uint mine = 0;
    for (uint i = begin; i < end; i++) mine += flags[i] != 0u;
    if (get_local_id(0) == 0) group_count = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint offset = mine ? atomic_add(&group_count, mine) : 0u;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0) group_base = group_count ? atomic_add(count, group_count) : 0u;
    barrier(CLK_LOCAL_MEM_FENCE);
    uint out = group_base + offset;
    for (uint i = begin; i < end && out < group_base + offset + mine; i++)
        if (flags[i] != 0u) indices[out++] = i;
}
