/* coord.h — the coordinator's side of a job (COMPUTE.md): verdicts, collecting the accepted outputs,
 * and re-verifying accepted units by computing them again.
 *
 * Verdicts are records of type "verdicts" on refs/swarm/verdicts/JOB, signed by the job's owner: each
 * names the units whose judged state changed since the owner's last verdict ({"state", "outputs_id",
 * "keys"} for an accepted unit, {"state", "want"} for a disputed one, {"state", "ops"} for one found
 * non-deterministic, naming the pipeline's ops) and every key's strikes. Only verdicts decide what
 * collect assembles.
 *
 * The collected version holds each unit's outputs under the unit's file path in the input version
 * (a unit of shard-003.jsonl.zst that wrote out/tokens/a.bin gives shard-003.jsonl.zst/tokens/a.bin),
 * so outputs of different units never collide. Its manifest's provenance names the job, its pipeline,
 * and per unit "unit:ID outputs:ID keys:KEY,KEY file:PATH". */
#ifndef SW_COORD_H
#define SW_COORD_H

#include <signal.h>

#include "bundle/catalog.h"
#include "cache/store.h"
#include "net/peers.h"
#include "work/ident.h"
#include "work/unit.h"

typedef struct {
    size_t changed;  /* units in the new verdict (0: nothing to say, no commit) */
    size_t accepted, disputed, nondet, open; /* units by judged state */
} sw_tick_report;
/* Judges job from remote's ledger and publishes the owner's verdict. SW_EINVALID when id is not the
 * job's owner. */
int sw_job_tick(sw_tick_report *rep, sw_catalog *cat, const sw_ident *id, const char *remote, const char *job);

typedef struct {
    const char *remote;
    const char *publish;               /* NAME@VERSION, or NAME for the next vN */
    const sw_peer_opts *peers;         /* besides the listen addresses agreeing providers give */
    double timeout;                    /* seconds per unit's fetch */
    const volatile sig_atomic_t *stop;
} sw_collect_opts;
/* Fetches every unit's accepted outputs (checked byte for byte against the accepted ids) and publishes
 * them as one version; *out gets its manifest. SW_EINVALID while a unit has no accepting verdict. */
int sw_job_collect(sw_manifest **out, sw_store *st, sw_catalog *cat, const char *job, const sw_collect_opts *o);

typedef struct {
    size_t checked, matched;
    sw_strlist mismatches; /* "UNIT FILE: accepted A, computed B" */
} sw_verify_report;
void sw_verify_report_free(sw_verify_report *r);
/* Computes up to sample accepted units of job here (chosen at random) and compares each with the
 * accepted output id of the owner's verdict. */
int sw_job_verify(sw_verify_report *rep, sw_store *st, sw_catalog *cat, const char *job, size_t sample,
                  const sw_collect_opts *o, const sw_unit_opts *uo);

#endif
