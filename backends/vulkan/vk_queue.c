/* Command recording and submission. Work is recorded into the batch of the moment, each command
 * behind a barrier on everything before it, and a batch is submitted only when someone needs its
 * results (sync, a download, a transfer that must wait) or when it has grown large; a small ring
 * of batches lets the host record the next one while the device runs the previous. */
#include "vk_internal.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* One descriptor pool's capacity; a batch adds pools when a run of launches needs more. */
#define POOL_SETS 1024
#define POOL_DESCRIPTORS 4096

bd_status bd_vk_queue_init(bd_vk_dev *d)
{
    for (int i = 0; i < BD_VK_BATCHES; i++) {
        bd_vk_batch *b = &d->batch[i];
        VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                       .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                       .queueFamilyIndex = d->phys->family};
        VkResult r = bd_vk.vkCreateCommandPool(d->dev, &pci, NULL, &b->pool);
        if (r != VK_SUCCESS) return bd_vk_fail(d, "vkCreateCommandPool", r);
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = b->pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                          .commandBufferCount = 1};
        if ((r = bd_vk.vkAllocateCommandBuffers(d->dev, &ai, &b->cmd)) != VK_SUCCESS)
            return bd_vk_fail(d, "vkAllocateCommandBuffers", r);
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        if ((r = bd_vk.vkCreateFence(d->dev, &fci, NULL, &b->fence)) != VK_SUCCESS)
            return bd_vk_fail(d, "vkCreateFence", r);
    }
    return BD_OK;
}

/* After vkDeviceWaitIdle: nothing is in flight. */
void bd_vk_queue_destroy(bd_vk_dev *d)
{
    for (int i = 0; i < BD_VK_BATCHES; i++) {
        bd_vk_batch *b = &d->batch[i];
        for (uint32_t p = 0; p < b->ndpools; p++) bd_vk.vkDestroyDescriptorPool(d->dev, b->dpools[p], NULL);
        free(b->dpools);
        if (b->fence) bd_vk.vkDestroyFence(d->dev, b->fence, NULL);
        if (b->pool) bd_vk.vkDestroyCommandPool(d->dev, b->pool, NULL);
        memset(b, 0, sizeof *b);
    }
}

static bd_status wait_batch(bd_vk_dev *d, bd_vk_batch *b)
{
    VkResult r = bd_vk.vkWaitForFences(d->dev, 1, &b->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) return bd_vk_fail(d, "vkWaitForFences", r);
    if ((r = bd_vk.vkResetFences(d->dev, 1, &b->fence)) != VK_SUCCESS) return bd_vk_fail(d, "vkResetFences", r);
    b->state = BD_VK_IDLE;
    /* A fence also covers every earlier submission to the queue. */
    if (b->serial > d->done) d->done = b->serial;
    return BD_OK;
}

static bd_status begin_batch(bd_vk_dev *d)
{
    bd_vk_batch *b = &d->batch[d->next];
    bd_status st;
    if (b->state == BD_VK_SUBMITTED && (st = wait_batch(d, b)) != BD_OK) return st;
    VkResult r = bd_vk.vkResetCommandPool(d->dev, b->pool, 0);
    for (uint32_t p = 0; p < b->ndpools && r == VK_SUCCESS; p++) r = bd_vk.vkResetDescriptorPool(d->dev, b->dpools[p], 0);
    if (r != VK_SUCCESS) return bd_vk_fail(d, "vkResetCommandPool/vkResetDescriptorPool", r);
    b->dpool_cur = 0;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if ((r = bd_vk.vkBeginCommandBuffer(b->cmd, &bi)) != VK_SUCCESS) return bd_vk_fail(d, "vkBeginCommandBuffer", r);
    b->serial = ++d->serial;
    b->state = BD_VK_RECORDING;
    b->ncommands = 0;
    d->cur = d->next;
    d->next = (d->next + 1) % BD_VK_BATCHES;
    return BD_OK;
}

bd_status bd_vk_record(bd_vk_dev *d, VkCommandBuffer *cmd)
{
    bd_status st;
    if (d->cur < 0 && (st = begin_batch(d)) != BD_OK) return st;
    VkCommandBuffer c = d->batch[d->cur].cmd;
    /* Every command may read what any earlier one wrote (and must not overwrite what it still reads);
     * one global barrier per command is cheap to record and covers earlier batches too. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    bd_vk.vkCmdPipelineBarrier(c, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
    *cmd = c;
    return BD_OK;
}

void bd_vk_use(bd_vk_dev *d, bd_vk_buf *b) { b->last_use = d->batch[d->cur].serial; }

/* Submits the batch being recorded, if any, without waiting. */
static bd_status submit(bd_vk_dev *d)
{
    if (d->cur < 0) return BD_OK;
    bd_vk_batch *b = &d->batch[d->cur];
    d->cur = -1;
    /* Device writes become visible to the host (mapped memory) once the fence has signalled. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    bd_vk.vkCmdPipelineBarrier(b->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                               VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VkResult r = bd_vk.vkEndCommandBuffer(b->cmd);
    if (r != VK_SUCCESS) {
        b->state = BD_VK_IDLE;
        return bd_vk_fail(d, "vkEndCommandBuffer", r);
    }
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &b->cmd};
    if ((r = bd_vk.vkQueueSubmit(d->queue, 1, &si, b->fence)) != VK_SUCCESS) {
        b->state = BD_VK_IDLE;
        return bd_vk_fail(d, "vkQueueSubmit", r);
    }
    b->state = BD_VK_SUBMITTED;
    return BD_OK;
}

bd_status bd_vk_recorded(bd_vk_dev *d, uint32_t commands)
{
    bd_vk_batch *b = &d->batch[d->cur];
    b->ncommands += commands;
    return b->ncommands >= BD_VK_BATCH_COMMANDS ? submit(d) : BD_OK;
}

bd_status bd_vk_wait(bd_vk_dev *d, uint64_t serial)
{
    if (serial <= d->done) return BD_OK;
    bd_status st;
    if (d->cur >= 0 && d->batch[d->cur].serial <= serial && (st = submit(d)) != BD_OK) return st;
    for (int i = 0; i < BD_VK_BATCHES; i++) {
        bd_vk_batch *b = &d->batch[i];
        if (b->state == BD_VK_SUBMITTED && b->serial <= serial && (st = wait_batch(d, b)) != BD_OK) return st;
    }
    /* Serials of batches that failed to submit count as done: their work is lost, not pending. */
    if (serial > d->done) d->done = serial;
    return BD_OK;
}

bd_status bd_vk_sync(bd_device *dev)
{
    bd_vk_dev *d = bd_vk_ctx(dev);
    return bd_vk_wait(d, d->serial);
}

static bd_status alloc_set(bd_vk_dev *d, VkDescriptorSetLayout layout, VkDescriptorSet *set)
{
    bd_vk_batch *b = &d->batch[d->cur];
    for (;;) {
        int fresh = b->dpool_cur == b->ndpools;
        if (fresh) {
            VkDescriptorPool *grown = realloc(b->dpools, (b->ndpools + 1) * sizeof *grown);
            if (!grown) return bd_fail(BD_ERR_NOMEM, "%s: out of memory", d->name);
            b->dpools = grown;
            VkDescriptorPoolSize size = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = POOL_DESCRIPTORS};
            VkDescriptorPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                              .maxSets = POOL_SETS,
                                              .poolSizeCount = 1,
                                              .pPoolSizes = &size};
            VkResult r = bd_vk.vkCreateDescriptorPool(d->dev, &pci, NULL, &b->dpools[b->ndpools]);
            if (r != VK_SUCCESS) return bd_vk_fail(d, "vkCreateDescriptorPool", r);
            b->ndpools++;
        }
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = b->dpools[b->dpool_cur],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &layout};
        VkResult r = bd_vk.vkAllocateDescriptorSets(d->dev, &ai, set);
        if (r == VK_SUCCESS) return BD_OK;
        if (fresh || (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL))
            return bd_vk_fail(d, "vkAllocateDescriptorSets", r);
        b->dpool_cur++;
    }
}

bd_status bd_vk_dispatch(bd_vk_dev *d, bd_vk_pipe *p, const bd_vk_bind *binds, void *push, uint64_t groups,
                         uint32_t gy, uint32_t base_scale)
{
    if (groups == 0 || gy == 0) return BD_OK;
    VkCommandBuffer cmd;
    bd_status st = bd_vk_record(d, &cmd);
    if (st != BD_OK) return st;
    bd_vk.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipe);
    p->last_use = d->batch[d->cur].serial;
    if (p->nbind) {
        VkDescriptorSet set;
        if ((st = alloc_set(d, d->dsl[p->nbind], &set)) != BD_OK) return st;
        VkDescriptorBufferInfo info[BD_IR_MAX_BUFFERS];
        for (uint32_t i = 0; i < p->nbind; i++) {
            info[i] = (VkDescriptorBufferInfo){binds[i].buf->buf, 0, binds[i].range ? binds[i].range : VK_WHOLE_SIZE};
            bd_vk_use(d, binds[i].buf);
        }
        /* One write fills bindings 0..nbind-1: a descriptor count beyond a binding rolls over into
         * the next one of the same type. */
        VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                  .dstSet = set,
                                  .descriptorCount = p->nbind,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .pBufferInfo = info};
        bd_vk.vkUpdateDescriptorSets(d->dev, 1, &w, 0, NULL);
        bd_vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    }
    const uint32_t max = d->phys->props.limits.maxComputeWorkGroupCount[0];
    uint32_t parts = 0;
    for (uint64_t first = 0; first < groups; first += max, parts++) {
        uint64_t count = groups - first < max ? groups - first : max;
        if (p->push_size) {
            uint32_t base = (uint32_t)(first * base_scale);
            memcpy(push, &base, sizeof base);
            bd_vk.vkCmdPushConstants(cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size, push);
        }
        bd_vk.vkCmdDispatch(cmd, (uint32_t)count, gy, 1);
    }
    return bd_vk_recorded(d, parts);
}
