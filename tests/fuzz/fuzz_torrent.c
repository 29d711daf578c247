/* fuzz_torrent.c — .torrent files (core/net/torrent.cpp, libtorrent's bdecode and torrent_info) and the
 * check against a manifest (core/net/bundle_torrent.c): any bytes are parsed; a torrent that parses is
 * made again from what was parsed (sw_torrent_create, zero piece hashes), which must parse to the same
 * name, files and piece size; its magnet link is made; and it is checked against a manifest of its own
 * files when their paths are valid. */
#include "bundle/manifest.h"
#include "bundle/names.h"
#include "net/bundle_torrent.h"
#include "net/torrent.h"
#include "fuzz.h"

/* A manifest with ti's name and files (zero hashes), or NULL when they are not a valid version's. */
static sw_manifest *fz_manifest_of(const sw_torrent_info *ti)
{
    if (sw_name_check("bundle name", ti->name))
        return NULL;
    sw_manifest *m = sw_manifest_new();
    m->name = sw_strdup(ti->name);
    sw_hash h;
    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < ti->nfiles; i++) {
        if (sw_path_check(ti->files[i].path)) {
            sw_manifest_free(m);
            return NULL;
        }
        sw_manifest_add_file(m, ti->files[i].path, ti->files[i].size, 0644, &h, NULL, 0);
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_torrent_info ti, again;
    char *magnet = NULL;
    if (sw_torrent_parse(&ti, data, size))
        return 0;
    FZ_CHECK(sw_torrent_magnet(&magnet, data, size) == 0);
    free(magnet);
    uint64_t total = 0;
    for (size_t i = 0; i < ti.nfiles; i++)
        total += ti.files[i].size;
    size_t npieces = ti.piece_size ? (size_t)((total + ti.piece_size - 1) / ti.piece_size) : 0;
    if (ti.piece_size && npieces <= ((size_t)1 << 20)) {
        unsigned char(*pieces)[SW_SHA1_LEN] = calloc(npieces ? npieces : 1, SW_SHA1_LEN);
        unsigned char *out;
        size_t len;
        char ih[41];
        FZ_CHECK(pieces);
        if (sw_torrent_create(&out, &len, ih, ti.name, ti.files, ti.nfiles, ti.piece_size,
                              (const unsigned char(*)[SW_SHA1_LEN])pieces, npieces, NULL) == 0) {
            FZ_CHECK(sw_torrent_parse(&again, out, len) == 0);
            FZ_CHECK(!strcmp(again.name, ti.name) && again.nfiles == ti.nfiles && again.piece_size == ti.piece_size);
            FZ_CHECK(!strcmp(again.ih_hex, ih));
            for (size_t i = 0; i < ti.nfiles; i++)
                FZ_CHECK(!strcmp(again.files[i].path, ti.files[i].path) && again.files[i].size == ti.files[i].size);
            sw_torrent_info_free(&again);
            free(out);
        }
        free(pieces);
    }
    sw_manifest *m = fz_manifest_of(&ti);
    if (m) {
        memcpy(m->torrent_v1, ti.ih_hex, sizeof m->torrent_v1);
        int rc = sw_manifest_sort(m) ? -1 : sw_bundle_torrent_check(&ti, m);
        (void)rc; /* the piece size or the order may differ from swarm's: either answer, no crash */
        sw_manifest_free(m);
    }
    sw_torrent_info_free(&ti);
    return 0;
}
