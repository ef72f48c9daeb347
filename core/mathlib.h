/* bdyn's own math library, written once and used in every dialect.
 *
 * One source (core/mathlib.inc, a subset of C that the three dialects share, with macros for casts,
 * bit reinterpretation and literals) defines for T in {f32, f64}:
 *   bd_exp_T bd_log_T bd_log1p_T bd_expm1_T bd_pow_T bd_sin_T bd_cos_T bd_tanh_T
 * plus bd_philox4x32_10 (counter-based RNG) and the uniform/normal conversions of docs/rng.md.
 * bd_exp_f32 and bd_log_f32 are our own branch-free implementations in every dialect (fast on the
 * CPU, where gcc cannot vectorise libm without fast-math, and bit-identical across devices);
 * GLSL has no double transcendentals, so all f64 functions there are our own too.
 * The C build of the same source is compiled into the library (reference operators, host code). */
#ifndef BD_MATHLIB_H
#define BD_MATHLIB_H

#include <stdint.h>
#include "ir_impl.h"

/* The prelude text for a dialect: dialect macros followed by core/mathlib.inc. Printers put it at
 * the top of every generated kernel. */
const char *bd_mathlib_source(bd_dialect d);

float bd_exp_f32(float x);
float bd_log_f32(float x);
float bd_log1p_f32(float x);
float bd_expm1_f32(float x);
float bd_pow_f32(float x, float y);
float bd_sin_f32(float x);
float bd_cos_f32(float x);
float bd_tanh_f32(float x);
double bd_exp_f64(double x);
double bd_log_f64(double x);
double bd_log1p_f64(double x);
double bd_expm1_f64(double x);
double bd_pow_f64(double x, double y);
double bd_sin_f64(double x);
double bd_cos_f64(double x);
double bd_tanh_f64(double x);

#endif
