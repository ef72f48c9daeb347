/* Shared by the fixed-operator shaders: the element type T (-DBD_DOUBLE selects double) and the
 * special values that the operators' empty cases return. Every shader starts with this file. */
#ifdef BD_DOUBLE
#define T double
#define BD_INF packDouble2x32(uvec2(0u, 0x7ff00000u))
#define BD_NAN packDouble2x32(uvec2(0u, 0x7ff80000u))
#else
#define T float
#define BD_INF uintBitsToFloat(0x7f800000u)
#define BD_NAN uintBitsToFloat(0x7fc00000u)
#endif

/* Reduction kinds, numbered as bd_reduce_kind. */
#define BD_SUM 0u
#define BD_MIN 1u
#define BD_MAX 2u
#define BD_MEAN 3u

/* Runs STEP(i) for i = first, first + stride, ... below end, in that order, four per loop iteration.
 * llvmpipe (lavapipe) silently ends an invocation after 65535 loop iterations in all (Mesa's
 * LP_MAX_TGSI_LOOP_ITERATIONS); unrolling stretches that budget fourfold. end must stay below
 * 2^32 - 4 * stride. */
#define BD_FOR4(first, end, stride, STEP)                                                               \
    {                                                                                                   \
        uint bd_i = (first);                                                                            \
        for (; bd_i < (end) && (end) - bd_i > 3u * (stride); bd_i += 4u * (stride)) {                  \
            STEP(bd_i);                                                                                 \
            STEP(bd_i + (stride));                                                                      \
            STEP(bd_i + 2u * (stride));                                                                 \
            STEP(bd_i + 3u * (stride));                                                                 \
        }                                                                                               \
        for (; bd_i < (end); bd_i += (stride)) STEP(bd_i);                                              \
    }
