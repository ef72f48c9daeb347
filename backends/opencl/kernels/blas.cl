/* y = beta y over n elements, for the products CLBlast rejects because an inner dimension is 0
 * (then op(A) op(B) is empty and only the beta term remains). beta = 0 writes zeros, as BLAS does. */
__kernel void scale(__global T *y, const ulong n, const T beta)
{
    const ulong i = get_global_id(0);
    if (i < n) y[i] = beta == (T)0 ? (T)0 : beta * y[i];
}
