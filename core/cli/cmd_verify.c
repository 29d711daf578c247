/* cmd_verify.c — swarm verify, fsck and gc: integrity and housekeeping. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "cache/fsck.h"
#include "bundle/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *name, *version;
} sw_vref;

typedef struct {
    sw_vref *v;
    size_t n, cap;
} sw_vrefs;

static int sw_push_vref(void *ctx, const char *name, const char *version)
{
    sw_vrefs *l = ctx;
    sw_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = (sw_vref){sw_strdup(name), sw_strdup(version)};
    return 0;
}

/* The versions to look at: the one named, or every version of every bundle. */
static int sw_select_versions(sw_vref **out, size_t *n, sw_catalog *cat, const char *ref)
{
    sw_vrefs l = {0};
    int r = 0;
    if (ref) {
        char *name, *version;
        if (sw_bundle_resolve(&name, &version, cat, ref))
            return SW_EINVALID;
        sw_grow(&l.v, &l.cap, 1, sizeof *l.v);
        l.v[l.n++] = (sw_vref){name, version};
    } else {
        r = sw_catalog_foreach(cat, sw_push_vref, &l);
    }
    *out = l.v;
    *n = l.n;
    return r;
}

/* Re-hashes one file's object; returns a reason when it is wrong, NULL when it is right. */
static const char *sw_verify_file(sw_store *st, const sw_mfile *f)
{
    char *path = sw_store_object_path(st, &f->hash);
    sw_hash h;
    uint64_t size;
    int r = sw_sha256_file(&h, &size, path);
    free(path);
    if (r)
        return sw_error_last();
    if (size != f->size)
        return "wrong size";
    if (!sw_hash_eq(&h, &f->hash))
        return "bytes do not match the SHA-256";
    return NULL;
}

/* Verdicts by object hash, so an object that many versions share is hashed once: an open-addressing
 * table indexed by the hash's first bytes (uniform, being SHA-256), kept at most half full. */
typedef struct {
    sw_hash h;
    char *why; /* NULL when the object is right */
    int used;
} sw_verdict;

typedef struct {
    sw_verdict *v;
    size_t n, cap; /* cap is a power of two */
} sw_verdicts;

static sw_verdict *sw_verdict_slot(sw_verdicts *t, const sw_hash *h)
{
    if (2 * (t->n + 1) > t->cap) {
        sw_verdicts big = {sw_calloc(t->cap ? 2 * t->cap : 64, sizeof *big.v), 0, t->cap ? 2 * t->cap : 64};
        for (size_t i = 0; i < t->cap; i++)
            if (t->v[i].used)
                *sw_verdict_slot(&big, &t->v[i].h) = t->v[i];
        big.n = t->n;
        free(t->v);
        *t = big;
    }
    uint64_t k;
    memcpy(&k, h->b, sizeof k);
    size_t i = (size_t)k & (t->cap - 1);
    while (t->v[i].used && !sw_hash_eq(&t->v[i].h, h))
        i = (i + 1) & (t->cap - 1);
    return &t->v[i];
}

/* The verdict on a file's object, hashing it the first time it is asked for. */
static const char *sw_verdict_of(sw_verdicts *t, sw_store *st, const sw_mfile *f)
{
    sw_verdict *e = sw_verdict_slot(t, &f->hash);
    if (!e->used) {
        const char *why = sw_verify_file(st, f);
        *e = (sw_verdict){f->hash, why ? sw_strdup(why) : NULL, 1};
        t->n++;
    }
    return e->why;
}

int sw_cmd_verify(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 0, 1, SW_USAGE_VERIFY))
        return 2;
    const char *ref = optind < argc ? argv[optind] : NULL;
    sw_store *st;
    sw_catalog *cat;
    if (sw_cli_open(cli, &st, &cat))
        return 1;
    sw_vref *refs;
    size_t nrefs;
    int rc = 0, corrupt = 0;
    if (sw_select_versions(&refs, &nrefs, cat, ref)) {
        rc = sw_cli_fail();
        goto done;
    }
    sw_verdicts verdicts = {0};
    for (size_t i = 0; i < nrefs; i++) {
        sw_manifest *m;
        if (sw_catalog_read(&m, cat, refs[i].name, refs[i].version)) {
            rc = sw_cli_fail();
            continue;
        }
        size_t held = sw_bundle_held_files(m, st), bad = 0;
        if (held < m->nfiles) {
            if (ref) {
                sw_error(SW_ENOTFOUND, "%s@%s is not held here (%zu of %zu files missing)", m->name, m->version,
                         m->nfiles - held, m->nfiles);
                rc = sw_cli_fail();
            } else if (cli->verbosity > 0 || held) {
                printf("%s@%s: %s\n", m->name, m->version, held ? "incomplete" : "not held");
            }
            sw_manifest_free(m);
            continue;
        }
        for (size_t k = 0; k < m->nfiles; k++) {
            const char *why = sw_verdict_of(&verdicts, st, &m->files[k]);
            if (why) {
                bad++;
                printf("%s@%s: CORRUPT %s: %s\n", m->name, m->version, m->files[k].path, why);
            }
        }
        if (bad) {
            rc = 1;
            corrupt = 1;
        } else {
            char size[32];
            printf("%s@%s: ok (%zu file%s, %s)\n", m->name, m->version, m->nfiles, m->nfiles == 1 ? "" : "s",
                   sw_fmt_bytes(size, sizeof size, sw_manifest_size(m)));
        }
        sw_manifest_free(m);
    }
    if (corrupt)
        fputs("swarm: error: corrupt objects found; 'swarm fsck' quarantines them\n", stderr);
    for (size_t j = 0; j < verdicts.cap; j++)
        free(verdicts.v[j].why);
    free(verdicts.v);
    for (size_t i = 0; i < nrefs; i++) {
        free(refs[i].name);
        free(refs[i].version);
    }
    free(refs);
done:
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}

static void sw_fsck_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

/* Removes the git locks a killed process left in the catalog (they would block pull for good), printing
 * one line for each; fails only when one cannot be removed. */
static int sw_fsck_catalog_locks(sw_catalog *cat)
{
    sw_strlist removed = {0};
    int r = sw_catalog_clear_locks(&removed, cat);
    for (size_t i = 0; i < removed.n; i++)
        printf("catalog: removed a stale git lock %s (left by a killed process)\n", removed.v[i]);
    sw_strlist_free(&removed);
    return r;
}

int sw_cmd_fsck(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 0, 0, SW_USAGE_FSCK))
        return 2;
    sw_store *st;
    sw_catalog *cat;
    if (sw_cli_open(cli, &st, &cat))
        return 1;
    sw_fsck_report rep;
    int rc = sw_store_fsck(st, &rep, sw_fsck_line, NULL) ? sw_cli_fail() : 0;
    if (!rc && sw_fsck_catalog_locks(cat))
        rc = sw_cli_fail();
    /* Every manifest in the catalog must still parse. */
    sw_vref *refs = NULL;
    size_t nrefs = 0, bad_manifests = 0;
    if (!rc && sw_select_versions(&refs, &nrefs, cat, NULL))
        rc = sw_cli_fail();
    for (size_t i = 0; i < nrefs; i++) {
        sw_manifest *m = NULL;
        if (sw_catalog_read(&m, cat, refs[i].name, refs[i].version)) {
            printf("catalog: %s\n", sw_error_last());
            bad_manifests++;
        }
        sw_manifest_free(m);
        free(refs[i].name);
        free(refs[i].version);
    }
    free(refs);
    if (!rc) {
        char size[32];
        sw_cli_note(cli, "fsck: %llu objects (%s) checked, %llu corrupt, %llu re-indexed, %llu stale index entries, "
                         "%llu temp files, %zu versions",
                    (unsigned long long)rep.objects, sw_fmt_bytes(size, sizeof size, rep.bytes),
                    (unsigned long long)rep.corrupt, (unsigned long long)rep.reindexed,
                    (unsigned long long)rep.orphan_rows, (unsigned long long)rep.temp_files, nrefs);
        if (rep.corrupt || bad_manifests) {
            fprintf(stderr, "swarm: error: fsck found %llu corrupt object%s and %zu bad manifest%s\n",
                    (unsigned long long)rep.corrupt, rep.corrupt == 1 ? "" : "s", bad_manifests,
                    bad_manifests == 1 ? "" : "s");
            rc = 1;
        }
    }
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}

/* The objects every version names (any order, repeats allowed). A version whose manifest cannot be read
 * stops gc: its objects are unknown, and removing them could lose data. */
static int sw_gc_referenced(sw_hash **out, size_t *n, sw_catalog *cat)
{
    sw_vref *refs = NULL;
    size_t nrefs = 0, nkeep = 0, cap = 0;
    sw_hash *keep = NULL;
    int r = sw_select_versions(&refs, &nrefs, cat, NULL);
    for (size_t i = 0; i < nrefs; i++) {
        sw_manifest *m = NULL;
        if (!r && (r = sw_catalog_read(&m, cat, refs[i].name, refs[i].version)))
            sw_error_wrap(SW_ERROR, "gc stopped, nothing removed");
        for (size_t k = 0; m && k < m->nfiles; k++) {
            sw_grow(&keep, &cap, nkeep + 1, sizeof *keep);
            keep[nkeep++] = m->files[k].hash;
        }
        sw_manifest_free(m);
        free(refs[i].name);
        free(refs[i].version);
    }
    free(refs);
    *out = keep;
    *n = nkeep;
    return r;
}

/* Parses gc's options: the grace period (--prune) and the stage cache's age (--cache-older-than). */
static int sw_gc_options(sw_cli *cli, int argc, char **argv, int64_t *prune, int64_t *cache_age)
{
    static const struct option opts[] = {
        {"prune", required_argument, NULL, 'p'}, {"cache-older-than", required_argument, NULL, 'c'},
        SW_CLI_COMMON_OPTS, {0}};
    *prune = 3600;
    *cache_age = 7 * 86400;
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", opts, SW_USAGE_GC)) != -1) {
        if (c == '?')
            return 2;
        if (sw_parse_age(c == 'p' ? prune : cache_age, optarg))
            return sw_cli_usage(SW_USAGE_GC, "%s: %s", c == 'p' ? "--prune" : "--cache-older-than", sw_error_last());
    }
    return optind < argc ? sw_cli_usage(SW_USAGE_GC, "too many arguments") : 0;
}

/* Prints what gc did, as one line or as JSON. */
static void sw_gc_print(const sw_cli *cli, const sw_gc_report *g, uint64_t stages)
{
    if (cli->json) {
        sw_cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "objects_removed", (json_int_t)g->objects,
                                    "bytes_freed", (json_int_t)g->bytes, "temp_files_removed",
                                    (json_int_t)g->temp_files, "stage_results_dropped", (json_int_t)stages,
                                    "recent_kept", (json_int_t)g->recent, "seeding_kept", (json_int_t)g->linked));
        return;
    }
    char size[32];
    printf("gc: removed %llu object%s, freed %s (%llu bytes); removed %llu temp file%s; dropped %llu stage "
           "result%s; kept %llu recent and %llu seeding unreferenced object%s\n",
           (unsigned long long)g->objects, g->objects == 1 ? "" : "s", sw_fmt_bytes(size, sizeof size, g->bytes),
           (unsigned long long)g->bytes, (unsigned long long)g->temp_files, g->temp_files == 1 ? "" : "s",
           (unsigned long long)stages, stages == 1 ? "" : "s", (unsigned long long)g->recent,
           (unsigned long long)g->linked, g->recent + g->linked == 1 ? "" : "s");
}

int sw_cmd_gc(sw_cli *cli, int argc, char **argv)
{
    int64_t prune, cache_age;
    int rc = sw_gc_options(cli, argc, argv, &prune, &cache_age);
    if (rc)
        return rc;
    sw_store *st;
    sw_catalog *cat;
    if (sw_cli_open(cli, &st, &cat))
        return 1;
    /* First the stage cache's policy (which unpins), then the catalog's snapshot, then the walk. */
    int64_t now = (int64_t)time(NULL);
    uint64_t stages = 0;
    sw_hash *keep = NULL;
    size_t nkeep = 0;
    sw_gc_report g;
    if (sw_index_stage_expire(sw_store_index(st), now - (cache_age > prune ? cache_age : prune), &stages) ||
        sw_gc_referenced(&keep, &nkeep, cat) || sw_store_gc(&g, st, keep, nkeep, (time_t)(now - prune)))
        rc = sw_cli_fail();
    else
        sw_gc_print(cli, &g, stages);
    free(keep);
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}
