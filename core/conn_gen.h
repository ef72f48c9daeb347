/* The toolbox on the host (docs/toolbox.md): connectivity rules generated into a forward CSR (rows = pre)
 * and the per-element / per-synapse initializers, every random draw from Philox keyed by the run seed, so a
 * network is the same on every device and every run. The runner (runner_conn.c) calls these; the tests
 * call them directly. */
#ifndef BD_CONN_GEN_H
#define BD_CONN_GEN_H

#include "network.h"
#include "bdyn/status.h"

#include <stddef.h>
#include <stdint.h>

/* Philox counter word 3 of the generated rules: BD_CONN_STREAM << 24 | projection id (the runner's streams
 * 1..5 are in runner_impl.h; fixed_prob and fixed_outdegree use the procedural rows of docs/rng.md). */
#define BD_CONN_STREAM 6u

/* The rule's name in model files ("fixed_prob"); "?" when out of range. */
const char *bd_conn_kind_name(bd_conn_kind k);

/* A forward CSR: row pre holds col[rowptr[pre] .. rowptr[pre + 1]). order (EXPLICIT only, else NULL): the
 * index of each synapse among the given pairs, so per-pair values (weights from a file) follow it. */
typedef struct bd_conn_rows {
    uint32_t *rowptr, *col;
    size_t nnz, cap;
    size_t *order;
} bd_conn_rows;

/* Generates the synapses of projection np between populations of n_pre and n_post neurons with the run's
 * Philox key. Rows come sorted by pre; within a row the targets ascend except for EXPLICIT (given order),
 * FIXED_OUTDEGREE (draw order) and allow_multi repeats. Messages name the projection. */
bd_status bd_conn_generate(const bd_net_proj *np, size_t n_pre, size_t n_post, const uint32_t key[2], bd_conn_rows *out);
void bd_conn_rows_free(bd_conn_rows *r);

/* Squared distance between neuron `pre` (on g->shape) and neuron `post` (on g->post_shape). */
double bd_geom_dist2(const bd_geom *g, size_t pre, size_t post);

#endif
