#!/usr/bin/env bash
# sandbox.sh — the pipeline sandbox's harder edges (PIPELINES.md, "The sandbox"): metamethods and message
# handlers that run pipeline code inside a swarm.* call, half-built stages, symbolic links leading out, the
# time limit (pcall, finalizers, pattern backtracking, many stages) and the memory cap on C-side copies.
# Slow bounds are generous (a busy machine, a sanitizer build): a broken bound hangs until `timeout`.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
B="$ROOT/${SWARM_BUILD:-build}"
MKST="python3 $ROOT/tests/tools/mkst.py"
PP=(--plugin-path "$B/tests/plugins")
mkdir "$T/secret" "$T/elsewhere" "$T/w"
echo s3cret >"$T/secret/id_rsa"
cd "$T/w" || exit 1
printf 'a\nb\n' >in.txt
pipe() { printf 'local swarm = require "swarm"\n%s\n' "$2" >"$1"; } # FILE LUA
stages() { "$SWARM" pipeline graph "$@" "${PP[@]}" | grep -c '^  s[0-9]* \[label='; }

# --- no pipeline code runs inside a swarm.* call ----------------------------------------------------------
pipe meta.lua 'local mt = { __index = function() for i = 1, 200 do swarm.input("in.txt") end end, __len = function() return 1 end }
local r = swarm.read("lines", swarm.input("in.txt"), setmetatable({}, mt))
local u = swarm.op("pipetest/upper", r, setmetatable({}, mt), setmetatable({}, mt))
swarm.write("lines", u, setmetatable({ path = "up.txt" }, mt))'
is "option tables are read without their metamethods (which would declare stages)" "$(stages meta.lua)" 4
ok "... and the pipeline runs" "$SWARM" pipeline run meta.lua "${PP[@]}"
is "... as declared" "$(cat up.txt)" "$(printf 'A\nB')"
pipe reenter.lua 'local f = swarm.input("in.txt")
local _, e = xpcall(swarm.read, function() local _, e2 = pcall(swarm.input, "in.txt") return tostring(e2) end, "nosuchformat", f)
error(e, 0)'
fails "a swarm call from a message handler, inside another call, is refused" 1 "$SWARM" pipeline run reenter.lua
like "... named" "$err" "swarm\.input cannot be called while another swarm call runs"

# --- a stage is added whole or not at all ------------------------------------------------------------------
pipe half.lua 'local r = swarm.read("lines", swarm.input("in.txt"))
assert(not pcall(swarm.read, "nosuchformat", swarm.input("in.txt")))
assert(not pcall(swarm.write, "lines", r, { path = "x.txt", meta = 5 }))
assert(not pcall(swarm.op, "pipetest/upper", r, { nope = 1 }))
assert(not pcall(swarm.op, "pipetest/upper", r, {}, { name = "bad name" }))
swarm.write("lines", r, { path = "half.txt" })'
ok "stages that failed under pcall are not left half built in the graph" "$SWARM" pipeline run half.lua "${PP[@]}"
is "... which runs what was declared" "$(cat half.txt)" "$(printf 'a\nb')"
is "... and holds only whole stages" "$(stages half.lua)" 4
pipe empty.lua 'swarm.op("pipetest/upper", swarm)'
fails "an empty list of inputs" 1 "$SWARM" pipeline run empty.lua "${PP[@]}"
like "... is refused" "$err" "empty\.lua:2: op pipetest/upper: the list of inputs is empty"

# --- symbolic links: only what --set gave leads anywhere ------------------------------------------------------
ln -s ../secret data
ln -s ../elsewhere out
ln -s in.txt alias.txt
mkdir dir inner
echo x >dir/plain
ln -s ../../secret/id_rsa dir/key
echo z >inner/real.txt
ln -s real.txt inner/link
pipe leak.lua 'local P = swarm.params { input = { "data/id_rsa", "what to read" } }
swarm.write("lines", swarm.read("lines", swarm.input(P.input)), { path = "leak.txt" })'
fails "an input through a link leading out of the directory" 1 "$SWARM" pipeline run leak.lua
like "... is refused at its line" "$err" "leak\.lua:3: input 'data/id_rsa' leads outside the current directory through a symbolic link"
ok "... unless the user names it with --set" "$SWARM" pipeline run leak.lua --set input=data/id_rsa
is "... which reads it" "$(cat leak.txt)" s3cret
rm leak.txt
fails "a folder whose link leads out of it" 1 "$SWARM" pipeline run leak.lua --set input=dir
like "... is refused when the run lists it, even named with --set" "$err" "input dir: key leads out of the folder through a symbolic link"
is "... nothing written" "$(ls leak.txt 2>/dev/null)" ""
pipe inside.lua 'swarm.write("lines", swarm.read("lines", swarm.input("alias.txt")), { path = "alias.out" })
swarm.input("inner")'
ok "links that stay inside are followed" "$SWARM" pipeline run inside.lua
is "... as before" "$(cat alias.out)" "$(printf 'a\nb')"
pipe out.lua 'swarm.write("lines", swarm.read("lines", swarm.input("in.txt")), { path = "out/x.txt" })'
fails "an output path through a link leading out" 1 "$SWARM" pipeline run out.lua
like "... is refused" "$err" "out\.lua:2: output 'out/x\.txt' leads outside the current directory"
pipe shards.lua 'swarm.write("lines", swarm.read("lines", swarm.input("in.txt")), { path = "out", shard_records = 1 })'
fails "a shard folder that is a link leading out" 1 "$SWARM" pipeline run shards.lua
is "... nothing written there" "$(ls ../elsewhere)" ""

# --- the time limit cannot be dodged ----------------------------------------------------------------------------
pipe spin.lua 'while true do pcall(function() while true do end end) end'
run timeout 120 "$SWARM" pipeline run spin.lua
is "pcall cannot catch the time limit for good" "$rc" 1
like "... the run stops with its error" "$err" "ran for over 10 s without finishing its declarations"
pipe gc.lua 'setmetatable({}, { __gc = function() while true do end end })
error("stop")'
run timeout 120 "$SWARM" pipeline run gc.lua
is "a finalizer cannot be set (it would run with no time limit, even at close)" "$rc" 1
like "... named" "$err" "gc\.lua:2: setmetatable: a pipeline cannot set finalizers \(__gc\)"
pipe match.lua 'assert(("a-b c"):gsub("[%s-]+", "_") == "a_b_c" and string.find("x.y", ".", 1, true) == 2)
string.find(string.rep("a", 5000), ".-.-.-.-b")'
run timeout 120 "$SWARM" pipeline run match.lua
is "pattern backtracking out of the hook's reach is refused" "$rc" 1
like "... at its line (small patterns work)" "$err" "match\.lua:3: a pattern of 9 bytes over 5000 bytes of text could take too long"
pipe many.lua 'for i = 1, 6000 do swarm.input("in.txt") end'
run timeout 60 "$SWARM" pipeline graph many.lua
is "6000 automatically named stages take little time" "$rc" 0
like "... numbered" "$out" 'label="input-6000\\n'

# --- the memory cap counts C copies ---------------------------------------------------------------------------
$MKST write ck.safetensors --meta format=pt w:F32:2:1,2
pipe mem.lua 'local big = string.rep("x", 60 << 20)
local t = swarm.read("safetensors", swarm.input("ck.safetensors"))
for i = 1, 5 do swarm.write("safetensors", t, { meta = { k = big } }) end'
fails "copies of a big string into the graph count against the memory cap" 1 "$SWARM" pipeline graph mem.lua
like "... named" "$err" "mem\.lua:4: the pipeline used over 256 MiB of memory"

done_testing
