#!/usr/bin/env bash
# everyday.sh — what a newcomer meets in a day of work (issue 17): help, version and suggestions, global
# options after the command, --json refused where a command has no JSON, plugins by their short name,
# a GPU companion beside a skipped duplicate plugin, a plugin that crashes, temp files of dead processes
# swept, no local path in a published version, get with no peer, checkout of a version not held,
# several --force, and the author from git's configuration.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH SWARM_AUTHOR GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL
B="$ROOT/${SWARM_BUILD:-build}"
MKST="python3 $ROOT/tests/tools/mkst.py"
PP=(--plugin-path "$B/tests/plugins")
cd "$T" || exit 1

# --- help, version, suggestions ----------------------------------------------------------------------
run "$SWARM" version
like "swarm version" "$out" "^swarm [0-9]+\.[0-9]+\.[0-9]+$"
run "$SWARM" help
like "swarm help lists the commands" "$out" "checkout +write a version's files"
run "$SWARM" help get
like "swarm help get describes its options and units" "$out" "--timeout S +give up after S seconds"
run "$SWARM" get --help
like "get --help says the same" "$out" "--download-limit RATE +bytes per second"
fails "a mistyped command" 2 "$SWARM" chekout
like "... suggests the nearest" "$err" "unknown command 'chekout' \(did you mean 'checkout'\?\)"
is "... in two lines, not the whole usage" "$(printf '%s\n' "$err" | wc -l)" 2
fails "an unknown global option" 2 "$SWARM" --bogus ls
fails "help of an unknown command" 2 "$SWARM" help chekout
like "... suggests too" "$err" "did you mean 'checkout'"

# --- an empty home says so --------------------------------------------------------------------------
run "$SWARM" ls --home "$T/empty"
is "ls of an empty home prints no table" "$rc:$out" "0:"
like "... and says how to add a bundle" "$err" "no bundles here yet: add one with 'swarm add PATH --name NAME'"

# --- global options after the command ----------------------------------------------------------------
echo "hello" >f.txt
run "$SWARM" add f.txt --name t --home "$T/other"
is "--home after the command" "$rc" 0
like "add says which new bytes it counts" "$err" "\(6 B in files the store did not hold; 'swarm diff' counts new bytes by chunk\)"
ok "... is the home used" test -d "$T/other/objects"
run "$SWARM" ls --home="$T/other" --json
like "--home= and --json after the command" "$out" '"name": "t"'
fails "--json where a command has no JSON output" 2 "$SWARM" fsck --json
like "... is refused, naming the command" "$err" "fsck has no --json output"

# --- plugins ------------------------------------------------------------------------------------------
run "$SWARM" plugin info convert
like "plugin info takes a plugin's short name" "$out" "^org\.swarm\.convert "
fails "an unknown short name" 1 "$SWARM" plugin info nosuch
mkdir copy && cp "$B/plugins/convert.so" "$B/plugins/convert.hip.so" copy/
run "$SWARM" plugin info convert --plugin-path copy -v
is "a second copy of a plugin and its companion: one GPU variant, not two" "$(printf '%s\n' "$out" | grep -c '^    hip ')" 1
like "... the loaded one is the first found" "$out" "path: +copy/convert\.so"
run "$SWARM" plugin ls --plugin-path copy
is "... and the skipped copy takes one line, its companion with it" "$(printf '%s\n' "$out" | grep -c '^skipped: .*convert')" 1
like "... which says so" "$out" "duplicate id org\.swarm\.convert .*; its companion convert\.hip\.so is skipped with it"

# --- a plugin that crashes ----------------------------------------------------------------------------
$MKST write ck.safetensors w:F32:2x2:1,2,3,4
# (the cast's output, kept for the run only, is the temp file the crash leaves)
cat >crash.lua <<'LUA'
local swarm = require "swarm"
local t = swarm.op("convert/cast", swarm.read("safetensors", swarm.input("ck.safetensors")), { dtype = "bf16" })
local c = swarm.op("crasher/crash", t, {}, { name = "boom" })
swarm.write("safetensors", c, { path = "out.safetensors" })
LUA
fails "a plugin that crashes fails the run" 1 "$SWARM" pipeline run crash.lua "${PP[@]}"
like "... naming the stage, plugin and op" "$err" \
    "^swarm: error: crashed \(SIGSEGV, a bad memory access\) in stage 'boom' \(crash\.lua:3\), plugin org\.swarm\.crasher op crash$"
left=$(ls "$SWARM_HOME/tmp" | wc -l)
ok "... and leaves its temp files ($left)" test "$left" -gt 0
ok "the next command that opens the store" "$SWARM" verify
is "... removes the temp files of the dead process" "$(ls "$SWARM_HOME/tmp" | wc -l)" 0
ok "... and fsck is clean" "$SWARM" fsck

# --- a published version carries no local path ---------------------------------------------------------
ok "add an input version" "$SWARM" add ck.safetensors --name model
cat >pub.lua <<'LUA'
local swarm = require "swarm"
local t = swarm.read("safetensors", swarm.input("model@v1"))
swarm.write("safetensors", t, { publish = "model@v1-copy" })
LUA
ok "publish from a pipeline named by its absolute path" "$SWARM" pipeline run "$T/pub.lua"
run "$SWARM" show model@v1-copy --json
case "$out" in *"$T"*) res=1 ;; *) res=0 ;; esac
is "the version's manifest holds no local path" "$res" 0
like "... its message names the pipeline by its file name" "$out" '"message": "made by pipeline pub.lua, stage '
is "... its provenance names the input version" \
    "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["provenance"]["bundles"])')" "['model@v1']"

# --- get with no peer, checkout of a version not held -------------------------------------------------
git init -q --bare cat.git
ok "push the catalog" "$SWARM" remote add origin "$T/cat.git"
ok "... and push" "$SWARM" -q push
export SWARM_HOME="$T/b"
ok "a second home pulls" "$SWARM" remote add origin "$T/cat.git"
ok "... the catalog" "$SWARM" -q pull
fails "checkout of a version not held" 1 "$SWARM" checkout model@v1 out
like "... says how to get it" "$err" "fetch it with 'swarm get model@v1'"
fails "seed of a version not held" 1 "$SWARM" seed model@v1 --listen 127.0.0.1:0
like "... names the version once, with the way to get it" "$err" "^swarm: error: model@v1 is not held here; fetch it with 'swarm get model@v1'$"
fails "get with no peer anywhere" 1 "$SWARM" get model@v1 --listen 127.0.0.1:0 --timeout 8
like "... says so after a few seconds, with the ways to name one" "$err" "no peer has been found; name one with --peer HOST:PORT"
like "... and --timeout still bounds the wait" "$err" "timed out after 8 s"

# --- shipped pipelines by name; the CPU note only when an op runs --------------------------------------
run "$SWARM" pipeline run convert --set input=ck.safetensors --set output=c.safetensors
is "a shipped pipeline runs by its name" "$rc" 0
ok "... and writes its output" test -s c.safetensors
run "$SWARM" pipeline run convert --set input=ck.safetensors --set output=c.safetensors
case "$err" in *"runs on the CPU"*) res=1 ;; *) res=0 ;; esac
is "a rerun with every stage cached says nothing about the CPU" "$res" 0

# --- Ctrl-C: one line saying what is kept, status 130 ---------------------------------------------------
"$GEN" bytes 3 400M big.bin
spawn sh -c "exec \"$SWARM\" -q add big.bin --name big 2>\"$T/add.err\""
pid=$!
has_tmp() { [ -n "$(find "$SWARM_HOME/tmp" -type f -size +1M 2>/dev/null)" ]; }
ok "an add is under way" wait_until 60 has_tmp
kill -INT "$pid"
wait "$pid"
is "Ctrl-C stops an add with status 130" "$?" 130
like "... in one line saying what is kept" "$(cat "$T/add.err")" "^swarm: interrupted: nothing was added"
export SWARM_HOME="$T/b"
spawn sh -c "exec \"$SWARM\" get model@v1 --listen 127.0.0.1:0 2>\"$T/get.err\""
pid=$!
sleep 2
kill -INT "$pid"
wait "$pid"
is "Ctrl-C stops a get with status 130" "$?" 130
like "... saying the same get resumes it" "$(cat "$T/get.err")" "interrupted .*run the same get again to resume"
export SWARM_HOME="$T/home"

# --- several --force, --force all ---------------------------------------------------------------------
export SWARM_HOME="$T/home"
cat >chain.lua <<'LUA'
local swarm = require "swarm"
local t = swarm.read("safetensors", swarm.input("ck.safetensors"))
local a = swarm.op("pipetest/copy", t, {}, { name = "a" })
local b = swarm.op("pipetest/copy", a, {}, { name = "b" })
swarm.write("safetensors", b, { path = "chain.safetensors" })
LUA
ok "a chain runs" "$SWARM" pipeline run chain.lua "${PP[@]}"
run "$SWARM" pipeline run chain.lua "${PP[@]}" --force a --force b --explain
like "--force twice forces both: a" "$out" "^ran +a .*forced"
like "... and b" "$out" "^ran +b .*forced"
run "$SWARM" pipeline run chain.lua "${PP[@]}" --force all --explain
is "--force all runs every keyed stage" "$(printf '%s\n' "$out" | grep -c '^ran ')" 4

# --- the author -----------------------------------------------------------------------------------------
mkdir gh
HOME="$T/gh" git config --global user.name "Ada Lovelace"
HOME="$T/gh" git config --global user.email ada@example.org
echo v >g.txt
ok "add with only git's configuration to name the author" env HOME="$T/gh" "$SWARM" add g.txt --name authored
run "$SWARM" show authored@v1 --json
like "the author is git's user.name and user.email" "$out" '"author": "Ada Lovelace <ada@example.org>"'

done_testing
