/* The kernel IR: a typed, per-element program over an index i in [0, n), built in code and printed
 * by bdyn into C, OpenCL C or GLSL. Nothing a user writes is ever pasted into kernel source. */
#ifndef BDYN_IR_H
#define BDYN_IR_H

#include <stddef.h>
#include <stdint.h>
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bd_dtype { BD_F32, BD_F64, BD_I32, BD_U32, BD_BOOL } bd_dtype;

/* Size in bytes of one element (BD_BOOL: 4, it is stored as u32 when it has to be stored). */
BD_API size_t bd_dtype_size(bd_dtype t);
BD_API const char *bd_dtype_name(bd_dtype t);

/* One scalar argument of a launch. */
typedef union bd_value {
    float f32;
    double f64;
    int32_t i32;
    uint32_t u32;
} bd_value;

typedef enum bd_ir_op {
    /* unary */
    BD_IR_NEG, BD_IR_NOT, BD_IR_BNOT, BD_IR_ABS, BD_IR_SQRT, BD_IR_EXP, BD_IR_LOG, BD_IR_LOG1P,
    BD_IR_EXPM1, BD_IR_SIN, BD_IR_COS, BD_IR_TANH, BD_IR_FLOOR, BD_IR_CEIL,
    /* binary, operands of one type */
    BD_IR_ADD, BD_IR_SUB, BD_IR_MUL, BD_IR_DIV, BD_IR_MOD, /* MOD: integers only */
    BD_IR_MIN, BD_IR_MAX, BD_IR_POW,                       /* POW: floats only */
    BD_IR_LT, BD_IR_LE, BD_IR_GT, BD_IR_GE, BD_IR_EQ, BD_IR_NE, /* -> BD_BOOL */
    BD_IR_AND, BD_IR_OR,                                   /* bools */
    BD_IR_BAND, BD_IR_BOR, BD_IR_BXOR, BD_IR_SHL, BD_IR_SHR, /* integers */
    BD_IR_OP_COUNT
} bd_ir_op;

typedef struct bd_ir bd_ir;
/* An expression handle. Negative means the builder already failed; such handles may be passed on
 * and the first error is reported by bd_ir_status and by compilation. */
typedef int32_t bd_ir_val;

/* name: an identifier [A-Za-z_][A-Za-z0-9_]{0,47}, used only for messages and caches. */
BD_API bd_status bd_ir_new(const char *name, bd_ir **out);
BD_API void bd_ir_free(bd_ir *k);
/* The first error met while building (BD_OK if none); the message is in bd_last_error(). */
BD_API bd_status bd_ir_status(const bd_ir *k);

/* Parameters, in launch order: buffers are passed as an array of bd_buffer*, scalars as bd_value[]. */
BD_API int bd_ir_buffer(bd_ir *k, bd_dtype t, int writable); /* returns buffer slot, or -1 */
BD_API int bd_ir_scalar(bd_ir *k, bd_dtype t);               /* returns scalar slot, or -1 */

/* Expressions. Operands of binary ops, select and clamp must have one type; use bd_ir_cast. */
BD_API bd_ir_val bd_ir_index(bd_ir *k); /* the element index i, u32 */
BD_API bd_ir_val bd_ir_const(bd_ir *k, bd_dtype t, double v);
BD_API bd_ir_val bd_ir_param(bd_ir *k, int scalar_slot);
BD_API bd_ir_val bd_ir_load(bd_ir *k, int buffer_slot, bd_ir_val index);
BD_API bd_ir_val bd_ir_unary(bd_ir *k, bd_ir_op op, bd_ir_val a);
BD_API bd_ir_val bd_ir_binary(bd_ir *k, bd_ir_op op, bd_ir_val a, bd_ir_val b);
BD_API bd_ir_val bd_ir_select(bd_ir *k, bd_ir_val cond, bd_ir_val if_true, bd_ir_val if_false);
BD_API bd_ir_val bd_ir_clamp(bd_ir *k, bd_ir_val x, bd_ir_val lo, bd_ir_val hi);
BD_API bd_ir_val bd_ir_cast(bd_ir *k, bd_dtype t, bd_ir_val a);
BD_API bd_dtype bd_ir_type(const bd_ir *k, bd_ir_val v);

/* Statements, appended to the innermost open block. */
/* Evaluates e once into a local constant and returns a handle to it (it cannot be assigned). */
BD_API bd_ir_val bd_ir_let(bd_ir *k, bd_ir_val e);
/* Declares a mutable local initialised to e; bd_ir_assign changes it later (e.g. in a branch). */
BD_API bd_ir_val bd_ir_var(bd_ir *k, bd_ir_val e);
BD_API bd_status bd_ir_assign(bd_ir *k, bd_ir_val var, bd_ir_val e);
BD_API bd_status bd_ir_store(bd_ir *k, int buffer_slot, bd_ir_val index, bd_ir_val v);
/* if (cond) { ... } [else { ... }]: statements go into the branch until bd_ir_else / bd_ir_end. */
BD_API bd_status bd_ir_if(bd_ir *k, bd_ir_val cond);
BD_API bd_status bd_ir_else(bd_ir *k);
BD_API bd_status bd_ir_end(bd_ir *k);
/* for (j = 0; j < count; j++) { ... }: count is u32, evaluated once; returns the u32 loop counter j,
 * visible inside the loop; statements go into the loop until bd_ir_end. Keep the iteration count of
 * one invocation below 65,535: llvmpipe (Mesa's Vulkan on CPUs) stops longer loops. */
BD_API bd_ir_val bd_ir_for(bd_ir *k, bd_ir_val count);
/* Leaves the innermost bd_ir_for loop (may sit inside if/else blocks of that loop). */
BD_API bd_status bd_ir_break(bd_ir *k);
/* A random number from Philox4x32-10 (docs/rng.md) with counter (c[0], c[1], c[2], c[3]) and key
 * (key[0], key[1]), all u32: dist BD_RNG_UNIFORM in [0, 1) or BD_RNG_NORMAL, of type t (f32 or f64).
 * which (a constant) picks the number from the block: f32 uniform: word which (0..3); f32 normal:
 * bd_normal_f32(block, which) (0..3); f64 uniform: words (x, y) for 0, (z, w) for 1; f64 normal:
 * bd_normal_f64(block, which) (0..1). The same bits as bd_rng_fill on every device. */
BD_API bd_ir_val bd_ir_rng(bd_ir *k, int dist, bd_dtype t, const bd_ir_val c[4], const bd_ir_val key[2],
                           unsigned which);

/* Compiled kernels. Compilation is cached on disk by content (source, flags, device and driver). */
typedef struct bd_kernel bd_kernel;
BD_API bd_status bd_kernel_compile(bd_device *dev, const bd_ir *k, bd_kernel **out);
BD_API void bd_kernel_free(bd_kernel *kern);
/* Queues one launch over i in [0, n). A buffer that the kernel indexes by i itself must hold at least n
 * elements (checked here); loads and stores at any other index are bounds-checked in the kernel
 * (an out-of-range load gives 0, an out-of-range store is dropped). */
BD_API bd_status bd_kernel_launch(bd_kernel *kern, size_t n, bd_buffer *const *buffers, size_t nbuffers,
                                  const bd_value *scalars, size_t nscalars);

#ifdef __cplusplus
}
#endif
#endif
