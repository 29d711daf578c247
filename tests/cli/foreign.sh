#!/usr/bin/env bash
# foreign.sh — swarm's torrents with stock BitTorrent software on 127.0.0.1: peers that meet only
# through opentracker, aria2c downloading from and seeding to swarm, Transmission seeding to swarm,
# and get given a magnet link or a .torrent file.
. "$(dirname "$0")/lib.sh"

export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME="$T"   # no user config (git, aria2) leaks in
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY # announces go straight to 127.0.0.1
for tool in aria2c transmission-cli opentracker; do
    command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (make deps installs it)"; exit 1; }
done
sw() { "$SWARM" --home "$T/$1" "${@:2}"; } # sw HOME ARGS...: swarm on the home $T/HOME
jget() { python3 -c 'import json,sys; print(eval(sys.argv[2], {"j": json.loads(sys.argv[1])}))' "$1" "$2"; }
gone() { [ ! -d "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; } # exited (maybe unreaped)
same_files() { cmp -s "$T/src/big.bin" "$1/big.bin" && cmp -s "$T/src/sub/small.txt" "$1/sub/small.txt"; }
# tracker_lists PORT: the tracker lists a peer on PORT (tests/tools/tracker-lists)
tracker_lists() { "$ROOT/tests/tools/tracker-lists" "$URL" "$IH" "$1"; }
# swg HOME ARGS...: a network command of swarm, on loopback only; it gives up after 60 s (timeout: 90)
swg() { timeout 90 "$SWARM" --home "$T/$1" "${@:2}" --listen 127.0.0.1:0 --timeout 60; }

# --- home a adds model@v1 (20 MiB + a small file in a folder) and pushes it; every other home pulls ---
mkdir -p "$T/src/sub"
$GEN bytes 1 20M "$T/src/big.bin"
$GEN bytes 2 3000 "$T/src/sub/small.txt"
ok "a adds model@v1" sw a add "$T/src" --name model
is "...as model@v1" "$out" "model@v1"
git init -q --bare "$T/bare.git"
ok "a adds the bare repository as origin" sw a remote add origin "$T/bare.git"
ok "a pushes model@v1" sw a push
for h in b c d e f t; do
    sw "$h" remote add origin "$T/bare.git"
    ok "$h pulls the catalog" sw "$h" pull
done
ok "a writes model@v1's .torrent" sw a torrent model@v1 -o "$T/model.torrent"
run sw a magnet model@v1
MAGNET=$out
like "the magnet link carries the v1 info-hash and the name" "$MAGNET" '^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=model$'
IH=$(printf '%s\n' "$MAGNET" | sed 's/.*btih:\([0-9a-f]*\).*/\1/')

# --- opentracker on 127.0.0.1 (Debian's is whitelist-only: it serves the info-hashes listed) ---
mkdir -p "$T/ot"
echo "$IH" >"$T/ot/whitelist"
TPORT=$(free_port)
printf 'listen.tcp_udp 127.0.0.1:%s\naccess.whitelist %s\n' "$TPORT" "$T/ot/whitelist" >"$T/ot/conf"
[ "$(id -u)" = 0 ] && chmod 711 "$T" # as root opentracker drops to nobody, who must reach the whitelist
spawn opentracker -f "$T/ot/conf" >"$T/ot/log" 2>&1
URL="http://127.0.0.1:$TPORT/announce"
ok "opentracker listens on 127.0.0.1:$TPORT" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TPORT"

# --- 1. swarm to swarm, meeting only through the tracker (no --peer anywhere) ---
PA=$(free_port)
spawn "$SWARM" --home "$T/a" seed model@v1 --listen "127.0.0.1:$PA" --tracker "$URL" >"$T/seed-a.log" 2>&1
SEED_A=$!
ok "a seeds model@v1 and announces to the tracker" wait_until 20 tracker_lists "$PA"
ok "b gets model@v1 with --tracker only" swg b get model@v1 --tracker "$URL"
is "...and prints the version" "$out" "model@v1"
ok "b verifies model@v1" sw b verify model@v1
ok "b checks out model@v1" sw b checkout model@v1 "$T/co-b"
ok "...byte-identical to a's files" same_files "$T/co-b"
# A remote may list trackers: t knows the tracker only through its catalog remote, no flag.
sw t remote add tracked "$T/bare.git" --tracker "$URL"
run sw t remote ls
ok "t gets model@v1 announcing to its remote's tracker" swg t get model@v1
ok "t verifies model@v1" sw t verify model@v1
fails "a tracker that is not a URL is refused" 1 sw t remote add bad "$T/bare.git" --tracker nowhere

# --- 2. get given a magnet link or a .torrent file, resolved through the pulled catalog ---
ok "c gets the magnet link from a" swg c get "$MAGNET" --peer "127.0.0.1:$PA"
is "...which is model@v1" "$out" "model@v1"
ok "c verifies model@v1" sw c verify model@v1
ok "d gets model.torrent from a" swg d get "$T/model.torrent" --peer "127.0.0.1:$PA"
is "...which is model@v1" "$out" "model@v1"
ok "d checks out model@v1" sw d checkout model@v1 "$T/co-d"
ok "...byte-identical to a's files" same_files "$T/co-d"
# a bundle only home x has: b's catalog lacks it, whether named by .torrent or by magnet
$GEN bytes 3 70000 "$T/other.bin"
sw x add "$T/other.bin" --name other >/dev/null 2>&1
sw x torrent other@v1 -o "$T/other.torrent"
OTHER_IH=$(sw x magnet other@v1 | sed 's/.*btih:\([0-9a-f]*\).*/\1/')
fails "b gets other.torrent: not in its catalog" 1 swg b get "$T/other.torrent"
like "...the error names the info-hash and says to pull" "$err" "^swarm: error: .*info-hash $OTHER_IH.*pull"
fails "b gets other's magnet link: not in its catalog" 1 swg b get "$(sw x magnet other@v1)"
like "...the same error" "$err" "^swarm: error: .*info-hash $OTHER_IH"

# --- 3. aria2c downloads model@v1 from swarm; it meets a through the tracker (it cannot be given a peer) ---
ARIA=(aria2c --no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
      --bt-tracker="$URL" --summary-interval=0 --console-log-level=warn)
ok "aria2c downloads model.torrent from a" timeout 60 "${ARIA[@]}" --dir="$T/aria2" --listen-port="$(free_port)" \
    --seed-time=0 --bt-stop-timeout=50 --file-allocation=none "$T/model.torrent"
ok "...into aria2/model/, byte-identical to a's files" same_files "$T/aria2/model"

# --- a stops on SIGTERM: from here the foreign clients are the only seeders ---
kill -TERM "$SEED_A"
ok "a exits after SIGTERM" wait_until 15 gone "$SEED_A"
gone "$SEED_A" && { wait "$SEED_A"; rc=$?; } || rc="still running"
is "...with status 0" "$rc" 0
like "...saying it stopped" "$(cat "$T/seed-a.log")" "stopped seeding"

# --- 4. Transmission seeds, swarm downloads; Transmission does not dial 127/8, so swarm dials it ---
RPORT=$(free_port)
mkdir -p "$T/tr/cfg" "$T/tr/data" && cp -r "$T/src" "$T/tr/data/model"
cat >"$T/tr/cfg/settings.json" <<EOF
{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false, "rpc-enabled": false,
 "port-forwarding-enabled": false, "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1"}
EOF
spawn transmission-cli -g "$T/tr/cfg" -w "$T/tr/data" -p "$RPORT" -M "$T/model.torrent" >"$T/tr/log" 2>&1
ok "transmission checks the files and seeds" wait_until 60 grep -q Seeding "$T/tr/log"
# Transmission unchokes a new peer at its next 10-second rechoke, then sends about 1.5 MB/s here. It
# knows peers by address alone: once one peer from 127.0.0.1 has everything, it drops later ones from
# there as fellow seeds, so one Transmission serves one get.
ok "e gets model@v1 from transmission (--peer)" swg e --json get model@v1 --peer "127.0.0.1:$RPORT"
is "...downloading every byte (transmission is the only source)" "$(jget "$out" 'j["downloaded"] >= j["bytes"] == 20974520')" True
ok "e verifies model@v1" sw e verify model@v1
ok "e checks out model@v1" sw e checkout model@v1 "$T/co-e"
ok "...byte-identical to a's files" same_files "$T/co-e"

# --- 5. aria2c seeds, swarm downloads; they meet through the tracker ---
SPORT=$(free_port)
mkdir -p "$T/aria2-seed" && cp -r "$T/src" "$T/aria2-seed/model"
spawn "${ARIA[@]}" --dir="$T/aria2-seed" --listen-port="$SPORT" --check-integrity=true --seed-ratio=0.0 \
    "$T/model.torrent" >"$T/aria2-seed.log" 2>&1
ok "aria2c checks the files, seeds and announces" wait_until 30 tracker_lists "$SPORT"
ok "f gets model@v1 from aria2c (--tracker)" swg f --json get model@v1 --tracker "$URL"
is "...downloading every byte (aria2c is the only seeder left)" "$(jget "$out" 'j["downloaded"] >= j["bytes"] == 20974520')" True
ok "f verifies model@v1" sw f verify model@v1

done_testing
