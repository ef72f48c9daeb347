/* Device buffers and host transfers. Memory that is device-local and host-visible (all of it on
 * lavapipe and on integrated or resizable-BAR GPUs) is mapped once and written directly; otherwise
 * transfers bounce through a host-visible staging buffer. Transfers keep queue order: small ones
 * are recorded into the command stream, larger ones wait only for the batches using the buffer. */
#include "vk_internal.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Bytes the staging buffer holds; larger transfers go in pieces. */
#define BD_VK_STAGING_BYTES ((VkDeviceSize)16 << 20)

static const VkMemoryPropertyFlags MAPPED =
    VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
static const VkMemoryPropertyFlags HOST = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

/* The first allowed memory type with all `flags` whose heap is at least min_heap bytes. */
static uint32_t find_type(const bd_vk_phys *p, uint32_t allowed, VkMemoryPropertyFlags flags, VkDeviceSize min_heap)
{
    for (uint32_t t = 0; t < p->mem.memoryTypeCount; t++) {
        const VkMemoryType *mt = &p->mem.memoryTypes[t];
        if ((allowed & (1u << t)) && (mt->propertyFlags & flags) == flags &&
            p->mem.memoryHeaps[mt->heapIndex].size >= min_heap)
            return t;
    }
    return UINT32_MAX;
}

static VkResult allocate(bd_vk_dev *d, VkDeviceSize size, uint32_t type, VkDeviceMemory *mem)
{
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size, .memoryTypeIndex = type};
    return bd_vk.vkAllocateMemory(d->dev, &ai, NULL, mem);
}

/* host_only: a staging buffer (host-visible, coherent). Otherwise device memory, mapped when it is
 * host-visible and as large as the largest device-local heap (a small BAR window of a discrete
 * GPU would run out long before its VRAM does). */
bd_status bd_vk_buf_create(bd_vk_dev *d, VkDeviceSize size, int host_only, bd_vk_buf *out)
{
    const bd_vk_phys *p = d->phys;
    memset(out, 0, sizeof *out);
    out->size = (size + 3) & ~(VkDeviceSize)3;
    if (out->size == 0) out->size = 4;
    if (out->size > p->max_alloc)
        return bd_fail(BD_ERR_LIMIT, "%s: a buffer of %llu bytes exceeds the largest allocation of %llu bytes "
                       "(maxMemoryAllocationSize)", d->name, (unsigned long long)size, (unsigned long long)p->max_alloc);
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = out->size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = bd_vk.vkCreateBuffer(d->dev, &bi, NULL, &out->buf);
    if (r != VK_SUCCESS) return bd_vk_fail(d, "vkCreateBuffer", r);
    VkMemoryRequirements req;
    bd_vk.vkGetBufferMemoryRequirements(d->dev, out->buf, &req);

    int map = 1;
    uint32_t type = host_only ? find_type(p, req.memoryTypeBits, HOST, 0)
                    : d->map_memory ? find_type(p, req.memoryTypeBits, MAPPED, p->largest_local)
                                    : UINT32_MAX;
    r = type != UINT32_MAX ? allocate(d, req.size, type, &out->mem) : VK_ERROR_OUT_OF_DEVICE_MEMORY;
    if (r != VK_SUCCESS && !host_only) {
        map = 0;
        type = find_type(p, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
        if (type == UINT32_MAX) type = find_type(p, req.memoryTypeBits, 0, 0);
        r = allocate(d, req.size, type, &out->mem);
    }
    if (r != VK_SUCCESS) {
        bd_vk.vkDestroyBuffer(d->dev, out->buf, NULL);
        out->buf = VK_NULL_HANDLE;
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return bd_fail(BD_ERR_DEVICE_NOMEM, "%s: out of device memory allocating %llu bytes (vkAllocateMemory: %s)",
                           d->name, (unsigned long long)size, bd_vk_result_name(r));
        return bd_vk_fail(d, "vkAllocateMemory", r);
    }
    r = bd_vk.vkBindBufferMemory(d->dev, out->buf, out->mem, 0);
    if (r == VK_SUCCESS && map) r = bd_vk.vkMapMemory(d->dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map);
    if (r != VK_SUCCESS) {
        bd_vk_buf_destroy(d, out);
        return bd_vk_fail(d, map ? "vkBindBufferMemory/vkMapMemory" : "vkBindBufferMemory", r);
    }
    return BD_OK;
}

void bd_vk_buf_destroy(bd_vk_dev *d, bd_vk_buf *b)
{
    if (b->buf) bd_vk.vkDestroyBuffer(d->dev, b->buf, NULL);
    if (b->mem) bd_vk.vkFreeMemory(d->dev, b->mem, NULL); /* unmaps implicitly */
    memset(b, 0, sizeof *b);
}

bd_status bd_vk_buffer_alloc(bd_device *dev, bd_buffer *buf)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    bd_vk_buf *b = calloc(1, sizeof *b);
    if (!b) return bd_fail(BD_ERR_NOMEM, "%s: out of memory", d->name);
    bd_status st = bd_vk_buf_create(d, buf->size, 0, b);
    if (st != BD_OK) {
        free(b);
        return st;
    }
    buf->ctx = b;
    return BD_OK;
}

void bd_vk_buffer_free(bd_device *dev, bd_buffer *buf)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    bd_vk_buf *b = bd_vk_buffer(buf);
    /* Queued work may still use it; a failed wait (device lost) leaves nothing to protect. */
    bd_vk_wait(d, b->last_use);
    bd_vk_buf_destroy(d, b);
    free(b);
    buf->ctx = NULL;
}

/* The staging buffer, created on first use, once no queued copy uses it any more (a transfer that
 * failed half-way may have left one behind). */
static bd_status staging_ready(bd_vk_dev *d)
{
    if (!d->staging.buf) return bd_vk_buf_create(d, BD_VK_STAGING_BYTES, 1, &d->staging);
    return bd_vk_wait(d, d->staging.last_use);
}

/* Records buffer-to-buffer copy of [src_off, +bytes) to [dst_off, ...). */
static bd_status record_copy(bd_vk_dev *d, bd_vk_buf *dst, VkDeviceSize dst_off, bd_vk_buf *src, VkDeviceSize src_off,
                             VkDeviceSize bytes)
{
    VkCommandBuffer cmd;
    bd_status st = bd_vk_record(d, &cmd);
    if (st != BD_OK) return st;
    VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = bytes};
    bd_vk.vkCmdCopyBuffer(cmd, src->buf, dst->buf, 1, &region);
    bd_vk_use(d, src);
    bd_vk_use(d, dst);
    return bd_vk_recorded(d, 1);
}

/* Records host data into the command stream (at most BD_VK_INLINE_UPLOAD bytes, 4-aligned). */
static bd_status record_update(bd_vk_dev *d, bd_vk_buf *b, VkDeviceSize off, const void *src, VkDeviceSize bytes)
{
    VkCommandBuffer cmd;
    bd_status st = bd_vk_record(d, &cmd);
    if (st != BD_OK) return st;
    bd_vk.vkCmdUpdateBuffer(cmd, b->buf, off, bytes, src);
    bd_vk_use(d, b);
    return bd_vk_recorded(d, 1);
}

bd_status bd_vk_upload(bd_device *dev, bd_buffer *buf, size_t offset, const void *src, size_t bytes)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    bd_vk_buf *b = bd_vk_buffer(buf);
    int idle = b->last_use <= d->done;
    /* A small aligned upload behind queued work joins the queue instead of waiting for it. */
    if ((!idle || !b->map) && bytes <= BD_VK_INLINE_UPLOAD && offset % 4 == 0 && bytes % 4 == 0)
        return record_update(d, b, offset, src, bytes);
    bd_status st;
    if (b->map) {
        if ((st = bd_vk_wait(d, b->last_use)) != BD_OK) return st;
        memcpy((char *)b->map + offset, src, bytes);
        return BD_OK;
    }
    if ((st = staging_ready(d)) != BD_OK) return st;
    for (size_t done = 0; done < bytes;) {
        size_t part = bytes - done < d->staging.size ? bytes - done : (size_t)d->staging.size;
        memcpy(d->staging.map, (const char *)src + done, part);
        st = record_copy(d, b, offset + done, &d->staging, 0, part);
        if (st == BD_OK) st = bd_vk_wait(d, d->staging.last_use);
        if (st != BD_OK) return st;
        done += part;
    }
    return BD_OK;
}

bd_status bd_vk_download(bd_device *dev, bd_buffer *buf, size_t offset, void *dst, size_t bytes)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    bd_vk_buf *b = bd_vk_buffer(buf);
    bd_status st;
    if (b->map) {
        if ((st = bd_vk_wait(d, b->last_use)) != BD_OK) return st;
        memcpy(dst, (const char *)b->map + offset, bytes);
        return BD_OK;
    }
    if ((st = staging_ready(d)) != BD_OK) return st;
    for (size_t done = 0; done < bytes;) {
        size_t part = bytes - done < d->staging.size ? bytes - done : (size_t)d->staging.size;
        st = record_copy(d, &d->staging, 0, b, offset + done, part);
        if (st == BD_OK) st = bd_vk_wait(d, d->staging.last_use);
        if (st != BD_OK) return st;
        memcpy((char *)dst + done, d->staging.map, part);
        done += part;
    }
    return BD_OK;
}

bd_status bd_vk_fill(bd_device *dev, bd_buffer *buf, size_t offset, size_t bytes, const void *pattern,
                     size_t pattern_size)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    bd_vk_buf *b = bd_vk_buffer(buf);
    uint32_t word[2];
    memcpy(word, pattern, pattern_size);
    VkCommandBuffer cmd;
    bd_status st;
    if (pattern_size == 4 || word[0] == word[1]) {
        if ((st = bd_vk_record(d, &cmd)) != BD_OK) return st;
        bd_vk.vkCmdFillBuffer(cmd, b->buf, offset, bytes, word[0]);
        bd_vk_use(d, b);
        return bd_vk_recorded(d, 1);
    }
    /* vkCmdFillBuffer repeats only 4 bytes. An 8-byte pattern is written inline once (up to 4 KiB of
     * it) and then doubled by copies from the filled part, which, unlike a shader, also works on
     * ranges beyond maxStorageBufferRange. */
    uint32_t seed[1024];
    size_t first = bytes < sizeof seed ? bytes : sizeof seed;
    for (size_t i = 0; i < first / 4; i++) seed[i] = word[i % 2];
    if ((st = record_update(d, b, offset, seed, first)) != BD_OK) return st;
    for (size_t filled = first; filled < bytes; filled *= 2) {
        size_t part = bytes - filled < filled ? bytes - filled : filled;
        if ((st = record_copy(d, b, offset + filled, b, offset, part)) != BD_OK) return st;
    }
    return BD_OK;
}

bd_status bd_vk_copy(bd_device *dev, bd_buffer *dst, size_t dst_offset, const bd_buffer *src, size_t src_offset,
                     size_t bytes)
{
    /* The core rejects overlapping ranges of one buffer, which vkCmdCopyBuffer does not allow. */
    return record_copy(bd_vk_ctx(dev), bd_vk_buffer(dst), dst_offset, bd_vk_buffer(src), src_offset, bytes);
}
