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

#define BD_SQRT_F32(x) bd_sqrt_f32(x)
#define BD_FLOOR_F32(x) floor(x)
#define BD_SQRT_F64(x) sqrt(x)
#define BD_FLOOR_F64(x) floor(x)

/* The rounding error of the product x y: x y = p + e exactly (Dekker: Veltkamp halves of 12 bits, whose
 * products are exact), with plain multiplies and adds only, because a precise fma is not fused everywhere
 * (lavapipe splits it) and its residuals would not be exact. */
float bd_prod_err_f32(float x, float y, float p)
{
    precise float cx = 4097.0 * x, cy = 4097.0 * y;
    precise float xh = cx - (cx - x), yh = cy - (cy - y);
    precise float xl = x - xh, yl = y - yh;
    precise float e = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
    return e;
}

/* a / b rounded as IEEE 754 rounds it. GLSL lets a float division be 2.5 ulp off (NVIDIA's is, measured
 * on an H100), and bit-identical results need the correctly rounded quotient: the hardware's quotient q is
 * corrected by the exact residual a - q b (which q b = p + e gives, and a - p is exact for q near a/b)
 * divided by b, the correction rounding q to the IEEE quotient (Markstein). A host replay of this scheme
 * with quotients and roots up to 2 ulp off gave the IEEE result in all but 1 (division) and 5 (sqrt) of
 * 2e7 random cases. Zeros, infinities, NaNs and magnitudes where the halves could overflow keep the
 * hardware's answer. */
float bd_div_f32(float a, float b)
{
    precise float q = a / b;
    precise float p = q * b;
    precise float r = (a - p) - bd_prod_err_f32(q, b, p);
    precise float q1 = q + r / b;
    bool plain = isinf(q) || isnan(q) || q == 0.0 || abs(q) > 1e30 || abs(b) > 1e30 || abs(a) > 1e30;
    return plain ? q : q1;
}
#define BD_DIV_F32(a, b) bd_div_f32((a), (b))

/* sqrt(x) rounded as IEEE 754 rounds it (GLSL's may be off by ulps): the hardware root s is corrected by
 * the exact residual x - s^2 over 2s. Zero, infinity, negatives, NaN and huge values keep the hardware's
 * answer. */
float bd_sqrt_f32(float x)
{
    precise float s = sqrt(x);
    precise float p = s * s;
    precise float r = (x - p) - bd_prod_err_f32(s, s, p);
    precise float s1 = s + r / (2.0 * s);
    return (s == 0.0 || isinf(s) || isnan(s) || s > 1e15) ? s : s1;
}

/* Signed division and remainder: GLSL leaves them undefined for negative operands (NVIDIA's differ from
 * C's), so they go through the magnitudes: the quotient truncates toward zero, the remainder takes the
 * dividend's sign, as in C. The callers have excluded b == 0 and INT_MIN / -1. */
int bd_sdiv_i32(int a, int b)
{
    uint ua = a < 0 ? uint(-(a + 1)) + 1u : uint(a), ub = b < 0 ? uint(-(b + 1)) + 1u : uint(b);
    uint q = ua / ub;
    return (a < 0) != (b < 0) ? -int(q) : int(q);
}

uint bd_mulhi_u32(uint a, uint b)
{
    uint hi, lo;
    umulExtended(a, b, hi, lo);
    return hi;
}

#endif
