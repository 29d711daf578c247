/* index.c — the chunk index and pins in SQLite (see index.h).
 *
 * Schema version 3 (PRAGMA user_version): later versions add tables, never change these (2 added stages,
 * stage_runs and files; 3 added stage_objects and run_keys, for gc's stage cache policy). Hashes are
 * stored as 32-byte blobs. WAL mode with synchronous=NORMAL survives a crash of the process at any
 * instant; a power loss may drop the last transactions, which `swarm fsck` rebuilds from the objects. */
#include "cache/index.h"
#include "base/error.h"
#include "base/util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sw_index {
    sqlite3 *db;
};

static const char sw_index_schema[] =
    "CREATE TABLE IF NOT EXISTS chunks("
    "  object BLOB NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  PRIMARY KEY(object, offset)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS chunks_by_hash ON chunks(hash);"
    "CREATE TABLE IF NOT EXISTS pins("
    "  object BLOB PRIMARY KEY, reason TEXT NOT NULL, time INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS stages("
    "  key BLOB PRIMARY KEY, output TEXT NOT NULL, time INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS stage_runs("
    "  pipeline TEXT NOT NULL, stage TEXT NOT NULL, parts TEXT NOT NULL, PRIMARY KEY(pipeline, stage)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS files("
    "  path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime INTEGER, ctime INTEGER,"
    "  hash BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS stage_objects("
    "  key BLOB NOT NULL, object BLOB NOT NULL, PRIMARY KEY(key, object)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS stage_objects_by_object ON stage_objects(object);"
    "CREATE TABLE IF NOT EXISTS run_keys("
    "  pipeline TEXT NOT NULL, stage TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY(pipeline, stage)) WITHOUT ROWID;"
    "PRAGMA user_version = 3;";
#define SW_INDEX_VERSION 3 /* the user_version the schema above sets */
/* A hit refreshes a stage result's time when it is older than this (seconds), so that a rerun that hits
 * every stage writes nothing more often. gc never drops a result used more recently (sw_index_stage_expire). */
#define SW_STAGE_TOUCH 600

static int sw_index_fail(sw_index *ix, const char *what)
{
    return sw_error(SW_ERROR, "index: %s: %s", what, sqlite3_errmsg(ix->db));
}

static int sw_index_exec(sw_index *ix, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(ix->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int r = sw_error(SW_ERROR, "index: %s", msg ? msg : sqlite3_errmsg(ix->db));
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

/* The database's user_version (0 for a new one), or -1 when it cannot be read. */
static int sw_index_user_version(sw_index *ix)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

int sw_index_open(sw_index **out, const char *path)
{
    sw_index *ix = sw_calloc(1, sizeof *ix);
    if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        int r = sw_error(SW_ERROR, "cannot open the index %s: %s", path,
                         ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        sw_index_free(ix);
        return r;
    }
    sqlite3_busy_timeout(ix->db, 30000);
    /* No checkpoint when the last connection closes: its fsync would wait for whatever the filesystem
     * must write first (ext4 writes a file renamed over another, such as a pipeline's output, before
     * the next journal commit: 0.3 s for 530 MB). The WAL stays beside the database and SQLite's
     * automatic checkpoint (every 1,000 pages) folds it in during some later commit. */
    sqlite3_db_config(ix->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    /* Turning a new database to WAL needs an exclusive lock; when two processes open it at once, SQLite
     * answers SQLITE_BUSY at once (deadlock avoidance, no busy handler), so retry for up to the timeout. */
    int r;
    for (int tries = 0;; tries++) {
        r = sw_index_exec(ix, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        if (!r || sqlite3_errcode(ix->db) != SQLITE_BUSY || tries >= 3000)
            break;
        sqlite3_sleep(10);
    }
    /* The schema is written only when the database is older than it: opening an index that is up to
     * date writes nothing (no transaction, no fsync), which keeps a no-op pipeline rerun off the disk. */
    if (!r && sw_index_user_version(ix) < SW_INDEX_VERSION)
        r = sw_index_exec(ix, "BEGIN IMMEDIATE;");
    if (!r && sw_index_user_version(ix) < SW_INDEX_VERSION) {
        r = sw_index_exec(ix, sw_index_schema);
        r = sw_index_exec(ix, r ? "ROLLBACK;" : "COMMIT;") || r;
    } else if (!r && sqlite3_get_autocommit(ix->db) == 0) {
        r = sw_index_exec(ix, "COMMIT;"); /* another process wrote the schema meanwhile */
    }
    if (r) {
        sw_error_wrap(SW_ERROR, "cannot open the index %s", path);
        sw_index_free(ix);
        return SW_ERROR;
    }
    *out = ix;
    return 0;
}

void sw_index_free(sw_index *ix)
{
    if (!ix)
        return;
    sqlite3_close_v2(ix->db);
    free(ix);
}

static int sw_index_prepare(sqlite3_stmt **st, sw_index *ix, const char *sql)
{
    if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) != SQLITE_OK)
        return sw_index_fail(ix, "prepare");
    return 0;
}

int sw_index_put_chunks(sw_index *ix, const sw_hash *object, const sw_chunk *chunks, size_t n)
{
    sqlite3_stmt *st;
    if (sw_index_exec(ix, "BEGIN IMMEDIATE;"))
        return SW_ERROR;
    if (sw_index_prepare(&st, ix, "INSERT OR IGNORE INTO chunks(object, offset, length, hash) VALUES(?,?,?,?)")) {
        sw_index_exec(ix, "ROLLBACK;");
        return SW_ERROR;
    }
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) {
        sqlite3_bind_blob(st, 1, object->b, SW_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)chunks[i].offset);
        sqlite3_bind_int64(st, 3, chunks[i].length);
        sqlite3_bind_blob(st, 4, chunks[i].hash.b, SW_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = sw_index_fail(ix, "insert chunk");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (r) {
        sw_index_exec(ix, "ROLLBACK;");
        return r;
    }
    return sw_index_exec(ix, "COMMIT;");
}

int sw_index_get_chunks(sw_chunk **out, size_t *n, sw_index *ix, const sw_hash *object)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "SELECT offset, length, hash FROM chunks WHERE object = ? ORDER BY offset"))
        return SW_ERROR;
    sqlite3_bind_blob(st, 1, object->b, SW_HASH_LEN, SQLITE_STATIC);
    sw_chunk *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sw_grow(&v, &cap, cnt + 1, sizeof *v);
        v[cnt].offset = (uint64_t)sqlite3_column_int64(st, 0);
        v[cnt].length = (uint32_t)sqlite3_column_int64(st, 1);
        if (sqlite3_column_bytes(st, 2) != SW_HASH_LEN) {
            r = sw_error(SW_ERROR, "index: a chunk row has a malformed hash");
            break;
        }
        memcpy(v[cnt].hash.b, sqlite3_column_blob(st, 2), SW_HASH_LEN);
        cnt++;
    }
    if (!r && rc != SQLITE_DONE)
        r = sw_index_fail(ix, "read chunks");
    sqlite3_finalize(st);
    if (r) {
        free(v);
        return r;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* Runs a statement whose only parameter is one hash blob. */
static int sw_index_run_hash(sw_index *ix, const char *sql, const sw_hash *h)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, sql))
        return SW_ERROR;
    sqlite3_bind_blob(st, 1, h->b, SW_HASH_LEN, SQLITE_STATIC);
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "update");
    sqlite3_finalize(st);
    return r;
}

int sw_index_drop_object(sw_index *ix, const sw_hash *object)
{
    int r = sw_index_run_hash(ix, "DELETE FROM chunks WHERE object = ?", object);
    return r ? r : sw_index_run_hash(ix, "DELETE FROM pins WHERE object = ?", object);
}

int sw_index_find_chunk(sw_hash *object, uint64_t *offset, sw_index *ix, const sw_hash *chunk)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "SELECT object, offset FROM chunks WHERE hash = ? LIMIT 1"))
        return SW_ERROR;
    sqlite3_bind_blob(st, 1, chunk->b, SW_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st), r;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == SW_HASH_LEN) {
        memcpy(object->b, sqlite3_column_blob(st, 0), SW_HASH_LEN);
        *offset = (uint64_t)sqlite3_column_int64(st, 1);
        r = 0;
    } else if (rc == SQLITE_DONE) {
        r = SW_ENOTFOUND;
    } else {
        r = sw_index_fail(ix, "find chunk");
    }
    sqlite3_finalize(st);
    return r;
}

/* Collects the hash column of a one-column query. */
static int sw_index_hashes(sw_hash **out, size_t *n, sw_index *ix, const char *sql)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, sql))
        return SW_ERROR;
    sw_hash *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != SW_HASH_LEN)
            continue;
        sw_grow(&v, &cap, cnt + 1, sizeof *v);
        memcpy(v[cnt++].b, sqlite3_column_blob(st, 0), SW_HASH_LEN);
    }
    int r = rc == SQLITE_DONE ? 0 : sw_index_fail(ix, "list");
    sqlite3_finalize(st);
    if (r) {
        free(v);
        return r;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int sw_index_objects(sw_hash **out, size_t *n, sw_index *ix)
{
    return sw_index_hashes(out, n, ix, "SELECT DISTINCT object FROM chunks");
}

int sw_index_pin(sw_index *ix, const sw_hash *object, const char *reason)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "INSERT OR REPLACE INTO pins(object, reason, time) VALUES(?,?,?)"))
        return SW_ERROR;
    sqlite3_bind_blob(st, 1, object->b, SW_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "pin");
    sqlite3_finalize(st);
    return r;
}

int sw_index_pinned(sw_index *ix, const sw_hash *object)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "SELECT 1 FROM pins WHERE object = ?"))
        return SW_ERROR;
    sqlite3_bind_blob(st, 1, object->b, SW_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : sw_index_fail(ix, "read a pin");
    sqlite3_finalize(st);
    return r;
}

int sw_index_pins(sw_hash **out, size_t *n, sw_index *ix)
{
    return sw_index_hashes(out, n, ix, "SELECT object FROM pins");
}

/* ---- Stage results, stage runs, hashed files -------------------------------------------------------- */

/* Runs a query for one text column; SW_ENOTFOUND when it yields no row. Binds texts, then an optional
 * hash blob. */
static int sw_index_get_text(char **out, sw_index *ix, const char *sql, const char *a, const char *b,
                             const sw_hash *h)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, sql))
        return SW_ERROR;
    int i = 1;
    if (a)
        sqlite3_bind_text(st, i++, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, i++, b, -1, SQLITE_STATIC);
    if (h)
        sqlite3_bind_blob(st, i++, h->b, SW_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st), r;
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        *out = sw_strdup(t ? (const char *)t : "");
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? SW_ENOTFOUND : sw_index_fail(ix, "read");
    }
    sqlite3_finalize(st);
    return r;
}

int sw_index_stage_get(char **output, sw_index *ix, const sw_hash *key)
{
    int r = sw_index_get_text(output, ix, "SELECT output FROM stages WHERE key = ?", NULL, NULL, key);
    if (r)
        return r;
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "UPDATE stages SET time = ?2 WHERE key = ?1 AND time < ?2 - ?3"))
        r = SW_ERROR;
    else {
        sqlite3_bind_blob(st, 1, key->b, SW_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
        sqlite3_bind_int(st, 3, SW_STAGE_TOUCH);
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "mark a stage result used");
        sqlite3_finalize(st);
    }
    if (r) {
        free(*output);
        *output = NULL;
    }
    return r;
}

/* Runs a prepared statement once per object, binding the object to parameter 1 (and key, when not NULL,
 * to parameter 2, and now to 3 when the statement has it). */
static int sw_index_each_object(sw_index *ix, const char *sql, const sw_hash *key, const sw_hash *objects, size_t n)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, sql))
        return SW_ERROR;
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) {
        sqlite3_bind_blob(st, 1, objects[i].b, SW_HASH_LEN, SQLITE_STATIC);
        if (key)
            sqlite3_bind_blob(st, 2, key->b, SW_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 3)
            sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        if (sqlite3_step(st) != SQLITE_DONE)
            r = sw_index_fail(ix, "record a stage's objects");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return r;
}

int sw_index_stage_put(sw_index *ix, const sw_hash *key, const char *output, const sw_hash *objects, size_t n)
{
    sqlite3_stmt *st = NULL;
    if (sw_index_exec(ix, "BEGIN IMMEDIATE;"))
        return SW_ERROR;
    int r = sw_index_each_object(ix, "INSERT OR IGNORE INTO pins(object, reason, time) VALUES(?1, 'stage', ?3)",
                                 NULL, objects, n);
    if (!r)
        r = sw_index_each_object(ix, "INSERT OR IGNORE INTO stage_objects(object, key) VALUES(?1, ?2)", key,
                                 objects, n);
    if (!r && !(r = sw_index_prepare(&st, ix, "INSERT OR REPLACE INTO stages(key, output, time) VALUES(?,?,?)"))) {
        sqlite3_bind_blob(st, 1, key->b, SW_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, output, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "record a stage");
    }
    sqlite3_finalize(st);
    if (r) {
        sw_index_exec(ix, "ROLLBACK;");
        return r;
    }
    return sw_index_exec(ix, "COMMIT;");
}

int sw_index_stage_expire(sw_index *ix, int64_t before, uint64_t *dropped)
{
    *dropped = 0;
    if (sw_index_exec(ix, "BEGIN IMMEDIATE;"))
        return SW_ERROR;
    sqlite3_stmt *st;
    int r = sw_index_prepare(&st, ix, "DELETE FROM stages WHERE time < ? AND key NOT IN (SELECT key FROM run_keys)");
    if (!r) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "drop stage results");
        *dropped = (uint64_t)sqlite3_changes(ix->db);
        sqlite3_finalize(st);
    }
    if (!r)
        r = sw_index_exec(ix, "DELETE FROM stage_objects WHERE key NOT IN (SELECT key FROM stages);"
                              "DELETE FROM pins WHERE reason = 'stage' AND object NOT IN "
                              "(SELECT object FROM stage_objects);");
    if (r) {
        sw_index_exec(ix, "ROLLBACK;");
        return r;
    }
    return sw_index_exec(ix, "COMMIT;");
}

int sw_index_run_get(char **parts, sw_index *ix, const char *pipeline, const char *stage)
{
    return sw_index_get_text(parts, ix, "SELECT parts FROM stage_runs WHERE pipeline = ? AND stage = ?", pipeline,
                             stage, NULL);
}

int sw_index_run_put(sw_index *ix, const char *pipeline, const char *stage, const char *parts, const sw_hash *key)
{
    if (sw_index_exec(ix, "BEGIN IMMEDIATE;"))
        return SW_ERROR;
    static const char *const sql[] = {"INSERT OR REPLACE INTO stage_runs(pipeline, stage, parts) VALUES(?,?,?)",
                                      "INSERT OR REPLACE INTO run_keys(pipeline, stage, key) VALUES(?,?,?)"};
    int r = 0;
    for (size_t i = 0; i < 2 && !r; i++) {
        sqlite3_stmt *st;
        if ((r = sw_index_prepare(&st, ix, sql[i])))
            break;
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
        if (i == 0)
            sqlite3_bind_text(st, 3, parts, -1, SQLITE_STATIC);
        else
            sqlite3_bind_blob(st, 3, key->b, SW_HASH_LEN, SQLITE_STATIC);
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "record a stage run");
        sqlite3_finalize(st);
    }
    if (r) {
        sw_index_exec(ix, "ROLLBACK;");
        return r;
    }
    return sw_index_exec(ix, "COMMIT;");
}

/* Binds path and the stat data to parameters 1 to 6 of a files statement. */
static void sw_bind_filestat(sqlite3_stmt *st, const char *path, const sw_filestat *fs)
{
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)fs->dev);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)fs->ino);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)fs->size);
    sqlite3_bind_int64(st, 5, fs->mtime_ns);
    sqlite3_bind_int64(st, 6, fs->ctime_ns);
}

int sw_index_file_get(sw_hash *h, sw_index *ix, const char *path, const sw_filestat *fs)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "SELECT hash FROM files WHERE path = ? AND dev = ? AND ino = ? AND size = ? "
                                  "AND mtime = ? AND ctime = ?"))
        return SW_ERROR;
    sw_bind_filestat(st, path, fs);
    int rc = sqlite3_step(st), r;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == SW_HASH_LEN) {
        memcpy(h->b, sqlite3_column_blob(st, 0), SW_HASH_LEN);
        r = 0;
    } else {
        r = rc == SQLITE_ROW || rc == SQLITE_DONE ? SW_ENOTFOUND : sw_index_fail(ix, "read a file's hash");
    }
    sqlite3_finalize(st);
    return r;
}

int sw_index_file_put(sw_index *ix, const char *path, const sw_filestat *fs, const sw_hash *h)
{
    sqlite3_stmt *st;
    if (sw_index_prepare(&st, ix, "INSERT OR REPLACE INTO files(path, dev, ino, size, mtime, ctime, hash) "
                                  "VALUES(?,?,?,?,?,?,?)"))
        return SW_ERROR;
    sw_bind_filestat(st, path, fs);
    sqlite3_bind_blob(st, 7, h->b, SW_HASH_LEN, SQLITE_STATIC);
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sw_index_fail(ix, "record a file's hash");
    sqlite3_finalize(st);
    return r;
}
