#!/usr/bin/env bash
# pipeline_ux.sh — a pipeline describing itself and failing early: reading an undeclared param, missing
# required params named at once, a mistyped --set key with the nearest name, `pipeline params` (and
# `run FILE --help`), `pipeline graph` before the inputs exist, outputs' folders made before anything
# runs, and whole-stream stages (data/shuffle) saying what they hold, with their progress line.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
B="$ROOT/${SWARM_BUILD:-build}"
MKST="python3 $ROOT/tests/tools/mkst.py"
PP=(--plugin-path "$B/tests/plugins")
cd "$T" || exit 1
seq 1 50 >texts.txt

# --- reading a param that swarm.params did not declare ----------------------------------------------
cat >shuf.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "text", output = "out", seed = { "7", "the shuffle's seed" } }
local t = swarm.read("lines", swarm.input(P.input))
local seed = math.tointeger(tonumber(P.seeds)) -- meant P.seed
swarm.write("lines", swarm.op("data/shuffle", t, { seed = seed }), { path = P.output })
LUA
fails "reading an undeclared param fails" 1 "$SWARM" pipeline run shuf.lua --set input=texts.txt --set output=s.txt
like "... at the pipeline's line, with the nearest name" "$err" \
    "^swarm: error: shuf\.lua:4: unknown parameter 'seeds' \(did you mean 'seed'\?\)$"
is "... before anything ran or was written" "$(ls s.txt 2>&1 >/dev/null | wc -l)" "1"

cat >far.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "text", output = "out" }
local x = P.zzzzzz
LUA
fails "a name near none" 1 "$SWARM" pipeline run far.lua --set input=a --set output=b
like "... lists the declared params" "$err" "far\.lua:3: unknown parameter 'zzzzzz' \(the pipeline's parameters: input, output\)$"

cat >meta.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = { "x", "doc" } }
assert(getmetatable(P) == "swarm.params", "metatable visible")
assert(not pcall(setmetatable, P, nil), "metatable replaced")
assert(rawget(P, "nope") == nil and P.input == "x")
swarm.input("meta.lua")
LUA
ok "the params table's metatable cannot be read or replaced" "$SWARM" pipeline graph meta.lua

# --- missing required params, mistyped --set keys --------------------------------------------------
fails "missing required params" 1 "$SWARM" pipeline run shuf.lua
like "... all named in one error" "$err" \
    "shuf\.lua:2: parameters 'input', 'output' are required: give them with --set input=VALUE --set output=VALUE$"
fails "one missing required param" 1 "$SWARM" pipeline run shuf.lua --set input=texts.txt
like "... in the singular" "$err" "shuf\.lua:2: parameter 'output' is required: give it with --set output=VALUE$"
fails "a mistyped --set key" 1 "$SWARM" pipeline run shuf.lua --set inptu=texts.txt --set output=s.txt
like "... suggests the nearest declared name (before the missing ones)" "$err" \
    "--set inptu: the pipeline has no parameter 'inptu' \(did you mean 'input'\?\)$"
fails "an unknown --set key near nothing" 1 "$SWARM" pipeline run shuf.lua --set qqqqqq=1
like "... suggests nothing" "$err" "the pipeline has no parameter 'qqqqqq'$"

# --- pipeline params FILE, pipeline run FILE --help ---------------------------------------------------
ok "pipeline params lists the params without --set values" "$SWARM" pipeline params shuf.lua
is "... name, default or (required), doc; sorted" "$out" 'input   (required)  text
output  (required)  out
seed    "7"         the shuffle'"'"'s seed'
params_out=$out
ok "pipeline run FILE --help" "$SWARM" pipeline run shuf.lua --help
is "... prints the same" "$out" "$params_out"
run "$SWARM" pipeline --help
like "pipeline --help is still the command's help" "$out" "^usage: swarm pipeline"
run "$SWARM" pipeline params shuf.lua --json
is "--json" "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["params"])')" \
    "[{'name': 'input', 'default': None, 'required': True, 'doc': 'text'}, {'name': 'output', 'default': None, 'required': True, 'doc': 'out'}, {'name': 'seed', 'default': '7', 'required': False, 'doc': \"the shuffle's seed\"}]"
ok "a shipped pipeline by name" "$SWARM" pipeline params convert
like "... lists its params" "$out" '^dtype +"bf16" +what floating tensors become'
like "... its required ones" "$out" "^input +\(required\) "

cat >after.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "what to read" }
swarm.input("no-such-file")
error("never reached")
LUA
ok "params stops the pipeline at swarm.params" "$SWARM" pipeline params after.lua
like "... (nothing after it runs)" "$out" "^input +\(required\) +what to read$"
cat >caught.lua <<'LUA'
local swarm = require "swarm"
pcall(swarm.params, { a = "b" })
swarm.input("no-such-file")
LUA
ok "... even through a pcall" "$SWARM" pipeline params caught.lua
cat >before.lua <<'LUA'
local swarm = require "swarm"
local x = nil .. "x"
local P = swarm.params { input = "what to read" }
LUA
fails "an error before swarm.params is reported" 1 "$SWARM" pipeline params before.lua
like "... at its line" "$err" "before\.lua:2: "
cat >none.lua <<'LUA'
local swarm = require "swarm"
swarm.input("none.lua")
LUA
ok "a pipeline without params" "$SWARM" pipeline params none.lua
is "... lists nothing" "$out" ""
like "... and says so" "$err" "none\.lua declares no parameters"
fails "params without a file" 2 "$SWARM" pipeline params

# --- pipeline graph before the inputs exist -------------------------------------------------------------
cat >shuf2.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "text", output = "out" }
local t = swarm.read("lines", swarm.input(P.input))
swarm.write("lines", swarm.op("data/shuffle", t, { seed = 3 }, { name = "shuffle" }), { path = P.output })
LUA
ok "graph without --set: required params are placeholders" "$SWARM" pipeline graph shuf2.lua
like "... shown as <NAME>" "$out" 'input <input>'
ok "graph of an input that does not exist yet" "$SWARM" pipeline graph shuf2.lua --set input=later.txt --set output=o.txt
like "... names it" "$out" 'input later\.txt'
fails "run still needs the input" 1 "$SWARM" pipeline run shuf2.lua --set input=later.txt --set output=o.txt
like "... and says so" "$err" "input 'later\.txt' does not exist"
for p in convert quantize hf2gguf tokenize dedup; do
    ok "graph of the shipped $p, nothing set" "$SWARM" pipeline graph $p
    like "... is DOT" "$out" "^digraph pipeline"
done

# --- outputs' folders ----------------------------------------------------------------------------------
$MKST write ck.safetensors w:F32:2:1,2
ok "a missing output folder is made" "$SWARM" pipeline run convert --set input=ck.safetensors \
    --set output=new/deep/out.safetensors
ok "... and the file written in it" test -s new/deep/out.safetensors
touch afile
fails "a file where the output's folder should be" 1 "$SWARM" pipeline run convert --set input=ck.safetensors \
    --set output=afile/out.safetensors --set dtype=f16
like "... is named" "$err" "stage 'write' \(.*convert\.lua:[0-9]+\): output 'afile/out\.safetensors': cannot create afile: a file is in the way$"
is "... before any stage ran" "$(printf '%s\n' "$err" | grep -cE '^(ran|hashed|unchanged|cached) ')" "0"
mkdir adir
fails "a folder given as a single-file output" 1 "$SWARM" pipeline run convert --set input=ck.safetensors --set output=adir
like "... is named before anything runs" "$err" "output 'adir' is a folder"
ok "a dry run makes no folder" "$SWARM" pipeline run convert --set input=ck.safetensors --set output=dry/out.safetensors \
    --dry-run
ok "... (none there)" test ! -e dry

# --- whole-stream stages -----------------------------------------------------------------------------
ok "a shuffle runs" "$SWARM" pipeline run shuf2.lua --set input=texts.txt --set output=s.txt
like "... saying that it takes the whole stream and how much" "$err" \
    "stage 'shuffle' \(op shuffle\) takes the whole stream at once: 50 records, 141 B"
run "$SWARM" pipeline run shuf2.lua --set input=texts.txt --set output=s.txt --force shuffle -q
is "-q silences it" "$(printf '%s\n' "$err" | grep -c 'whole stream')" "0"

cat >hold.lua <<'LUA'
local swarm = require "swarm"
local t = swarm.read("lines", swarm.input("texts.txt"))
swarm.write("lines", swarm.op("pipetest/hold", t, { sleep_ms = 900 }, { name = "hold" }), { path = "held.txt" })
LUA
# The progress line is drawn on a terminal only: run under a pseudo-terminal.
tty_out=$(python3 - "$SWARM" "${PP[@]}" <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "pipeline", "run", "hold.lua"] + sys.argv[2:])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
EOF
)
like "a whole stage's progress line says it runs over all its records" "$tty_out" "running: hold running over all 50 records"
is "... and the output is whole" "$(cmp texts.txt held.txt && echo same)" "same"

done_testing
