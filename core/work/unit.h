/* unit.h — computing one unit of a job on this machine, in a child process (COMPUTE.md, "Providers are
 * careful with what they run").
 *
 * A unit runs in a fresh folder HOME/work/UNIT-PID/ holding pipeline.lua (the job's text), p/PARAM/ (each
 * bundle param checked out from the store) and out/ (where the outputs go); nothing else of the machine
 * is named by its params (job.h). The child is this program's own `pipeline run` with the folder as its
 * working directory, the home's store (so its stage cache serves units too), the provider's plugin path
 * only, resource limits (address space, CPU time, file size, open files) and, where the kernel lets an
 * unprivileged process make namespaces, no network. Its stderr is kept in the folder, and its last line
 * names a failure. The outputs are then stored, listed in a manifest named after the unit
 * (unit-<first 16 hex of its id>@v1, fixed time and author, so that every honest provider makes the same
 * manifest and torrent) and the folder is removed. */
#ifndef SW_UNIT_H
#define SW_UNIT_H

#include <signal.h>
#include <stdint.h>

#include "base/util.h"
#include "bundle/catalog.h"
#include "cache/store.h"
#include "net/fetch.h"
#include "work/job.h"

typedef struct {
    int jobs;                          /* the child's worker threads */
    const sw_strlist *plugin_dirs;     /* --plugin-path of the provider */
    const volatile sig_atomic_t *stop; /* kills the child once set */
    uint64_t mem_limit;                /* bytes of address space (0: 16 GiB) */
    long cpu_limit;                    /* seconds of CPU (0: 6 hours) */
} sw_unit_opts;

typedef struct {
    sw_manifest *m;        /* unit-ID@v1, its torrent's info-hash set */
    unsigned char *torrent;
    size_t torrent_len;
    json_t *files;         /* [[PATH, SIZE, SHA256], ...] */
    char outputs_id[SW_HEX_LEN + 1];
} sw_unit_output;
void sw_unit_output_clear(sw_unit_output *o);

/* Fetches what units (n indexes into j's units) read and the store lacks, through the data plane, in
 * one session each: their own files of the input version (libtorrent's file priorities: not the whole
 * version) and each bound param's version. */
int sw_unit_fetch(sw_store *st, sw_catalog *cat, const sw_job *j, const size_t *units, size_t n,
                  const sw_fetch_opts *o);
/* Runs unit u of j (rules above); its outputs are in the store, not in the catalog. SW_ENOTFOUND when
 * an input is not held, SW_EINVALID when the catalog's versions are not the job's, SW_ERROR when the
 * pipeline fails (its last line in the message). */
int sw_unit_run(sw_unit_output *out, sw_store *st, sw_catalog *cat, const sw_job *j, const sw_unit *u,
                const sw_unit_opts *o);
/* Removes the folders under HOME/work/ that a process now gone left (a provider killed mid-unit): each
 * folder's name ends in -PID of the process that made it. Returns how many it removed. */
size_t sw_unit_sweep(const char *home);
/* The bundle name of a unit's outputs: unit-<first 16 hex digits of its id> (caller frees). */
char *sw_unit_bundle(const char *unit);

#endif
