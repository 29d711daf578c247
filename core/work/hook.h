/* hook.h — the ledger's pre-receive hook (`swarm ledger hook`, installed by `swarm ledger init`): the
 * first line of defence of a shared ledger. Readers check every record themselves (view.h); the hook
 * keeps what they would ignore out of the repository.
 *
 * For each pushed ref under refs/swarm/ it refuses: deleting it; a non-fast-forward update; a merge;
 * under jobs/JOB, anything but the creation of one root commit holding the job JOB (job.h); under
 * verdicts/JOB, a commit that is not a verdict on JOB signed by JOB's owner; under peers/KEY/claims and
 * peers/KEY/results, a commit that is not a claim or result signed by KEY; any other ref under
 * refs/swarm/. Refs outside refs/swarm/ (the catalog's version tags) pass. */
#ifndef SW_HOOK_H
#define SW_HOOK_H

#include <stdio.h>

#include "base/util.h"
#include "bundle/catalog.h"

/* Reads git's pre-receive lines ("OLD NEW REF") from in and checks each update against the repository
 * of c; every refusal is appended to refused as "REF: reason". Fails only when the input is malformed. */
int sw_hook_check(sw_strlist *refused, sw_catalog *c, FILE *in);

#endif
