/* IR kernels on OpenCL: print the IR as OpenCL C, build it (binary-cached), launch it with the
 * argument order of the printed entry point (core/ir_impl.h). */
#include "cl_internal.h"
#include "error.h"

#include <stdlib.h>

struct cl_ir_kernel {
    cl_program program;
    cl_kernel kernel;
    size_t local;
};

bd_status bd_cl_kernel_compile(bd_device *dev, bd_kernel *kern)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    char *src = bd_ir_print(kern->ir, BD_DIALECT_OPENCL);
    if (!src) return BD_ERR_NOMEM; /* the printer set the message */
    struct cl_ir_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        free(src);
        return bd_fail(BD_ERR_NOMEM, "%s: out of host memory", d->name);
    }
    bd_status s = bd_cl_program_build(d, kern->ir->name, src, d->options, &k->program);
    free(src);
    if (s != BD_OK) {
        free(k);
        return s;
    }
    cl_int err;
    k->kernel = bd_cl.clCreateKernel(k->program, "bd_kernel", &err);
    if (!k->kernel) {
        s = bd_cl_fail(d, err, "clCreateKernel(bd_kernel)");
        bd_cl.clReleaseProgram(k->program);
        free(k);
        return s;
    }
    k->local = bd_cl_local_size(d, k->kernel);
    kern->ctx = k;
    return BD_OK;
}

void bd_cl_kernel_free(bd_device *dev, bd_kernel *kern)
{
    (void)dev;
    struct cl_ir_kernel *k = kern->ctx;
    if (!k) return;
    bd_cl.clReleaseKernel(k->kernel);
    bd_cl.clReleaseProgram(k->program);
    free(k);
    kern->ctx = NULL;
}

bd_status bd_cl_kernel_launch(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                              const bd_value *scalars)
{
    struct bd_cl_device *d = bd_cl_dev(dev);
    struct cl_ir_kernel *k = kern->ctx;
    const bd_ir *ir = kern->ir;
    if (n == 0) return BD_OK;
    struct bd_cl_args a = {k->kernel, 0, CL_SUCCESS, 0};
    for (int i = 0; i < ir->nbuffers; i++) {
        cl_mem m = bd_cl_mem(bufs[i]);
        bd_cl_arg(&a, sizeof m, &m);
    }
    for (int i = 0; i < ir->nbuffers; i++) {
        /* The kernel bounds-checks indexed accesses against these lengths. */
        size_t len = bufs[i]->size / bd_dtype_size(ir->buffer_type[i]);
        cl_uint l = len > UINT32_MAX ? UINT32_MAX : (cl_uint)len;
        bd_cl_arg(&a, sizeof l, &l);
    }
    for (int i = 0; i < ir->nscalars; i++) {
        if (ir->scalar_type[i] == BD_F64) bd_cl_arg(&a, sizeof(cl_double), &scalars[i].f64);
        else if (ir->scalar_type[i] == BD_F32) bd_cl_arg(&a, sizeof(cl_float), &scalars[i].f32);
        else bd_cl_arg(&a, sizeof(cl_uint), &scalars[i].u32); /* i32, u32 and bool are 4-byte integers */
    }
    cl_uint nn = (cl_uint)n;
    bd_cl_arg(&a, sizeof nn, &nn);
    return bd_cl_launch(d, &a, ir->name, n, k->local);
}
