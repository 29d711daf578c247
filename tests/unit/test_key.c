/* test_key.c — the stage cache key (core/pipeline/key.h), the contract peers must agree on: a fixed op
 * stage's key equals the SHA-256 of the text PIPELINES.md spells out (hashed here by OpenSSL, not by
 * swarm's hasher), and a golden value, so an accidental change of the key's text fails here before it
 * splits every peer's cache. Then: each part changes the key, and --explain names the part. */
#include "base/util.h"
#include "pipeline/key.h"
#include "tap.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define IN_ID "tensors:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* The fixed stage: org.swarm.convert's cast (op version 1, numerics "exact") over one collection, with
 * dtype = bf16 and a records batch of 1024. */
static json_t *fixed_parts(const char *dtype)
{
    json_t *parts = sw_key_parts("op", "org.swarm.convert", "op", "cast", 1);
    json_object_set_new(parts, "numerics", json_string("exact"));
    json_object_set_new(parts, "batch", json_integer(1024));
    sw_key_param(parts, "dtype", "enum", dtype);
    sw_key_param(parts, "note", "string", "a b\nc");
    json_object_set_new(parts, "inputs", json_pack("[[s,s]]", "in", IN_ID));
    return parts;
}

static void hex_of(char *out, const unsigned char *d)
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void key_hex(char *out, const json_t *parts)
{
    sw_hash k;
    sw_key_hash(&k, parts);
    sw_hash_hex(out, &k);
}

int main(void)
{
    json_t *parts = fixed_parts("bf16");
    char got[65], want[65];
    key_hex(got, parts);

    static const char text[] = "schema swarm-stage-key/1\n"
                               "kind op\n"
                               "plugin org.swarm.convert\n"
                               "op cast\n"
                               "version 1\n"
                               "numerics exact\n"
                               "batch 1024\n"
                               "param dtype enum 4:bf16\n"
                               "param note string 5:a b\nc\n"
                               "input in " IN_ID "\n";
    unsigned char d[32];
    SHA256((const unsigned char *)text, strlen(text), d);
    hex_of(want, d);
    ok(!strcmp(got, want), "the key is the SHA-256 of PIPELINES.md's text (%s)", got);
    ok(!strcmp(got, "f3504e4bed9fbcec66b8a847816d16c12a8b1b7306a1a896e5c432b8e84440a3"), "the key equals the golden value (peers agree on it)");

    json_t *other = fixed_parts("f16");
    char got2[65];
    key_hex(got2, other);
    ok(strcmp(got, got2) != 0, "another param value is another key");
    char *old = json_dumps(parts, JSON_COMPACT);
    char *why = sw_key_explain(old, other);
    ok(why && !strcmp(why, "param dtype changed: bf16 -> f16"), "--explain names the param (%s)", why);
    free(why);

    json_object_set_new(other, "numerics", json_string("fast"));
    json_object_set_new(other, "params", json_deep_copy(json_object_get(parts, "params")));
    key_hex(got2, other);
    ok(strcmp(got, got2) != 0, "another numerics tag is another key");
    why = sw_key_explain(old, other);
    ok(why && !strcmp(why, "numerics changed: \"exact\" -> \"fast\""), "--explain names the numerics (%s)", why);
    free(why);
    free(old);

    json_t *in2 = fixed_parts("bf16");
    json_object_set_new(in2, "inputs", json_pack("[[s,s]]", "in", "tensors:00"));
    key_hex(got2, in2);
    ok(strcmp(got, got2) != 0, "another input is another key");
    why = sw_key_explain(NULL, in2);
    ok(why && !strcmp(why, "first run of this stage"), "a stage without a last run says so (%s)", why);
    free(why);

    json_decref(parts);
    json_decref(other);
    json_decref(in2);
    return tap_done();
}
