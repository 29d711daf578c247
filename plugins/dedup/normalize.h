/* normalize.h — the text normalization both dedup ops hash (its rules are in normalize.c). */
#ifndef SW_DEDUP_NORMALIZE_H
#define SW_DEDUP_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* The name of the rules, written into reports; changes whenever they do (and the ops' versions with it). */
#define DD_NORMALIZATION "swarm-dedup-norm-1"

/* Writes the normalized form of in[0..n) to out (room for n bytes: it is never longer) and returns its
 * length. */
size_t dd_normalize(const uint8_t *in, size_t n, uint8_t *out);

#endif
