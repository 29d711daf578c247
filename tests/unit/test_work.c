/* test_work.c — the compute swarm's trust rules (core/work/): records signed by a home's Ed25519 key
 * verify with OpenSSL's own check and fail on any changed byte, another key, or JSON that is not
 * canonical; and the quorum rule (view.h) over made-up results: a unit is accepted by `quorum` agreeing
 * keys, a key that disagrees with an accepted id is struck out everywhere and the units it helped
 * accept are judged again, differing results ask for another replica, and max_results without
 * agreement is non-deterministic. */
#include "base/util.h"
#include "tap.h"
#include "work/ident.h"
#include "work/record.h"
#include "work/view.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *scratch(const char *name)
{
    char *dir = sw_sprintf("%s/swarm-test-work-%ld-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid(), name);
    sw_rm_rf(dir);
    return dir;
}

static void test_records(void)
{
    char *h1 = scratch("a"), *h2 = scratch("b");
    sw_ident *a = NULL, *b = NULL, *a2 = NULL;
    ok(sw_ident_open(&a, h1) == 0 && sw_ident_open(&b, h2) == 0, "two homes get identities");
    ok(sw_ident_open(&a2, h1) == 0 && !strcmp(sw_ident_key(a), sw_ident_key(a2)), "a home's identity is made once");
    ok(strcmp(sw_ident_key(a), sw_ident_key(b)) != 0, "two homes, two keys");
    char key[SW_KEYID_LEN + 1];
    ok(sw_ident_key_of(key, sw_ident_pub(a)) == 0 && !strcmp(key, sw_ident_key(a)), "the key id is the public key's");

    json_t *body = json_pack("{s:s, s:s, s:i}", "type", "result", "unit", "u1", "n", 3);
    sw_hash digest;
    char *msg = sw_record_sign(&digest, a, body);
    json_decref(body);
    sw_record rec;
    ok(msg && sw_record_parse(&rec, msg, strlen(msg)) == 0, "a signed record parses");
    ok(!strcmp(rec.key, sw_ident_key(a)) && !strcmp(rec.type, "result"), "... with its signer and type");
    ok(sw_hash_eq(&rec.digest, &digest), "... and the digest of its JSON line");
    sw_record_clear(&rec);

    /* OpenSSL's own verification of the same line and signature */
    const char *nl = strchr(msg, '\n');
    unsigned char pub[32], sig[64];
    sw_hex_decode(pub, 32, sw_ident_pub(a));
    char sighex[SW_SIG_HEX + 1];
    memcpy(sighex, nl + 2 + 8, SW_SIG_HEX);
    sighex[SW_SIG_HEX] = 0;
    sw_hex_decode(sig, 64, sighex);
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    ok(EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
           EVP_DigestVerify(c, sig, 64, (const unsigned char *)msg, (size_t)(nl - msg)) == 1,
       "OpenSSL verifies the signature over the JSON line");
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);

    int all_fail = 1;
    for (size_t i = 0; i < strlen(msg); i++) {
        char *bad = sw_strdup(msg);
        bad[i] = bad[i] == '0' ? '1' : bad[i] == '"' ? '\'' : '0';
        if (sw_record_parse(&rec, bad, strlen(bad)) == 0) {
            all_fail = 0;
            printf("# byte %zu changed still parses\n", i);
            sw_record_clear(&rec);
        }
        free(bad);
    }
    ok(all_fail, "changing any single byte of a record makes it fail");

    /* the same body signed by b, with a's key id and public key pasted in */
    json_t *forged = json_pack("{s:s, s:s}", "type", "result", "unit", "u1");
    char *fmsg = sw_record_sign(NULL, b, forged);
    json_decref(forged);
    char *pos = strstr(fmsg, sw_ident_pub(b));
    memcpy(pos, sw_ident_pub(a), SW_PUB_HEX);
    pos = strstr(fmsg, sw_ident_key(b));
    memcpy(pos, sw_ident_key(a), SW_KEYID_LEN);
    ok(sw_record_parse(&rec, fmsg, strlen(fmsg)) != 0, "a record signed by another key than it names fails");
    free(fmsg);
    const char *loose = "{\"type\": \"result\"}\n\ned25519 00\n";
    ok(sw_record_parse(&rec, loose, strlen(loose)) != 0, "JSON that is not canonical fails");
    free(msg);
    sw_ident_free(a);
    sw_ident_free(a2);
    sw_ident_free(b);
    sw_rm_rf(h1);
    sw_rm_rf(h2);
    free(h1);
    free(h2);
}

/* A view of n units with the given results: "unit key id" triples. */
static sw_view *view_of(size_t n, int quorum, int max_results, const char *const (*res)[3], size_t nres)
{
    sw_view *v = sw_calloc(1, sizeof *v);
    v->job = sw_calloc(1, sizeof *v->job);
    v->job->quorum = quorum;
    v->job->max_results = max_results;
    v->job->nunits = n;
    v->job->units = sw_calloc(n, sizeof *v->job->units);
    v->units = sw_calloc(n, sizeof *v->units);
    for (size_t i = 0; i < n; i++) {
        v->job->units[i].file = sw_sprintf("f%zu", i);
        snprintf(v->job->units[i].id, sizeof v->job->units[i].id, "%064zu", i);
    }
    for (size_t r = 0; r < nres; r++) {
        sw_unit_view *u = &v->units[atoi(res[r][0])];
        u->results = sw_realloc(u->results, (u->nresults + 1) * sizeof *u->results);
        sw_result *x = &u->results[u->nresults++];
        memset(x, 0, sizeof *x);
        snprintf(x->key, sizeof x->key, "%s", res[r][1]);
        snprintf(x->outputs_id, sizeof x->outputs_id, "%s", res[r][2]);
    }
    v->remote = sw_strdup("origin");
    sw_view_judge(v);
    return v;
}

static void test_quorum(void)
{
    /* unit 0: honest a and b agree, liar l differs; unit 1: l and b agree, which accepts it only until
     * unit 0 strikes l out; unit 2: two results differ; unit 3: one of two wanted. */
    static const char *const r1[][3] = {
        {"1", "l", "x1"},  {"1", "b", "x1"},  {"0", "a", "good0"}, {"0", "b", "good0"}, {"0", "l", "bad0"},
        {"2", "a", "x2"},  {"2", "b", "y2"},  {"3", "a", "z3"},
    };
    sw_view *v = view_of(4, 2, 3, r1, sizeof r1 / sizeof *r1);
    ok(v->units[0].state == SW_UNIT_ACCEPTED && !strcmp(v->units[0].accepted, "good0"), "two agreeing keys accept a unit");
    ok(v->units[0].agreed.n == 2, "... naming the two keys");
    ok(sw_view_key(v, "l")->strikes == 1 && sw_view_key(v, "a")->strikes == 0, "the key that disagreed has a strike");
    ok(v->units[1].state == SW_UNIT_RUNNING && v->units[1].want == 2,
       "a unit accepted through a struck-out key is judged again: it wants another result");
    ok(v->units[2].state == SW_UNIT_DISPUTED && v->units[2].want == 3, "differing results ask for a third");
    ok(v->units[3].state == SW_UNIT_RUNNING && v->units[3].want == 2, "one result of two wanted: running");
    sw_view_free(v);

    /* The same results in the other order of units judge the same. */
    static const char *const r1b[][3] = {
        {"0", "l", "x1"},  {"0", "b", "x1"},  {"1", "a", "good0"}, {"1", "b", "good0"}, {"1", "l", "bad0"},
    };
    v = view_of(2, 2, 3, r1b, sizeof r1b / sizeof *r1b);
    ok(v->units[1].state == SW_UNIT_ACCEPTED && v->units[0].state == SW_UNIT_RUNNING,
       "the judging does not depend on the order of the units");
    sw_view_free(v);

    static const char *const r2[][3] = {{"0", "a", "p"}, {"0", "b", "q"}, {"0", "c", "r"}};
    v = view_of(1, 2, 3, r2, 3);
    ok(v->units[0].state == SW_UNIT_NONDET, "max_results without agreement: non-deterministic");
    sw_view_free(v);

    static const char *const r3[][3] = {{"0", "a", "p"}};
    v = view_of(2, 1, 3, r3, 1);
    ok(v->units[0].state == SW_UNIT_ACCEPTED && v->units[1].state == SW_UNIT_WAITING,
       "quorum 1: one result accepts; a unit with none waits");
    sw_view_free(v);
}

int main(void)
{
    test_records();
    test_quorum();
    return tap_done();
}
