/* gpu_stage.c — staging a GPU variant's buffers (see gpu_stage.h) through the runtime gpu_runtime.c loads. */
#include "host/gpu_stage.h"
#include "base/error.h"
#include "host/opcall.h"
#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sw_gpu_is_gpu(int32_t device_type)
{
    return device_type == SWARM_DEVICE_ROCM || device_type == SWARM_DEVICE_CUDA;
}

int sw_gpu_stage_begin(sw_gpu_stage *st, int32_t device_type)
{
    memset(st, 0, sizeof *st);
    st->device_type = device_type;
    return sw_gpu_runtime(&st->rt, device_type);
}

void sw_gpu_stage_end(sw_gpu_stage *st)
{
    for (size_t i = 0; i < st->nbufs; i++)
        sw_gpu_free(st->rt, st->bufs[i]);
    free(st->bufs);
    memset(st, 0, sizeof *st);
}

/* A device buffer of size bytes, remembered for sw_gpu_stage_end. */
static int sw_stage_alloc(sw_gpu_stage *st, void **out, uint64_t size)
{
    if (size > SIZE_MAX / 2)
        return sw_error(SW_ERETRY, "a buffer of %llu bytes is too large", (unsigned long long)size);
    int rc = sw_gpu_alloc(st->rt, out, (size_t)size);
    if (rc)
        return rc;
    sw_grow(&st->bufs, &st->cap, st->nbufs + 1, sizeof *st->bufs);
    st->bufs[st->nbufs++] = *out;
    return 0;
}

/* A device buffer holding a copy of size host bytes. */
static int sw_stage_copy_in(sw_gpu_stage *st, void **out, const void *src, uint64_t size)
{
    int rc = sw_stage_alloc(st, out, size);
    return rc ? rc : sw_gpu_to_device(st->rt, *out, src, (size_t)size);
}

/* The bytes of a compact tensor (what the host allocates for it). */
static int sw_stage_tensor_bytes(const swarm_tensor *t, uint64_t *size)
{
    if (t->strides)
        return sw_error(SW_ERETRY, "a strided tensor is not staged on a device");
    if (sw_tensor_nbytes(size, t->dtype, t->ndim, t->shape))
        return sw_error_wrap(SW_ERETRY, "cannot stage a tensor");
    return 0;
}

int sw_gpu_stage_inputs(sw_gpu_stage *st, swarm_value *dev, const swarm_value *host, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        dev[i] = host[i];
        if (host[i].kind == SWARM_KIND_TENSOR) {
            const swarm_tensor *h = &host[i].u.tensor;
            swarm_tensor *d = &dev[i].u.tensor;
            uint64_t size;
            if ((rc = sw_stage_tensor_bytes(h, &size)) ||
                (rc = sw_stage_copy_in(st, &d->data, (const uint8_t *)h->data + h->byte_offset, size)))
                return rc;
            d->device = (swarm_device){st->device_type, 0};
            d->byte_offset = 0;
        } else {
            const swarm_records *h = &host[i].u.records;
            swarm_records *d = &dev[i].u.records;
            if ((rc = sw_stage_copy_in(st, (void **)&d->offsets, h->offsets, (h->count + 1) * sizeof(uint64_t))) ||
                (rc = sw_stage_copy_in(st, (void **)&d->bytes, h->bytes, h->nbytes)))
                return rc;
        }
    }
    return 0;
}

int sw_gpu_stage_outputs(sw_gpu_stage *st, swarm_value *dev, const swarm_value *host, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        dev[i] = host[i];
        if (host[i].kind == SWARM_KIND_TENSOR) {
            swarm_tensor *d = &dev[i].u.tensor;
            uint64_t size;
            if ((rc = sw_stage_tensor_bytes(&host[i].u.tensor, &size)) || (rc = sw_stage_alloc(st, &d->data, size)))
                return rc;
            d->device = (swarm_device){st->device_type, 0};
        } else {
            const swarm_records *h = &host[i].u.records;
            swarm_records *d = &dev[i].u.records;
            if ((rc = sw_stage_copy_in(st, (void **)&d->offsets, h->offsets, (h->count + 1) * sizeof(uint64_t))) ||
                (rc = sw_stage_alloc(st, (void **)&d->bytes, h->nbytes)))
                return rc;
        }
    }
    return 0;
}

int sw_gpu_stage_fetch(sw_gpu_stage *st, swarm_value *host, const swarm_value *dev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (host[i].kind == SWARM_KIND_TENSOR) {
            uint64_t size;
            if ((rc = sw_stage_tensor_bytes(&host[i].u.tensor, &size)) ||
                (rc = sw_gpu_to_host(st->rt, host[i].u.tensor.data, dev[i].u.tensor.data, (size_t)size)))
                return rc;
        } else {
            swarm_records *h = &host[i].u.records;
            const swarm_records *d = &dev[i].u.records;
            if (d->count > h->count)
                return sw_error(SW_EPLUGIN, "run raised the count of a records output above what infer said");
            h->count = d->count; /* run may drop records (ABI 1.2) */
            if ((rc = sw_gpu_to_host(st->rt, h->offsets, d->offsets, (h->count + 1) * sizeof(uint64_t))))
                return rc;
            uint64_t used = h->offsets[h->count] < h->nbytes ? h->offsets[h->count] : h->nbytes;
            if ((rc = sw_gpu_to_host(st->rt, h->bytes, d->bytes, (size_t)used)))
                return rc;
        }
    }
    return 0;
}
