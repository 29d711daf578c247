#!/usr/bin/env bash
# p2p.sh — bundle versions between swarm peers over BitTorrent on 127.0.0.1: deterministic torrents,
# seed -> get -> checkout, a corrupt seeder, kill -9 and resume, delta fetches, several peers at once.
. "$(dirname "$0")/lib.sh"

sw() { local h=$1; shift; "$SWARM" --home "$T/$h" "$@"; }
# seed HOME PORT [ARGS...]: a seeder on 127.0.0.1:PORT, killed by PID at exit; waits until it listens.
seed() {
    local h=$1 port=$2
    shift 2
    spawn "$SWARM" --home "$T/$h" seed --listen "127.0.0.1:$port" "$@" >"$T/seed-$h-$port.log" 2>&1
    wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}
get() { local h=$1; shift; run "$SWARM" --home "$T/$h" --json get --listen 127.0.0.1:0 --timeout 60 "$@"; }
jnum() { printf '%s\n' "$1" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" | head -1; }

git init -q --bare "$T/cat.git"
mkdir -p "$T/src"
"$GEN" bytes 11 24M "$T/src/model.bin"
echo '{"layers": 2}' >"$T/src/config.json"
: >"$T/src/empty"
ok "a adds the bundle" sw a add "$T/src" --name tiny
ok "a pushes its catalog" sw a remote add origin "$T/cat.git"
ok "push" sw a -q push

# --- deterministic torrents -------------------------------------------------------------------------
ok "another home adds the same files" sw other add "$T/src" --name tiny
sw a torrent tiny@v1 -o "$T/a.torrent"
sw other torrent tiny@v1 -o "$T/other.torrent"
ok "two peers derive byte-identical torrents" cmp "$T/a.torrent" "$T/other.torrent"
run sw a magnet tiny@v1
like "magnet names the v1 info-hash and the bundle" "$out" '^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=tiny'
ih=$(printf '%s' "$out" | sed 's/.*btih:\([0-9a-f]*\).*/\1/')
like "the manifest records that info-hash" "$(sw a show tiny@v1 --json; git --git-dir="$T/a/catalog" show tiny@v1:manifest.json)" "\"v1\":\"$ih\""
ok "the .torrent is not pad-filled (stock clients)" bash -c "! grep -q '.pad' '$T/a.torrent'"
fails "torrent of an unknown version" 1 sw a torrent tiny@v9 -o "$T/x.torrent"

# --- seed -> get -> checkout ------------------------------------------------------------------------
p1=$(free_port)
ok "a seeds on 127.0.0.1:$p1" seed a "$p1"
ok "b pulls the catalog" sw b remote add origin "$T/cat.git"
ok "pull" sw b -q pull
get b tiny@v1 --peer "127.0.0.1:$p1"
is "b gets tiny@v1" "$rc" 0
is "it downloaded the whole version" "$(jnum "$out" downloaded)" "$(jnum "$out" bytes)"
ok "b verifies it" sw b verify tiny@v1
ok "b checks it out" sw b checkout tiny@v1 "$T/b-out"
ok "byte-identical to the original" diff -r "$T/src" "$T/b-out"
is "nothing left in b's incoming area" "$(find "$T/b/incoming" -type f | wc -l)" "0"
run sw b get tiny@v1 --peer "127.0.0.1:$p1"
like "a second get says it is held" "$err" "already held"
is "seeding makes no second copy (hard links to objects)" "$(stat -c %h "$(find "$T/a/objects" -size +1M -type f)")" "2"

# --- delta: v2 changes 1 MiB in the middle and inserts 100 bytes near the start ---------------------
"$GEN" bytes 12 64M "$T/big"
ok "a adds big@v1" sw a -q add "$T/big" --name big
"$GEN" bytes 13 100 "$T/ins" && "$GEN" bytes 14 1M "$T/mid" # new bytes, the same in every run
{ head -c 4096 "$T/big"; cat "$T/ins"; tail -c +4097 "$T/big"; } >"$T/big2"
dd if="$T/mid" of="$T/big2" bs=1M seek=32 count=1 conv=notrunc status=none
mv "$T/big2" "$T/big"
ok "a adds big@v2" sw a -q add "$T/big" --name big
sw a -q push
sw b -q pull
p2=$(free_port)
seed a "$p2" big@v1 big@v2
get b big@v1 --peer "127.0.0.1:$p2"
is "b gets big@v1" "$rc" 0
get b big@v2 --peer "127.0.0.1:$p2"
is "b gets big@v2" "$rc" 0
down=$(jnum "$out" downloaded) total=$(jnum "$out" bytes) reused=$(jnum "$out" reused)
echo "# delta: downloaded $down of $total bytes ($((down * 100 / total))%), reused $reused"
ok "delta: downloaded under 10% of the file ($down bytes)" test "$down" -lt $((total / 10))
ok "delta: reused held chunks" test "$reused" -gt $((total / 2))
# The edits touch 5 pieces of 256 KiB (the insertion's, and the 4 the aligned 1 MiB covers); the bytes
# around them lie in edited chunks, which get guessed from their held neighbours, so nothing else travels.
ok "delta: only the 5 pieces the edits touch travel ($down bytes)" test "$down" -le $((5 * 262144))
ok "delta: big@v2 verifies" sw b verify big@v2
ok "delta: byte-identical" bash -c "'$SWARM' --home '$T/b' checkout big@v2 '$T/big-out' && cmp '$T/big' '$T/big-out/big'"

# --- three peers at once from one seeder -------------------------------------------------------------
for h in c d e; do sw "$h" remote add origin "$T/cat.git" && sw "$h" -q pull; done
getters=""
for h in c d e; do
    ( "$SWARM" --home "$T/$h" -q get tiny@v1 --listen 127.0.0.1:0 --peer "127.0.0.1:$p1" --timeout 60 >"$T/$h.out" 2>&1
      echo $? >"$T/$h.rc" ) &
    getters="$getters $!"
done
wait $getters
is "three peers fetch at once" "$(cat "$T/c.rc" "$T/d.rc" "$T/e.rc" | tr -d '\n')" "000"
ok "all three verify" bash -c "for h in c d e; do '$SWARM' --home '$T/'\$h verify tiny@v1 || exit 1; done"

# --- a super seeder and three peers that know one another ---------------------------------------------
ps_=$(free_port)
seed a "$ps_" tiny@v1 --super-seed
for h in s1 s2 s3; do sw "$h" remote add origin "$T/cat.git" && sw "$h" -q pull; done
sp1=$(free_port) sp2=$(free_port) sp3=$(free_port)
getters=""
for k in 1 2 3; do
    others=""
    for j in 1 2 3; do [ "$j" = "$k" ] || others="$others --peer 127.0.0.1:$(eval echo "\$sp$j")"; done
    # shellcheck disable=SC2086
    ( "$SWARM" --home "$T/s$k" -q get tiny@v1 --listen "127.0.0.1:$(eval echo "\$sp$k")" --peer "127.0.0.1:$ps_" \
        $others --timeout 300 >"$T/s$k.out" 2>&1
      echo $? >"$T/s$k.rc" ) &
    getters="$getters $!"
done
wait $getters
is "three peers that know one another fetch at once from a super seeder" \
    "$(cat "$T/s1.rc" "$T/s2.rc" "$T/s3.rc" | tr -d '\n')" "000"
ok "... and verify" bash -c "for h in s1 s2 s3; do '$SWARM' --home '$T/'\$h verify tiny@v1 || exit 1; done"
run "$SWARM" --home "$T/a" get tiny@v1 --super-seed
is "--super-seed is for seed: a usage error for get" "$rc" 2

# --- a corrupt seeder --------------------------------------------------------------------------------
# libtorrent's seed mode hashes each piece the first time a peer asks for it, so a seeder never sends a
# piece that is bad on disk before that. To make c serve bad data, c first serves the whole version
# once (every piece checked), then a byte of its model object flips underneath it.
p3=$(free_port)
seed c "$p3" tiny@v1
for h in f g i; do sw "$h" remote add origin "$T/cat.git" && sw "$h" -q pull; done
get i tiny@v1 --peer "127.0.0.1:$p3"
is "c serves tiny@v1 once, checking every piece" "$rc" 0
obj=$(find "$T/c/objects" -type f -size +1M)
chmod u+w "$obj"
printf '\xff' | dd of="$obj" bs=1 seek=$((12 * 1024 * 1024)) conv=notrunc status=none
get g tiny@v1 --peer "127.0.0.1:$p3" --timeout 8
is "with only the corrupt seeder, the get fails" "$rc" "1"
like "clearly, saying what was missing" "$err" "^swarm: error: timed out after 8 s with [0-9.]+ (B|KiB|MiB|GiB) of [0-9.]+ (B|KiB|MiB|GiB)"
like "the corrupt seeder did send bad data, and it was rejected" "$err" "; [1-9][0-9.]* (B|KiB|MiB|GiB) failed their piece hash"
run sw g verify tiny@v1
like "and admits nothing" "$err" "not held"
is "no object of the model reached g's store" "$(find "$T/g/objects" -type f -size +1M | wc -l)" "0"
get f tiny@v1 --peer "127.0.0.1:$p3" --peer "127.0.0.1:$p1"
is "beside a good seeder, the get succeeds" "$rc" 0
[ "$rc" = 0 ] || printf '#   %s\n' "$err" "$(tail -5 "$T/seed-c-$p3.log")" "$(tail -5 "$T/seed-a-$p1.log")"
ok "with correct data" bash -c "'$SWARM' --home '$T/f' checkout tiny@v1 '$T/f-out' && diff -r '$T/src' '$T/f-out'"

# --- kill -9 halfway through a rate-limited get, then resume -------------------------------------------
p4=$(free_port)
seed a "$p4" big@v1 --upload-limit 8M
sw h remote add origin "$T/cat.git" && sw h -q pull
spawn "$SWARM" --home "$T/h" -q get big@v1 --listen 127.0.0.1:0 --peer "127.0.0.1:$p4" >"$T/h.log" 2>&1
getpid=$!
half() { [ "$(du -sk "$T/h/incoming" 2>/dev/null | cut -f1)" -gt 24000 ]; }
ok "the get is under way (over 24 MiB in)" wait_until 30 half
kill -9 "$getpid"
wait "$getpid" 2>/dev/null
ok "the killed get left its incoming files" test -d "$T/h/incoming"
get h big@v1 --peer "127.0.0.1:$p1" --peer "127.0.0.1:$p2"
is "the rerun finishes" "$rc" 0
down=$(jnum "$out" downloaded) total=$(jnum "$out" bytes)
echo "# resume: downloaded $down of $total bytes"
ok "and downloads well under the full size ($down of $total)" test "$down" -lt $((total * 3 / 4))
ok "the resumed version verifies" sw h verify big@v1

# --- bad input -----------------------------------------------------------------------------------------
fails "get of an unknown version" 1 sw b get nope@v1 --listen 127.0.0.1:0 --timeout 2
fails "get of a magnet no catalog entry names" 1 sw b get "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567" --listen 127.0.0.1:0
fails "get with a bad --peer" 2 sw b get tiny@v1 --peer nowhere
fails "get with a bad timeout" 2 sw b get tiny@v1 --timeout soon
fails "seed of a version not held" 1 sw g seed tiny@v1 --listen 127.0.0.1:0
ok "a still seeds on $p2" bash -c "exec 3<>/dev/tcp/127.0.0.1/$p2"
fails "seed on a busy port" 1 timeout 20 "$SWARM" --home "$T/b" seed tiny@v1 --listen "127.0.0.1:$p2"
echo "garbage" >"$T/bad.torrent"
fails "get of a file that is no torrent" 1 sw b get "$T/bad.torrent" --listen 127.0.0.1:0

done_testing
