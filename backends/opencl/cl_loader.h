/* The OpenCL entry points bdyn uses, resolved at run time from the ICD loader (libOpenCL.so.1),
 * so that the library links and runs on machines without OpenCL. */
#ifndef BD_CL_LOADER_H
#define BD_CL_LOADER_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl_icd.h>

#include "bdyn/status.h"

/* X(name): every OpenCL 1.2 call the backend makes. The pointer types come from cl_icd.h. */
#define BD_CL_FUNCTIONS(X)                                                                              \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo) X(clCreateContext)   \
    X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue) X(clCreateBuffer)              \
    X(clReleaseMemObject) X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueFillBuffer)         \
    X(clEnqueueCopyBuffer) X(clFinish) X(clFlush) X(clCreateProgramWithSource)                          \
    X(clCreateProgramWithBinary) X(clBuildProgram) X(clGetProgramInfo) X(clGetProgramBuildInfo)         \
    X(clReleaseProgram) X(clCreateKernel) X(clReleaseKernel) X(clSetKernelArg)                          \
    X(clGetKernelWorkGroupInfo) X(clEnqueueNDRangeKernel)

struct bd_cl_api {
#define BD_CL_MEMBER(name) cl_api_##name name;
    BD_CL_FUNCTIONS(BD_CL_MEMBER)
#undef BD_CL_MEMBER
};

/* The resolved table; valid after bd_cl_load() succeeded. */
extern struct bd_cl_api bd_cl;

/* Opens the ICD loader once ($BDYN_OPENCL_LIBRARY overrides the name). On failure returns
 * BD_ERR_BACKEND_MISSING and *why says what went wrong (a static string). Not thread-safe: called
 * from the backend's probe, which the core runs once. */
bd_status bd_cl_load(const char **why);

/* The CL_* constant name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), or "CL error <n>". */
const char *bd_cl_error_name(cl_int err);

#endif
