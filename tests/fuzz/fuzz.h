/* fuzz.h — what the harnesses of tests/fuzz/ share: a property check that aborts (so that libFuzzer and
 * the replay driver both see a crash), a plugin compiled into the harness wrapped as a loaded one, and
 * round trips through a plugin's tensor format (read -> layout -> read) or records format (read -> write
 * -> read) through the host of core/host/opcall.h, exactly as swarm calls them.
 *
 * Every harness is one file, fuzz_NAME.c, defining LLVMFuzzerTestOneInput; it is linked with libFuzzer
 * (make fuzz) and with tests/fuzz/replay.c (make test replays the corpora and crashers). */
#ifndef SW_FUZZ_H
#define SW_FUZZ_H

#include "base/error.h"
#include "base/util.h"
#include "host/opcall.h"
#include "host/plugin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the parser that must hold: abort with where and what, which libFuzzer saves as a crash. */
#define FZ_CHECK(cond)                                                                                         \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);                        \
            abort();                                                                                           \
        }                                                                                                      \
    } while (0)

/* The plugin whose sources the harness compiled in, as the loader would hold it. */
static inline sw_plugin fz_plugin(void)
{
    sw_plugin p;
    memset(&p, 0, sizeof p);
    p.desc = swarm_plugin_entry();
    return p;
}

/* A scratch folder of this process under $TMPDIR (made on the first call, removed at exit), for the
 * harnesses whose parser takes a path; aborts when it cannot be made. */
const char *fz_scratch(void);

/* Reads data through format f; when it reads, lays the same tensors and metadata out again, builds that
 * file (the header, then each tensor's bytes copied from data at its new offset) and reads it back: the
 * tensors (names, dtypes, shapes, bytes) and every metadata pair must come back. A layout may refuse
 * (a writer's own rules); a file it laid out must read. */
void fz_tensor_roundtrip(const sw_plugin *p, const swarm_format *f, const uint8_t *data, size_t size);

/* Growing bytes, and a list of records (their bytes, and n + 1 offsets into them). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} fz_buf;

typedef struct {
    fz_buf bytes;
    size_t *off, n, cap;
} fz_recs;

void fz_buf_put(fz_buf *b, const void *d, size_t n);
void fz_recs_free(fz_recs *r);
int fz_recs_equal(const fz_recs *a, const fz_recs *b);

/* The records format called name in plugin p; aborts when there is none (a harness bug). */
const swarm_records_format *fz_rformat(const sw_plugin *p, const char *name);
/* Binds f's params: each its default, except those named in keys (vals[i] for keys[i]). */
void fz_rparams(swarm_param_value *out, const swarm_records_format *f, const char *const *keys,
                const char *const *vals, size_t nset);
/* Reads size bytes through records format f into r (made empty first; fz_recs_free it); the read's code.
 * The bytes arrive in chunks of varying sizes (1 byte to 4 KiB, the same for the same input), so that
 * formats meet chunk boundaries anywhere. */
int fz_records_read(fz_recs *r, const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                    const uint8_t *data, size_t size);
/* Writes records r through f into out (made empty first; free out->p); the write's code. */
int fz_records_write(fz_buf *out, const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                     fz_recs *r);
/* Reads data through f; when it reads, writes those records and reads the file written: the same
 * records must come back. A write may refuse records (a writer's own rules); a file it wrote must read. */
void fz_records_roundtrip(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                          const uint8_t *data, size_t size);

#endif
