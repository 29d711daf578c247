/* place.h — placing held chunks into a file about to be downloaded (delta fetches).
 *
 * A peer that holds an older version has most of the new version's chunks already, in other objects.
 * Before a download, each new file is built from them: every chunk the index knows is copied to its
 * offset (in-kernel, copy_file_range), and the runs of chunks no object holds are guessed from their
 * neighbours. The result is only a starting point: the downloader (libtorrent) checks every piece and
 * fetches what is missing or wrong, so a wrong guess costs no more than the download it replaces. */
#ifndef SW_PLACE_H
#define SW_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "cache/chunker.h"
#include "cache/store.h"

/* Creates the file at path (size bytes, cut into the n chunks, which tile it) from the chunks the store
 * holds, adding the bytes of the held chunks to *reused. When path exists already (an interrupted
 * download being resumed) it is left as it is. When no chunk is held the file is not created at all
 * (the downloader would otherwise read and hash a file of zeros before asking for a piece); an empty
 * file is always created. Returns 0 or SW_ERROR (cannot create or size the file) with sw_error set. */
int sw_place_file(uint64_t *reused, sw_store *st, const sw_chunk *chunks, size_t n, uint64_t size, const char *path);

#endif
