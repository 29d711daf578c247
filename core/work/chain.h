/* chain.h — reading a ledger chain (a ref's commits, each one signed record) as rows, checked once.
 *
 * A chain is read from git the first time: every record parsed and its signature verified (record.h),
 * then turned into rows, one per fact a view needs: a result (its unit, output id, where its provider
 * seeds), one per unit a claim names (with its expiry), one per unit a verdict judges (state, output
 * id), or an ignored record with the reason. The rows are kept in HOME/ledger.db (SQLite) with the
 * commit they reach; the next read walks only the commits added since (a fast-forward), or the whole
 * chain again when its ref was moved elsewhere. The cache is the home's own, like the stage cache: it
 * records what this machine checked. So a status of 100,000 results reads rows, not 100,000 signatures.
 *
 * Ownership: sw_chains_open returns a cache freed with sw_chains_free (NULL is fine). */
#ifndef SW_CHAIN_H
#define SW_CHAIN_H

#include "bundle/catalog.h"

typedef struct sw_chains sw_chains;
int sw_chains_open(sw_chains **out, const char *home);
void sw_chains_free(sw_chains *cc);

typedef enum { SW_CHAIN_RESULTS = 1, SW_CHAIN_CLAIMS, SW_CHAIN_VERDICTS } sw_chain_kind;

typedef struct {
    const char *commit;
    const char *kind;       /* "result", "claim", "verdict" or "ignored" */
    const char *key;        /* the signer */
    const char *job;        /* the job the record names */
    const char *unit;       /* result, claim, verdict */
    const char *outputs_id; /* result, verdict (may be "") */
    const char *extra;      /* result: its listen address or ""; verdict: the state; ignored: the reason */
    long long expires;      /* claim: when it ends (seconds since the epoch) */
} sw_chain_row;

typedef int (*sw_chain_fn)(void *ctx, const sw_chain_row *row);
/* Calls fn for each row of chain ref, oldest first: a chain of kind whose records must be signed by key.
 * Non-zero from fn stops and is returned. */
int sw_chains_read(sw_chains *cc, sw_catalog *c, const char *ref, sw_chain_kind kind, const char *key, sw_chain_fn fn,
                   void *ctx);

#endif
