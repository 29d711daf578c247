/* view.h — what a job's ledger says, read and checked: the job, every result and live claim for its
 * units, the owner's verdicts, and the quorum rule applied to the results (COMPUTE.md, "Rules").
 *
 * Records come from the mirror of one remote (bundle/ledger.h): results and claims from each
 * refs/swarm/ledger/R/peers/KEY/{results,claims} chain, verdicts from refs/swarm/ledger/R/verdicts/JOB.
 * Every record is parsed and its signature checked (record.h); one that fails, is signed by another key
 * than its ref names, or is not of its chain's type is left out and listed in `ignored` with the reason.
 *
 * The rule (sw_view_judge), over results from distinct keys, each key's first result for a unit:
 * a unit is accepted when `quorum` keys not struck out agree on its output id. A key whose result differs
 * from an accepted output id is struck out: it stops counting anywhere and the judging runs again, so
 * units it helped accept are re-examined. Each pass judges every unit against the strikes the pass began
 * with, and strikes only grow, so the outcome does not depend on the order of units or records (keys
 * that together reach a quorum against an honest key strike it too: quorum is the bound on collusion). A unit with results that differ gets another replica
 * (want grows), and one that reaches max_results without agreement is non-deterministic.
 *
 * Ownership: sw_view_load returns a view freed with sw_view_free (NULL is fine). */
#ifndef SW_VIEW_H
#define SW_VIEW_H

#include "base/util.h"
#include "bundle/catalog.h"
#include "work/job.h"

typedef enum {
    SW_UNIT_WAITING = 0,
    SW_UNIT_RUNNING,   /* live claims, not enough results yet */
    SW_UNIT_DISPUTED,  /* results differ: another replica is wanted */
    SW_UNIT_ACCEPTED,
    SW_UNIT_NONDET,    /* max_results reached without agreement */
} sw_unit_state;
const char *sw_unit_state_name(sw_unit_state s);

typedef struct {
    char key[SW_KEYID_LEN + 1];
    char outputs_id[SW_HEX_LEN + 1];
    char commit[SW_OID_HEX + 1]; /* the result's commit (its tree: manifest.json, bundle.torrent) */
    char *listen;                /* where its provider seeds (HOST:PORT), or NULL */
} sw_result;

typedef struct {
    sw_result *results; /* one per key */
    size_t nresults;
    sw_strlist claims;  /* keys with a live claim and no result */
    sw_unit_state state;
    char accepted[SW_HEX_LEN + 1]; /* when ACCEPTED */
    sw_strlist agreed;             /* keys that agreed, sorted */
    int want;                      /* results wanted from keys not struck out */
    /* the owner's last verdict on the unit: "" when none */
    char verdict[16];
    char verdict_id[SW_HEX_LEN + 1];
} sw_unit_view;

typedef struct {
    char key[SW_KEYID_LEN + 1];
    size_t results, agreed, strikes;
} sw_key_view;

typedef struct {
    sw_job *job;
    sw_unit_view *units; /* parallel to job->units */
    sw_key_view *keys;   /* every key with a result for the job, sorted */
    size_t nkeys;
    sw_strlist ignored;  /* "REF COMMIT: reason" */
    char *remote;
    char verdicts_tip[SW_OID_HEX + 1]; /* "" when the job has no verdicts yet */
} sw_view;
void sw_view_free(sw_view *v);

/* Reads job (its id) from the mirror of remote as of time now, in seconds since the Epoch (time(NULL),
 * not sw_now()'s monotonic clock: claims expire at a wall-clock time). SW_ENOTFOUND for an unknown job,
 * SW_EINVALID when the job itself does not check out. */
int sw_view_load(sw_view **out, sw_catalog *c, const char *remote, const char *job, double now);
/* Applies the rule to the results (above); fills state, accepted, agreed and want of every unit and the
 * key counts. */
void sw_view_judge(sw_view *v);
/* The key view of key, or NULL. */
sw_key_view *sw_view_key(const sw_view *v, const char *key);

/* The output id of a result: the SHA-256 of the canonical JSON {"files": [[PATH, SIZE, SHA256], ...],
 * "torrent": INFOHASH}. */
void sw_outputs_id(char out[SW_HEX_LEN + 1], const json_t *files, const char *torrent);

#endif
