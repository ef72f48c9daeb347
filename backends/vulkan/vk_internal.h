/* The Vulkan backend's internal objects (physical devices, open devices, buffers, batches,
 * pipelines) and the functions its files share. Nothing outside backends/vulkan includes this. */
#ifndef BD_VK_INTERNAL_H
#define BD_VK_INTERNAL_H

#include "vk_loader.h"
#include "backend.h"
#include "vk_shaders.h"

/* Command buffers in flight at once: one being recorded while the others execute. */
#define BD_VK_BATCHES 3
/* A batch is submitted (without waiting) once it holds this many commands, so that a long run of
 * launches keeps the device busy and bounds the descriptor memory of one batch. */
#define BD_VK_BATCH_COMMANDS 1000
/* Bytes that vkCmdUpdateBuffer may record inline; larger uploads are copied from host memory. */
#define BD_VK_INLINE_UPLOAD 65536

/* What the backend learned about one physical device at probe time. */
typedef struct bd_vk_phys {
    VkPhysicalDevice pd;
    uint32_t api; /* min(instance, device) API version */
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem;
    uint32_t family;            /* a queue family with compute */
    VkDeviceSize max_alloc;     /* maxMemoryAllocationSize */
    VkDeviceSize largest_local; /* size of the largest device-local heap */
    /* Features the backend enables at device creation and selects shaders by. */
    int fp64, int64, int64_atomics, float_atomics;
    int ext_atomic_float, ext_atomic_int64; /* the device extensions to enable for them */
    /* llvmpipe (lavapipe) silently ends a shader invocation after 65535 loop iterations in all
     * (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS); ops whose loops could run longer are refused there. */
    int llvmpipe;
    bd_device_info info;
} bd_vk_phys;

typedef struct bd_vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    void *map;          /* persistently mapped memory, or NULL: transfers go through staging */
    VkDeviceSize size;  /* bytes allocated (the requested size rounded up to 4) */
    uint64_t last_use;  /* serial of the last batch that recorded a command using it */
} bd_vk_buf;

typedef enum bd_vk_batch_state { BD_VK_IDLE, BD_VK_RECORDING, BD_VK_SUBMITTED } bd_vk_batch_state;

typedef struct bd_vk_batch {
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool *dpools; /* reset together when the batch is recycled */
    uint32_t ndpools, dpool_cur;
    uint64_t serial;
    bd_vk_batch_state state;
    uint32_t ncommands;
} bd_vk_batch;

typedef struct bd_vk_pipe {
    VkPipeline pipe;
    VkPipelineLayout layout;
    uint32_t nbind, push_size, wg;
    uint64_t last_use; /* serial of the last batch that dispatched it */
} bd_vk_pipe;

typedef struct bd_vk_dev {
    char name[32]; /* "vulkan:N", the prefix of every message */
    const bd_vk_phys *phys;
    VkDevice dev;
    VkQueue queue;
    int map_memory; /* 0 when BDYN_VULKAN_STAGING=1 forces the staged (discrete GPU) transfer path */
    uint32_t wg;    /* work-group size of 1-D kernels: a power of two <= 256 */
    VkDescriptorSetLayout dsl[BD_IR_MAX_BUFFERS + 1]; /* by binding count, created on first use */
    bd_vk_batch batch[BD_VK_BATCHES];
    int cur;          /* the batch being recorded, or -1 */
    int next;         /* ring position of the next batch to record */
    uint64_t serial;  /* last serial handed to a batch */
    uint64_t done;    /* every batch up to this serial has completed */
    bd_vk_buf staging; /* host-visible bounce buffer, created on first staged transfer */
    bd_vk_buf scratch; /* device scratch: reduction partials, overlapping copies */
    bd_vk_pipe *ops[BD_VK_SHADER_COUNT];
} bd_vk_dev;

/* One storage-buffer binding of a dispatch: [0, range) of buf (range 0 = the whole buffer). */
typedef struct bd_vk_bind {
    bd_vk_buf *buf;
    VkDeviceSize range;
} bd_vk_bind;

static inline bd_vk_dev *bd_vk_ctx(bd_device *dev) { return (bd_vk_dev *)dev->ctx; }
static inline bd_vk_buf *bd_vk_buffer(const bd_buffer *b) { return (bd_vk_buf *)b->ctx; }

/* A failed Vulkan call: BD_ERR_DEVICE_NOMEM for out-of-memory results, else BD_ERR_DEVICE, with a
 * message "vulkan:N: <call> failed (VK_...)". */
bd_status bd_vk_fail(const bd_vk_dev *d, const char *call, VkResult r);

/* vk_memory.c */
bd_status bd_vk_buf_create(bd_vk_dev *d, VkDeviceSize size, int host_only, bd_vk_buf *out);
void bd_vk_buf_destroy(bd_vk_dev *d, bd_vk_buf *b);
bd_status bd_vk_buffer_alloc(bd_device *dev, bd_buffer *buf);
void bd_vk_buffer_free(bd_device *dev, bd_buffer *buf);
bd_status bd_vk_upload(bd_device *dev, bd_buffer *buf, size_t offset, const void *src, size_t bytes);
bd_status bd_vk_download(bd_device *dev, bd_buffer *buf, size_t offset, void *dst, size_t bytes);
bd_status bd_vk_fill(bd_device *dev, bd_buffer *buf, size_t offset, size_t bytes, const void *pattern,
                     size_t pattern_size);
bd_status bd_vk_copy(bd_device *dev, bd_buffer *dst, size_t dst_offset, const bd_buffer *src, size_t src_offset,
                     size_t bytes);

/* vk_queue.c: batches of recorded commands, submitted without waiting. */
bd_status bd_vk_queue_init(bd_vk_dev *d);
void bd_vk_queue_destroy(bd_vk_dev *d);
/* The command buffer being recorded (a batch is begun if none is), with a barrier already recorded
 * that orders the next command after every earlier transfer and dispatch. */
bd_status bd_vk_record(bd_vk_dev *d, VkCommandBuffer *cmd);
/* Marks b as used by the batch being recorded. */
void bd_vk_use(bd_vk_dev *d, bd_vk_buf *b);
/* Counts commands recorded into the current batch and submits it once it is large. */
bd_status bd_vk_recorded(bd_vk_dev *d, uint32_t commands);
/* Waits until the batch with this serial (and every earlier one) has completed. */
bd_status bd_vk_wait(bd_vk_dev *d, uint64_t serial);
bd_status bd_vk_sync(bd_device *dev);
/* Records p over `groups` work groups in x (times gy in y), bound to binds[0..p->nbind). Launches
 * above the device's group-count limit are split; each part finds the index of its first group,
 * times base_scale, in the uint at offset 0 of the push constants (push_size bytes at push). */
bd_status bd_vk_dispatch(bd_vk_dev *d, bd_vk_pipe *p, const bd_vk_bind *binds, void *push, uint64_t groups,
                         uint32_t gy, uint32_t base_scale);

/* vk_pipeline.c */
bd_status bd_vk_pipe_create(bd_vk_dev *d, const char *what, const uint32_t *spv, size_t bytes, uint32_t nbind,
                            uint32_t push_size, uint32_t wg, bd_vk_pipe **out);
void bd_vk_pipe_destroy(bd_vk_dev *d, bd_vk_pipe *p);
/* GLSL compute source to SPIR-V with libshaderc, through the on-disk cache. *words is malloc'd. */
bd_status bd_vk_glsl_to_spirv(bd_vk_dev *d, const char *name, const char *src, uint32_t **words, size_t *bytes);

/* vk_kernel.c */
bd_status bd_vk_kernel_compile(bd_device *dev, bd_kernel *kern);
void bd_vk_kernel_free(bd_device *dev, bd_kernel *kern);
bd_status bd_vk_kernel_launch(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                              const bd_value *scalars);

/* vk_ops.c */
bd_status bd_vk_supports(bd_device *dev, const bd_op *op);
bd_status bd_vk_run_op(bd_device *dev, const bd_op *op);
void bd_vk_ops_destroy(bd_vk_dev *d);

#endif
