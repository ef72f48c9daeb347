/* The Vulkan entry points bdyn uses, resolved at run time from the loader (libvulkan.so.1) through
 * vkGetInstanceProcAddr, so that the library links and runs on machines without Vulkan. */
#ifndef BD_VK_LOADER_H
#define BD_VK_LOADER_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include "bdyn/status.h"

/* Resolved with a NULL instance (vkEnumerateInstanceVersion may stay NULL on a 1.0 loader). */
#define BD_VK_GLOBAL_FUNCTIONS(X) X(vkCreateInstance) X(vkEnumerateInstanceVersion)

/* Resolved with the instance. Device-level calls resolved this way go through the loader's
 * trampolines, which serve every device, so one table is enough. */
#define BD_VK_INSTANCE_FUNCTIONS(X)                                                                       \
    X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties)                   \
    X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2) X(vkGetPhysicalDeviceMemoryProperties) \
    X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkEnumerateDeviceExtensionProperties) X(vkCreateDevice)  \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkDeviceWaitIdle) X(vkCreateBuffer) X(vkDestroyBuffer)       \
    X(vkGetBufferMemoryRequirements) X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory)            \
    X(vkMapMemory) X(vkCreateCommandPool) X(vkDestroyCommandPool) X(vkAllocateCommandBuffers)             \
    X(vkResetCommandPool) X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkQueueSubmit)                  \
    X(vkCreateFence) X(vkDestroyFence) X(vkWaitForFences) X(vkResetFences) X(vkCmdPipelineBarrier)        \
    X(vkCmdFillBuffer) X(vkCmdCopyBuffer) X(vkCmdUpdateBuffer) X(vkCmdBindPipeline)                       \
    X(vkCmdBindDescriptorSets) X(vkCmdPushConstants) X(vkCmdDispatch) X(vkCreateShaderModule)             \
    X(vkDestroyShaderModule) X(vkCreateComputePipelines) X(vkDestroyPipeline) X(vkCreatePipelineLayout)   \
    X(vkDestroyPipelineLayout) X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout)             \
    X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool) X(vkResetDescriptorPool)                         \
    X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)

struct bd_vk_api {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
#define BD_VK_MEMBER(name) PFN_##name name;
    BD_VK_GLOBAL_FUNCTIONS(BD_VK_MEMBER)
    BD_VK_INSTANCE_FUNCTIONS(BD_VK_MEMBER)
#undef BD_VK_MEMBER
};

/* The resolved table: the global part after bd_vk_load(), the rest after bd_vk_load_instance(). */
extern struct bd_vk_api bd_vk;

/* Opens the loader once ($BDYN_VULKAN_LIBRARY overrides the name). On failure returns
 * BD_ERR_BACKEND_MISSING and *why names the library and dlerror() (a static string). Not
 * thread-safe: called from the backend's probe, which the core runs once. */
bd_status bd_vk_load(const char **why);
/* Resolves the instance-level table; BD_ERR_BACKEND_MISSING with *why if a function is absent. */
bd_status bd_vk_load_instance(VkInstance instance, const char **why);

/* The VK_* name of a result code ("VK_ERROR_OUT_OF_DEVICE_MEMORY"), or "VkResult <n>". */
const char *bd_vk_result_name(VkResult r);

#endif
