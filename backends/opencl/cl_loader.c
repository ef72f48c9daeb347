/* Run-time loading of the OpenCL ICD loader and the names of OpenCL error codes. */
#include "cl_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

struct bd_cl_api bd_cl;

static void *cl_handle;
static char load_why[512];

bd_status bd_cl_load(const char **why)
{
    if (cl_handle) return BD_OK;
    const char *lib = getenv("BDYN_OPENCL_LIBRARY");
    if (!lib || !*lib) lib = "libOpenCL.so.1";
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_why, sizeof load_why, "opencl: cannot load %s (%s)", lib, dlerror());
        *why = load_why;
        return BD_ERR_BACKEND_MISSING;
    }
    /* dlsym returns void *; converting it to a function pointer is what POSIX requires to work. */
#define BD_CL_RESOLVE(name)                                                                             \
    *(void **)&bd_cl.name = dlsym(h, #name);                                                            \
    if (!bd_cl.name) {                                                                                  \
        snprintf(load_why, sizeof load_why, "opencl: %s lacks %s (an OpenCL 1.2 loader is needed)", lib, \
                 #name);                                                                                \
        dlclose(h);                                                                                     \
        *why = load_why;                                                                                \
        return BD_ERR_BACKEND_MISSING;                                                                  \
    }
    BD_CL_FUNCTIONS(BD_CL_RESOLVE)
#undef BD_CL_RESOLVE
    cl_handle = h;
    return BD_OK;
}

const char *bd_cl_error_name(cl_int err)
{
    switch (err) {
#define N(code) case code: return #code;
        N(CL_SUCCESS) N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE) N(CL_COMPILER_NOT_AVAILABLE)
        N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES) N(CL_OUT_OF_HOST_MEMORY)
        N(CL_PROFILING_INFO_NOT_AVAILABLE) N(CL_MEM_COPY_OVERLAP) N(CL_IMAGE_FORMAT_MISMATCH)
        N(CL_IMAGE_FORMAT_NOT_SUPPORTED) N(CL_BUILD_PROGRAM_FAILURE) N(CL_MAP_FAILURE)
        N(CL_MISALIGNED_SUB_BUFFER_OFFSET) N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        N(CL_COMPILE_PROGRAM_FAILURE) N(CL_LINKER_NOT_AVAILABLE) N(CL_LINK_PROGRAM_FAILURE)
        N(CL_DEVICE_PARTITION_FAILED) N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) N(CL_INVALID_VALUE)
        N(CL_INVALID_DEVICE_TYPE) N(CL_INVALID_PLATFORM) N(CL_INVALID_DEVICE) N(CL_INVALID_CONTEXT)
        N(CL_INVALID_QUEUE_PROPERTIES) N(CL_INVALID_COMMAND_QUEUE) N(CL_INVALID_HOST_PTR)
        N(CL_INVALID_MEM_OBJECT) N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) N(CL_INVALID_IMAGE_SIZE)
        N(CL_INVALID_SAMPLER) N(CL_INVALID_BINARY) N(CL_INVALID_BUILD_OPTIONS) N(CL_INVALID_PROGRAM)
        N(CL_INVALID_PROGRAM_EXECUTABLE) N(CL_INVALID_KERNEL_NAME) N(CL_INVALID_KERNEL_DEFINITION)
        N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX) N(CL_INVALID_ARG_VALUE) N(CL_INVALID_ARG_SIZE)
        N(CL_INVALID_KERNEL_ARGS) N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE)
        N(CL_INVALID_WORK_ITEM_SIZE) N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST)
        N(CL_INVALID_EVENT) N(CL_INVALID_OPERATION) N(CL_INVALID_GL_OBJECT) N(CL_INVALID_BUFFER_SIZE)
        N(CL_INVALID_MIP_LEVEL) N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PROPERTY)
        N(CL_INVALID_IMAGE_DESCRIPTOR) N(CL_INVALID_COMPILER_OPTIONS) N(CL_INVALID_LINKER_OPTIONS)
        N(CL_INVALID_DEVICE_PARTITION_COUNT) N(CL_PLATFORM_NOT_FOUND_KHR)
#undef N
    }
    static _Thread_local char other[32];
    snprintf(other, sizeof other, "CL error %d", (int)err);
    return other;
}
