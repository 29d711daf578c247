/* fuzz_jsonl.c — the jsonl records format (plugins/data/jsonl.c, the data plugin compiled in): whole-line
 * records read, written and read back the same (fz_records_roundtrip), and field=text records (the text
 * of one string key) read. */
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
    const swarm_records_format *f = fz_rformat(&p, "jsonl");
    swarm_param_value params[1];
    const char *key = "field", *text = "text";
    fz_rparams(params, f, NULL, NULL, 0);
    fz_records_roundtrip(&p, f, params, data, size);
    fz_recs r;
    fz_rparams(params, f, &key, &text, 1);
    fz_records_read(&r, &p, f, params, data, size);
    fz_recs_free(&r);
    return 0;
}
