/* Run-time loading of the Vulkan loader and the names of VkResult codes. */
#include "vk_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

struct bd_vk_api bd_vk;

static void *vk_handle;
static char load_why[512];

bd_status bd_vk_load(const char **why)
{
    if (vk_handle) return BD_OK;
    const char *lib = getenv("BDYN_VULKAN_LIBRARY");
    if (!lib || !*lib) lib = "libvulkan.so.1";
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_why, sizeof load_why, "vulkan: cannot load %s (%s)", lib, dlerror());
        *why = load_why;
        return BD_ERR_BACKEND_MISSING;
    }
    /* dlsym returns void *; converting it to a function pointer is what POSIX requires to work. */
    *(void **)&bd_vk.vkGetInstanceProcAddr = dlsym(h, "vkGetInstanceProcAddr");
    if (!bd_vk.vkGetInstanceProcAddr) {
        snprintf(load_why, sizeof load_why, "vulkan: %s lacks vkGetInstanceProcAddr (%s)", lib, dlerror());
        dlclose(h);
        *why = load_why;
        return BD_ERR_BACKEND_MISSING;
    }
#define BD_VK_RESOLVE_GLOBAL(name) bd_vk.name = (PFN_##name)bd_vk.vkGetInstanceProcAddr(NULL, #name);
    BD_VK_GLOBAL_FUNCTIONS(BD_VK_RESOLVE_GLOBAL)
#undef BD_VK_RESOLVE_GLOBAL
    if (!bd_vk.vkCreateInstance) {
        snprintf(load_why, sizeof load_why, "vulkan: %s does not provide vkCreateInstance", lib);
        dlclose(h);
        *why = load_why;
        return BD_ERR_BACKEND_MISSING;
    }
    vk_handle = h;
    return BD_OK;
}

bd_status bd_vk_load_instance(VkInstance instance, const char **why)
{
#define BD_VK_RESOLVE(name)                                                                             \
    bd_vk.name = (PFN_##name)bd_vk.vkGetInstanceProcAddr(instance, #name);                              \
    if (!bd_vk.name) {                                                                                  \
        snprintf(load_why, sizeof load_why, "vulkan: the loader lacks %s (Vulkan 1.1 is needed)", #name); \
        *why = load_why;                                                                                \
        return BD_ERR_BACKEND_MISSING;                                                                  \
    }
    BD_VK_INSTANCE_FUNCTIONS(BD_VK_RESOLVE)
#undef BD_VK_RESOLVE
    return BD_OK;
}

const char *bd_vk_result_name(VkResult r)
{
    switch (r) {
#define N(code) case code: return #code;
        N(VK_SUCCESS) N(VK_NOT_READY) N(VK_TIMEOUT) N(VK_EVENT_SET) N(VK_EVENT_RESET) N(VK_INCOMPLETE)
        N(VK_ERROR_OUT_OF_HOST_MEMORY) N(VK_ERROR_OUT_OF_DEVICE_MEMORY) N(VK_ERROR_INITIALIZATION_FAILED)
        N(VK_ERROR_DEVICE_LOST) N(VK_ERROR_MEMORY_MAP_FAILED) N(VK_ERROR_LAYER_NOT_PRESENT)
        N(VK_ERROR_EXTENSION_NOT_PRESENT) N(VK_ERROR_FEATURE_NOT_PRESENT) N(VK_ERROR_INCOMPATIBLE_DRIVER)
        N(VK_ERROR_TOO_MANY_OBJECTS) N(VK_ERROR_FORMAT_NOT_SUPPORTED) N(VK_ERROR_FRAGMENTED_POOL)
        N(VK_ERROR_UNKNOWN) N(VK_ERROR_OUT_OF_POOL_MEMORY) N(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        N(VK_ERROR_FRAGMENTATION) N(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS) N(VK_PIPELINE_COMPILE_REQUIRED)
        N(VK_ERROR_INVALID_SHADER_NV) N(VK_ERROR_NOT_PERMITTED_KHR)
#undef N
    default: break;
    }
    static _Thread_local char other[32];
    snprintf(other, sizeof other, "VkResult %d", (int)r);
    return other;
}
