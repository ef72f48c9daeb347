/* The CSR matrix of the sparse shaders: bindings 0-2 and the push constants they share. Entry j of
 * a row is skipped when its column is out of range; rows end at nnz at the latest. Values may be
 * absent (has_values = 0), and every stored entry then weighs `weight`. */
layout(std430, binding = 0) readonly buffer RowPtr { uint rowptr[]; };
layout(std430, binding = 1) readonly buffer ColIdx { uint colidx[]; };
layout(std430, binding = 2) readonly buffer Values { T values[]; };
layout(push_constant) uniform Pc {
    layout(offset = 0) uint base;
    layout(offset = 4) uint rows;
    layout(offset = 8) uint cols;
    layout(offset = 12) uint nnz;
    layout(offset = 16) uint has_values;
    layout(offset = 24) T weight;
} pc;

/* [begin, end) of the stored entries of row r. */
uvec2 bd_row(uint r)
{
    const uint end = min(rowptr[r + 1u], pc.nnz);
    return uvec2(min(rowptr[r], end), end);
}

T bd_value(uint j)
{
    return pc.has_values == 1u ? values[j] : pc.weight;
}
