/* Initializers on the host (docs/toolbox.md): per-element values of "init" and "params" and per-synapse
 * weights, drawn from Philox with the run's key so that they are the same on every device. */
#ifndef BD_DIST_INIT_H
#define BD_DIST_INIT_H

#include "network.h"
#include "bdyn/status.h"

#include <stddef.h>
#include <stdint.h>

/* Value (a, b) of an element-wise distribution: Philox counter (a, b, c, stream) with key `key`, c = 0 for
 * the first words (uniform, normal: one block each, as before the toolbox) and further c for the rejection
 * steps of gamma. FILE: values[a]. Pair kinds (ORTHOGONAL, GAUSS_DECAY, DOG_DECAY) give NaN here. */
double bd_dist_draw(const bd_dist *d, const uint32_t key[2], uint32_t stream, uint32_t a, uint32_t b);

/* 1 for the kinds whose value depends on (pre, post): they need bd_dist_pair or bd_dist_orthogonal. */
int bd_dist_is_pair(const bd_dist *d);

/* GAUSS_DECAY / DOG_DECAY: the weight from pre to post (deterministic). */
double bd_dist_pair(const bd_dist *d, size_t pre, size_t post);

/* An orthogonal n_pre x n_post matrix times gain, row-major into *out (malloc'd): the Q factor of a Gaussian
 * matrix (entry (i, j) from Philox counter (i, j, 1, stream)) with a positive diagonal of R, so it is
 * distributed uniformly (Haar). n_pre >= n_post: orthonormal columns, else orthonormal rows. */
bd_status bd_dist_orthogonal(size_t n_pre, size_t n_post, double gain, const uint32_t key[2], uint32_t stream,
                             double **out);

/* VARSCALE -> UNIFORM or NORMAL with variance vs_scale / fan (xavier, kaiming, lecun); the fans default to
 * fan_in and fan_out given here unless the initializer set them. Other kinds are left alone. */
void bd_dist_varscale(bd_dist *d, double fan_in, double fan_out);

/* The inverse of the standard normal CDF (used by the truncated normal), |error| < 1e-15 relative. */
double bd_norm_quantile(double p);

#endif
