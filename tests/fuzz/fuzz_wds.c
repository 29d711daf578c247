/* fuzz_wds.c — the webdataset records format (plugins/data/wds_read.c, wds_write.c, the data plugin
 * compiled in): a tar shard is read into sample records, written back and read again as the same records
 * up to the order of their fields (the contract of wds_write.c: a sample's members are written in order
 * of extension, while a tar from elsewhere may hold them in any order). So the property is on the bytes
 * written: writing what was read back gives the very bytes the first write gave. */
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
    const swarm_records_format *f = fz_rformat(&p, "webdataset");
    fz_recs a, b;
    fz_buf w1, w2;
    if (fz_records_read(&a, &p, f, NULL, data, size) == 0) {
        if (fz_records_write(&w1, &p, f, NULL, &a) == 0) {
            FZ_CHECK(fz_records_read(&b, &p, f, NULL, w1.p ? w1.p : (const uint8_t *)"", w1.len) == 0);
            FZ_CHECK(b.n == a.n && b.bytes.len == a.bytes.len); /* the same samples, fields in another order */
            FZ_CHECK(fz_records_write(&w2, &p, f, NULL, &b) == 0);
            FZ_CHECK(w2.len == w1.len && (!w1.len || !memcmp(w1.p, w2.p, w1.len)));
            free(w2.p);
            fz_recs_free(&b);
        }
        free(w1.p);
    }
    fz_recs_free(&a);
    return 0;
}
