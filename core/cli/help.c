/* help.c — the command table and the help texts (see help.h). */
#include "cli/help.h"
#include "cli/commands.h"
#include "base/util.h"

#include <string.h>

#define SW_NET_OPTS \
    "  --listen HOST:PORT     where the session listens; on 127.0.0.1 DHT and local discovery are off\n" \
    "  --peer HOST:PORT       connect to this peer (repeatable)\n" \
    "  --tracker URL          announce to this tracker (repeatable; the remotes' trackers are added)\n" \
    "  --no-dht, --no-lsd     turn off the DHT, or local peer discovery\n"

static const sw_command sw_commands[] = {
    {"add", sw_cmd_add, SW_USAGE_ADD, "add files, directories or archives as a new bundle version",
     "  --name NAME[@VERSION]  the bundle, and the version (default: one more than the largest vN\n"
     "                         here or on a remote, as of the last pull or push)\n"
     "  -m, --message MSG      the version's message\n"
     "  --allow-same           make a new version even when the latest holds the same files\n"
     "  --unpack               add archives (.tar .tar.gz .tar.zst .zip) member by member\n"
     "Reads every byte once: hashed, chunked and stored in one pass (about the speed of sha256sum).\n"},
    {"ls", sw_cmd_ls, SW_USAGE_LS, "list bundles", NULL},
    {"log", sw_cmd_log, SW_USAGE_LOG, "list a bundle's versions, newest first", NULL},
    {"show", sw_cmd_show, SW_USAGE_SHOW, "a version's files, sizes and hashes", NULL},
    {"diff", sw_cmd_diff, SW_USAGE_DIFF, "files added, removed and changed, and bytes B adds to A", NULL},
    {"rm", sw_cmd_rm, SW_USAGE_RM, "remove a local version (gc then frees its bytes)",
     "  -f, --force            also a version a remote holds: removed here only; a later pull brings it back\n"
     "                         unless it is removed on the remote too\n"
     "A version another version is built on (its parent) is refused: remove that one first.\n"},
    {"rename", sw_cmd_rename, SW_USAGE_RENAME, "rename a local version that no remote holds",
     "The way out when a pull reports a conflict (two peers each made NAME@vN): rename yours, then pull.\n"},
    {"checkout", sw_cmd_checkout, SW_USAGE_CHECKOUT, "write a version's files into DIR",
     "  --verify               re-hash every copy before it takes its name (costs about one more read)\n"},
    {"export", sw_cmd_export, SW_USAGE_EXPORT, "write a version as a reproducible .tar.zst", NULL},
    {"verify", sw_cmd_verify, SW_USAGE_VERIFY, "re-hash a version's files (all held versions by default)",
     "Reads every byte of the versions it checks.\n"},
    {"fsck", sw_cmd_fsck, SW_USAGE_FSCK, "check every object and chunk record; quarantine corrupt ones",
     "Reads every byte of the store.\n"},
    {"gc", sw_cmd_gc, SW_USAGE_GC, "remove objects no version, pin or recent stage result references",
     "  --prune AGE            keep unreferenced objects made in the last AGE (default 1h; AGE is\n"
     "                         N with s, m, h, d or w; 'now' is safe only when nothing else writes)\n"
     "  --cache-older-than AGE drop stage results not made or used in the last AGE (default 7d); the\n"
     "                         latest run's result of each pipeline stage stays\n"
     "Runs beside seed, get, add and pipeline runs: what they use stays.\n"},
    {"remote", sw_cmd_remote, SW_USAGE_REMOTE, "list or add catalog remotes (git URLs)",
     "  --tracker URL          a tracker that get and seed announce to for this remote (repeatable)\n"},
    {"push", sw_cmd_push, SW_USAGE_PUSH, "push every version to a remote catalog", NULL},
    {"pull", sw_cmd_pull, SW_USAGE_PULL, "fetch versions from a remote catalog", NULL},
    {"seed", sw_cmd_seed, SW_USAGE_SEED, "seed held versions to other peers (BitTorrent)",
     SW_NET_OPTS "  --upload-limit RATE    bytes per second, with K, M or G (e.g. 20M)\n"
                 "  --super-seed           offer one piece at a time while two or more peers download\n"
                 "Runs until Ctrl-C or SIGTERM.\n"},
    {"get", sw_cmd_get, SW_USAGE_GET, "fetch a version from peers, reusing every chunk held here",
     SW_NET_OPTS "  --download-limit RATE  bytes per second, with K, M or G\n"
                 "  --timeout S            give up after S seconds (default: wait)\n"
                 "Ctrl-C keeps what was downloaded; the same get resumes it.\n"},
    {"torrent", sw_cmd_torrent, SW_USAGE_TORRENT, "write a version's .torrent, for stock clients",
     "  -o, --output FILE      write it there (else to stdout, which must not be a terminal)\n"},
    {"magnet", sw_cmd_magnet, SW_USAGE_MAGNET, "print a version's magnet link", NULL},
    {"pipeline", sw_cmd_pipeline, SW_USAGE_PIPELINE, "run a Lua pipeline (stages cached in the store), print its graph, or list its params",
     "  --set KEY=VALUE        a pipeline parameter (repeatable; graph: a required one not set reads <KEY>)\n"
     "  -j, --jobs N           worker threads (default: the number of CPUs)\n"
     "  --dry-run              say what would run; run and write nothing\n"
     "  --explain              say for each stage why it ran, or that it was cached\n"
     "  --force STAGE          run STAGE even when cached (repeatable; --force all runs every stage)\n"
     "  --plugin-path DIR      look for plugins in DIR first (repeatable)\n"
     "  --peer, --tracker, --listen   as for get, to fetch input versions not held here\n"
     "  FILE.lua               a path, or a shipped pipeline's name (convert, quantize, ...)\n"
     "  params FILE.lua        the pipeline's params: name, default or (required), doc (also run FILE --help)\n"},
    {"id", sw_cmd_id, SW_USAGE_ID, "this home's Ed25519 key id (the key is made on first use)", NULL},
    {"ledger", sw_cmd_ledger, SW_USAGE_LEDGER, "create a bare git repository for jobs, with swarm's pre-receive hook",
     "  init PATH              a new ledger; serve it with git daemon, ssh or a git host, add it as a remote\n"},
    {"job", sw_cmd_job, SW_USAGE_JOB, "submit a job of work units to a ledger; its status, verdicts, output and re-checks",
     "  submit FILE.lua        the pipeline; --split PARAM names the bundle param whose files are the units\n"
     "  --quorum N             agreeing keys a unit needs (1 to 16, default 2); --max-results N (up to 64)\n"
     "                         before it is called non-deterministic (default quorum + 3); --lease S a claim\n"
     "                         lasts (up to 7 days, default 600)\n"
     "  --output-param NAME    the param each unit's outputs go to (default output)\n"
     "  status JOB             units accepted, disputed, running, waiting; results, agreed and strikes per key\n"
     "  tick JOB               the owner's verdicts from the results so far\n"
     "  collect JOB --publish NAME[@VERSION]   fetch the accepted outputs, check them, publish one version\n"
     "  verify JOB [--sample N]   compute N accepted units here and compare\n"
     "  --remote R             the ledger (default: origin, or the only remote)\n"
     SW_NET_OPTS},
    {"work", sw_cmd_work, SW_USAGE_WORK, "lend this machine to a ledger's jobs: claim, compute, publish signed results",
     "  -j, --jobs N           worker threads per unit (default 1)\n"
     "  --units N              units claimed per pass (default 4)\n"
     "  --once                 one pass, then exit (default: until Ctrl-C, seeding outputs between passes)\n"
     "  --poll S               seconds between passes (default 5)\n"
     "  --timeout S            seconds a fetch of a unit's inputs may take (default 600)\n"
     "  --plugin-path DIR      look for plugins in DIR first (repeatable); plugins never come from a job\n"
     SW_NET_OPTS},
    {"plugin", sw_cmd_plugin, SW_USAGE_PLUGIN, "list op plugins, or show one's ops, params and variants",
     "  --plugin-path DIR      look for plugins in DIR first (repeatable)\n"},
};
#define SW_NCOMMANDS (sizeof sw_commands / sizeof *sw_commands)

const sw_command *sw_help_find(const char *name)
{
    for (size_t k = 0; k < SW_NCOMMANDS; k++)
        if (!strcmp(name, sw_commands[k].name))
            return &sw_commands[k];
    return NULL;
}

void sw_help_all(FILE *f)
{
    fputs("usage: swarm [--home DIR] [--json] [-q|-v] COMMAND ...\n\ncommands:\n", f);
    for (size_t i = 0; i < SW_NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", sw_commands[i].name, sw_commands[i].summary);
    fputs("  help      this list, or one command's options: swarm help COMMAND\n"
          "  version   print swarm's version\n"
          "\nGlobal options, before or after the command: --home DIR (else $SWARM_HOME, else\n"
          "${XDG_DATA_HOME:-~/.local/share}/swarm), --json (results as JSON), -q (no notes or progress),\n"
          "-v (more detail).\n",
          f);
}

const char *sw_help_kept(const sw_command *c)
{
    static const char *const kept[][2] = {
        {"add", "nothing was added (the next swarm command removes the partial copy)"},
        {"checkout", "the files already written are whole, the rest are not there"},
        {"export", "no archive was written"},
        {"pipeline", "the stages that finished are cached: run it again to go on"},
        {"pull", "the versions already imported are kept: pull again for the rest"},
        {"push", "the remote holds what it accepted: push again for the rest"},
        {"gc", "what was removed is gone, everything else is intact: run gc again"},
        {NULL, NULL}};
    for (size_t i = 0; kept[i][0]; i++)
        if (!strcmp(c->name, kept[i][0]))
            return kept[i][1];
    return "nothing is half written";
}

int sw_help_json(const sw_command *c)
{
    static const char *const text_only[] = {"checkout", "export", "verify", "fsck", "push", "seed", "torrent",
                                            "magnet", "rm", "rename", NULL};
    for (size_t i = 0; text_only[i]; i++)
        if (!strcmp(c->name, text_only[i]))
            return 0;
    return 1;
}

void sw_help_command(FILE *f, const sw_command *c)
{
    fprintf(f, "usage: %s\n%s\n", c->usage, c->summary);
    if (c->options)
        fprintf(f, "\n%s", c->options);
}

const char *sw_help_nearest_command(const char *name)
{
    const char *names[SW_NCOMMANDS + 2];
    for (size_t i = 0; i < SW_NCOMMANDS; i++)
        names[i] = sw_commands[i].name;
    names[SW_NCOMMANDS] = "help";
    names[SW_NCOMMANDS + 1] = "version";
    return sw_nearest(name, names, SW_NCOMMANDS + 2);
}
