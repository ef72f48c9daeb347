/* The OpenCL C 1.2 dialect of core/mathlib.inc. Defining BD_ENABLE_F64 before this header enables
 * cl_khr_fp64 and the double-precision half of the library. */
#ifndef BD_MATHLIB_CL_H
#define BD_MATHLIB_CL_H

#pragma OPENCL FP_CONTRACT OFF
#ifdef BD_ENABLE_F64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* static: a plain C99 `inline` function without an external definition may fail to link. */
#define BD_FN static inline
#define BD_PRECISE

#define BD_UINT uint
#define BD_U32X4 uint4
#define BD_MAKE_U32X4(a, b, c, d) ((uint4)((a), (b), (c), (d)))

#define BD_F32(x) ((float)(x))
#define BD_F64(x) ((double)(x))
#define BD_I32(x) ((int)(x))
#define BD_U32C(x) ((uint)(x))

#define BD_AS_U32(f) as_uint(f)
#define BD_AS_F32(u) as_float(u)
#define BD_F64_HI(d) ((uint)(as_ulong(d) >> 32))
#define BD_F64_LO(d) ((uint)as_ulong(d))
#define BD_F64_BITS(hi, lo) as_double(((ulong)(hi) << 32) | (ulong)(lo))

#define BD_SQRT_F32(x) sqrt(x)
#define BD_FLOOR_F32(x) floor(x)
#define BD_SQRT_F64(x) sqrt(x)
#define BD_FLOOR_F64(x) floor(x)

#define BD_NATIVE_POW_F32(x, y) pow((x), (y))
#define BD_NATIVE_F64 1

#define bd_mulhi_u32(a, b) mul_hi((uint)(a), (uint)(b))

#define BD_DIV_F32(a, b) ((a) / (b))

#endif
