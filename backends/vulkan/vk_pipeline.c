/* Compute pipelines from SPIR-V, and GLSL-to-SPIR-V compilation of generated kernels with libshaderc
 * behind the on-disk cache (keyed by the source, shaderc's version and the target environment). */
#include "vk_internal.h"
#include "cache.h"
#include "error.h"
#include "kernel.h"

#include <limits.h>
#include <pthread.h>
#include <shaderc/shaderc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static VkDescriptorSetLayout set_layout(bd_vk_dev *d, uint32_t nbind, VkResult *r)
{
    if (d->dsl[nbind]) return d->dsl[nbind];
    VkDescriptorSetLayoutBinding b[BD_IR_MAX_BUFFERS];
    for (uint32_t i = 0; i < nbind; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = nbind,
                                          .pBindings = b};
    *r = bd_vk.vkCreateDescriptorSetLayout(d->dev, &ci, NULL, &d->dsl[nbind]);
    return *r == VK_SUCCESS ? d->dsl[nbind] : VK_NULL_HANDLE;
}

bd_status bd_vk_pipe_create(bd_vk_dev *d, const char *what, const uint32_t *spv, size_t bytes, uint32_t nbind,
                            uint32_t push_size, uint32_t wg, bd_vk_pipe **out)
{
    *out = NULL;
    if (push_size > d->phys->props.limits.maxPushConstantsSize)
        return bd_fail(BD_ERR_LIMIT, "%s: %s needs %u bytes of push constants, above the limit of %u "
                       "(maxPushConstantsSize)", d->name, what, push_size, d->phys->props.limits.maxPushConstantsSize);
    bd_vk_pipe *p = calloc(1, sizeof *p);
    if (!p) return bd_fail(BD_ERR_NOMEM, "%s: out of memory", d->name);
    p->nbind = nbind;
    p->push_size = push_size;
    p->wg = wg;

    VkResult r = VK_SUCCESS;
    const char *call = "vkCreateDescriptorSetLayout";
    VkDescriptorSetLayout dsl = set_layout(d, nbind, &r);
    VkShaderModule module = VK_NULL_HANDLE;
    if (dsl) {
        VkPushConstantRange range = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = push_size};
        VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                          .setLayoutCount = 1,
                                          .pSetLayouts = &dsl,
                                          .pushConstantRangeCount = push_size ? 1 : 0,
                                          .pPushConstantRanges = &range};
        call = "vkCreatePipelineLayout";
        r = bd_vk.vkCreatePipelineLayout(d->dev, &lci, NULL, &p->layout);
    }
    if (r == VK_SUCCESS) {
        VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = bytes, .pCode = spv};
        call = "vkCreateShaderModule";
        r = bd_vk.vkCreateShaderModule(d->dev, &mci, NULL, &module);
    }
    if (r == VK_SUCCESS) {
        /* Specialisation constant 0 is the work-group size (local_size_x_id = 0); shaders with a
         * fixed size simply do not use it. */
        VkSpecializationMapEntry entry = {.constantID = 0, .offset = 0, .size = sizeof wg};
        VkSpecializationInfo spec = {.mapEntryCount = 1, .pMapEntries = &entry, .dataSize = sizeof wg, .pData = &wg};
        VkComputePipelineCreateInfo ci = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                      .module = module,
                      .pName = "main",
                      .pSpecializationInfo = &spec},
            .layout = p->layout};
        call = "vkCreateComputePipelines";
        r = bd_vk.vkCreateComputePipelines(d->dev, VK_NULL_HANDLE, 1, &ci, NULL, &p->pipe);
        bd_vk.vkDestroyShaderModule(d->dev, module, NULL);
    }
    if (r != VK_SUCCESS) {
        bd_vk_pipe_destroy(d, p);
        char where[128];
        snprintf(where, sizeof where, "%s for %s", call, what);
        return bd_vk_fail(d, where, r);
    }
    *out = p;
    return BD_OK;
}

void bd_vk_pipe_destroy(bd_vk_dev *d, bd_vk_pipe *p)
{
    if (!p) return;
    if (p->pipe) bd_vk.vkDestroyPipeline(d->dev, p->pipe, NULL);
    if (p->layout) bd_vk.vkDestroyPipelineLayout(d->dev, p->layout, NULL);
    free(p);
}

/* One compiler for the process: creating it initialises glslang (tens of milliseconds), and
 * shaderc_compile_into_spv may be called on it from several threads. */
static shaderc_compiler_t compiler;
static pthread_once_t compiler_once = PTHREAD_ONCE_INIT;
static void compiler_init(void) { compiler = shaderc_compiler_initialize(); }

static int valid_spirv(const void *data, size_t len)
{
    return len >= 20 && len % 4 == 0 && *(const uint32_t *)data == 0x07230203u;
}

static bd_status compile(bd_vk_dev *d, const char *name, const char *src, int vulkan12, uint32_t **words,
                         size_t *bytes)
{
    pthread_once(&compiler_once, compiler_init);
    if (!compiler) return bd_fail(BD_ERR_COMPILE, "%s: shaderc_compiler_initialize failed", d->name);
    shaderc_compile_options_t opts = shaderc_compile_options_initialize();
    if (!opts) return bd_fail(BD_ERR_NOMEM, "%s: shaderc_compile_options_initialize failed", d->name);
    shaderc_compile_options_set_source_language(opts, shaderc_source_language_glsl);
    shaderc_compile_options_set_target_env(opts, shaderc_target_env_vulkan,
                                           vulkan12 ? shaderc_env_version_vulkan_1_2 : shaderc_env_version_vulkan_1_1);
    shaderc_compile_options_set_optimization_level(opts, shaderc_optimization_level_performance);
    char file[64];
    snprintf(file, sizeof file, "%s.comp", name);
    shaderc_compilation_result_t res =
        shaderc_compile_into_spv(compiler, src, strlen(src), shaderc_compute_shader, file, "main", opts);
    shaderc_compile_options_release(opts);
    bd_status st = BD_OK;
    if (!res) {
        st = bd_fail(BD_ERR_NOMEM, "%s: shaderc returned no result for kernel '%s'", d->name, name);
    } else if (shaderc_result_get_compilation_status(res) != shaderc_compilation_status_success) {
        st = bd_compile_error(d->name, name, src, shaderc_result_get_error_message(res));
    } else {
        *bytes = shaderc_result_get_length(res);
        *words = malloc(*bytes);
        if (!*words) st = bd_fail(BD_ERR_NOMEM, "%s: out of memory", d->name);
        else memcpy(*words, shaderc_result_get_bytes(res), *bytes);
    }
    shaderc_result_release(res);
    return st;
}

bd_status bd_vk_glsl_to_spirv(bd_vk_dev *d, const char *name, const char *src, uint32_t **words, size_t *bytes)
{
    int vulkan12 = d->phys->api >= VK_API_VERSION_1_2;
    unsigned spv_version = 0, spv_revision = 0;
    shaderc_get_spv_version(&spv_version, &spv_revision);
    uint64_t key = bd_hash_str(BD_HASH_INIT, "bdyn vulkan spirv 1");
    key = bd_hash_str(key, src);
    key = bd_hash(key, &spv_version, sizeof spv_version);
    key = bd_hash(key, &spv_revision, sizeof spv_revision);
    key = bd_hash_str(key, vulkan12 ? "vulkan1.2 performance" : "vulkan1.1 performance");

    char path[PATH_MAX];
    int cached = bd_cache_enabled() && bd_cache_path(path, sizeof path, "spv", key, "spv") == BD_OK;
    if (cached) {
        void *data;
        size_t len;
        if (bd_cache_read(path, &data, &len) == BD_OK) {
            if (valid_spirv(data, len)) {
                *words = data;
                *bytes = len;
                return BD_OK;
            }
            free(data); /* damaged: compile again and overwrite it */
        }
    }
    bd_status st = compile(d, name, src, vulkan12, words, bytes);
    /* A cache that cannot be written only costs the next process a compile. */
    if (st == BD_OK && cached && bd_file_write_atomic(path, *words, *bytes) != BD_OK) bd_clear_error();
    return st;
}
