/* gpu_stage.h — the host side of a GPU variant's call (ABI: the host allocates every buffer on the
 * variant's device): the inputs copied to device 0, the outputs allocated there, and copied back into the
 * host buffers the caller's allocator gave once run returns. core/opcall.c drives it around infer and
 * run; everything it allocates on the device is freed by sw_gpu_stage_end.
 *
 * Device buffers are fresh allocations, so they are aligned for any element type whatever the byte
 * offset of the host data (a tensor in a file may start at any byte), and a staged tensor has
 * byte_offset 0 and no strides. Every function returns 0 or SW_ERETRY with sw_error set (no runtime, out
 * of device memory, a failed copy, a strided input): the host then tries the op's next variant. */
#ifndef SW_GPU_STAGE_H
#define SW_GPU_STAGE_H

#include <stddef.h>

#include "host/gpu_runtime.h"
#include "swarm_plugin.h"

typedef struct {
    const sw_gpu_rt *rt;
    int32_t device_type;
    void **bufs; /* every device allocation, freed at the end */
    size_t nbufs, cap;
} sw_gpu_stage;

/* Whether a device type is a GPU the host can stage buffers for (ROCM, CUDA). */
int sw_gpu_is_gpu(int32_t device_type);

/* Starts staging for a variant of device_type: loads its runtime. Call sw_gpu_stage_end after, even on
 * failure. */
int sw_gpu_stage_begin(sw_gpu_stage *st, int32_t device_type);
void sw_gpu_stage_end(sw_gpu_stage *st);

/* dev[i] = host[i] with its buffers copied to the device (shapes shared with host). */
int sw_gpu_stage_inputs(sw_gpu_stage *st, swarm_value *dev, const swarm_value *host, size_t n);

/* dev[i] = the outputs as infer described them in host[i], with device buffers of the same sizes (a
 * record batch's offsets start as zeros). */
int sw_gpu_stage_outputs(sw_gpu_stage *st, swarm_value *dev, const swarm_value *host, size_t n);

/* Copies what run wrote into dev back into host's buffers: a tensor's bytes, a record batch's offsets
 * and then the bytes they cover (at most nbytes; the caller checks the offsets). */
int sw_gpu_stage_fetch(sw_gpu_stage *st, swarm_value *host, const swarm_value *dev, size_t n);

#endif
