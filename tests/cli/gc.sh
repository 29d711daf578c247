#!/usr/bin/env bash
# gc.sh — what `swarm gc` keeps: the stage cache's policy (the latest run's results, and results made or
# used in the last --cache-older-than), the grace period for unreferenced objects (--prune), and gc
# beside a running seeder on 127.0.0.1, whose versions a get still fetches and verifies.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
MKST="python3 $ROOT/tests/tools/mkst.py"
CONVERT="$ROOT/pipelines/convert.lua"
cd "$T" || exit 1
q() { sqlite3 "$SWARM_HOME/index.db" "$1"; }
nobjects() { find "${1:-$SWARM_HOME}/objects" -type f | wc -l; }
age_objects() { find "${1:-$SWARM_HOME}/objects" -type f -exec touch -h -d '2 hours ago' {} +; }
convert() { "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=out.safetensors --set "dtype=$1"; }

# --- the stage cache -------------------------------------------------------------------------------
$MKST write ck.safetensors w:F32:2x2:1,2,3,4 b:F32:3:1,-2,0.5
ok "a run with dtype=bf16" convert bf16
ok "then one with dtype=f16 (the latest run)" convert f16
results=$(q "SELECT count(*) FROM stages")
ok "both runs' results are cached ($results)" test "$results" -ge 5
age_objects
ok "gc" "$SWARM" gc
like "fresh results stay, whichever run made them" "$out" "dropped 0 stage results"
is "every result is still recorded" "$(q "SELECT count(*) FROM stages")" "$results"

q "UPDATE stages SET time = time - 30 * 86400"
latest=$(q "SELECT count(*) FROM stages WHERE key IN (SELECT key FROM run_keys)")
objects=$(nobjects)
ok "gc after a month without use" "$SWARM" gc
like "drops the results only the earlier run made" "$out" "dropped $((results - latest)) stage results"
is "the latest run's results stay" "$(q "SELECT count(*) FROM stages")" "$latest"
ok "and their objects go with them" test "$(nobjects)" -lt "$objects"
is "no stage pin is left without a result" \
    "$(q "SELECT count(*) FROM pins WHERE reason = 'stage' AND object NOT IN (SELECT object FROM stage_objects)")" 0
run convert f16
like "a rerun of the latest run is all cached" "$err" "0 stages ran"
run convert bf16
like "the dropped run's convert stage runs again" "$err" "[1-9] stages? ran"
ok "fsck is clean after the cache was collected" "$SWARM" fsck

# A result the latest run did not make stays while it is used: a hit marks it used.
q "UPDATE stages SET time = time - 30 * 86400"
run convert f16
like "a rerun of the earlier run is all cached" "$err" "0 stages ran"
is "a cache hit marks its results used now" \
    "$(q "SELECT count(*) FROM stages WHERE time > strftime('%s', 'now') - 60")" "$latest"
run convert bf16
ok "gc --cache-older-than 1d" "$SWARM" gc --cache-older-than 1d
like "keeps the results used today, though not the latest run's" "$out" "dropped 0 stage results"
run convert f16
like "... so that run is still all cached" "$err" "0 stages ran"
fails "--cache-older-than takes an age" 2 "$SWARM" gc --cache-older-than soon
like "... and says so" "$err" "--cache-older-than: 'soon' is not an age"

# --- the grace period ------------------------------------------------------------------------------
echo junk >junk
"$SWARM" -q add "$T/ck.safetensors" --name ck
fails "an add refused at commit leaves an unreferenced object" 1 "$SWARM" add junk --name ck@v1
h=$(sha256sum junk | cut -c1-64)
obj=$SWARM_HOME/objects/${h:0:2}/$h
ok "... it is there" test -f "$obj"
ok "gc" "$SWARM" gc
like "keeps it: it is younger than an hour" "$out" "removed 0 objects.*kept 1 recent"
ok "... still there" test -f "$obj"
touch -h -d '2 hours ago' "$obj"
fails "the same bytes written again (refused at commit)" 1 "$SWARM" add junk --name ck@v1
ok "... freshen the object (as git does)" test "$(stat -c %Y "$obj")" -gt $(($(date +%s) - 60))
ok "gc" "$SWARM" gc
like "keeps it again" "$out" "removed 0 objects.*kept 1 recent"
touch -h -d '2 hours ago' "$obj"
ok "gc --json, two hours later" "$SWARM" --json gc
like "removes it" "$out" '"objects_removed": 1'
ok "... it is gone" test ! -e "$obj"
echo junk3 >junk3
fails "another unreferenced object" 1 "$SWARM" add junk3 --name ck@v1
ok "gc --prune now" "$SWARM" gc --prune now
like "removes it at once" "$out" "removed 1 object,"
fails "--prune takes an age" 2 "$SWARM" gc --prune later
ok "ck@v1 verifies after all that" "$SWARM" verify ck@v1

# --- gc beside a seeder ----------------------------------------------------------------------------
"$GEN" bytes 5 8M "$T/model.bin"
ok "add a model" "$SWARM" -q add "$T/model.bin" --name model
git init -q --bare "$T/cat.git"
"$SWARM" -q remote add origin "$T/cat.git" && "$SWARM" -q push
port=$(free_port)
spawn "$SWARM" seed --listen "127.0.0.1:$port" >"$T/seed.log" 2>&1
seeder=$!
ok "a seeder listens on 127.0.0.1:$port" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
echo "old junk" >junk2
fails "an unreferenced object" 1 "$SWARM" add junk2 --name ck@v1
h=$(sha256sum junk2 | cut -c1-64)
touch -h -d '2 hours ago' "$SWARM_HOME/objects/${h:0:2}/$h"
age_objects
ok "gc runs while the seeder runs" "$SWARM" gc
like "and removes the old unreferenced object" "$out" "removed 1 object,"
ok "... which is gone" test ! -e "$SWARM_HOME/objects/${h:0:2}/$h"
ok "the seeder still runs" kill -0 "$seeder"
"$SWARM" --home "$T/b" -q remote add origin "$T/cat.git" && "$SWARM" --home "$T/b" -q pull >/dev/null
ok "another home gets the model from the seeder" \
    "$SWARM" --home "$T/b" -q get model@v1 --listen 127.0.0.1:0 --timeout 60 --peer "127.0.0.1:$port"
ok "... and it verifies" "$SWARM" --home "$T/b" verify model@v1
ok "the seeder's own copy verifies" "$SWARM" verify model@v1

done_testing
