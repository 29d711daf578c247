/* fuzz_manifest.c — a version's manifest (core/bundle/manifest.c): any text is parsed and validated; one
 * that parses is written as canonical JSON, which must parse again and write the same bytes. */
#include "bundle/manifest.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_manifest *m, *again;
    if (sw_manifest_parse(&m, (const char *)data, size))
        return 0;
    char *json = sw_manifest_to_json(m);
    int rc = sw_manifest_parse(&again, json, strlen(json));
    if (rc)
        fprintf(stderr, "re-parse: %s\n", sw_error_last());
    FZ_CHECK(rc == 0);
    char *json2 = sw_manifest_to_json(again);
    FZ_CHECK(!strcmp(json, json2));
    FZ_CHECK(sw_manifest_size(m) == sw_manifest_size(again));
    free(json);
    free(json2);
    sw_manifest_free(m);
    sw_manifest_free(again);
    return 0;
}
