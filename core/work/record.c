/* record.c — signed records (see record.h). */
#include "work/record.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

#define SW_SIG_PREFIX "ed25519 "

void sw_record_clear(sw_record *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

char *sw_record_json(const json_t *v)
{
    return sw_oom(json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII));
}

void sw_record_digest(char out[SW_HEX_LEN + 1], const json_t *v)
{
    char *text = sw_record_json(v);
    sw_hash h;
    sw_sha256_buf(&h, text, strlen(text));
    sw_hash_hex(out, &h);
    free(text);
}

char *sw_record_sign(sw_hash *digest, const sw_ident *id, json_t *body)
{
    json_object_set_new(body, "key", json_string(sw_ident_key(id)));
    json_object_set_new(body, "pub", json_string(sw_ident_pub(id)));
    char *line = sw_record_json(body);
    char sig[SW_SIG_HEX + 1];
    char *msg = NULL;
    if (strlen(line) + SW_SIG_HEX + 16 > SW_RECORD_MAX)
        sw_error(SW_EINVALID, "record too large (%zu bytes)", strlen(line));
    else if (sw_ident_sign(sig, id, line, strlen(line)) == 0)
        msg = sw_sprintf("%s\n\n" SW_SIG_PREFIX "%s\n", line, sig);
    if (msg && digest)
        sw_sha256_buf(digest, line, strlen(line));
    free(line);
    return msg;
}

const char *sw_rec_str(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

long long sw_rec_int(const json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Checks the body's identity fields and the signature of line. */
static int sw_record_check(sw_record *out, const char *line, size_t n, const char *sig)
{
    const char *type = sw_rec_str(out->body, "type"), *key = sw_rec_str(out->body, "key");
    const char *pub = sw_rec_str(out->body, "pub");
    if (!type || !key || !pub)
        return sw_error(SW_EINVALID, "record lacks its type, key or pub");
    if (sw_ident_key_of(out->key, pub))
        return SW_EINVALID;
    if (strcmp(out->key, key))
        return sw_error(SW_EINVALID, "record's key %.40s is not its public key's (%s)", key, out->key);
    if (sw_ident_verify(pub, line, n, sig))
        return sw_error(SW_EINVALID, "record signed by %s: signature does not verify", out->key);
    out->type = type;
    sw_sha256_buf(&out->digest, line, n);
    return 0;
}

int sw_record_parse(sw_record *out, const char *msg, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len > SW_RECORD_MAX || memchr(msg, 0, len))
        return sw_error(SW_EINVALID, "not a record: too large or binary");
    const char *nl = memchr(msg, '\n', len);
    size_t n = nl ? (size_t)(nl - msg) : 0, tail = len - n;
    size_t siglen = strlen(SW_SIG_PREFIX) + SW_SIG_HEX;
    if (!nl || tail != 2 + siglen + 1 || nl[1] != '\n' || memcmp(nl + 2, SW_SIG_PREFIX, strlen(SW_SIG_PREFIX)) ||
        nl[2 + siglen] != '\n')
        return sw_error(SW_EINVALID, "not a record: expected a JSON line, an empty line and 'ed25519 SIGNATURE'");
    char sig[SW_SIG_HEX + 1];
    memcpy(sig, nl + 2 + strlen(SW_SIG_PREFIX), SW_SIG_HEX);
    sig[SW_SIG_HEX] = 0;
    json_error_t je;
    out->body = json_loadb(msg, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(out->body)) {
        sw_record_clear(out);
        return sw_error(SW_EINVALID, "not a record: %s", je.text[0] ? je.text : "not a JSON object");
    }
    char *canon = sw_record_json(out->body);
    int r = strlen(canon) != n || memcmp(canon, msg, n) ? sw_error(SW_EINVALID, "record is not canonical JSON")
                                                        : sw_record_check(out, msg, n, sig);
    free(canon);
    if (r)
        sw_record_clear(out);
    return r;
}
