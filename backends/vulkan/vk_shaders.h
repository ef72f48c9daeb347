/* The fixed-operator shaders, compiled from the shaders/ directory by glslc at build time and
 * embedded as SPIR-V words. One entry per shader x variant; the names match shaders/meson.build. Atomic
 * variants: _native uses GL_EXT_shader_atomic_float, _cas a compare-and-swap loop. */
#ifndef BD_VK_SHADERS_H
#define BD_VK_SHADERS_H

#include <stddef.h>
#include <stdint.h>

#define BD_VK_SHADERS(X)                                                                              \
    X(reduce_f32) X(reduce_f64) X(reduce_segments_f32) X(reduce_segments_f64) X(gather_32) X(gather_64) \
    X(scatter_add_f32_native) X(scatter_add_f32_cas) X(scatter_add_f64_cas)                           \
    X(csr_spmv_f32) X(csr_spmv_f64)                                                                   \
    X(csr_spmv_t_f32_native) X(csr_spmv_t_f32_cas) X(csr_spmv_t_f64_cas)                              \
    X(event_csr_f32_native) X(event_csr_f32_cas) X(event_csr_f64_cas)                                 \
    X(event_csr_pull_f32) X(event_csr_pull_f64) X(spike_compact)                                      \
    X(gemv_f32) X(gemv_f64) X(gemv_t_f32) X(gemv_t_f64) X(gemm_f32) X(gemm_f64)                       \
    X(rng_u32) X(rng_f32) X(rng_f64)                                                                  \
    X(event_procedural_f32_native) X(event_procedural_f32_cas) X(event_procedural_f64_cas)

typedef enum bd_vk_shader {
#define BD_VK_SHADER_ENUM(name) BD_VK_SH_##name,
    BD_VK_SHADERS(BD_VK_SHADER_ENUM)
#undef BD_VK_SHADER_ENUM
    BD_VK_SHADER_COUNT
} bd_vk_shader;

typedef struct bd_vk_spirv {
    const char *name;
    const uint32_t *words;
    size_t bytes;
} bd_vk_spirv;

extern const bd_vk_spirv bd_vk_shaders[BD_VK_SHADER_COUNT];

#endif
