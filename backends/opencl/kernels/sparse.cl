/* CSR products and event-driven propagation. values may be NULL (has_values = 0): every stored entry
 * then weighs w. Column indices at or past cols are skipped, row ends are clamped to nnz and a
 * decreasing row-pointer pair is an empty row, so no index read from the matrix is followed out of
 * range. Every kernel takes the matrix as (rowptr, colidx, values, has_values, w, rows, cols, nnz). */

#define BD_CSR_ARGS                                                                                         \
    __global const uint *rowptr, __global const uint *colidx, __global const T *values, const uint has_values, \
        const T w, const uint rows, const uint cols, const uint nnz
#define BD_W(j) (has_values ? values[j] : w)

/* y = A x, one work-item per row, summed in stored order (deterministic). */
__kernel void csr_spmv(BD_CSR_ARGS, __global const T *x, __global T *y)
{
    const uint r = get_global_id(0);
    if (r >= rows) return;
    const uint end = min(rowptr[r + 1], nnz);
    T acc = (T)0;
    for (uint j = rowptr[r]; j < end; j++) {
        const uint c = colidx[j];
        if (c < cols) acc += BD_W(j) * x[c];
    }
    y[r] = acc;
}

/* A pull over the transposed matrix (rows = post, cols = pre): each post row adds the weights of its
 * spiking pre neurons in stored order to y, one by one. The order is the reference's (and a
 * sequential push's), so with contraction off every device gets the same bits. */
__kernel void event_csr_pull(BD_CSR_ARGS, __global const uint *spikes, __global T *y)
{
    const uint r = get_global_id(0);
    if (r >= rows) return;
    const uint end = min(rowptr[r + 1], nnz);
    T acc = y[r];
    for (uint j = rowptr[r]; j < end; j++) {
        const uint c = colidx[j];
        if (c < cols && spikes[c] != 0u) acc += BD_W(j);
    }
    y[r] = acc;
}

#ifdef BD_HAVE_ATOMIC_ADD
/* y += A^T x (y zeroed by the host first), one work-item per row of A scattering with atomics. */
__kernel void csr_spmv_t(BD_CSR_ARGS, __global const T *x, __global T *y)
{
    const uint r = get_global_id(0);
    if (r >= rows) return;
    const uint end = min(rowptr[r + 1], nnz);
    const T xr = x[r];
    for (uint j = rowptr[r]; j < end; j++) {
        const uint c = colidx[j];
        if (c < cols) bd_atomic_add(&y[c], BD_W(j) * xr);
    }
}

/* Push: each spiking pre row (rows = pre) adds its weights to its post targets. */
__kernel void event_csr(BD_CSR_ARGS, __global const uint *spikes, __global T *y)
{
    const uint r = get_global_id(0);
    if (r >= rows || spikes[r] == 0u) return;
    const uint end = min(rowptr[r + 1], nnz);
    for (uint j = rowptr[r]; j < end; j++) {
        const uint c = colidx[j];
        if (c < cols) bd_atomic_add(&y[c], BD_W(j));
    }
}
#endif
