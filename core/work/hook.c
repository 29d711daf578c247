/* hook.c — the ledger's pre-receive checks (see hook.h). */
#include "work/hook.h"
#include "base/error.h"
#include "bundle/ledger.h"
#include "work/job.h"
#include "work/record.h"

#include <stdlib.h>
#include <string.h>

#define SW_ZERO_OID "0000000000000000000000000000000000000000"
#define SW_PUSH_MAX 1000000 /* commits one pushed ref may add */

typedef struct {
    char old[SW_OID_HEX + 1], new[SW_OID_HEX + 1];
    char *ref;
} sw_update;

/* What each commit of a pushed chain must be. */
typedef struct {
    const char *type;  /* its record's type */
    const char *key;   /* its signer */
    const char *job;   /* for verdicts: the job they judge */
    char *why;         /* the first refusal */
} sw_chain_rule;

static int sw_hook_commit(void *ctx, const char *commit, unsigned np, const char *msg, size_t len)
{
    sw_chain_rule *rule = ctx;
    sw_record rec;
    if (np > 1) {
        rule->why = sw_sprintf("commit %.12s is a merge", commit);
        return 1;
    }
    if (sw_record_parse(&rec, msg, len)) {
        rule->why = sw_sprintf("commit %.12s: %s", commit, sw_error_last());
        return 1;
    }
    const char *job = sw_rec_str(rec.body, "job");
    if (strcmp(rec.type, rule->type))
        rule->why = sw_sprintf("commit %.12s is a %.32s record, not a %s", commit, rec.type, rule->type);
    else if (strcmp(rec.key, rule->key))
        rule->why = sw_sprintf("commit %.12s is signed by %s, not %s", commit, rec.key, rule->key);
    else if (rule->job && strcmp(job ? job : "", rule->job))
        rule->why = sw_sprintf("commit %.12s is a verdict on another job", commit);
    sw_record_clear(&rec);
    return rule->why != NULL;
}

/* The owner of job, as the repository (or this same push) holds it. */
static int sw_hook_owner(char owner[SW_KEYID_LEN + 1], sw_catalog *c, const char *job, const sw_update *u, size_t n)
{
    char tip[SW_OID_HEX + 1] = "";
    char *ref = sw_sprintf("refs/swarm/jobs/%s", job);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(u[i].ref, ref))
            memcpy(tip, u[i].new, sizeof tip);
    int r = tip[0] ? 0 : sw_ledger_tip(tip, c, ref);
    free(ref);
    sw_job *j = NULL;
    if (!r)
        r = sw_job_load(&j, c, tip, job);
    if (!r)
        memcpy(owner, j->owner, SW_KEYID_LEN + 1);
    sw_job_free(j);
    return r ? sw_error(SW_EINVALID, "no valid job %.16s here", job) : 0;
}

/* The refusal of one update (caller frees), or NULL when it may go in. */
static char *sw_hook_update(sw_catalog *c, const sw_update *u, const sw_update *all, size_t n)
{
    const char *name = u->ref + strlen("refs/swarm/");
    int created = !strcmp(u->old, SW_ZERO_OID);
    if (!strcmp(u->new, SW_ZERO_OID))
        return sw_strdup("swarm refs are never deleted");
    if (!created && sw_ledger_descends(c, u->new, u->old) != 1)
        return sw_strdup("not a fast-forward: swarm refs only grow");
    if (!strncmp(name, "jobs/", 5)) {
        sw_job *j = NULL;
        if (!created)
            return sw_strdup("a job never changes");
        char *why = sw_job_load(&j, c, u->new, name + 5) ? sw_strdup(sw_error_last()) : NULL;
        sw_job_free(j);
        return why;
    }
    sw_chain_rule rule = {0};
    char owner[SW_KEYID_LEN + 1], key[SW_KEYID_LEN + 1] = "";
    if (!strncmp(name, "verdicts/", 9)) {
        if (sw_hook_owner(owner, c, name + 9, all, n))
            return sw_strdup(sw_error_last());
        rule = (sw_chain_rule){.type = "verdicts", .key = owner, .job = name + 9};
    } else if (!strncmp(name, "peers/", 6) && strlen(name + 6) > SW_KEYID_LEN && name[6 + SW_KEYID_LEN] == '/') {
        memcpy(key, name + 6, SW_KEYID_LEN);
        const char *chain = name + 6 + SW_KEYID_LEN + 1;
        rule = (sw_chain_rule){.type = !strcmp(chain, "claims") ? "claim" : !strcmp(chain, "results") ? "result" : NULL,
                               .key = key};
    }
    if (!rule.type)
        return sw_strdup("not a ref a ledger holds (refs/swarm/jobs/, verdicts/, peers/KEY/claims or results)");
    if (sw_ledger_walk(c, created ? NULL : u->old, u->new, SW_PUSH_MAX, sw_hook_commit, &rule) && !rule.why)
        rule.why = sw_strdup(sw_error_last());
    return rule.why;
}

int sw_hook_check(sw_strlist *refused, sw_catalog *c, FILE *in)
{
    sw_update *u = NULL;
    size_t n = 0, cap = 0;
    char line[4096];
    int r = 0;
    while (!r && fgets(line, sizeof line, in)) {
        char old[64], new[64], ref[4096];
        if (sscanf(line, "%63s %63s %4095s", old, new, ref) != 3 || strlen(old) != SW_OID_HEX ||
            strlen(new) != SW_OID_HEX) {
            r = sw_error(SW_EINVALID, "malformed hook input: %.100s", line);
            break;
        }
        sw_grow(&u, &cap, n + 1, sizeof *u);
        memcpy(u[n].old, old, SW_OID_HEX + 1);
        memcpy(u[n].new, new, SW_OID_HEX + 1);
        u[n++].ref = sw_strdup(ref);
    }
    for (size_t i = 0; !r && i < n; i++) {
        if (strncmp(u[i].ref, "refs/swarm/", 11))
            continue;
        char *why = sw_hook_update(c, &u[i], u, n);
        if (why) {
            char *l = sw_sprintf("%s: %s", u[i].ref, why);
            sw_strlist_push(refused, l);
            free(l);
            free(why);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(u[i].ref);
    free(u);
    return r;
}
