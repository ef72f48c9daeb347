/* Procedural ("just-in-time") connectivity: every spiking presynaptic neuron regenerates its row
 * with the mathlib's bd_proc_* (docs/rng.md), exactly as bd_procedural_row does on the host, and
 * adds its f32 weights to y with atomics. One work-item per presynaptic neuron.
 * conn 0: fixed probability by geometric skips (logq = (float)log1p(-p) from the host, -INFINITY for
 * p = 1; the host launches nothing for p = 0); conn 1: fixed out-degree, with replacement. */
#ifdef BD_HAVE_ATOMIC_ADD
__kernel void event_procedural(__global const uint *spikes, __global T *y, const uint n_pre, const uint n_post,
                               const uint seed, const uint proj, const uint conn, const float logq,
                               const uint outdegree, const uint weight, const float w0, const float w1)
{
    const uint pre = get_global_id(0);
    if (pre >= n_pre || spikes[pre] == 0u) return;
    if (conn == 0u) {
        uint c = 0, m = 0;
        for (uint j = 0; c < n_post; j++) {
            const uint g = bd_proc_gap(bd_proc_word(seed, proj, pre, 0u, j), logq);
            if (g >= n_post - c) break;
            const uint t = c + g;
            bd_atomic_add(&y[t], (T)bd_proc_weight_f32(weight, w0, w1, seed, proj, pre, m++));
            c = t + 1;
        }
    } else {
        for (uint m = 0; m < outdegree; m++) {
            const uint t = bd_mulhi_u32(bd_proc_word(seed, proj, pre, 0u, m), n_post);
            bd_atomic_add(&y[t], (T)bd_proc_weight_f32(weight, w0, w1, seed, proj, pre, m));
        }
    }
}
#endif
