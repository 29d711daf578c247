#!/usr/bin/env bash
# p2p.sh BUILD — make bench, data plane: swarm seed/get against named peers on 127.0.0.1, same run.
#
# 1. 1 GiB from one swarm seeder: `swarm get` (--peer) vs aria2c (same seeder, met through opentracker)
#    vs cp of the file; throughput, ratios, peak RSS of seeder and leecher. Best of 3 (figures vary ±15% between runs on a shared VM).
# 2. Delta: bytes downloaded / bytes changed for v2 of a 64 MiB file (1 MiB changed, 100 bytes
#    inserted) and for a 256 MiB checkpoint with every 10th tensor rewritten.
# 3. Swarming: 8 peers get a 256 MiB version from one seeder at once, knowing each other; how much
#    the seeder uploads.
# The seeders run under `script` (a pty): swarm seed draws its payload upload count only on a
# terminal, and that count is the only figure of what it sent (its sockets do not show in /proc/PID/io).
# Everything listens on 127.0.0.1; every process started here is killed by its PID at exit. Scratch
# space: ${BENCH_DIR:-$TMPDIR}/swarm-bench-p2p (8 GiB for a moment, then about 3 GiB), removed at exit. run.sh calls this last;
# alone: bash tests/bench/p2p.sh BUILD (a few minutes on two cores).
set -euo pipefail
build=${1:-build}
swarm=$(cd "$build" && pwd)/swarm
gen=$(cd "$build" && pwd)/tools/gen
tracker_tool=$(cd "$(dirname "$0")" && pwd)/../tools/tracker-lists
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}/swarm-bench-p2p
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    chmod -R u+w "$dir" 2>/dev/null || true
    rm -rf "$dir"
}
rm -rf "$dir"
mkdir -p "$dir"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export SOURCE_DATE_EPOCH=1700000000 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost GIT_CONFIG_NOSYSTEM=1
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY # announces go straight to 127.0.0.1
for tool in aria2c opentracker script bc python3; do
    command -v "$tool" >/dev/null || { echo "p2p bench: $tool is missing (make deps-bench installs it)" >&2; exit 1; }
done

sw() { "$swarm" --home "$dir/$1" "${@:2}"; } # sw HOME ARGS...
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
secs() { printf '%.2f' "$1"; }
mbs() { echo "scale=0; $1 / $2 / 1000000" | bc; } # mbs BYTES SECONDS: MB/s
mib() { printf '%.1f' "$(echo "scale=2; $1 / 1048576" | bc)"; }
human() { numfmt --to=iec-i --suffix=B --format='%.0f' "$1" | sed 's/\([0-9]\)\([KMGT]\)/\1 \2/'; } # 1 GiB
jnum() { sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1" | head -1; } # jnum FILE KEY: a number of swarm's JSON
listens() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
used_ports=" "
free_port() { # a TCP port on 127.0.0.1 that nothing listens on and this script has not handed out
    local p
    while :; do
        p=$(shuf -i 20000-60000 -n 1)
        case $used_ports in *" $p "*) continue ;; esac
        listens "$p" || { used_ports="$used_ports$p "; echo "$p"; return; }
    done
}
wait_until() { # wait_until SECS CMD...: retry CMD every 0.1 s
    local i
    for i in $(seq $(($1 * 10))); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
pull_home() { rm -rf "${dir:?}/$1" && sw "$1" -q remote add origin "$dir/cat.git" && sw "$1" -q pull >/dev/null; }

# seeder HOME LOG ARGS...: `swarm seed ARGS` from HOME on a pty (its output goes to LOG); sets
# seeder_pid (the swarm process itself) and waits until it listens on --listen's port.
seeder() {
    local home=$1 log=$2 port cmd sp
    shift 2
    port=$(printf '%s\n' "$@" | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
    cmd=$(printf '%q ' "$swarm" --home "$dir/$home" seed "$@")
    script -qfec "exec $cmd" "$log" </dev/null >/dev/null 2>&1 &
    sp=$!
    pids+=("$sp")
    wait_until 20 bash -c "ps -o pid= --ppid $sp | grep -q ." || { echo "seeder did not start" >&2; exit 1; }
    seeder_pid=$(ps -o pid= --ppid "$sp" | tr -d ' ')
    pids+=("$seeder_pid")
    wait_until 20 listens "$port" || { echo "seeder does not listen on $port:" >&2; cat "$log" >&2; exit 1; }
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait_until 10 bash -c "! kill -0 $1" || kill -KILL "$1" 2>/dev/null || true; }
hwm_mib() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# uploaded LOG: the payload the seeder last reported, as it printed it ("1.8 GiB": 0.1 of the unit)
uploaded() { tr '\r' '\n' <"$1" | sed -n 's/.*, \([0-9.]* [KMGT]*i*B\) uploaded.*/\1/p' | tail -1; }
bytes_of() { # "1.8 GiB" -> bytes
    echo "$1" | awk '{m = $2 == "B" ? 1 : $2 == "KiB" ? 1024 : $2 == "MiB" ? 1048576 : $2 == "GiB" ? 1073741824 : 1099511627776
                      printf "%.0f", $1 * m}'
}

# measure N CMD... — over N runs ($prep runs untimed before each): t_best, the best wall time in seconds,
# and rss_max, the largest peak RSS in MiB (GNU time). A failed run stops the bench.
prep=:
measure() {
    local n=$1 t s e r
    shift
    t_best="" rss_max=0
    for _ in $(seq "$n"); do
        eval "$prep"
        sync
        s=$(date +%s.%N)
        if ! /usr/bin/time -f %M -o "$dir/rss" "$@" >"$dir/run.out" 2>"$dir/run.err"; then
            echo "p2p bench: failed: $*" >&2
            tail -5 "$dir/run.err" >&2
            exit 1
        fi
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        r=$(awk '{v = $1} END {printf "%.0f", v / 1024}' "$dir/rss")
        [ "$r" -gt "$rss_max" ] && rss_max=$r
        if [ -z "$t_best" ] || [ "$(echo "$t < $t_best" | bc)" = 1 ]; then t_best=$t; fi
    done
}

# On a virtual machine the first write into a page of guest memory costs far more than later ones (a
# 1 GiB get took 6.3-7.2 s after a 3 GiB warm-up, 4.4 s after this one), so the page cache is filled
# once with more than the whole bench writes, and every contender finds touched memory.
echo "warming memory (8 GiB written and removed) ..."
dd if=/dev/zero of="$dir/warm" bs=4M count=2048 status=none && rm "$dir/warm"

# ---- 1. 1 GiB from one seeder: swarm get vs aria2c vs cp -------------------------------------------
echo "p2p 1/3: 1 GiB from one seeder (swarm get, aria2c, cp) ..."
git init -q --bare "$dir/cat.git"
"$gen" bytes 7 1G "$dir/big.bin"
sw a -q add "$dir/big.bin" --name big >/dev/null
sw a -q remote add origin "$dir/cat.git"
sw a -q push
sw a -q torrent big@v1 -o "$dir/big.torrent"
ih=$(sw a magnet big@v1 | sed 's/.*btih:\([0-9a-f]*\).*/\1/')
bytes=$(stat -c %s "$dir/big.bin")

# opentracker (Debian's serves only whitelisted info-hashes); as root it drops to nobody, who must
# reach the whitelist
mkdir -p "$dir/ot"
echo "$ih" >"$dir/ot/whitelist"
[ "$(id -u)" = 0 ] && chmod 711 "$dir" "$dir/ot" && chmod 644 "$dir/ot/whitelist"
tport=$(free_port)
printf 'listen.tcp_udp 127.0.0.1:%s\naccess.whitelist %s\n' "$tport" "$dir/ot/whitelist" >"$dir/ot/conf"
opentracker -f "$dir/ot/conf" >"$dir/ot/log" 2>&1 &
pids+=("$!")
url="http://127.0.0.1:$tport/announce"
wait_until 10 listens "$tport" || { echo "opentracker did not start:" >&2; cat "$dir/ot/log" >&2; exit 1; }
# tracker_lists PORT: the tracker lists a peer on PORT (tests/tools/tracker-lists)
tracker_lists() { "$tracker_tool" "$url" "$ih" "$1"; }

p1=$(free_port)
seeder a "$dir/seed1.log" big@v1 --listen "127.0.0.1:$p1" --tracker "$url"
seed1=$seeder_pid
wait_until 30 tracker_lists "$p1" || { echo "the seeder never showed up at opentracker" >&2; exit 1; }

prep='rm -f "$dir/copy"'
measure 2 sh -c "cp '$dir/big.bin' '$dir/copy' && sync"
t_cpsync=$t_best
measure 2 cp "$dir/big.bin" "$dir/copy"
t_cp=$t_best
rm -f "$dir/copy"

prep='pull_home b'
measure 3 timeout 300 "$swarm" --home "$dir/b" -q get big@v1 --listen 127.0.0.1:0 --peer "127.0.0.1:$p1" --timeout 240
t_get=$t_best rss_get=$rss_max
rm -rf "$dir/b"

prep='rm -rf "$dir/aria2"'
measure 3 timeout 300 aria2c --no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
    --enable-peer-exchange=false --bt-tracker="$url" --summary-interval=0 --console-log-level=warn \
    --dir="$dir/aria2" --listen-port="$(free_port)" --seed-time=0 --bt-stop-timeout=50 --file-allocation=none \
    "$dir/big.torrent"
t_aria=$t_best rss_aria=$rss_max
cmp -s "$dir/big.bin" "$dir/aria2/big/big.bin" || { echo "aria2c's copy differs" >&2; exit 1; }
rm -rf "$dir/aria2"
rss_seed=$(hwm_mib "$seed1")
stop "$seed1"

# ---- 2. delta -----------------------------------------------------------------------------------
echo "p2p 2/3: delta fetches (64 MiB file, 256 MiB checkpoint) ..."
piece=$((256 * 1024)) # sw_piece_size: 256 KiB up to 4 GiB (16384 pieces)
"$gen" bytes 12 64M "$dir/file.bin"
sw a -q add "$dir/file.bin" --name file >/dev/null
{ head -c 4096 "$dir/file.bin"; head -c 100 /dev/urandom; tail -c +4097 "$dir/file.bin"; } >"$dir/file2.bin"
dd if=/dev/urandom of="$dir/file2.bin" bs=1M seek=32 count=1 conv=notrunc status=none
mv "$dir/file2.bin" "$dir/file.bin"
sw a -q add "$dir/file.bin" --name file >/dev/null
file_changed=$((1048576 + 100)) file_regions=2

"$gen" checkpoint 3 256M "$dir/ckpt.safetensors"
sw a -q add "$dir/ckpt.safetensors" --name ckpt >/dev/null
hdr=$(od -An -t u8 -N 8 "$dir/ckpt.safetensors" | tr -d ' ')
tensor=$((16 * 1048576))
ntensors=$((($(stat -c %s "$dir/ckpt.safetensors") - 8 - hdr) / tensor))
ckpt_changed=0 ckpt_regions=0
for ((i = 3; i < ntensors; i += 10)); do # every 10th tensor, from the 4th: no two adjacent
    dd if=/dev/urandom of="$dir/ckpt.safetensors" bs=1M count=16 iflag=fullblock oflag=seek_bytes \
        seek=$((8 + hdr + i * tensor)) conv=notrunc status=none
    ckpt_changed=$((ckpt_changed + tensor)) ckpt_regions=$((ckpt_regions + 1))
done
sw a -q add "$dir/ckpt.safetensors" --name ckpt >/dev/null
sw a -q push
pull_home d
p2=$(free_port)
seeder a "$dir/seed2.log" file@v1 file@v2 ckpt@v1 ckpt@v2 --listen "127.0.0.1:$p2"
seed2=$seeder_pid
dget() { timeout 150 "$swarm" --home "$dir/d" -q --json get "$1" --listen 127.0.0.1:0 --peer "127.0.0.1:$p2" --timeout 120 >"$dir/d.json"; }
dget file@v1 && dget file@v2
file_down=$(jnum "$dir/d.json" downloaded) file_reused=$(jnum "$dir/d.json" reused)
dget ckpt@v1 && dget ckpt@v2
ckpt_down=$(jnum "$dir/d.json" downloaded) ckpt_reused=$(jnum "$dir/d.json" reused)
stop "$seed2"
rm -rf "$dir/d" "$dir/file.bin" "$dir/ckpt.safetensors"

# ---- 3. swarming: 8 peers from one seeder --------------------------------------------------------
echo "p2p 3/3: 8 peers get 256 MiB from one seeder at once ..."
"$gen" bytes 21 256M "$dir/shared.bin"
sw a -q add "$dir/shared.bin" --name shared >/dev/null
sw a -q push
shared=$(stat -c %s "$dir/shared.bin")
rm -f "$dir/shared.bin"
npeers=8
# swarm_round [SEED OPTION]: the 8 fresh homes get shared@v1 at once; sets seed_up_str, seed_up,
# swarm_down, first and last.
swarm_round() {
    for i in $(seq "$npeers"); do pull_home "p$i"; done
    p3=$(free_port)
    seeder a "$dir/seed3.log" shared@v1 --listen "127.0.0.1:$p3" "$@"
    seed3=$seeder_pid
    ports=()
    for i in $(seq "$npeers"); do ports[i]=$(free_port); done
    getters=()
    s=$(date +%s.%N)
    for i in $(seq "$npeers"); do
        peers=(--peer "127.0.0.1:$p3")
        for j in $(seq "$npeers"); do [ "$j" = "$i" ] || peers+=(--peer "127.0.0.1:${ports[j]}"); done
        (
            timeout 300 "$swarm" --home "$dir/p$i" --json get shared@v1 --listen "127.0.0.1:${ports[i]}" \
                "${peers[@]}" --timeout 240 >"$dir/p$i.json" 2>"$dir/p$i.err"
            echo $? >"$dir/p$i.rc"
            date +%s.%N >"$dir/p$i.end"
        ) &
        getters+=("$!")
        pids+=("$!")
    done
    for g in "${getters[@]}"; do wait "$g" || true; done
    swarm_down=0 first="" last=""
    for i in $(seq "$npeers"); do
        [ "$(cat "$dir/p$i.rc")" = 0 ] || { echo "peer $i failed:" >&2; cat "$dir/p$i.err" >&2; exit 1; }
        d=$(jnum "$dir/p$i.json" downloaded)
        [ -n "$d" ] || { echo "peer $i reported no download count:" >&2; cat "$dir/p$i.json" "$dir/p$i.err" >&2; exit 1; }
        swarm_down=$((swarm_down + d))
        t=$(echo "$(cat "$dir/p$i.end") - $s" | bc)
        if [ -z "$first" ] || [ "$(echo "$t < $first" | bc)" = 1 ]; then first=$t; fi
        if [ -z "$last" ] || [ "$(echo "$t > $last" | bc)" = 1 ]; then last=$t; fi
    done
    sleep 1.5 # the seeder redraws its count every second
    seed_up_str=$(uploaded "$dir/seed3.log")
    [ -n "$seed_up_str" ] || { echo "the seeder reported no upload:" >&2; tail -c 300 "$dir/seed3.log" >&2; exit 1; }
    seed_up=$(bytes_of "$seed_up_str")
    stop "$seed3"
}
swarm_round
plain_up_str=$seed_up_str plain_up=$seed_up plain_down=$swarm_down plain_first=$first plain_last=$last
swarm_round --super-seed

# ---- report ----------------------------------------------------------------------------------------
verdict() { [ "$(echo "scale=4; $1" | bc)" = 1 ] && echo met || echo MISSED; } # verdict BC-CONDITION
echo
echo "p2p: $(human "$bytes") over 127.0.0.1 from one swarm seeder (best of 3 runs for get and aria2c, 2 for cp; higher MB/s is better)"
row() { printf '  %-34s %7ss  %5s MB/s%s\n' "$1" "$(secs "$2")" "$(mbs "$bytes" "$2")" "${3:-}"; }
row "cp (page cache)" "$t_cp"
row "cp + sync (get syncs too)" "$t_cpsync"
row "aria2c (via opentracker)" "$t_aria" "  peak RSS $rss_aria MiB"
row "swarm get (--peer)" "$t_get" "  peak RSS $rss_get MiB"
printf '  %-34s %sx aria2c (target >= 1.2x: %s)\n' "swarm get throughput" "$(ratio "$t_aria" "$t_get")" \
    "$(verdict "$t_aria / $t_get >= 1.2")"
printf '  %-34s %sx cp (target >= 0.30x: %s), %sx cp + sync\n' "" "$(ratio "$t_cp" "$t_get")" \
    "$(verdict "$t_cp / $t_get >= 0.3")" "$(ratio "$t_cpsync" "$t_get")"
printf '  %-34s seeder %s MiB, leecher %s MiB (target < 256 MiB: %s)\n' "swarm peak RSS" "$rss_seed" "$rss_get" \
    "$(verdict "$rss_seed < 256 && $rss_get < 256")"

echo "p2p delta: bytes a v2 get downloads, v1 held (target <= 1.1 x changed + 1 piece of $((piece / 1024)) KiB per changed region)"
delta_row() { # LABEL CHANGED REGIONS DOWNLOADED REUSED
    local want=$(((11 * $2 / 10) + $3 * piece))
    printf '  %-34s %6s MiB changed, %6s MiB downloaded = %sx (target <= %s MiB: %s), %s MiB reused\n' "$1" \
        "$(mib "$2")" "$(mib "$4")" "$(ratio "$4" "$2")" "$(mib "$want")" "$(verdict "$4 <= $want")" "$(mib "$5")"
}
delta_row "64 MiB: 1 MiB + 100 B inserted" "$file_changed" "$file_regions" "$file_down" "$file_reused"
delta_row "256 MiB ckpt: $ckpt_regions of $ntensors tensors new" "$ckpt_changed" "$ckpt_regions" "$ckpt_down" "$ckpt_reused"

echo "p2p swarming: $npeers peers get $(human "$shared") at once from one seeder, each told of all the others"
echo "  (a get exits once complete, so late finishers have fewer partners: that is part of the measurement)"
# round LABEL UP_STR UP DOWN FIRST LAST
round() {
    printf '  %-34s seeder uploaded %s = %.1fx the bundle (target <= 2.5x: %s)\n' "$1" "$2" "$(ratio "$3" "$shared")" \
        "$(verdict "$3 <= 2.5 * $shared")"
    printf '  %-34s peers got ~%s%% from one another; first done after %ss, last after %ss: %s MB/s in all\n' "" \
        "$(echo "scale=0; (100 * ($4 - $3)) / $4" | bc)" "$(secs "$5")" "$(secs "$6")" "$(mbs "$((shared * npeers))" "$6")"
}
round "swarm seed" "$plain_up_str" "$plain_up" "$plain_down" "$plain_first" "$plain_last"
round "swarm seed --super-seed" "$seed_up_str" "$seed_up" "$swarm_down" "$first" "$last"
