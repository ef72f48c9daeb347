/* Shared by every fixed-operator program, after the mathlib prelude. The host defines T (float or
 * double) and, for double, BD_ENABLE_F64. */
#pragma OPENCL FP_CONTRACT OFF

/* The 8-wide vector of T. */
#ifdef BD_ENABLE_F64
#define BD_T8 double8
#else
#define BD_T8 float8
#endif

/* Float atomic add by compare-and-swap on the bits: OpenCL 1.2 has no float atomics. The f64 form
 * needs 64-bit atomics; without them BD_HAVE_ATOMIC_ADD stays undefined and the host never asks for
 * the kernels that need it. */
#ifdef BD_ENABLE_F64
#ifdef cl_khr_int64_base_atomics
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#define BD_HAVE_ATOMIC_ADD 1
void bd_atomic_add(volatile __global double *p, double v)
{
    volatile __global ulong *u = (volatile __global ulong *)p;
    ulong old = *u, seen;
    while ((seen = atom_cmpxchg(u, old, as_ulong(as_double(old) + v))) != old) old = seen;
}
#endif
#else
#define BD_HAVE_ATOMIC_ADD 1
void bd_atomic_add(volatile __global float *p, float v)
{
    volatile __global uint *u = (volatile __global uint *)p;
    uint old = *u, seen;
    while ((seen = atomic_cmpxchg(u, old, as_uint(as_float(old) + v))) != old) old = seen;
}
#endif
