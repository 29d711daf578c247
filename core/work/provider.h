/* provider.h — `swarm work`: lending this machine to the jobs of a ledger (COMPUTE.md, "Providers").
 *
 * A pass: pull the remote's catalog (the jobs' input versions) and fetch its ledger; for each job whose
 * needs this provider's plugins meet (a job it cannot run is skipped with a note, once), choose units
 * that still want results from keys other than those that gave one, this key's units first when their
 * inputs are held here, then in an order of its own (the SHA-256 of key and unit, so providers spread
 * over the job); claim them with a lease (one signed record, pushed); then for each: fetch its inputs
 * through the data plane, run it (unit.h), commit its outputs as the version unit-ID@v1, seed it, and
 * only then publish the signed result (its tree holds the version's manifest.json and bundle.torrent,
 * so a collector can fetch the outputs). A provider killed mid-unit leaves a claim that expires. A unit
 * whose pipeline fails (a hostile or broken job) is a note, and this process neither claims nor runs it
 * again; one whose inputs could not be fetched is tried again on the next pass. */
#ifndef SW_PROVIDER_H
#define SW_PROVIDER_H

#include <signal.h>

#include "bundle/catalog.h"
#include "cache/store.h"
#include "host/plugin.h"
#include "net/peers.h"
#include "net/torrent.h"
#include "work/ident.h"
#include "work/unit.h"

typedef struct {
    const char *remote;
    sw_unit_opts unit;
    int units;                         /* units claimed per pass, at least 1 */
    int once;                          /* one pass, then return */
    double poll;                       /* seconds between passes */
    double fetch_timeout;              /* seconds a fetch of a unit's inputs may take */
    const sw_peer_opts *peers;         /* for fetches and seeds */
    const char *listen;                /* HOST:PORT named in results as where outputs are seeded, or NULL */
    sw_tsession *seeds;                /* the session that seeds outputs, or NULL */
    const volatile sig_atomic_t *stop; /* a pass ends at the next step once set, a running unit is killed */
    void (*note)(void *ctx, const char *text);
    void *ctx;
} sw_work_opts;

typedef struct {
    size_t passes, done, failed, skipped; /* units computed and published, units that failed, jobs skipped */
} sw_work_report;

/* Works for o->remote until *o->stop (or one pass with once). Fails only on what stops every pass (the
 * remote cannot be reached on the first pass, the home cannot be written); a unit that fails is a note. */
int sw_work(sw_work_report *rep, sw_store *st, sw_catalog *cat, const sw_ident *id, const sw_plugins *ps,
            const sw_work_opts *o);

/* Pulls remote's versions (checking each torrent) and fetches its ledger: what every reader of a job
 * does first. */
int sw_work_sync(sw_catalog *cat, const char *remote);
/* Fetches each NAME@VERSION of refs that the store does not hold whole, from o's peers. */
int sw_work_fetch(sw_store *st, sw_catalog *cat, const sw_strlist *refs, const sw_peer_opts *peers, double timeout,
                  const volatile sig_atomic_t *stop);
/* Whether this provider's plugins meet the job's needs: 0, or SW_ENOTFOUND naming what is missing. */
int sw_work_can_run(const sw_job *j, const sw_plugins *ps, sw_catalog *cat, const char *home);

#endif
