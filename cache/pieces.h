/* pieces.h — SHA-1 of fixed-size pieces over a run of streams laid end to end (BitTorrent v1's pieces).
 *
 * Bytes are fed in order, stream after stream; a piece may span the end of one stream and the start of
 * the next. The accumulator also records which streams were fed (their SHA-256 and size), so whoever
 * uses the hashes can check they cover exactly the files it describes, in its order. Lives in cache/ so
 * the store's single ingest pass can hash pieces as it stores; the torrent itself is made in core/net. */
#ifndef SW_PIECES_H
#define SW_PIECES_H

#include <stddef.h>
#include <stdint.h>

#include "cache/hash.h"

#define SW_PIECE_HASH_LEN 20

typedef struct {
    uint32_t piece;                           /* the piece size */
    uint64_t total;                           /* bytes fed so far */
    unsigned char (*hashes)[SW_PIECE_HASH_LEN]; /* finished pieces */
    size_t nhashes, cap;
    struct {
        sw_hash hash;
        uint64_t size;
    } *streams; /* the streams fed, in order: SHA-256 and size */
    size_t nstreams, scap;
    int ended;  /* sw_pieces_end was called: the last short piece is in hashes */
    void *ctx;  /* the piece in progress (an EVP_MD_CTX) */
} sw_pieces;

/* Starts an empty run cut into pieces of piece bytes (> 0). Out of memory exits. */
void sw_pieces_init(sw_pieces *p, uint32_t piece);
void sw_pieces_clear(sw_pieces *p);
/* Feeds the next len bytes of the run. */
void sw_pieces_update(sw_pieces *p, const void *data, size_t len);
/* Records that the stream just fed (since the previous call) was size bytes with SHA-256 h. */
void sw_pieces_stream(sw_pieces *p, const sw_hash *h, uint64_t size);
/* Ends the run: the last piece, when short, is hashed as it is. No bytes may follow. */
void sw_pieces_end(sw_pieces *p);

#endif
