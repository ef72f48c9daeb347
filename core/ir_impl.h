/* The IR's internal representation and the three printers (C, OpenCL C, GLSL).
 *
 * Printed entry points (the launch contract between the printers and the backends):
 *  C:      void bd_kernel(uint32_t begin, uint32_t end, void *const *b, const uint64_t *len,
 *                         const bd_value_t *s)       -- runs i in [begin, end); exported with
 *          default visibility; bd_value_t is the prelude's copy of union bd_value.
 *  OpenCL: __kernel void bd_kernel(__global T0 *b0, ..., uint l0, ..., S0 s0, ..., uint bd_n)
 *          -- buffers, then their lengths in elements, then scalars by value, then n;
 *          i = get_global_id(0), guarded by i < bd_n (any global size may be used).
 *  GLSL:   #version 450, layout(local_size_x_id = 0) (specialisation constant 0 = work-group size),
 *          buffer slot k at set 0, binding k as `buffer BK { T bK[]; }` (length from the bound range),
 *          push constants `{ uint bd_base; uint bd_n; S0 s0; ... }` laid out with std430 rules
 *          (each scalar aligned to its size, see bd_ir_push_offsets), i = bd_base + global id x,
 *          guarded by i < bd_n; so a backend may split a launch into several dispatches.
 * Every dialect's prelude defines the math functions bd_<fn>_f32 / bd_<fn>_f64 (core/mathlib.h). */
#ifndef BD_IR_IMPL_H
#define BD_IR_IMPL_H

#include "bdyn/ir.h"

#define BD_IR_MAX_BUFFERS 16
#define BD_IR_MAX_SCALARS 16

typedef enum bd_dialect { BD_DIALECT_C, BD_DIALECT_OPENCL, BD_DIALECT_GLSL } bd_dialect;

typedef enum bd_ir_node_kind {
    BD_N_INDEX, BD_N_CONST, BD_N_PARAM, BD_N_LOAD, BD_N_UNARY, BD_N_BINARY,
    BD_N_SELECT, BD_N_CLAMP, BD_N_CAST, BD_N_LOCAL,
    BD_N_RNG /* op: bd_rng_dist, slot: which, a b c more[0]: counter, more[1] more[2]: key */
} bd_ir_node_kind;

typedef struct bd_ir_node {
    bd_ir_node_kind kind;
    bd_dtype type;
    bd_ir_op op;     /* UNARY, BINARY */
    int slot;        /* PARAM: scalar slot; LOAD: buffer slot; LOCAL: local id */
    int32_t a, b, c; /* operand nodes (LOAD: a = index) */
    double value;    /* CONST */
    int scope;       /* innermost block whose locals this expression uses (0 = kernel body) */
    int32_t more[3]; /* further operands (RNG) */
} bd_ir_node;

typedef enum bd_ir_stmt_kind {
    BD_S_LET, BD_S_ASSIGN, BD_S_STORE, BD_S_IF, BD_S_ELSE, BD_S_END,
    BD_S_FOR,      /* local: the counter, value: the count */
    BD_S_END_LOOP, /* closes a BD_S_FOR */
    BD_S_BREAK
} bd_ir_stmt_kind;

typedef struct bd_ir_stmt {
    bd_ir_stmt_kind kind;
    int local;     /* LET, ASSIGN: local id */
    int slot;      /* STORE: buffer slot */
    int32_t index; /* STORE: index node */
    int32_t value; /* LET, ASSIGN, STORE: value node; IF: condition */
} bd_ir_stmt;

struct bd_ir {
    char name[49];
    bd_status error;
    int nbuffers, nscalars;
    bd_dtype buffer_type[BD_IR_MAX_BUFFERS];
    int buffer_writable[BD_IR_MAX_BUFFERS];
    int buffer_by_i[BD_IR_MAX_BUFFERS]; /* accessed at index i itself: launch checks length >= n */
    bd_dtype scalar_type[BD_IR_MAX_SCALARS];
    bd_ir_node *nodes;
    int nnodes, cap_nodes;
    bd_ir_stmt *stmts;
    int nstmts, cap_stmts;
    struct bd_ir_local { bd_dtype type; int scope, mutable; } *locals; /* scope: the declaring block */
    int nlocals, cap_locals;
    int open[64]; /* stack of open block ids; open[0] = 0 is the body */
    int depth, nblocks;
    int else_seen[64];
    int is_loop[64];
    /* Value numbering: equal pure nodes are one node (open addressing over node ids, -1 = empty), and a
     * let of an expression already let-bound since the last assignment reuses that local. */
    int32_t *hash;
    int hash_cap;
    struct bd_ir_cse { int32_t expr, local; } *cse;
    int ncse, cap_cse;
};

bd_status bd_ir_copy(const bd_ir *k, bd_ir **out);
/* The complete kernel source in a dialect, malloc'd (NULL with BD_ERR_NOMEM set on failure). */
char *bd_ir_print(const bd_ir *k, bd_dialect d);
/* GLSL push-constant offsets of the scalars (bytes) and the block's total size. */
size_t bd_ir_push_offsets(const bd_ir *k, size_t offsets[BD_IR_MAX_SCALARS]);
/* 1 if the kernel uses f64 anywhere (buffers, scalars, constants or casts). */
int bd_ir_uses_f64(const bd_ir *k);

#endif
