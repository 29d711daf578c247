#!/bin/sh
# demo.sh BUILD — the main job on built-in sample data: a generated checkpoint becomes a bundle, a
# fine-tuned copy becomes its next version, swarm shows, diffs, checks out and verifies them, and a
# second local peer fetches both over 127.0.0.1 (the second only downloading what changed); the second
# peer converts v2 to bf16 and quantizes it to a Q8_0 GGUF for llama.cpp with pipelines, publishes both,
# a rerun finds every stage cached, and the first peer fetches the GGUF back from the second.
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

say "swarm add: the checkpoint becomes tiny-llama@v1"
"$swarm" add "$demo/tiny-llama" --name tiny-llama -m "sample checkpoint"

say "A fine-tune rewrites 1 MiB of one tensor and edits the config: tiny-llama@v2"
dd if=/dev/urandom of="$demo/tiny-llama/model.safetensors" bs=1M seek=30 count=1 conv=notrunc status=none
printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "tuned": true}\n' >"$demo/tiny-llama/config.json"
"$swarm" add "$demo/tiny-llama" --name tiny-llama -m "fine-tuned"

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

say "A rerun with nothing changed: every stage is cached"
$peer pipeline run pipelines/convert.lua --set input=tiny-llama@v2/model.safetensors \
    --set output="$demo/model.bf16.safetensors" --set publish=tiny-llama@v2-bf16 --explain
$peer pipeline run pipelines/quantize.lua --set input=tiny-llama@v2/model.safetensors \
    --set output="$demo/model.q8_0.gguf" --set publish=tiny-llama@v2-q8_0 --explain

say "The second peer pushes its catalog and seeds; the first fetches tiny-llama@v2-q8_0 over 127.0.0.1"
$peer -q push
"$swarm" pull
$peer seed tiny-llama@v2-q8_0 --listen 127.0.0.1:0 >"$demo/seed2.log" 2>&1 &
seeder=$!
port=""
for _ in $(seq 50); do
    port=$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$demo/seed2.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$demo/seed2.log"; exit 1; }
"$swarm" get tiny-llama@v2-q8_0 --peer "127.0.0.1:$port" --listen 127.0.0.1:0 --timeout 60
"$swarm" verify tiny-llama@v2-q8_0
kill "$seeder"

say "Done. The store is in $SWARM_HOME; try: SWARM_HOME=$SWARM_HOME $swarm log tiny-llama"
