/* The Vulkan backend: one instance for the process, every physical device as vulkan:N, device
 * creation with the features the shaders use, and the backend's vtable. */
#include "vk_internal.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    VkInstance instance;
    bd_vk_phys *phys;
    size_t count;
    char why[512];
} vk;

bd_status bd_vk_fail(const bd_vk_dev *d, const char *call, VkResult r)
{
    bd_status s = (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_POOL_MEMORY) ? BD_ERR_DEVICE_NOMEM
                  : r == VK_ERROR_OUT_OF_HOST_MEMORY                                           ? BD_ERR_NOMEM
                                                                                               : BD_ERR_DEVICE;
    return bd_fail(s, "%s: %s failed (%s)", d->name, call, bd_vk_result_name(r));
}

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x1022: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "Imagination";
    case 0x106B: return "Apple";
    case 0x14E4: return "Broadcom";
    case 0x10005: return "Mesa";
    case 0x10002: return "VeriSilicon";
    case 0x10004: return "Codeplay";
    default: return NULL;
    }
}

static bd_device_type device_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return BD_DEVICE_GPU_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return BD_DEVICE_GPU_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return BD_DEVICE_GPU_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return BD_DEVICE_CPU;
    default: return BD_DEVICE_OTHER;
    }
}

static int has_extension(const VkExtensionProperties *ext, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(ext[i].extensionName, name) == 0) return 1;
    return 0;
}

/* Reads what bdyn needs of one physical device. Returns 0 if it cannot be used (no compute queue
 * or a device API below 1.1). */
static int describe(bd_vk_phys *p, uint32_t instance_api)
{
    bd_vk.vkGetPhysicalDeviceProperties(p->pd, &p->props);
    if (p->props.apiVersion < VK_API_VERSION_1_1) return 0;
    p->api = p->props.apiVersion < instance_api ? p->props.apiVersion : instance_api;

    uint32_t nq = 0;
    bd_vk.vkGetPhysicalDeviceQueueFamilyProperties(p->pd, &nq, NULL);
    VkQueueFamilyProperties *q = calloc(nq ? nq : 1, sizeof *q);
    if (!q) return 0;
    bd_vk.vkGetPhysicalDeviceQueueFamilyProperties(p->pd, &nq, q);
    /* A compute-only family (an async compute queue) first, else any family with compute. */
    p->family = UINT32_MAX;
    for (uint32_t i = 0; i < nq && p->family == UINT32_MAX; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) p->family = i;
    for (uint32_t i = 0; i < nq && p->family == UINT32_MAX; i++)
        if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) p->family = i;
    free(q);
    if (p->family == UINT32_MAX) return 0;

    uint32_t next = 0;
    VkExtensionProperties *ext = NULL;
    if (bd_vk.vkEnumerateDeviceExtensionProperties(p->pd, NULL, &next, NULL) == VK_SUCCESS && next) {
        ext = calloc(next, sizeof *ext);
        if (!ext || bd_vk.vkEnumerateDeviceExtensionProperties(p->pd, NULL, &next, ext) != VK_SUCCESS) next = 0;
    }
    int core12 = p->api >= VK_API_VERSION_1_2;
    int driver_props = core12 || has_extension(ext, next, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    p->ext_atomic_float = has_extension(ext, next, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
    p->ext_atomic_int64 = !core12 && has_extension(ext, next, VK_KHR_SHADER_ATOMIC_INT64_EXTENSION_NAME);
    free(ext);

    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
                                                 .pNext = driver_props ? &drv : NULL};
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                              .pNext = &m3};
    VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
    bd_vk.vkGetPhysicalDeviceProperties2(p->pd, &props2);

    VkPhysicalDeviceShaderAtomicFloatFeaturesEXT af = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
    VkPhysicalDeviceShaderAtomicInt64Features ai = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_INT64_FEATURES,
                                                    .pNext = p->ext_atomic_float ? &af : NULL};
    int query_int64 = core12 || p->ext_atomic_int64;
    VkPhysicalDeviceFeatures2 feat = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                      .pNext = query_int64 ? (void *)&ai : p->ext_atomic_float ? (void *)&af : NULL};
    bd_vk.vkGetPhysicalDeviceFeatures2(p->pd, &feat);
    p->fp64 = feat.features.shaderFloat64 == VK_TRUE;
    p->int64 = feat.features.shaderInt64 == VK_TRUE;
    p->int64_atomics = query_int64 && p->int64 && ai.shaderBufferInt64Atomics == VK_TRUE;
    p->float_atomics = p->ext_atomic_float && af.shaderBufferFloat32AtomicAdd == VK_TRUE;
    p->max_alloc = m3.maxMemoryAllocationSize;
    p->llvmpipe = driver_props && drv.driverID == VK_DRIVER_ID_MESA_LLVMPIPE;

    bd_vk.vkGetPhysicalDeviceMemoryProperties(p->pd, &p->mem);
    for (uint32_t h = 0; h < p->mem.memoryHeapCount; h++)
        if ((p->mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            p->mem.memoryHeaps[h].size > p->largest_local)
            p->largest_local = p->mem.memoryHeaps[h].size;

    bd_device_info *info = &p->info;
    memset(info, 0, sizeof *info);
    info->backend = BD_BACKEND_VULKAN;
    snprintf(info->description, sizeof info->description, "%.127s", p->props.deviceName);
    const char *vendor = vendor_name(p->props.vendorID);
    if (vendor) snprintf(info->vendor, sizeof info->vendor, "%s", vendor);
    else snprintf(info->vendor, sizeof info->vendor, "0x%04x", (unsigned)p->props.vendorID);
    info->device_type = device_type(p->props.deviceType);
    info->memory_bytes = p->largest_local;
    info->max_alloc_bytes = p->max_alloc;
    info->max_binding_bytes = p->props.limits.maxStorageBufferRange;
    info->fp64 = p->fp64;
    info->float_atomics = p->float_atomics;
    info->max_workgroup = p->props.limits.maxComputeWorkGroupInvocations;
    info->subgroup_size = sub.subgroupSize;
    info->compute_units = 0; /* Vulkan does not expose it */
    if (driver_props && drv.driverName[0])
        snprintf(info->driver, sizeof info->driver, "%.31s %.31s", drv.driverName, drv.driverInfo);
    else
        snprintf(info->driver, sizeof info->driver, "driver %u.%u.%u (0x%08x)",
                 VK_API_VERSION_MAJOR(p->props.driverVersion), VK_API_VERSION_MINOR(p->props.driverVersion),
                 VK_API_VERSION_PATCH(p->props.driverVersion), (unsigned)p->props.driverVersion);
    return 1;
}

static size_t vk_probe(bd_status *why_status, const char **why)
{
    if ((*why_status = bd_vk_load(why)) != BD_OK) return 0;
    uint32_t api = VK_API_VERSION_1_0;
    if (bd_vk.vkEnumerateInstanceVersion) bd_vk.vkEnumerateInstanceVersion(&api);
    if (api < VK_API_VERSION_1_1) {
        snprintf(vk.why, sizeof vk.why, "vulkan: the loader offers Vulkan %u.%u; bdyn needs 1.1",
                 VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
        *why_status = BD_ERR_BACKEND_MISSING;
        *why = vk.why;
        return 0;
    }
    api = api >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_1;
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "bdyn",
                             .pEngineName = "bdyn",
                             .apiVersion = api};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkResult r = bd_vk.vkCreateInstance(&ci, NULL, &vk.instance);
    if (r != VK_SUCCESS) {
        /* The loader's answer when no driver (ICD) is installed or VK_ICD_FILENAMES names none. */
        int no_driver = r == VK_ERROR_INCOMPATIBLE_DRIVER;
        snprintf(vk.why, sizeof vk.why, "vulkan: %s (vkCreateInstance: %s)",
                 no_driver ? "no Vulkan driver (ICD) is installed" : "the Vulkan instance could not be created",
                 bd_vk_result_name(r));
        *why_status = no_driver ? BD_ERR_BACKEND_MISSING : BD_ERR_DEVICE;
        *why = vk.why;
        return 0;
    }
    if ((*why_status = bd_vk_load_instance(vk.instance, why)) != BD_OK) return 0;

    uint32_t n = 0;
    r = bd_vk.vkEnumeratePhysicalDevices(vk.instance, &n, NULL);
    VkPhysicalDevice *pds = NULL;
    if (r == VK_SUCCESS && n) {
        pds = calloc(n, sizeof *pds);
        vk.phys = calloc(n, sizeof *vk.phys);
        r = pds && vk.phys ? bd_vk.vkEnumeratePhysicalDevices(vk.instance, &n, pds) : VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    for (uint32_t i = 0; r >= VK_SUCCESS && i < n; i++) {
        vk.phys[vk.count].pd = pds[i];
        if (describe(&vk.phys[vk.count], api)) vk.count++;
    }
    free(pds);
    if (vk.count == 0) {
        if (r < VK_SUCCESS)
            snprintf(vk.why, sizeof vk.why, "vulkan: vkEnumeratePhysicalDevices failed (%s)", bd_vk_result_name(r));
        else if (n == 0)
            snprintf(vk.why, sizeof vk.why, "vulkan: the installed drivers report no physical device");
        else
            snprintf(vk.why, sizeof vk.why, "vulkan: %u physical device(s), none with Vulkan 1.1 and a compute queue",
                     (unsigned)n);
        *why_status = BD_ERR_DEVICE;
        *why = vk.why;
    }
    return vk.count;
}

static bd_status vk_info(size_t index, bd_device_info *info)
{
    if (index >= vk.count) return bd_fail(BD_ERR_NOT_FOUND, "vulkan:%zu: no such device", index);
    *info = vk.phys[index].info;
    return BD_OK;
}

static bd_status create_device(bd_vk_dev *d)
{
    const bd_vk_phys *p = d->phys;
    const char *exts[2];
    uint32_t next = 0;
    if (p->float_atomics) exts[next++] = VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME;
    if (p->int64_atomics && p->ext_atomic_int64) exts[next++] = VK_KHR_SHADER_ATOMIC_INT64_EXTENSION_NAME;

    VkPhysicalDeviceShaderAtomicFloatFeaturesEXT af = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT,
        .shaderBufferFloat32AtomicAdd = VK_TRUE};
    VkPhysicalDeviceShaderAtomicInt64Features ai = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_INT64_FEATURES,
                                                    .pNext = p->float_atomics ? &af : NULL,
                                                    .shaderBufferInt64Atomics = VK_TRUE};
    VkPhysicalDeviceFeatures2 feat = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                      .pNext = p->int64_atomics ? (void *)&ai : p->float_atomics ? (void *)&af : NULL};
    feat.features.shaderFloat64 = p->fp64 ? VK_TRUE : VK_FALSE;
    feat.features.shaderInt64 = p->int64 ? VK_TRUE : VK_FALSE;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = p->family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .pNext = &feat,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qci,
                             .enabledExtensionCount = next,
                             .ppEnabledExtensionNames = exts};
    VkResult r = bd_vk.vkCreateDevice(p->pd, &ci, NULL, &d->dev);
    if (r != VK_SUCCESS) return bd_vk_fail(d, "vkCreateDevice", r);
    bd_vk.vkGetDeviceQueue(d->dev, p->family, 0, &d->queue);
    return BD_OK;
}

static void vk_close(bd_device *dev)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    if (!d) return;
    if (d->dev) {
        bd_vk.vkDeviceWaitIdle(d->dev);
        bd_vk_ops_destroy(d);
        bd_vk_buf_destroy(d, &d->scratch);
        bd_vk_buf_destroy(d, &d->staging);
        bd_vk_queue_destroy(d);
        for (int i = 0; i <= BD_IR_MAX_BUFFERS; i++)
            if (d->dsl[i]) bd_vk.vkDestroyDescriptorSetLayout(d->dev, d->dsl[i], NULL);
        bd_vk.vkDestroyDevice(d->dev, NULL);
    }
    free(d);
    dev->ctx = NULL;
}

/* Reduction partials: one value per work group of the first pass (bd_vk_ops caps them at 1024). */
#define BD_VK_SCRATCH_BYTES (1024 * sizeof(double))

static bd_status vk_open(bd_device *dev)
{
    if (dev->index < 0 || (size_t)dev->index >= vk.count)
        return bd_fail(BD_ERR_NOT_FOUND, "vulkan:%d: no such device", dev->index);
    bd_vk_dev *d = calloc(1, sizeof *d);
    if (!d) return bd_fail(BD_ERR_NOMEM, "%s: out of memory", dev->info.name);
    dev->ctx = d;
    snprintf(d->name, sizeof d->name, "%s", dev->info.name);
    d->phys = &vk.phys[dev->index];
    d->cur = -1;
    const char *staging = getenv("BDYN_VULKAN_STAGING");
    d->map_memory = !(staging && strcmp(staging, "1") == 0);
    const VkPhysicalDeviceLimits *lim = &d->phys->props.limits;
    uint32_t wg_max = lim->maxComputeWorkGroupInvocations < lim->maxComputeWorkGroupSize[0]
                          ? lim->maxComputeWorkGroupInvocations
                          : lim->maxComputeWorkGroupSize[0];
    /* 256 keeps every vendor's SIMD width busy; the tree reductions need a power of two. */
    d->wg = 256;
    while (d->wg > wg_max) d->wg /= 2;

    bd_status st = create_device(d);
    if (st == BD_OK) st = bd_vk_queue_init(d);
    if (st == BD_OK) st = bd_vk_buf_create(d, BD_VK_SCRATCH_BYTES, 0, &d->scratch);
    if (st != BD_OK) vk_close(dev);
    return st;
}

const struct bd_backend_i bd_vulkan_backend = {
    .kind = BD_BACKEND_VULKAN,
    .probe = vk_probe,
    .info = vk_info,
    .open = vk_open,
    .close = vk_close,
    .buffer_alloc = bd_vk_buffer_alloc,
    .buffer_free = bd_vk_buffer_free,
    .upload = bd_vk_upload,
    .download = bd_vk_download,
    .fill = bd_vk_fill,
    .copy = bd_vk_copy,
    .sync = bd_vk_sync,
    .kernel_compile = bd_vk_kernel_compile,
    .kernel_free = bd_vk_kernel_free,
    .kernel_launch = bd_vk_kernel_launch,
    .supports = bd_vk_supports,
    .run_op = bd_vk_run_op,
};
