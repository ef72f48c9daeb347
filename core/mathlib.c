/* The C build of core/mathlib.inc, compiled into the library as real functions (core/mathlib.h), and
 * the prelude text of every dialect (dialect header + mathlib.inc, embedded at build time). */
#define BD_FN
#define BD_ENABLE_F64 1
#include "mathlib_c.h"
#include "mathlib.h"
#include "mathlib.inc"

/* The texts are longer than the 4095 characters ISO C guarantees; gcc and clang take any length. */
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "mathlib_src_c.h"
#include "mathlib_src_cl.h"
#include "mathlib_src_glsl.h"

const char *bd_mathlib_source(bd_dialect d)
{
    switch (d) {
    case BD_DIALECT_C: return bd_mathlib_src_c;
    case BD_DIALECT_OPENCL: return bd_mathlib_src_cl;
    case BD_DIALECT_GLSL: return bd_mathlib_src_glsl;
    }
    return "";
}
