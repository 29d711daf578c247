/* commands.h — the commands of the swarm program; each lives in a cmd_*.c file. */
#ifndef SW_COMMANDS_H
#define SW_COMMANDS_H

#include "cli/cli.h"
#include "net/peers.h"

int sw_cmd_add(sw_cli *cli, int argc, char **argv);
int sw_cmd_ls(sw_cli *cli, int argc, char **argv);
int sw_cmd_log(sw_cli *cli, int argc, char **argv);
int sw_cmd_show(sw_cli *cli, int argc, char **argv);
int sw_cmd_diff(sw_cli *cli, int argc, char **argv);
int sw_cmd_rm(sw_cli *cli, int argc, char **argv);
int sw_cmd_rename(sw_cli *cli, int argc, char **argv);
int sw_cmd_checkout(sw_cli *cli, int argc, char **argv);
int sw_cmd_export(sw_cli *cli, int argc, char **argv);
int sw_cmd_verify(sw_cli *cli, int argc, char **argv);
int sw_cmd_fsck(sw_cli *cli, int argc, char **argv);
int sw_cmd_gc(sw_cli *cli, int argc, char **argv);
int sw_cmd_remote(sw_cli *cli, int argc, char **argv);
int sw_cmd_push(sw_cli *cli, int argc, char **argv);
int sw_cmd_pull(sw_cli *cli, int argc, char **argv);
int sw_cmd_seed(sw_cli *cli, int argc, char **argv);
int sw_cmd_get(sw_cli *cli, int argc, char **argv);
int sw_cmd_torrent(sw_cli *cli, int argc, char **argv);
int sw_cmd_magnet(sw_cli *cli, int argc, char **argv);
int sw_cmd_plugin(sw_cli *cli, int argc, char **argv);
int sw_cmd_pipeline(sw_cli *cli, int argc, char **argv);
int sw_cmd_id(sw_cli *cli, int argc, char **argv);
int sw_cmd_ledger(sw_cli *cli, int argc, char **argv);
int sw_cmd_job(sw_cli *cli, int argc, char **argv);
int sw_cmd_work(sw_cli *cli, int argc, char **argv);

/* The peer options (net/peers.h) every networked command takes: put SW_CLI_NET_OPTS in the option table
 * and pass each option code to sw_cli_netopt, which returns 1 when it took it, 0 when the code is not
 * one of them, and 2 after a usage error. */
enum { SW_OPT_NET_LISTEN = 0x3001, SW_OPT_NET_PEER, SW_OPT_NET_TRACKER, SW_OPT_NET_NO_DHT, SW_OPT_NET_NO_LSD };
#define SW_CLI_NET_OPTS {"listen", required_argument, NULL, SW_OPT_NET_LISTEN}, \
        {"peer", required_argument, NULL, SW_OPT_NET_PEER}, {"tracker", required_argument, NULL, SW_OPT_NET_TRACKER}, \
        {"no-dht", no_argument, NULL, SW_OPT_NET_NO_DHT}, {"no-lsd", no_argument, NULL, SW_OPT_NET_NO_LSD}
int sw_cli_netopt(sw_peer_opts *p, int c, const char *arg, const char *usage);

/* Fetches version m through the data plane as get does (progress, result line, note); used by get and by
 * pipeline run for inputs not held here. timeout in seconds, 0 = none. Returns an exit status. */
int sw_cli_fetch(sw_cli *cli, sw_store *st, sw_catalog *cat, const sw_manifest *m, const sw_peer_opts *peers,
                 double timeout);

/* Usage lines, shared by main's help and the commands' own errors. */
#define SW_USAGE_ADD "swarm add PATH... --name NAME[@VERSION] [-m MSG] [--allow-same] [--unpack [--unpack-max SIZE]]"
#define SW_USAGE_LS "swarm ls [--json]"
#define SW_USAGE_LOG "swarm log NAME [--json]"
#define SW_USAGE_SHOW "swarm show NAME[@VERSION] [--json]"
#define SW_USAGE_DIFF "swarm diff NAME[@A] NAME[@B] [--json]"
#define SW_USAGE_RM "swarm rm NAME@VERSION [--force]"
#define SW_USAGE_RENAME "swarm rename NAME@OLD NAME@NEW"
#define SW_USAGE_CHECKOUT "swarm checkout NAME[@VERSION] DIR [--verify]"
#define SW_USAGE_EXPORT "swarm export NAME[@VERSION] OUT.tar.zst"
#define SW_USAGE_VERIFY "swarm verify [NAME[@VERSION]]"
#define SW_USAGE_FSCK "swarm fsck"
#define SW_USAGE_GC "swarm gc [--prune AGE] [--cache-older-than AGE]"
#define SW_USAGE_REMOTE "swarm remote [ls | add NAME URL [--tracker URL]...]"
#define SW_USAGE_PUSH "swarm push [REMOTE]"
#define SW_USAGE_PULL "swarm pull [REMOTE]"
#define SW_USAGE_SEED "swarm seed [NAME[@VERSION]...] [--listen HOST:PORT] [--tracker URL]... [--peer HOST:PORT]... [--upload-limit RATE] [--super-seed] [--no-dht] [--no-lsd]"
#define SW_USAGE_GET "swarm get NAME[@VERSION]|MAGNET|FILE.torrent [--peer HOST:PORT]... [--tracker URL]... [--timeout S] [--listen HOST:PORT] [--download-limit RATE] [--no-dht] [--no-lsd]"
#define SW_USAGE_TORRENT "swarm torrent NAME[@VERSION] [-o FILE] [--v1]"
#define SW_USAGE_MAGNET "swarm magnet NAME[@VERSION]"
#define SW_USAGE_PIPELINE "swarm pipeline run FILE.lua [--set KEY=VALUE]... [--jobs N] [--dry-run] [--explain] [--force STAGE] [--plugin-path DIR]... [--peer HOST:PORT]... [--tracker URL]... [--listen HOST:PORT] | pipeline graph FILE.lua [--set KEY=VALUE]... | pipeline params FILE.lua | pipeline run FILE.lua --help"
#define SW_USAGE_ID "swarm id [--json]"
#define SW_USAGE_LEDGER "swarm ledger init PATH"
#define SW_USAGE_JOB "swarm job submit FILE.lua --split PARAM --set KEY=VALUE... [--quorum N] [--max-results N] [--lease S] [--output-param NAME] [--remote R] [--plugin-path DIR]... | job status|tick JOB [--remote R] | job collect JOB --publish NAME[@VERSION] [--remote R] [--peer HOST:PORT]... [--timeout S] | job verify JOB [--sample N] [--jobs N] [--remote R] [--peer HOST:PORT]..."
#define SW_USAGE_WORK "swarm work [REMOTE] [--jobs N] [--units N] [--once] [--poll S] [--timeout S] [--plugin-path DIR]... [--listen HOST:PORT] [--peer HOST:PORT]... [--tracker URL]..."
#define SW_USAGE_PLUGIN "swarm plugin [ls | info ID] [--plugin-path DIR]... [--json]"

#endif
