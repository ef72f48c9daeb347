/* The GLSL 450 dialect of core/mathlib.inc. GLSL has no double-precision transcendentals, no
 * log1p/expm1 and an imprecise pow, so the library's own versions stand in for them here. */
#ifndef BD_MATHLIB_GLSL_H
#define BD_MATHLIB_GLSL_H

#define BD_FN
/* precise forbids fusing a*b+c into an fma and reassociation, which real GPU compilers do. */
#define BD_PRECISE precise

#define BD_UINT uint
#define BD_U32X4 uvec4
#define BD_MAKE_U32X4(a, b, c, d) uvec4((a), (b), (c), (d))

#define BD_F32(x) float(x)
#define BD_F64(x) double(x)
#define BD_I32(x) int(x)
#define BD_U32C(x) uint(x)

#define BD_AS_U32(f) floatBitsToUint(f)
#define BD_AS_F32(u) uintBitsToFloat(u)
#define BD_F64_HI(d) (unpackDouble2x32(d).y)
#define BD_F64_LO(d) (unpackDouble2x32(d).x)
/* GLSL double literals need an lf suffix that C lacks, so f64 constants are spelled as bits. */
#define BD_F64_BITS(hi, lo) packDouble2x32(uvec2((lo), (hi)))

#define BD_SQRT_F32(x) sqrt(x)
#define BD_FLOOR_F32(x) floor(x)
#define BD_SQRT_F64(x) sqrt(x)
#define BD_FLOOR_F64(x) floor(x)

uint bd_mulhi_u32(uint a, uint b)
{
    uint hi, lo;
    umulExtended(a, b, hi, lo);
    return hi;
}

#endif
