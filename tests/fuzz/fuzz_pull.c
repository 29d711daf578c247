/* fuzz_pull.c — what `swarm pull` checks of a fetched version before importing its tag
 * (sw_catalog_check_pulled, core/bundle/catalog.c): the input is the tag, a NUL, manifest.json, and
 * optionally a NUL and bundle.torrent. A version that passes has a manifest of that name and version and
 * a torrent (when there is one) that describes its files. */
#include "bundle/catalog.h"
#include "bundle/names.h"
#include "fuzz.h"
#include "net/bundle_torrent.h"

/* The torrent check swarm pull's caller passes (core/cli/cmd_remote.c). */
static int fz_check_torrent(void *ctx, const sw_manifest *m, const void *torrent, size_t len)
{
    (void)ctx;
    return sw_bundle_torrent_check_bytes(m, torrent, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *z = memchr(data, 0, size);
    if (!z)
        return 0;
    const char *tag = (const char *)data; /* NUL-terminated by z */
    const uint8_t *json = z + 1, *torrent = memchr(json, 0, size - (size_t)(json - data));
    size_t jlen = torrent ? (size_t)(torrent - json) : size - (size_t)(json - data);
    if (torrent)
        torrent++;
    sw_manifest *m;
    sw_pull_checks checks = {fz_check_torrent, NULL, NULL};
    if (sw_catalog_check_pulled(&m, tag, json, jlen, torrent, torrent ? size - (size_t)(torrent - data) : 0, &checks))
        return 0;
    char *name, *version;
    FZ_CHECK(sw_ref_parse(&name, &version, tag, 0) == 0);
    FZ_CHECK(!strcmp(m->name, name) && !strcmp(m->version, version));
    FZ_CHECK(torrent || !m->torrent_v1[0]);
    free(name);
    free(version);
    sw_manifest_free(m);
    return 0;
}
