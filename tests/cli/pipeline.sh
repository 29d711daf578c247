#!/usr/bin/env bash
# pipeline.sh — `swarm pipeline run|graph`: convert.lua end to end, the stage cache (hits, misses,
# early cutoff, --explain, --force, --dry-run), a failing op leaving nothing behind, errors that point
# at the pipeline's line, the sandbox refusing every escape, record streams, and publishing.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
B="$ROOT/${SWARM_BUILD:-build}"
MKST="python3 $ROOT/tests/tools/mkst.py"
CONVERT="$ROOT/pipelines/convert.lua"
PP=(--plugin-path "$B/tests/plugins")
cd "$T" || exit 1
dump() { $MKST dump "$1"; }

# --- convert.lua: floats become bf16 (round to nearest even), the rest is kept, order and metadata too -
$MKST write ck.safetensors --meta format=pt --meta note=hi \
    w:F32:2x2:1,2,3,1.00390625 idx:I64:2:7,8 b:F32:3:1.01171875,-2,0.5 h:F16:1:1.5
ok "convert.lua runs" "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=out.safetensors
is "tensors, order, dtypes and metadata" "$(dump out.safetensors)" "w BF16 2x2 803f00404040803f
idx I64 2 07000000000000000800000000000000
b BF16 3 823f00c0003f
h BF16 1 c03f
meta format pt
meta note hi"
like "first run: every stage ran" "$err" "4 stages ran, 0 cached"

run "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=out.safetensors --json
is "a rerun with nothing changed runs nothing" "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ran"], [s["status"] for s in d["stages"]])')" \
    "0 ['unchanged', 'cached', 'cached', 'cached']"

run "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=out16.safetensors --set dtype=f16 --explain
like "--explain: the changed param is named" "$out" "^ran +convert .*because: param dtype changed: bf16 -> f16$"
like "--explain: the read stage stays cached" "$out" "^cached +read"
like "--explain: write reran because its input changed" "$out" "^ran +write .*because: its input on port 'in' changed$"
is "f16 output" "$(dump out16.safetensors | sed -n 1p)" "w F16 2x2 003c00400042043c"

mkdir shards dup
$MKST write shards/model-00001-of-00002.safetensors --meta format=pt w:F32:2:1,2
$MKST write shards/model-00002-of-00002.safetensors --meta format=pt b:F32:1:3
ok "a directory of shards reads as one collection" "$SWARM" pipeline run "$CONVERT" --set input=shards \
    --set output=sharded.safetensors
is "... its tensors in path order, metadata once" "$(dump sharded.safetensors)" "w BF16 2 803f0040
b BF16 1 4040
meta format pt"
cp shards/model-00001-of-00002.safetensors dup/a.safetensors
cp shards/model-00001-of-00002.safetensors dup/b.safetensors
fails "a tensor in two shards" 1 "$SWARM" pipeline run "$CONVERT" --set input=dup --set output=d.safetensors
like "... is named" "$err" "tensor 'w' is in two of the input's files"

rm out.safetensors
run "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=out.safetensors
is "a deleted output is written again from the cache" "$(dump out.safetensors | sed -n 1p)" "w BF16 2x2 803f00404040803f"
like "... without running any stage" "$err" "0 stages ran, 4 cached"

# --- an op passing tensors through (SWARM_OP_PASS): not read, not run, not copied -----------------------
cat >pass.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { lie = { "false", "declare another dtype" } }
local t = swarm.op("pipetest/pass", swarm.read("safetensors", swarm.input("ck.safetensors")), { rank = 1, lie = P.lie })
swarm.write("safetensors", t, { path = "passed.safetensors" })
LUA
ok "an op passes its 1-D tensors through (its run aborts if called for one)" "$SWARM" pipeline run pass.lua "${PP[@]}"
is "... they keep their bytes; run inverted the 2-D one" "$(dump passed.safetensors)" "w F32 2x2 ffff7fc0ffffffbfffffbfbfff7f7fc0
idx I64 2 07000000000000000800000000000000
b F32 3 0080813f000000c00000003f
h F16 1 003e
meta format pt
meta note hi"
fails "an op that passes an input through with another dtype" 1 "$SWARM" pipeline run pass.lua "${PP[@]}" --set lie=true
like "... is refused" "$err" "op pass: passed input 0 through with another dtype or shape"

# --- early cutoff, --force, --dry-run ------------------------------------------------------------------
cat >chain.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "checkpoint", note = { "", "changes nothing" }, rank = { "-1", "fail on this rank" } }
local t = swarm.read("safetensors", swarm.input(P.input))
local a = swarm.op("pipetest/copy", t, { note = P.note, fail_rank = P.rank }, { name = "a" })
local b = swarm.op("pipetest/copy", a, {}, { name = "b" })
swarm.write("safetensors", b, { path = "chain.safetensors" })
LUA
ok "chain runs" "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors
run "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set note=x --explain
like "a changed param reruns its stage" "$out" "^ran +a .*param note changed"
like "early cutoff: the same output leaves b cached" "$out" "^cached +b"
like "... and write cached" "$out" "^cached +write"
run "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set note=x --force b --explain
like "--force reruns the stage" "$out" "^ran +b .*because: forced \(--force\)$"
like "... whose input, cached, runs again for its bytes (op outputs are kept by the run only)" "$err" \
    "stage 'a' runs again: a later stage needs its tensors' bytes"
like "--force: dependents cut off by the same output" "$out" "^cached +write"
fails "--force of an unknown stage" 1 "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --force nope
run "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set note=y --dry-run --explain
like "--dry-run says what would run" "$out" "^would run +a .*param note changed: x -> y"
like "--dry-run: dependents pending" "$out" "^pending +b"
run "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set note=y --explain
like "--dry-run ran nothing" "$out" "^ran +a "

# --- a failing op leaves no partial output; a rerun resumes after the last finished stage ------------
rm -f chain.safetensors
fails "an op failing halfway fails the run" 1 "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set rank=2
like "the error names the stage, the pipeline line and the op" "$err" \
    "^swarm: error: stage 'a' \(chain\.lua:4\): org\.swarm\.pipetest op copy: fail_rank: refusing a tensor of rank 2$"
is "no output file" "$(ls chain.safetensors 2>/dev/null)" ""
is "no temp files left in the store" "$(ls "$SWARM_HOME/tmp")" ""
fails "the failed stage was not cached: it fails again" 1 "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set rank=2
run "$SWARM" pipeline run chain.lua "${PP[@]}" --set input=ck.safetensors --set rank=3 --explain
like "a rerun resumes: read cached" "$out" "^cached +read"
like "... the failed stage runs" "$out" "^ran +a "

# --- errors point at the pipeline's file and line, before anything runs ---------------------------------
objects() { find "$SWARM_HOME/objects" -type f | sort; }
before=$(objects)
bad() { # NAME LINE2 → a pipeline whose second line is LINE2
    printf 'local swarm = require "swarm"\n%s\n' "$2" >"$1.lua"
}
bad p1 'swarm.op("pipetest/copy", swarm.read("safetensors", swarm.input("ck.safetensors")), { nope = 1 })'
fails "unknown param" 1 "$SWARM" pipeline run p1.lua "${PP[@]}"
like "... at its line" "$err" "^swarm: error: p1\.lua:2: op pipetest/copy has no param 'nope' \(params: note, fail_rank\)$"
bad p2 'swarm.op("pipetest/copy", swarm.read("safetensors", swarm.input("ck.safetensors")), { fail_rank = "two" })'
fails "mistyped param" 1 "$SWARM" pipeline run p2.lua "${PP[@]}"
like "... named with its type" "$err" "p2\.lua:2: op pipetest/copy: param 'fail_rank': 'two' is not an integer$"
bad p3 'swarm.op("pipetest/nope", swarm.read("safetensors", swarm.input("ck.safetensors")), {})'
fails "unknown op" 1 "$SWARM" pipeline run p3.lua "${PP[@]}"
like "... named" "$err" "p3\.lua:2: unknown op 'pipetest/nope': plugin org\.swarm\.pipetest has no op 'nope'"
bad p3b 'swarm.op("nosuch/copy", swarm.read("safetensors", swarm.input("ck.safetensors")), {})'
fails "an op of no loaded plugin" 1 "$SWARM" pipeline run p3b.lua "${PP[@]}"
like "... names the plugin" "$err" "p3b\.lua:2: unknown op 'nosuch/copy': no plugin 'nosuch' is loaded"
bad p4 'swarm.read("safetensors", swarm.input("missing.safetensors"))'
fails "missing input" 1 "$SWARM" pipeline run p4.lua
like "... named" "$err" "p4\.lua:2: input 'missing\.safetensors' does not exist$"
bad p5 'swarm.op("pipetest/upper", swarm.read("safetensors", swarm.input("ck.safetensors")), {})'
fails "tensors into a records op" 1 "$SWARM" pipeline run p5.lua "${PP[@]}"
like "... explained" "$err" "p5\.lua:2: op pipetest/upper: input 'x' takes records, given tensors"
bad p6 'swarm.read("gguf9", swarm.input("ck.safetensors"))'
fails "unknown format" 1 "$SWARM" pipeline run p6.lua
like "... named" "$err" "p6\.lua:2: no plugin has the format 'gguf9'"
fails "an undeclared --set key" 1 "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=o --set dtyp=f16
like "... named" "$err" "--set dtyp: the pipeline has no parameter 'dtyp'"
fails "a required parameter missing" 1 "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors
like "... named" "$err" "parameter 'output' is required"
bad p7 'swarm.input("ck.safetensors", { nmae = "x" })'
fails "an unknown option" 1 "$SWARM" pipeline run p7.lua
like "... listed" "$err" "p7\.lua:2: swarm\.input: unknown option 'nmae' \(options: name\)"
fails "no such pipeline file" 1 "$SWARM" pipeline run nope.lua
fails "usage: no subcommand" 2 "$SWARM" pipeline
fails "usage: bad --set" 2 "$SWARM" pipeline run "$CONVERT" --set noequals
fails "usage: bad --jobs" 2 "$SWARM" pipeline run "$CONVERT" --jobs 0
is "refused pipelines stored nothing" "$(objects)" "$before"

# --- the sandbox refuses every escape ------------------------------------------------------------------
escape() { # DESC LUA REGEX
    printf 'local swarm = require "swarm"\n%s\n' "$2" >esc.lua
    run "$SWARM" pipeline run esc.lua
    if [ "$rc" = 1 ] && printf '%s\n' "$err" | grep -Eq -- "$3"; then _result 1 "sandbox: $1"; else
        _result 0 "sandbox: $1"
        printf '%s\n' "$err" | head -3 | sed 's/^/#   /'
    fi
}
escape "os.execute" 'os.execute("touch pwned")' "attempt to index a nil value \(global 'os'\)"
escape "io.open" 'io.open("pwned", "w")' "attempt to index a nil value \(global 'io'\)"
escape "io.popen" 'io.popen("touch pwned")' "global 'io'"
escape "package.loadlib" 'package.loadlib("libc.so.6", "system")' "global 'package'"
escape "debug" 'debug.getregistry()' "global 'debug'"
escape "require of another module" 'require "os"' "require 'os': a pipeline can only require \"swarm\""
escape "dofile" 'dofile("/etc/passwd")' "global 'dofile'"
escape "loadfile" 'loadfile("/etc/passwd")' "global 'loadfile'"
escape "string.dump (binary chunks)" 'string.dump(print)' "field 'dump'"
escape "load of a binary chunk" 'assert(load("\27Lua"))' "attempt to load a binary chunk"
escape "an absolute input path" 'swarm.input("/etc/passwd")' "input '/etc/passwd' is outside the pipeline's reach"
escape "an input path with .." 'swarm.input("../../etc/passwd")' "is outside the pipeline's reach"
escape "an output path outside" 'swarm.write("lines", swarm.read("lines", swarm.input("esc.lua")), { path = "/tmp/pwned" })' \
    "output '/tmp/pwned' is outside the pipeline's reach"
escape "a memory bomb" 'local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1 << 20) .. i end' "over 256 MiB of memory"
is "no escape left a file" "$(ls pwned /tmp/pwned 2>/dev/null)" ""
ok "an absolute path given with --set is the user's choice" "$SWARM" pipeline run "$CONVERT" \
    --set input="$T/ck.safetensors" --set output="$T/abs.safetensors"
# On another filesystem the kernel cannot copy from the store to the output (copy_file_range: EXDEV):
# the write stage copies through memory instead, and the bytes are the same.
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" != "$(stat -f -c %T "$T")" ]; then
    shm=$(mktemp -d /dev/shm/swarm-test.XXXXXX)
    ok "an output on another filesystem ($(stat -f -c %T /dev/shm))" "$SWARM" pipeline run "$CONVERT" \
        --set input="$T/ck.safetensors" --set output="$shm/abs.safetensors" --force write
    is "... holds the same bytes" "$(cmp "$shm/abs.safetensors" "$T/abs.safetensors" && echo same)" "same"
    rm -rf "$shm"
fi

# --- records: lines streamed through an op in batches ----------------------------------------------------
printf 'hello\nworld\n\nlast line without newline' >in.txt
cat >rec.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { batch = { "2", "records per call" } }
local r = swarm.read("lines", swarm.input("in.txt"))
local up = swarm.op("pipetest/upper", r, {}, { batch = math.tointeger(tonumber(P.batch)) })
swarm.write("lines", up, { path = "up.txt" })
LUA
ok "records pipeline runs" "$SWARM" pipeline run rec.lua "${PP[@]}"
is "records upper-cased, in order, one line each" "$(cat up.txt)" "HELLO
WORLD

LAST LINE WITHOUT NEWLINE"
cp up.txt up2.txt
ok "batch of one record per call" "$SWARM" pipeline run rec.lua "${PP[@]}" --set batch=1
ok "... gives the same bytes" cmp up.txt up2.txt
run "$SWARM" pipeline run rec.lua "${PP[@]}" --set batch=3 --explain
like "the batch size is part of the key" "$out" "^ran +upper .*because: batch changed: 1 -> 3$"

# --- graph, publish ----------------------------------------------------------------------------------
run "$SWARM" pipeline graph "$CONVERT" --set input=ck.safetensors --set output=o
like "graph: DOT" "$out" "^digraph pipeline \{"
like "graph: an edge per input" "$out" "s1 -> s2 \[label=\"tensors\"\];"
ok "publish as a bundle version" "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=pub.safetensors \
    --set publish=ck-bf16@v1
run "$SWARM" show ck-bf16@v1 --json
like "published with provenance" "$out" '"pipeline": "convert\.lua"'
like "... naming the stage" "$out" '"stage": "write"'
ok "checkout of the published version" "$SWARM" checkout ck-bf16@v1 co
ok "... holds the output's bytes" cmp co/pub.safetensors pub.safetensors
ok "publishing the same again is a no-op" "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors \
    --set output=pub.safetensors --set publish=ck-bf16@v1
fails "publishing other bytes under a taken version" 1 "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors \
    --set output=pub16.safetensors --set dtype=f16 --set publish=ck-bf16@v1
ok "a published bundle version works as an input" "$SWARM" pipeline run "$CONVERT" --set input=ck-bf16@v1 \
    --set output=again.safetensors --set dtype=f32
is "... bf16 back to f32" "$(dump again.safetensors | sed -n 1p)" "w F32 2x2 0000803f00000040000040400000803f"
# --- a bundle input not held here is fetched through the data plane first --------------------------------
git init -q --bare "$T/cat.git"
ok "the first home pushes its catalog" sh -c "'$SWARM' remote add origin '$T/cat.git' && '$SWARM' -q push"
B2="$SWARM --home $T/home2"
ok "a second home pulls it" sh -c "$B2 remote add origin '$T/cat.git' && $B2 -q pull"
port=$(free_port)
spawn "$SWARM" seed --listen "127.0.0.1:$port" >"$T/seed.log" 2>&1
ok "the first home seeds" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
run $B2 pipeline run "$CONVERT" --set input=ck-bf16@v1 --set output=fetched.safetensors --set dtype=f32 \
    --peer "127.0.0.1:$port" --listen 127.0.0.1:0
is "an unheld bundle input is fetched, then converted" "$rc" "0"
like "... saying so" "$err" "input ck-bf16@v1 is not held here: fetching it"
ok "... to the same bytes as the first home's" cmp fetched.safetensors again.safetensors

run "$SWARM" fsck
like "fsck: stage outputs need no repair" "$rc $err" "^0 .*0 corrupt, 0 re-indexed"

done_testing
