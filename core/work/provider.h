/* provider.h — `swarm work`: lending this machine to the jobs of a ledger (COMPUTE.md, "Providers").
 *
 * A pass: pull the remote's catalog (the jobs' input versions) and fetch its ledger; for each job whose
 * needs this provider's plugins meet (a job it cannot run is skipped with a note, once), choose units
 * that still want results from keys other than those that gave one, this key's units first when their
 * inputs are held here, then in an order of its own (the SHA-256 of key and unit, so providers spread
 * over the job); claim them with a lease (one signed record, pushed); fetch their inputs through the
 * data plane in one session (only the units' files of the input version, listening on the host of
 * --listen, any port); then for each: run it (unit.h), commit its outputs as the version unit-ID@v1, seed it, and only then
 * append the signed result (its tree holds the version's manifest.json and bundle.torrent, so a
 * collector can fetch the outputs); the pass's results are pushed together at its end. A provider killed
 * mid-unit leaves a claim that expires, and results not yet pushed are computed again (from its stage
 * cache) on its next run. A unit whose pipeline fails (a hostile or broken job) is a note, and this
 * process neither claims nor runs it again; one whose inputs could not be fetched is tried again on the
 * next pass. */
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
    size_t passes, done, failed, skipped; /* units computed and published, units that failed, jobs skipped */
} sw_work_report;

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
    void (*status)(void *ctx, const sw_work_report *rep); /* after every unit and pass: a live line; may be NULL */
    void *ctx;
} sw_work_opts;


/* Works for o->remote until *o->stop (or one pass with once). Fails only on what stops every pass (the
 * remote cannot be reached on the first pass, the home cannot be written); a unit that fails is a note. */
int sw_work(sw_work_report *rep, sw_store *st, sw_catalog *cat, const sw_ident *id, const sw_plugins *ps,
            const sw_work_opts *o);

/* Pulls remote's versions (checking each torrent) and fetches its ledger: what every reader of a job
 * does first. */
int sw_work_sync(sw_catalog *cat, const char *remote);
/* Whether this provider's plugins meet the job's needs: 0, or SW_ENOTFOUND naming what is missing. */
int sw_work_can_run(const sw_job *j, const sw_plugins *ps, sw_catalog *cat, const char *home);

#endif
