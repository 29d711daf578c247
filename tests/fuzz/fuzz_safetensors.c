/* fuzz_safetensors.c — the safetensors reader (plugins/safetensors/safetensors.c, compiled in): any file is
 * read through the host as swarm reads it, and one that reads is laid out again and read back
 * (fz_tensor_roundtrip). */
#include "safetensors/safetensors.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_plugin p = fz_plugin();
    fz_tensor_roundtrip(&p, p.desc->formats[0], data, size);
    return 0;
}
