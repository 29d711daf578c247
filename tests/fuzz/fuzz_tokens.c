/* fuzz_tokens.c — the token file formats (plugins/data/tokens.c, the data plugin compiled in): the same
 * bytes read as an llm.c shard (gpt2 or llama3 header, written back with the same) and as a nanoGPT file, each written back and read
 * again the same (fz_records_roundtrip). */
#define DT_READ_CHUNK ((size_t)4096) /* as test_data: fast under ASan, chunk boundaries met often */
#include "data/data.c"
#include "data/filter.c"
#include "data/jsonl.c"
#include "data/shuffle.c"
#include "data/tokens.c"
#include "data/util.c"
#include "data/wds.c"
#include "data/wds_read.c"
#include "data/wds_write.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_plugin p = fz_plugin();
    static const char *const keys[] = {"header"}, *const gpt2[] = {"gpt2"}, *const llama3[] = {"llama3"};
    swarm_param_value params[2];
    const swarm_records_format *llmc = fz_rformat(&p, "llmc"), *nanogpt = fz_rformat(&p, "nanogpt");
    uint32_t magic = 0;
    memcpy(&magic, data, size < 4 ? size : 4);
    fz_rparams(params, llmc, keys, magic == 20240801 ? llama3 : gpt2, 1); /* written back as it was */
    fz_records_roundtrip(&p, llmc, params, data, size);
    fz_rparams(params, nanogpt, NULL, NULL, 0);
    fz_records_roundtrip(&p, nanogpt, params, data, size);
    return 0;
}
