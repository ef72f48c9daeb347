/* IR kernels on Vulkan: the GLSL printed from the IR, compiled to SPIR-V at run time, and launched
 * with {bd_base, bd_n, scalars...} as push constants (the contract in core/ir_impl.h). */
#include "vk_internal.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* bd_base, bd_n and at most BD_IR_MAX_SCALARS scalars of up to 8 bytes, each aligned to its size. */
#define PUSH_MAX (8 + 8 * BD_IR_MAX_SCALARS)

typedef struct vk_kernel {
    bd_vk_pipe *pipe;
    uint32_t push_size;
    size_t offsets[BD_IR_MAX_SCALARS];
} vk_kernel;

bd_status bd_vk_kernel_compile(bd_device *dev, bd_kernel *kern)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    const bd_ir *ir = kern->ir;
    vk_kernel *k = calloc(1, sizeof *k);
    if (!k) return bd_fail(BD_ERR_NOMEM, "%s: out of memory", d->name);
    k->push_size = (uint32_t)((bd_ir_push_offsets(ir, k->offsets) + 3) & ~(size_t)3);

    char *src = bd_ir_print(ir, BD_DIALECT_GLSL);
    uint32_t *spv = NULL;
    size_t bytes = 0;
    bd_status st = src ? bd_vk_glsl_to_spirv(d, ir->name, src, &spv, &bytes) : BD_ERR_NOMEM;
    free(src);
    if (st == BD_OK) {
        char what[80];
        snprintf(what, sizeof what, "kernel '%s'", ir->name);
        st = bd_vk_pipe_create(d, what, spv, bytes, (uint32_t)ir->nbuffers, k->push_size, d->wg, &k->pipe);
    }
    free(spv);
    if (st != BD_OK) {
        free(k);
        return st;
    }
    kern->ctx = k;
    return BD_OK;
}

void bd_vk_kernel_free(bd_device *dev, bd_kernel *kern)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    vk_kernel *k = kern->ctx;
    if (!k) return;
    /* Batches that dispatch the pipeline must finish first; a failed wait (device lost) leaves
     * nothing running to protect. */
    bd_vk_wait(d, k->pipe->last_use);
    bd_vk_pipe_destroy(d, k->pipe);
    free(k);
    kern->ctx = NULL;
}

bd_status bd_vk_kernel_launch(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                              const bd_value *scalars)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    vk_kernel *k = kern->ctx;
    const bd_ir *ir = kern->ir;
    bd_vk_bind binds[BD_IR_MAX_BUFFERS];
    /* Bound at their exact size, so that the kernel's bounds checks (.length()) see the caller's
     * element count rather than the rounded-up allocation. */
    for (int s = 0; s < ir->nbuffers; s++) binds[s] = (bd_vk_bind){bd_vk_buffer(bufs[s]), bufs[s]->size};
    _Alignas(8) unsigned char push[PUSH_MAX];
    uint32_t count = (uint32_t)n;
    memcpy(push + 4, &count, sizeof count);
    for (int s = 0; s < ir->nscalars; s++) memcpy(push + k->offsets[s], &scalars[s], bd_dtype_size(ir->scalar_type[s]));
    return bd_vk_dispatch(d, k->pipe, binds, push, (n + d->wg - 1) / d->wg, 1, d->wg);
}
