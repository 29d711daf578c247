/* vocab.h — vocabularies by path through the plugin's process-wide cache (vocab.c). */
#ifndef SWARM_TEXT_VOCAB_H
#define SWARM_TEXT_VOCAB_H

#include "bpe.h"

/* The vocabulary at path (a directory of vocab.bpe + encoder.json, or a tokenizer.json), loaded on first
 * use or when its files changed, and held until text_vocab_release(*handle). Thread-safe. BPE_OK, or a
 * BPE_E_* code with the reason in err (missing or unreadable files, and every parse error). */
int text_vocab_acquire(const bpe_vocab **v, void **handle, const char *path, char *err);

/* Lets go of a vocabulary acquired with text_vocab_acquire (a NULL handle does nothing). */
void text_vocab_release(void *handle);

#endif
