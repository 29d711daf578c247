/* chain.c — ledger chains as checked rows, cached in SQLite (see chain.h). */
#include "work/chain.h"
#include "base/error.h"
#include "base/util.h"
#include "bundle/ledger.h"
#include "cache/home.h"
#include "work/record.h"
#include "work/view.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define SW_CHAIN_MAX 10000000 /* commits in one chain a reader walks */

struct sw_chains {
    sqlite3 *db;
};

static int sw_db_fail(sqlite3 *db, const char *what)
{
    return sw_error(SW_ERROR, "ledger cache: %s: %s", what, sqlite3_errmsg(db));
}

int sw_chains_open(sw_chains **out, const char *home)
{
    *out = NULL;
    sw_chains *cc = sw_calloc(1, sizeof *cc);
    char *path = sw_sprintf("%s/" SW_HOME_LEDGER_DB, home);
    int r = 0;
    if (sqlite3_open_v2(path, &cc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        r = sw_db_fail(cc->db, "cannot open");
    if (!r) {
        sqlite3_busy_timeout(cc->db, 30000);
        if (sqlite3_exec(cc->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                         "CREATE TABLE IF NOT EXISTS chain(ref TEXT PRIMARY KEY, tip TEXT NOT NULL, n INTEGER NOT NULL);"
                         "CREATE TABLE IF NOT EXISTS row(ref TEXT NOT NULL, seq INTEGER NOT NULL, commit_id TEXT, kind TEXT,"
                         " key TEXT, job TEXT, unit TEXT, outputs_id TEXT, extra TEXT, expires INTEGER,"
                         " PRIMARY KEY(ref, seq)) WITHOUT ROWID;",
                         NULL, NULL, NULL) != SQLITE_OK)
            r = sw_db_fail(cc->db, "cannot create its tables");
    }
    free(path);
    if (r) {
        sw_chains_free(cc);
        return r;
    }
    *out = cc;
    return 0;
}

void sw_chains_free(sw_chains *cc)
{
    if (!cc)
        return;
    sqlite3_close(cc->db);
    free(cc);
}

/* A walk of new commits: each becomes rows, inserted and passed on. */
typedef struct {
    sw_chains *cc;
    const char *ref;
    sw_chain_kind kind;
    const char *key;
    sqlite3_stmt *ins;
    long long seq;
    sw_chain_fn fn;
    void *ctx;
} sw_walk;

static int sw_emit(sw_walk *w, const sw_chain_row *row)
{
    sqlite3_stmt *s = w->ins;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, w->ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, w->seq++);
    const char *cols[] = {row->commit, row->kind, row->key, row->job, row->unit, row->outputs_id, row->extra};
    for (int i = 0; i < 7; i++)
        sqlite3_bind_text(s, 3 + i, cols[i] ? cols[i] : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 10, row->expires);
    if (sqlite3_step(s) != SQLITE_DONE)
        return sw_db_fail(w->cc->db, "cannot store a row");
    return w->fn(w->ctx, row);
}

static int sw_emit_ignored(sw_walk *w, const char *commit, const char *why)
{
    sw_chain_row row = {.commit = commit, .kind = "ignored", .extra = why};
    return sw_emit(w, &row);
}

/* Whether a result's listen address is a literal HOST:PORT a collector may dial (an IPv4 address or a
 * bracketed IPv6 one, a port from 1 to 65535); anything else is dropped, not dialled. */
static int sw_listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(s) > 64 || strspn(s, "0123456789abcdefABCDEF.:[]") != strlen(s))
        return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return !*end && colon[1] && port >= 1 && port <= 65535;
}

/* The output files of a result, checked: [[PATH, SIZE, SHA256], ...]. */
static int sw_result_files_ok(const json_t *files)
{
    if (!json_is_array(files) || json_array_size(files) > 100000)
        return 0;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        const char *path = json_string_value(json_array_get(f, 0)), *sha = json_string_value(json_array_get(f, 2));
        sw_hash h;
        if (json_array_size(f) != 3 || !path || !json_is_integer(json_array_get(f, 1)) || !sha || sw_hash_parse(&h, sha))
            return 0;
    }
    return 1;
}

/* The rows of one checked record. */
static int sw_record_rows(sw_walk *w, const char *commit, const sw_record *rec)
{
    const json_t *b = rec->body;
    sw_chain_row row = {.commit = commit, .key = rec->key, .job = sw_rec_str(b, "job")};
    if (w->kind == SW_CHAIN_RESULTS) {
        const char *oid = sw_rec_str(b, "outputs_id"), *torrent = sw_rec_str(b, "torrent"), *listen = sw_rec_str(b, "listen");
        char want[SW_HEX_LEN + 1] = "";
        if (oid && torrent && sw_result_files_ok(json_object_get(b, "files")))
            sw_outputs_id(want, json_object_get(b, "files"), torrent);
        if (!sw_rec_str(b, "unit") || strcmp(want, oid ? oid : ""))
            return sw_emit_ignored(w, commit, "a result whose outputs_id is not its files' id");
        row.kind = "result";
        row.unit = sw_rec_str(b, "unit");
        row.outputs_id = oid;
        row.extra = listen && sw_listen_ok(listen) ? listen : "";
        return sw_emit(w, &row);
    }
    const json_t *units = json_object_get(b, "units");
    int r = 0;
    if (w->kind == SW_CHAIN_CLAIMS) {
        size_t i;
        json_t *u;
        row.kind = "claim";
        row.expires = sw_rec_int(b, "expires");
        json_array_foreach(units, i, u) {
            row.unit = json_string_value(u);
            if (row.unit && (r = sw_emit(w, &row)) != 0)
                break;
        }
        return r;
    }
    const char *unit;
    json_t *vd;
    row.kind = "verdict";
    json_object_foreach((json_t *)units, unit, vd) {
        row.unit = unit;
        row.extra = sw_rec_str(vd, "state");
        row.outputs_id = sw_rec_str(vd, "outputs_id");
        if (row.extra && (r = sw_emit(w, &row)) != 0)
            break;
    }
    return r;
}

static int sw_walk_commit(void *ctx, const char *commit, unsigned np, const char *msg, size_t len)
{
    sw_walk *w = ctx;
    static const char *const types[] = {"", "result", "claim", "verdicts"};
    sw_record rec;
    if (np > 1)
        return sw_emit_ignored(w, commit, "a merge commit");
    if (sw_record_parse(&rec, msg, len))
        return sw_emit_ignored(w, commit, sw_error_last());
    int r = strcmp(rec.type, types[w->kind]) ? sw_emit_ignored(w, commit, "a record of the wrong type for its chain")
            : strcmp(rec.key, w->key)        ? sw_emit_ignored(w, commit, "signed by another key than its ref names")
                                             : sw_record_rows(w, commit, &rec);
    sw_record_clear(&rec);
    return r;
}

/* Passes the cached rows of ref to fn. */
static int sw_cached_rows(sw_chains *cc, const char *ref, sw_chain_fn fn, void *ctx)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(cc->db,
                           "SELECT commit_id, kind, key, job, unit, outputs_id, extra, expires FROM row WHERE ref = ?"
                           " ORDER BY seq", -1, &s, NULL) != SQLITE_OK)
        return sw_db_fail(cc->db, "cannot read");
    sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
    int r = 0, step;
    while (!r && (step = sqlite3_step(s)) == SQLITE_ROW) {
        sw_chain_row row = {(const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
                            (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
                            (const char *)sqlite3_column_text(s, 4), (const char *)sqlite3_column_text(s, 5),
                            (const char *)sqlite3_column_text(s, 6), sqlite3_column_int64(s, 7)};
        r = fn(ctx, &row);
    }
    sqlite3_finalize(s);
    return r;
}

/* What the cache knows of ref: the tip it reached ("" when none) and how many rows it holds. */
static int sw_cached_tip(sw_chains *cc, const char *ref, char tip[SW_OID_HEX + 1], long long *n)
{
    sqlite3_stmt *s = NULL;
    tip[0] = 0;
    *n = 0;
    if (sqlite3_prepare_v2(cc->db, "SELECT tip, n FROM chain WHERE ref = ?", -1, &s, NULL) != SQLITE_OK)
        return sw_db_fail(cc->db, "cannot read");
    sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(tip, SW_OID_HEX + 1, "%s", (const char *)sqlite3_column_text(s, 0));
        *n = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return 0;
}

int sw_chains_read(sw_chains *cc, sw_catalog *c, const char *ref, sw_chain_kind kind, const char *key, sw_chain_fn fn,
                   void *ctx)
{
    char now[SW_OID_HEX + 1], old[SW_OID_HEX + 1];
    long long n = 0;
    int r = sw_ledger_tip(now, c, ref);
    if (r)
        return r == SW_ENOTFOUND ? 0 : r;
    if (sqlite3_exec(cc->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sw_db_fail(cc->db, "cannot begin");
    r = sw_cached_tip(cc, ref, old, &n);
    int grows = !r && old[0] && strcmp(old, now) && sw_ledger_descends(c, now, old) == 1;
    if (!r && old[0] && strcmp(old, now) && !grows) { /* the ref moved elsewhere: read it all again */
        sqlite3_stmt *d = NULL;
        sqlite3_prepare_v2(cc->db, "DELETE FROM row WHERE ref = ?", -1, &d, NULL);
        sqlite3_bind_text(d, 1, ref, -1, SQLITE_STATIC);
        r = sqlite3_step(d) == SQLITE_DONE ? 0 : sw_db_fail(cc->db, "cannot forget a chain");
        sqlite3_finalize(d);
        old[0] = 0;
        n = 0;
    }
    if (!r && old[0])
        r = sw_cached_rows(cc, ref, fn, ctx);
    sw_walk w = {.cc = cc, .ref = ref, .kind = kind, .key = key, .seq = n, .fn = fn, .ctx = ctx};
    if (!r && strcmp(old, now)) {
        if (sqlite3_prepare_v2(cc->db, "INSERT OR REPLACE INTO row VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &w.ins,
                               NULL) != SQLITE_OK)
            r = sw_db_fail(cc->db, "cannot write");
        if (!r) /* a chain that cannot be walked (too long, an object missing) is not cached at all */
            r = sw_ledger_walk(c, old[0] ? old : NULL, now, SW_CHAIN_MAX, sw_walk_commit, &w);
        sqlite3_finalize(w.ins);
        sqlite3_stmt *u = NULL;
        if (!r && sqlite3_prepare_v2(cc->db, "INSERT OR REPLACE INTO chain VALUES (?, ?, ?)", -1, &u, NULL) == SQLITE_OK) {
            sqlite3_bind_text(u, 1, ref, -1, SQLITE_STATIC);
            sqlite3_bind_text(u, 2, now, -1, SQLITE_STATIC);
            sqlite3_bind_int64(u, 3, w.seq);
            r = sqlite3_step(u) == SQLITE_DONE ? 0 : sw_db_fail(cc->db, "cannot record a chain");
        }
        sqlite3_finalize(u);
    }
    if (sqlite3_exec(cc->db, r ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !r)
        r = sw_db_fail(cc->db, "cannot commit");
    return r;
}
