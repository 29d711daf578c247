/* records.h — record streams in their two framings (values.h): "lines" (records end at '\n'; a last
 * record may lack it) and "framed" (u32 little-endian length, then the bytes). A cursor walks records
 * in bytes mapped from a file; a writer frames records into a file while hashing what it writes. */
#ifndef SW_RECORDS_H
#define SW_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "cache/hash.h"

typedef enum { SW_FRAME_LINES = 1, SW_FRAME_FRAMED = 2 } sw_framing;

typedef struct {
    const uint8_t *p, *end;
    sw_framing framing;
} sw_rcursor;

/* The next record: 1 and (rec, len), 0 at the end, SW_EINVALID for a truncated framed record. */
int sw_rcursor_next(sw_rcursor *c, const uint8_t **rec, size_t *len);

/* Drops from memory the pages of a read-only file mapping between *from and upto, in whole steps of 4
 * MiB, and advances *from (a page touched again is read again from the file): keeps the resident memory
 * of a sequential reader bounded. *from starts at the mapping's first byte. */
void sw_drop_behind(const uint8_t **from, const uint8_t *upto);

/* Buffered output to fd (and to tee, when the caller sets one) that hashes every byte it writes. A large piece (SW_FWRITER_SPLIT and up) is
 * hashed on a second thread while it is written. With push set, the written pages are handed to the
 * disk as the write goes (every SW_FWRITER_PUSH bytes), so that the fsync of a file to be committed does
 * not wait for all of its writeback at once. */
#define SW_FWRITER_SPLIT ((size_t)1 << 20)
#define SW_FWRITER_PUSH ((uint64_t)32 << 20)
typedef struct {
    int fd;
    sw_sha256 *sha;
    uint8_t *buf;
    size_t n, cap;
    uint64_t total;
    int failed; /* a write failed: every later call fails too */
    int push;
    uint64_t written, pushed; /* bytes written to fd, and handed to the disk */
    int tee;                  /* a second file that gets the same bytes (not hashed, not pushed), or -1 */
} sw_fwriter;
void sw_fwriter_init(sw_fwriter *w, int fd);
/* Appends bytes; 0 or SW_ERROR (errno's message). */
int sw_fwriter_put(sw_fwriter *w, const void *data, size_t len);
/* Appends one record in framing f (lines: refuses a record holding '\n' with SW_EINVALID). */
int sw_fwriter_record(sw_fwriter *w, sw_framing f, const void *rec, size_t len);
/* Appends len bytes of the file at path from offset, by the kernel (copy_file_range, to fd then tee)
 * while a second thread reads them into a buffer of its own and hashes them: the copy goes through no
 * user memory. Only for a file nobody else writes while the run lasts (a store object, a run's own temp
 * file): what is hashed and what is copied are read separately. 0 or SW_ERROR. */
int sw_fwriter_copy(sw_fwriter *w, const char *path, uint64_t offset, uint64_t len);
/* Flushes and gives the hash of everything written; frees the writer's buffers either way. */
int sw_fwriter_finish(sw_fwriter *w, sw_hash *h);
void sw_fwriter_abort(sw_fwriter *w);

#endif
