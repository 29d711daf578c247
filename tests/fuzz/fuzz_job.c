/* fuzz_job.c — a job from a stranger's ledger (core/work/job.c and record.c): the input is the commit
 * message (a signed record), a NUL, pipeline.lua, a NUL, units.json. A record that parses re-encodes to
 * its own JSON line; a job that parses has 1 to SW_JOB_MAX_UNITS units whose ids it recomputed, and
 * safe relative file paths. */
#include "fuzz.h"
#include "work/job.h"
#include "work/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *)data;
    const uint8_t *z1 = memchr(data, 0, size);
    size_t mlen = z1 ? (size_t)(z1 - data) : size;
    sw_record rec;
    if (sw_record_parse(&rec, msg, mlen) == 0) {
        char *line = sw_record_json(rec.body);
        FZ_CHECK(strlen(line) < mlen && !memcmp(line, msg, strlen(line)));
        free(line);
        sw_record_clear(&rec);
    }
    const uint8_t *p = z1 ? z1 + 1 : NULL, *z2 = p ? memchr(p, 0, size - (size_t)(p - data)) : NULL;
    if (!z2)
        return 0;
    const char *units = (const char *)z2 + 1;
    size_t ulen = size - (size_t)((const uint8_t *)units - data);
    sw_job *j;
    if (sw_job_parse(&j, msg, mlen, (const char *)p, (size_t)(z2 - p), units, ulen, NULL))
        return 0;
    FZ_CHECK(j->nunits >= 1 && j->nunits <= SW_JOB_MAX_UNITS);
    FZ_CHECK(j->quorum >= 1 && j->max_results >= j->quorum);
    for (size_t i = 0; i < j->nunits; i++)
        FZ_CHECK(j->units[i].file[0] != '/' && strlen(j->units[i].id) == SW_HEX_LEN);
    sw_job_free(j);
    return 0;
}
