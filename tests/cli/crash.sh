#!/usr/bin/env bash
# crash.sh — kill -9 in the middle of adds and of pipeline runs, concurrent adds, and gc against a busy
# store.
# A killed add leaves at most temp files, which the next command that opens the store removes (their
# owner's lock is gone), and unreferenced objects, which gc collects; fsck stays clean and the same add
# then succeeds. Concurrent adds of one bundle get distinct versions; identical content
# is stored once; gc runs beside a paused add and keeps what it has committed, and its temp file.
. "$(dirname "$0")/lib.sh"
umask 022

nobjects() { find "${1:-$SWARM_HOME}/objects" -type f 2>/dev/null | wc -l; }
# The size of the largest file in tmp/ (0 when none).
tmp_max() { find "$SWARM_HOME/tmp" -type f -printf '%s\n' 2>/dev/null | sort -n | tail -1 | grep . || echo 0; }
# Polls CMD every 10 ms for up to SECS seconds (wait_until's 100 ms is too coarse for a fast add).
poll() {
    local secs=$1 i=0
    shift
    while [ "$i" -lt $((secs * 100)) ]; do
        "$@" && return 0
        sleep 0.01
        i=$((i + 1))
    done
    return 1
}
tmp_over_16m() { [ "$(tmp_max)" -gt $((16 << 20)) ]; }
has_objects() { [ "$(nobjects)" -ge "$1" ]; }
has_tmp_file() { [ -n "$(find "$SWARM_HOME/tmp" -type f 2>/dev/null)" ]; }

mkdir -p "$T/in"
"$GEN" bytes 1 300M "$T/in/big"

# --- kill -9 while a 300 MiB file is being written -------------------------------------------------
ok "fresh store" "$SWARM" ls
spawn "$SWARM" -q add "$T/in/big" --name big >"$T/bg.out" 2>"$T/bg.err"
pid=$!
ok "a temp file in tmp/ passes 16 MiB" poll 60 tmp_over_16m
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
is "the add was killed mid-way (status 137)" "$?" 137
stale=$(find "$SWARM_HOME/tmp" -type f)
is "one stale temp file is left" "$(printf '%s\n' "$stale" | grep -c .)" 1
stale_size=$(stat -c %s "$stale" 2>/dev/null || echo 0)
ok "it is smaller than the file (the add did not finish)" test "$stale_size" -lt $((300 << 20))
du_before=$(du -sb "$SWARM_HOME" | cut -f1)
ok "fsck is clean after the kill" "$SWARM" fsck
like "fsck reports no corruption" "$err" " 0 corrupt"
like "... and no temp file left" "$err" " 0 temp files"
ok "the next command that opens the store removed the dead add's temp file" test ! -e "$stale"
is "tmp/ is empty" "$(find "$SWARM_HOME/tmp" -mindepth 1 | wc -l)" 0
du_after=$(du -sb "$SWARM_HOME" | cut -f1)
ok "the home shrank by at least the temp file" test $((du_before - du_after)) -ge "$stale_size"
run "$SWARM" ls
is "ls shows no big" "$(printf '%s\n' "$out" | grep -c '^big ')" 0
is "no object was committed" "$(nobjects)" 0
ok "the same add then succeeds" "$SWARM" -q add "$T/in/big" --name big
is "as big@v1" "$out" "big@v1"
ok "verify big@v1" "$SWARM" verify big@v1
ok "gc" "$SWARM" gc
like "gc removes no referenced object" "$out" "removed 0 objects"
like "gc has no temp file left to remove" "$out" "removed 0 temp files"
ok "big@v1 still verifies after gc" "$SWARM" verify big@v1

# --- kill -9 after the first object of a 3-file add is committed -----------------------------------
mkdir -p "$T/three"
for i in 1 2 3; do "$GEN" bytes $((10 + i)) 100M "$T/three/part$i"; done
before=$(nobjects)
spawn "$SWARM" -q add "$T/three" --name three >"$T/bg.out" 2>"$T/bg.err"
pid=$!
ok "the first object is committed" poll 60 has_objects $((before + 1))
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
is "the add was killed before it finished (status 137)" "$?" 137
left=$(($(nobjects) - before))
ok "objects of the killed add are left unreferenced (1 or 2)" test "$left" -ge 1 -a "$left" -le 2
ok "fsck is clean" "$SWARM" fsck
like "fsck reports no corruption" "$err" " 0 corrupt"
run "$SWARM" ls
is "ls shows no three" "$(printf '%s\n' "$out" | grep -c '^three ')" 0
ok "gc" "$SWARM" gc
like "gc keeps them while they are younger than the grace period" "$out" "removed 0 objects.* kept $left recent"
ok "gc --prune now (nothing else runs)" "$SWARM" gc --prune now
like "gc removes the unreferenced objects" "$out" "removed $left object"
is "only big's object is left" "$(nobjects)" 1
ok "the 3-file add then succeeds" "$SWARM" -q add "$T/three" --name three
is "as three@v1" "$out" "three@v1"
ok "verify three@v1" "$SWARM" verify three@v1
ok "fsck is clean" "$SWARM" fsck

# --- kill -9 at random points: the store stays consistent --------------------------------------------
# Each round uses its own home: a kill inside the catalog commit may leave git's lock files, which
# fsck does not look at (see the report), and must not break the next round.
"$GEN" bytes 30 1M "$T/in/seed"
bad=0
for round in 1 2 3 4 5 6; do
    home=$T/rand$round
    "$SWARM" --home "$home" -q add "$T/in/seed" --name seed >/dev/null 2>&1
    delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", (r % 2400) / 1000 }')
    spawn "$SWARM" --home "$home" -q add "$T/three" --name three >/dev/null 2>&1
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    run "$SWARM" --home "$home" fsck
    if [ "$rc" != 0 ] || ! printf '%s\n' "$err" | grep -q ' 0 corrupt'; then
        bad=$((bad + 1))
        echo "# round $round (kill after ${delay}s): fsck exit $rc"
        printf '%s\n' "$out" "$err" | sed 's/^/#   /'
    fi
    run "$SWARM" --home "$home" verify seed@v1
    [ "$rc" = 0 ] || { bad=$((bad + 1)); echo "# round $round: verify seed@v1 exit $rc"; }
    rm -rf "$home"
done
is "fsck is clean and old versions verify after kills at random points" "$bad" 0

# --- kill -9 in the middle of a pipeline run ------------------------------------------------------
# convert.lua's op outputs are kept for the run only (unsynced temp files in tmp/, not objects), its
# write stage builds the output object and stages the copy for the output path beside it while the
# object's fsync runs. A kill at any point leaves no cache entry naming bytes the store does not hold
# (a rerun gives the right file), only temp files that the next command removes, and fsck clean.
CONVERT="$ROOT/pipelines/convert.lua"
"$GEN" checkpoint 5 256M "$T/ck.safetensors"
"$SWARM" --home "$T/ref" -q pipeline run "$CONVERT" --set input="$T/ck.safetensors" --set output="$T/ref.safetensors"
ph=$T/pipe
pipe() { "$SWARM" --home "$ph" pipeline run "$CONVERT" --set input="$T/ck.safetensors" --set output="$T/out.safetensors" "$@"; }
ph_tmp() { find "$ph/tmp" -type f 2>/dev/null | wc -l; }
ph_tmp_over_64m() { [ -n "$(find "$ph/tmp" -type f -size +64M 2>/dev/null)" ]; }
kept_files() { [ "$(ph_tmp)" -ge 3 ]; }
# kill_when COND: runs convert.lua, kills it -9 once COND holds; the status in $killed
kill_when() {
    spawn "$SWARM" --home "$ph" -q pipeline run "$CONVERT" --set input="$T/ck.safetensors" \
        --set output="$T/out.safetensors" >/dev/null 2>&1
    local pid=$!
    poll 60 "$@"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    killed=$?
}
kill_when kept_files
is "killed while convert kept its outputs in tmp/ (status 137)" "$killed" 137
ok "fsck is clean after the kill" "$SWARM" --home "$ph" fsck
like "... reporting no corruption" "$err" " 0 corrupt"
is "tmp/ is empty" "$(ph_tmp)" 0
run pipe --explain
is "the rerun succeeds" "$rc" 0
like "... running convert again (its result was never recorded)" "$out" "^ran +convert"
ok "... to the right bytes" cmp "$T/out.safetensors" "$T/ref.safetensors"
rm -rf "$ph" "$T/out.safetensors"
kill_when ph_tmp_over_64m
is "killed while the write stage built the output object (status 137)" "$killed" 137
ok "fsck is clean" "$SWARM" --home "$ph" fsck
like "... with no corruption" "$err" " 0 corrupt"
is "tmp/ is empty" "$(ph_tmp)" 0
ok "no output file was saved" test ! -e "$T/out.safetensors"
run pipe --explain
is "the rerun succeeds" "$rc" 0
like "... with convert cached (its outputs' bytes gone with the killed run: it runs again for them)" "$out" \
    "^cached +convert"
like "... and the write stage run" "$out" "^ran +write"
like "... saying that convert runs again for its bytes" "$err" "stage 'convert' runs again: a later stage needs its tensors' bytes"
ok "... to the right bytes" cmp "$T/out.safetensors" "$T/ref.safetensors"
is "... and the copy the killed run was staging beside it is gone" "$(ls "$T" | grep -c '^out\.safetensors\.tmp\.')" 0
run pipe
like "a second rerun runs nothing" "$err" "0 stages ran, 4 cached"
bad=0
for round in 1 2 3 4 5; do
    rm -rf "$ph" "$T/out.safetensors"
    delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", (r % 3000) / 1000 }')
    spawn "$SWARM" --home "$ph" -q pipeline run "$CONVERT" --set input="$T/ck.safetensors" \
        --set output="$T/out.safetensors" >/dev/null 2>&1
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    run "$SWARM" --home "$ph" fsck
    [ "$rc" = 0 ] && printf '%s\n' "$err" | grep -q ' 0 corrupt' || { bad=$((bad + 1)); echo "# round $round: fsck $rc $err"; }
    run pipe
    if [ "$rc" != 0 ] || ! cmp -s "$T/out.safetensors" "$T/ref.safetensors"; then
        bad=$((bad + 1))
        echo "# round $round (kill after ${delay}s): rerun exit $rc"
        printf '%s\n' "$err" | sed 's/^/#   /'
    fi
done
is "a kill at a random point of a pipeline run: fsck clean, the rerun gives the right file" "$bad" 0
rm -rf "$ph" "$T/ref" "$T"/out.safetensors* "$T/ref.safetensors" "$T/ck.safetensors"

# --- Concurrent adds ---------------------------------------------------------------------------------
mkdir -p "$T/c1" "$T/c2"
"$GEN" bytes 21 2M "$T/c1/weights"
"$GEN" bytes 22 2M "$T/c2/weights"
add_pair() { # HOME NAME SRC1 SRC2 [OPTION...]: two adds at once; prints "rc1 rc2 versions..."
    "$SWARM" --home "$1" -q add "$3" --name "$2" "${@:5}" >"$T/p1.out" 2>"$T/p1.err" &
    local p1=$!
    "$SWARM" --home "$1" -q add "$4" --name "$2" "${@:5}" >"$T/p2.out" 2>"$T/p2.err" &
    local p2=$!
    wait "$p1"
    local r1=$?
    wait "$p2"
    local r2=$?
    echo "$r1 $r2 $(cat "$T/p1.out" "$T/p2.out" | LC_ALL=C sort | tr '\n' ' ')"
}
is "two adds of one name at once both succeed, as v1 and v2" \
    "$(add_pair "$SWARM_HOME" conc "$T/c1/weights" "$T/c2/weights")" "0 0 conc@v1 conc@v2 "
cat "$T/p1.err" "$T/p2.err" | sed 's/^/# /'
ok "conc@v1 verifies" "$SWARM" verify conc@v1
ok "conc@v2 verifies" "$SWARM" verify conc@v2
run "$SWARM" log conc
is "log lists two versions" "$(printf '%s\n' "$out" | grep -c '^conc@v[12] ')" 2
# In new homes, where both processes also create the store, its index and its catalog.
bad=0
for round in 1 2 3 4 5 6 7 8; do
    got=$(add_pair "$T/conc-new$round" conc "$T/c1/weights" "$T/c2/weights")
    if [ "$got" != "0 0 conc@v1 conc@v2 " ]; then
        bad=$((bad + 1))
        echo "# round $round: $got"
        cat "$T/p1.err" "$T/p2.err" | sed 's/^/#   /'
    fi
done
is "two first adds into a new home both succeed (8 rounds)" "$bad" 0

"$SWARM" --home "$T/same-home" ls >/dev/null 2>&1 # an existing home: the new-home race is tested above
"$GEN" bytes 23 64M "$T/in/same"
cp "$T/in/same" "$T/c1/same"
cp "$T/in/same" "$T/c2/same"
# --allow-same: without it, the add that looks at the catalog after the other's commit finds the same files
# and makes no version (which one does is a race); with it, both commit, one object between them.
is "two adds of identical content at once both succeed" \
    "$(add_pair "$T/same-home" dup "$T/c1/same" "$T/c2/same" --allow-same)" "0 0 dup@v1 dup@v2 "
is "objects/ holds one copy" "$(nobjects "$T/same-home")" 1
h=$(sha256sum "$T/in/same" | cut -c1-64)
ok "named by its SHA-256" cmp "$T/in/same" "$T/same-home/objects/${h:0:2}/$h"
ok "fsck of that home is clean" "$SWARM" --home "$T/same-home" fsck
like "with one object checked" "$err" "fsck: 1 objects"
is "its tmp/ is empty" "$(find "$T/same-home/tmp" -mindepth 1 | wc -l)" 0

# --- gc while another swarm process writes to the store ---------------------------------------------
# An old unreferenced object (an add refused at commit: the version exists, aged three hours), and a
# 3-file add paused after its first object was committed (aged two hours too, as if the add were slow).
echo "junk" >"$T/in/junk"
fails "an add refused at commit" 1 "$SWARM" add "$T/in/junk" --name big@v1
h=$(sha256sum "$T/in/junk" | cut -c1-64)
junk=$SWARM_HOME/objects/${h:0:2}/$h
ok "it left an unreferenced object" test -f "$junk"
touch -h -d '3 hours ago' "$junk"
for i in 1 2 3; do "$GEN" bytes $((40 + i)) 100M "$T/three/part$i"; done
before=$(nobjects)
spawn "$SWARM" -q add "$T/three" --name three2 >"$T/bg.out" 2>"$T/bg.err"
pid=$!
ok "the add committed its first object" poll 60 has_objects $((before + 1))
# Paused while it streams its second file, not inside an index transaction (which would hold SQLite's
# write lock, and so keep gc, like any other writer, waiting).
ok "... and streams the second" poll 60 tmp_over_16m
kill -STOP "$pid"
is "the process writing to the store is swarm" "$(cat "/proc/$pid/comm" 2>/dev/null)" swarm
first=$(find "$SWARM_HOME/objects" -type f -newer "$T/three/part3" | head -1)
ok "its first object" test -f "$first"
# As if the add had run for two hours: its first object and its owner file (which records when it first
# committed) both that old.
then=@$(date -d '2 hours ago' +%s)
touch -h -d "$then" "$first" "$SWARM_HOME"/locks/owner-*
inflight=$(find "$SWARM_HOME/tmp" -type f)
ok "gc runs while the add runs" "$SWARM" gc
like "it removes the old unreferenced object" "$out" "removed 1 object,"
ok "the unreferenced object is gone" test ! -e "$junk"
ok "the paused add's first object stays (its writer is alive), old as it is" test -f "$first"
[ -z "$inflight" ] || ok "the add's temp file stays" test -f "$inflight"
kill -CONT "$pid"
wait "$pid" 2>/dev/null
is "the paused add completes" "$?" 0
is "as three2@v1" "$(cat "$T/bg.out")" "three2@v1"
ok "three2@v1 verifies" "$SWARM" verify three2@v1
ok "every version still verifies" "$SWARM" verify
ok "fsck is clean at the end" "$SWARM" fsck

done_testing
