#!/usr/bin/env bash
# quantize.sh — pipelines/quantize.lua end to end: safetensors in, GGUF out, checked by an independent
# reader (tests/tools/gguf.py): ggml's dimension order, Q8_0/Q4_0 blocks equal to FORMATS.md's vectors,
# F32 for the rest, the required keys, alignment; the cache; publishing; GGUF read back through swarm
# (dequantized, and written again byte for byte); bad input.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
MKST="python3 $ROOT/tests/tools/mkst.py"
GGUF="python3 $ROOT/tests/tools/gguf.py"
Q="$ROOT/pipelines/quantize.lua"
cd "$T" || exit 1

ramp=$(python3 -c 'print(",".join(str((i % 32 - 16) / 16) for i in range(64)))')
bf=$(python3 -c 'print(",".join(str((i % 32 - 16) / 16) for i in range(32)))')
$MKST write ck.safetensors --meta format=pt \
    blk.0.w:F32:2x32:"$ramp" emb:BF16:1x32:"$bf" norm:F32:3:1,2,3 odd:F32:1x3:0.5,0.25,-1 ids:I64:2:7,8 \
    wide:F64:3:0.1,-2.5,1e300

ok "quantize.lua runs" "$SWARM" pipeline run "$Q" --set input=ck.safetensors --set output=q8.gguf
run $GGUF dump q8.gguf
Q8V=082081899199a1a9b1b9c0c8d0d8e0e8f0f8000810182028303840474f575f676f77
is "GGUF v3 with the architecture, the checkpoint's metadata and quantization_version 2" \
    "$(printf '%s\n' "$out" | grep -E '^(version|kv)')" 'version 3
kv format string "pt"
kv general.architecture string "llama"
kv general.name string "ck"
kv general.quantization_version u32 2
kv general.file_type u32 7'
like "a 2-D f32 tensor with rows of 32 is Q8_0, ne in ggml's order, FORMATS.md's block" "$out" \
    "tensor blk.0.w Q8_0 32x2 0 [0-9a-f]{64} ${Q8V}082081"
like "a bf16 2-D tensor is widened exactly, then Q8_0" "$out" "tensor emb Q8_0 32x1 [0-9]+ [0-9a-f]{64} ${Q8V}"
like "a 1-D float tensor becomes F32" "$out" "tensor norm F32 3 [0-9]+ [0-9a-f]{64} 0000803f0000004000004040"
like "a 2-D tensor whose rows are not a multiple of 32 becomes F32" "$out" "tensor odd F32 3x1 "
like "an integer tensor is kept" "$out" "tensor ids I64 2 [0-9]+ [0-9a-f]{64} 0700000000000000"
like "every offset aligned to 32, zero padding" "$out" "aligned yes"
like "the last tensor padded to 32 too (ggml's full read takes the padded size)" "$out" "end padded yes"
f32() { python3 -c 'import struct,sys; print("".join(struct.pack("<f", float(v)).hex() for v in sys.argv[1:]))' "$@"; }
like "an F64 tensor becomes F32, rounded to nearest (inf when out of range)" "$out" \
    "tensor wide F32 3 [0-9]+ [0-9a-f]{64} $(f32 0.1 -2.5)0000807f"

ok "type=q4_0, arch=gpt2" "$SWARM" pipeline run "$Q" --set input=ck.safetensors --set output=q4.gguf \
    --set type=q4_0 --set arch=gpt2
run $GGUF dump q4.gguf
like "Q4_0 blocks are FORMATS.md's" "$out" \
    "tensor blk.0.w Q4_0 32x2 0 [0-9a-f]{64} 0030809191a2a2b3b3c4c4d5d5e6e6f7f7f8"
like "general.architecture from the parameter" "$out" 'kv general.architecture string "gpt2"'
like "general.file_type MOSTLY_Q4_0 (2)" "$out" 'kv general.file_type u32 2'
like "the last tensor padded" "$out" "end padded yes"
ok "name= sets general.name" "$SWARM" pipeline run "$Q" --set input=ck.safetensors --set output=n.gguf --set name=Tiny
like "general.name from the parameter" "$($GGUF dump n.gguf)" 'kv general.name string "Tiny"'

run "$SWARM" pipeline run "$Q" --set input=ck.safetensors --set output=q8.gguf --json
is "a rerun runs nothing" "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ran"])')" 0
run "$SWARM" pipeline run "$Q" --set input=ck.safetensors --set output=q8b.gguf --set arch=qwen2 --explain
like "--explain: a changed meta value reruns only the write" "$out" \
    "ran +write .*because: param meta.general.architecture changed: llama -> qwen2"
like "--explain: quantize stays cached" "$out" "cached +quantize"

ok "publish the GGUF as a bundle version" "$SWARM" pipeline run "$Q" --set input=ck.safetensors \
    --set output=q8.gguf --set publish=tiny@q8
run "$SWARM" show tiny@q8
like "the published file is q8.gguf with provenance" "$out" "q8.gguf"
like "made by quantize.lua" "$out" "made by: .*quantize.lua"

# GGUF read back through swarm: dequantized to safetensors, and written again unchanged.
cat >back.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "a gguf file" }
local g = swarm.read("gguf", swarm.input(P.input))
swarm.write("safetensors", swarm.op("quant/dequantize", g), { path = "back.safetensors" })
swarm.write("gguf", g, { path = "again.gguf" })
LUA
ok "a GGUF file is read, dequantized and rewritten" "$SWARM" pipeline run back.lua --set input=q8.gguf
run $MKST dump back.safetensors
dq=$(python3 -c '
import struct
d = struct.unpack("<e", bytes.fromhex("0820"))[0]
q = bytes.fromhex("'$Q8V'")[2:]
print("".join(struct.pack("<f", struct.unpack("b", bytes([b]))[0] * d).hex() for b in q))')
like "Q8_0 dequantized: q x d, shape back in PyTorch's order" "$out" "blk.0.w F32 2x32 ${dq}${dq}"
like "F32 tensors unchanged" "$out" "norm F32 3 0000803f0000004000004040"
like "GGUF metadata kept with its type" "$out" "meta general.quantization_version:u32 2"
is "read then written again: the same GGUF bytes" "$(sha256sum <again.gguf | cut -c1-64)" \
    "$(sha256sum <q8.gguf | cut -c1-64)"

# Bad input: a clear one-line error, nothing written.
python3 -c 'import sys; sys.stdout.buffer.write(b"GGUF" + (1).to_bytes(4, "little") + bytes(16))' >bad.gguf
fails "a GGUF file of the wrong version" 1 "$SWARM" pipeline run back.lua --set input=bad.gguf
like "the error names the format and the problem" "$err" "gguf.*version 1"
fails "quantize.lua on a file that is not safetensors" 1 "$SWARM" pipeline run "$Q" --set input=bad.gguf \
    --set output=x.gguf
is "no output written" "$(ls x.gguf 2>/dev/null)" ""
fails "an unknown type" 1 "$SWARM" pipeline run "$Q" --set input=ck.safetensors --set output=x.gguf --set type=q5_0
like "the error names the param and its choices" "$err" "q8_0"
done_testing
