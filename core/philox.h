/* Philox4x32-10 (Salmon et al., SC'11) and the conversions of its words to numbers, exactly as
 * every device computes them (docs/rng.md). */
#ifndef BD_PHILOX_H
#define BD_PHILOX_H

#include <stdint.h>

void bd_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
