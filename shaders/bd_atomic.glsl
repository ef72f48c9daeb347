/* Atomic accumulation into the buffer `acc` at binding BD_ACC_BINDING, in one of three forms:
 * BD_ATOMIC_NATIVE: atomicAdd on float (GL_EXT_shader_atomic_float, used where the device has
 * shaderBufferFloat32AtomicAdd); otherwise a compare-and-swap loop on the value's bits, over uint
 * for float and over uint64_t for double (needs shaderBufferInt64Atomics). The order of additions
 * is whatever the scheduling makes it. Include after bd_common.glsl and before any declaration,
 * as it enables extensions. */
#if defined(BD_DOUBLE)
#extension GL_ARB_gpu_shader_int64 : require
#extension GL_EXT_shader_atomic_int64 : require
#define BD_ACC_WORD uint64_t
#define BD_TO_BITS doubleBitsToUint64
#define BD_FROM_BITS uint64BitsToDouble
#elif defined(BD_ATOMIC_NATIVE)
#extension GL_EXT_shader_atomic_float : require
#define BD_ACC_WORD float
#else
#define BD_ACC_WORD uint
#define BD_TO_BITS floatBitsToUint
#define BD_FROM_BITS uintBitsToFloat
#endif

layout(std430, binding = BD_ACC_BINDING) buffer BdAcc { BD_ACC_WORD acc[]; };

void bd_atomic_add(uint i, T v)
{
#if defined(BD_ATOMIC_NATIVE) && !defined(BD_DOUBLE)
    atomicAdd(acc[i], v);
#else
    BD_ACC_WORD seen = acc[i];
    for (;;) {
        precise T sum = BD_FROM_BITS(seen) + v;
        BD_ACC_WORD before = atomicCompSwap(acc[i], seen, BD_TO_BITS(sum));
        if (before == seen) break;
        seen = before;
    }
#endif
}
