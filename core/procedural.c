/* Procedural connectivity rows on the host, exactly as every device regenerates them (docs/rng.md). */
#include "error.h"
#include "bdyn/ops.h"
#include "mathlib_c.h"
#include "mathlib.inc"

#include <math.h>

static void put(uint32_t *targets, float *weights, size_t cap, size_t m, uint32_t t, const bd_procedural *c,
                uint32_t pre)
{
    if (m >= cap) return;
    if (targets) targets[m] = t;
    if (weights)
        weights[m] = bd_proc_weight_f32((uint32_t)c->weight, (float)c->w0, (float)c->w1, c->seed, c->proj_id, pre,
                                        (uint32_t)m);
}

bd_status bd_procedural_row(const bd_procedural *conn, uint32_t pre, uint32_t *targets, float *weights, size_t cap,
                            size_t *len)
{
    if (!conn || !len) return bd_fail(BD_ERR_INVALID_ARG, "bd_procedural_row: conn and len must not be NULL");
    if (pre >= conn->n_pre)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_procedural_row: pre %u is not below n_pre %zu", pre, conn->n_pre);
    /* Targets are u32 and drawn with 32-bit arithmetic on every device. */
    if (conn->n_post > UINT32_MAX)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_procedural_row: n_post %zu exceeds 2^32 - 1", conn->n_post);
    if (conn->weight != BD_WEIGHT_CONSTANT && conn->weight != BD_WEIGHT_UNIFORM && conn->weight != BD_WEIGHT_NORMAL)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_procedural_row: unknown weight kind %d", (int)conn->weight);
    uint32_t n_post = (uint32_t)conn->n_post;
    size_t m = 0;
    if (conn->conn == BD_PROC_FIXED_PROB) {
        if (!(conn->p >= 0.0 && conn->p <= 1.0))
            return bd_fail(BD_ERR_INVALID_ARG, "bd_procedural_row: probability %g is outside [0, 1]", conn->p);
        if (conn->p > 0.0) {
            float logq = conn->p >= 1.0 ? -INFINITY : (float)log1p(-conn->p);
            /* Geometric skips: each word gives the number of non-targets before the next target. */
            uint32_t c = 0;
            for (uint32_t j = 0; c < n_post; j++) {
                uint32_t g = bd_proc_gap(bd_proc_word(conn->seed, conn->proj_id, pre, 0, j), logq);
                if (g >= n_post - c) break;
                uint32_t t = c + g;
                put(targets, weights, cap, m++, t, conn, pre);
                c = t + 1;
            }
        }
    } else if (conn->conn == BD_PROC_FIXED_OUTDEGREE) {
        /* With replacement: target m is word m scaled to [0, n_post) by a 32x32 -> 64-bit product. */
        if (n_post > 0)
            for (; m < conn->outdegree; m++)
                put(targets, weights, cap, m,
                    bd_mulhi_u32(bd_proc_word(conn->seed, conn->proj_id, pre, 0, (uint32_t)m), n_post), conn, pre);
    } else {
        return bd_fail(BD_ERR_INVALID_ARG, "bd_procedural_row: unknown connectivity kind %d", (int)conn->conn);
    }
    *len = m;
    return BD_OK;
}
