/* ledgersim.c — make bench: a ledger at scale, written as a `git fast-import` stream on stdout.
 *
 *     ledgersim OWNER_HOME KEYS_DIR NKEYS NUNITS [QUORUM] | git --git-dir=L.git fast-import --quiet
 *
 * One job of NUNITS units (one per file of a made-up input version), owned by OWNER_HOME's key, at
 * QUORUM (default 1); NKEYS provider identities made under KEYS_DIR/kN; and QUORUM results per unit,
 * the unit's i-th result from key (unit + i) mod NKEYS, each on its key's refs/swarm/peers/KEY/results
 * chain. Every record is what swarm writes (signed with the real keys, a real manifest.json and
 * bundle.torrent in each result's tree), so `swarm job status` and `job tick` read it as they read any
 * ledger. Prints the job id on stderr. */
#include "base/error.h"
#include "base/util.h"
#include "bundle/manifest.h"
#include "net/torrent.h"
#include "work/ident.h"
#include "work/job.h"
#include "work/record.h"
#include "work/view.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit_data(const char *data, size_t len)
{
    printf("data %zu\n", len);
    fwrite(data, 1, len, stdout);
    putchar('\n');
}

/* A commit on ref with message msg and inline files (name, data, len; NULL name ends). */
static void emit_commit(const char *ref, const char *msg, const char *const *names, char *const *data,
                        const size_t *lens, size_t n)
{
    printf("commit %s\ncommitter swarm <swarm@localhost> 1700000000 +0000\n", ref);
    emit_data(msg, strlen(msg));
    for (size_t i = 0; i < n; i++) {
        printf("M 100644 inline %s\n", names[i]);
        emit_data(data[i], lens[i]);
    }
    putchar('\n');
}

static void hex_of(char out[65], const void *data, size_t len)
{
    sw_hash h;
    sw_sha256_buf(&h, data, len);
    sw_hash_hex(out, &h);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: ledgersim OWNER_HOME KEYS_DIR NKEYS NUNITS [QUORUM]\n");
        return 2;
    }
    size_t nkeys = strtoul(argv[3], NULL, 10), nunits = strtoul(argv[4], NULL, 10);
    int quorum = argc > 5 ? atoi(argv[5]) : 1;
    sw_ident *owner = NULL, **keys = sw_calloc(nkeys, sizeof *keys);
    if (sw_ident_open(&owner, argv[1]))
        return fprintf(stderr, "ledgersim: %s\n", sw_error_last()), 1;
    for (size_t k = 0; k < nkeys; k++) {
        char *home = sw_sprintf("%s/k%zu", argv[2], k);
        if (sw_mkdir_p(home) || sw_ident_open(&keys[k], home))
            return fprintf(stderr, "ledgersim: %s\n", sw_error_last()), 1;
        free(home);
    }
    const char *pipeline = "local swarm = require \"swarm\"\n"
                           "local P = swarm.params { input = \"lines\", output = \"where\" }\n"
                           "swarm.write(\"lines\", swarm.read(\"lines\", swarm.input(P.input)), { path = P.output })\n";
    char psha[65];
    hex_of(psha, pipeline, strlen(pipeline));
    json_t *spec = json_pack("{s:s, s:i, s:{}, s:{}, s:s, s:s, s:s, s:s, s:s, s:[], s:i, s:i, s:i, s:i, s:s, s:s}",
                             "type", "job", "v", 1, "params", "bound", "split", "input", "input", "corpus@v1",
                             "input_torrent", "", "output_param", "output", "output", "out", "needs", "quorum", quorum,
                             "max_results", quorum + 3, "lease", 600, "created", 1700000000, "pipeline", "sim.lua",
                             "pipeline_sha256", psha);
    /* units.json, and each unit's id */
    json_t *arr = json_array();
    char (*ids)[65] = sw_malloc(nunits * sizeof *ids);
    for (size_t u = 0; u < nunits; u++) {
        char file[32], sha[65];
        snprintf(file, sizeof file, "part-%07zu.jsonl", u);
        hex_of(sha, file, strlen(file));
        sw_job_unit_id(ids[u], spec, sha);
        json_array_append_new(arr, json_pack("[s, s, s]", file, sha, ids[u]));
    }
    char *units = sw_record_json(arr), usha[65];
    json_decref(arr);
    hex_of(usha, units, strlen(units));
    json_object_set_new(spec, "units_sha256", json_string(usha));
    json_object_set_new(spec, "units", json_integer((json_int_t)nunits));
    sw_hash digest;
    char *msg = sw_record_sign(&digest, owner, spec), job[65];
    sw_hash_hex(job, &digest);
    char *jref = sw_sprintf("refs/swarm/jobs/%s", job);
    {
        const char *names[] = {SW_JOB_PIPELINE_FILE, SW_JOB_UNITS_FILE};
        char *data[] = {(char *)pipeline, units};
        size_t lens[] = {strlen(pipeline), strlen(units)};
        emit_commit(jref, msg, names, data, lens, 2);
    }
    free(msg);
    /* results, key by key */
    for (size_t k = 0; k < nkeys; k++) {
        char *ref = sw_sprintf("refs/swarm/peers/%s/results", sw_ident_key(keys[k]));
        for (size_t u = 0; u < nunits; u++) {
            int mine = 0;
            for (int q = 0; q < quorum; q++)
                mine |= (u + (size_t)q) % nkeys == k;
            if (!mine)
                continue;
            /* the unit's output: one small file, as a real version with its real torrent */
            char content[64], osha[65];
            int clen = snprintf(content, sizeof content, "tokens of unit %zu\n", u);
            hex_of(osha, content, (size_t)clen);
            sw_manifest *m = sw_manifest_new();
            m->name = sw_sprintf("unit-%.16s", ids[u]);
            m->version = sw_strdup("v1");
            m->time = sw_strdup("1970-01-01T00:00:00Z");
            m->author = sw_strdup("swarm");
            m->message = sw_sprintf("unit %s", ids[u]);
            sw_hash oh;
            sw_hash_parse(&oh, osha);
            sw_manifest_add_file(m, "tokens/shard_000000.bin", (uint64_t)clen, 0644, &oh, NULL, 0);
            unsigned char piece[1][SW_SHA1_LEN];
            SHA1((const unsigned char *)content, (size_t)clen, piece[0]);
            sw_tfile tf = {"tokens/shard_000000.bin", (uint64_t)clen};
            unsigned char *torrent = NULL;
            size_t tlen = 0;
            sw_torrent_create(&torrent, &tlen, m->torrent_v1, m->name, &tf, 1, 256 * 1024, piece, 1, NULL);
            char *mjson = sw_manifest_to_json(m);
            json_t *files = json_pack("[[s, i, s]]", "tokens/shard_000000.bin", clen, osha);
            char oid[65];
            sw_outputs_id(oid, files, m->torrent_v1);
            json_t *body = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:i, s:s}", "type", "result", "job", job, "unit",
                                     ids[u], "files", files, "torrent", m->torrent_v1, "outputs_id", oid, "started",
                                     1700000000, "finished", 1700000001, "listen", "127.0.0.1:6881");
            char *rmsg = sw_record_sign(NULL, keys[k], body);
            const char *names[] = {"bundle.torrent", "manifest.json"};
            char *data[] = {(char *)torrent, mjson};
            size_t lens[] = {tlen, strlen(mjson)};
            emit_commit(ref, rmsg, names, data, lens, 2);
            free(rmsg);
            json_decref(body);
            free(mjson);
            free(torrent);
            sw_manifest_free(m);
        }
        free(ref);
    }
    fprintf(stderr, "%s\n", job);
    free(jref);
    free(units);
    free(ids);
    json_decref(spec);
    for (size_t k = 0; k < nkeys; k++)
        sw_ident_free(keys[k]);
    free(keys);
    sw_ident_free(owner);
    return 0;
}
