/* fuzz_wds.c — the webdataset records format (plugins/data/wds_read.c, wds_write.c, the data plugin
 * compiled in): a tar shard is read into sample records, written back and read again the same
 * (fz_records_roundtrip). */
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
    fz_records_roundtrip(&p, fz_rformat(&p, "webdataset"), NULL, data, size);
    return 0;
}
