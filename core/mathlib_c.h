/* The C dialect of core/mathlib.inc: types, casts, bit reinterpretation and native functions.
 * Included before mathlib.inc by generated CPU kernels (BD_FN static inline) and by core/mathlib.c
 * (BD_FN defined empty first, so that the library gets real functions). */
#ifndef BD_MATHLIB_C_H
#define BD_MATHLIB_C_H

#include <math.h>
#include <stdint.h>

#ifndef BD_FN
#define BD_FN static inline
#endif
#define BD_PRECISE

#define BD_UINT uint32_t
typedef struct bd_u32x4 {
    uint32_t x, y, z, w;
} bd_u32x4;
#define BD_U32X4 bd_u32x4
#define BD_MAKE_U32X4(a, b, c, d) ((bd_u32x4){(a), (b), (c), (d)})

#define BD_F32(x) ((float)(x))
#define BD_F64(x) ((double)(x))
#define BD_I32(x) ((int32_t)(x))
#define BD_U32C(x) ((uint32_t)(x))

/* Unions, not pointer casts: type punning through a union is defined in C11. */
static inline uint32_t bd_c_f32_bits(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}
static inline float bd_c_f32_from_bits(uint32_t u)
{
    union { float f; uint32_t u; } v;
    v.u = u;
    return v.f;
}
static inline uint64_t bd_c_f64_bits(double d)
{
    union { double d; uint64_t u; } v;
    v.d = d;
    return v.u;
}
static inline double bd_c_f64_from_bits(uint32_t hi, uint32_t lo)
{
    union { double d; uint64_t u; } v;
    v.u = (uint64_t)hi << 32 | lo;
    return v.d;
}
#define BD_AS_U32(f) bd_c_f32_bits(f)
#define BD_AS_F32(u) bd_c_f32_from_bits(u)
#define BD_F64_HI(d) ((uint32_t)(bd_c_f64_bits(d) >> 32))
#define BD_F64_LO(d) ((uint32_t)bd_c_f64_bits(d))
#define BD_F64_BITS(hi, lo) bd_c_f64_from_bits((hi), (lo))

/* Operations that are exact (correctly rounded) in every dialect. */
#define BD_SQRT_F32(x) sqrtf(x)
#define BD_FLOOR_F32(x) floorf(x)
#define BD_SQRT_F64(x) sqrt(x)
#define BD_FLOOR_F64(x) floor(x)

/* Where the dialect has accurate native functions, the public names map to them (see mathlib.inc). */
#define BD_NATIVE_POW_F32(x, y) powf((x), (y))
#define BD_NATIVE_F64 1

static inline uint32_t bd_mulhi_u32(uint32_t a, uint32_t b)
{
    return (uint32_t)((uint64_t)a * b >> 32);
}

#define BD_DIV_F32(a, b) ((a) / (b))

#endif
