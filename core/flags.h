/* Scanning spike flags (u32 per element, nonzero = spiked), shared by the runner and the cpu backend. */
#ifndef BD_FLAGS_H
#define BD_FLAGS_H

#include <stddef.h>
#include <stdint.h>

/* The first index >= i below n whose flag is set, else n. Spikes are rare (a few per thousand elements and
 * step): from a multiple of 16 on, blocks of 32 all-zero flags are skipped with one test. */
static inline size_t bd_next_flag(const uint32_t *restrict flags, size_t i, size_t n)
{
    while (i < n && (i & 15)) {
        if (flags[i]) return i;
        i++;
    }
    /* a plain OR over the block: gcc turns it into vector ORs (a copy through a local array cost it twice
     * the time in stack traffic) */
    for (; i + 32 <= n; i += 32) {
        uint32_t any = 0;
        for (int k = 0; k < 32; k++) any |= flags[i + k];
        if (any) break;
    }
    for (; i < n; i++)
        if (flags[i]) return i;
    return n;
}

#endif
