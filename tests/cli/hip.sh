#!/usr/bin/env bash
# hip.sh — GPU companions on a machine without a GPU: the HIP kernels are built for every listed target
# into NAME.hip.so, which loads beside the CPU plugin and shows its variants as "no device"; swarm itself
# never links ROCm; a pipeline with device "auto" gets the CPU's bytes with a one-line note, "hip" fails
# with a clear error; a companion whose runtime library is missing, one that differs from its plugin, and
# one of a plugin that is not there are skipped with a reason. A fake HIP runtime (device memory on the
# host) then shows the host staging a GPU variant's call, and falling back when the device fails.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH SWARM_HIP_RUNTIME SWARM_CUDA_RUNTIME SWARM_FAKE_HIP_LOG SWARM_FAKE_HIP_FAIL
B="$ROOT/${SWARM_BUILD:-build}"
TC="$B/tests/gpu/companions"
FAKE="$B/tests/gpu/runtime/libswarm_fake_hip.so"
MKST="python3 $ROOT/tests/tools/mkst.py"
CONVERT="$ROOT/pipelines/convert.lua"
cd "$T" || exit 1

# --- the build: every target compiled in, nothing but the entry exported, no ROCm in swarm ----------------
targets=$(sed -n 's/^HIP_TARGETS := //p' "$ROOT/Makefile")
for so in convert quant dedup; do
    is "$so.hip.so holds code for every target in HIP_TARGETS" \
        "$(strings "$B/plugins/$so.hip.so" | grep -o 'amdgcn-amd-amdhsa--gfx[0-9a-z]*' | sed 's/.*--//' | sort -u | tr '\n' ' ')" \
        "$(printf '%s\n' $targets | sort | tr '\n' ' ')"
    is "$so.hip.so exports only swarm_plugin_entry" \
        "$(nm -D --defined-only "$B/plugins/$so.hip.so" | awk '{print $3}')" "swarm_plugin_entry"
done
is "swarm does not link a GPU runtime" "$(readelf -d "$B/swarm" | grep -c -E 'amdhip|cudart|hiprtc')" "0"
is "the CPU plugins do not either" \
    "$(for p in convert quant dedup; do readelf -d "$B/plugins/$p.so"; done | grep -c -E 'amdhip|cudart')" "0"

# --- ls and info: the companions merged, their variants shown with the probe's reason ---------------------
run "$SWARM" plugin ls
is "plugin ls exits 0" "$rc" "0"
if printf '%s\n' "$out" | grep -q 'hip:90'; then
    gpu=1
    echo "# a usable GPU is present: the no-device checks are skipped"
else
    gpu=0
fi
like "convert is listed with its companion" "$out" \
    "^org\.swarm\.convert 0\.1\.0  $B/plugins/convert\.so \+ $B/plugins/convert\.hip\.so$"
like "quant is listed with its companion" "$out" \
    "^org\.swarm\.quant 0\.1\.0  $B/plugins/quant\.so \+ $B/plugins/quant\.hip\.so$"
like "dedup is listed with its companion" "$out" \
    "^org\.swarm\.dedup 0\.1\.0  $B/plugins/dedup\.so \+ $B/plugins/dedup\.hip\.so$"
like "dedup's whole-dataset ops have the CPU variant alone" "$out" "^  near v1  cpu:100$"
if [ "$gpu" = 0 ]; then
    like "cast: a cpu and a hip variant, the hip one 'no device'" "$out" "^  cast v1  cpu:100 hip:0 \(no device\)$"
    for op in quantize dequantize int8_rows row_absmax int8_dequantize minhash; do
        like "$op: a hip variant, 'no device'" "$out" "^  $op v[12]  cpu:100 hip:0 \(no device\)$"
    done
fi
is "no companion of the build is skipped" "$(printf '%s\n' "$out" | grep -c '^skipped: ')" "0"

run "$SWARM" plugin info org.swarm.convert
like "info names the companion" "$out" "^companion: $B/plugins/convert\.hip\.so$"
[ "$gpu" = 0 ] && like "info shows the hip variant, its numerics and why it cannot run" "$out" \
    "^    hip  numerics rne-1  score 0 \(no device\)$"
run "$SWARM" --json plugin info org.swarm.quant
ok "info --json: companions, and every op with a cpu and a hip variant of one numerics tag" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); gpu = sys.argv[2] == "1"
assert d["companions"] == [sys.argv[3] + "/plugins/quant.hip.so"], d["companions"]
assert len(d["ops"]) == 5
for op in d["ops"]:
    v = {x["device"]: x for x in op["variants"]}
    assert set(v) == {"cpu", "hip"} and v["cpu"]["numerics"] == v["hip"]["numerics"] == "ggml-ref-1", op
    assert gpu or (v["hip"]["score"] == 0 and v["hip"]["note"] == "no device"), op' "$out" "$gpu" "$B"

# --- pipelines: auto falls back to the CPU with a note, hip fails clearly ----------------------------------
$MKST write ck.safetensors w:F32:2x3:1,2,3,1.00390625,-0.5,65520 idx:I64:2:7,8 h:F16:1:1.5
ok "device cpu runs" "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=cpu.safetensors \
    --set device=cpu
is "... with no note about GPUs" "$(printf '%s\n' "$err" | grep -c 'note:')" "0"
want=$($MKST dump cpu.safetensors)
if [ "$gpu" = 0 ]; then
    ok "device auto runs" "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=auto.safetensors \
        --force convert
    is "... and gives the CPU's bytes" "$($MKST dump auto.safetensors)" "$want"
    is "... with one note saying why the GPU was not used" "$(printf '%s\n' "$err" | grep 'note:')" \
        "swarm: note: org.swarm.convert op cast runs on the CPU: its hip variant cannot run here (no device)"
    fails "device hip fails" 1 "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors \
        --set output=hip.safetensors --set device=hip --force convert
    is "... with one clear error line" "$(printf '%s\n' "$err" | grep '^swarm: error: ')" \
        "swarm: error: stage 'convert' ($CONVERT:26): org.swarm.convert op cast: no hip (GPU) variant can run here: no device"
    is "... and writes nothing" "$(ls hip.safetensors 2>/dev/null)" ""
    fails "an unknown device is refused" 1 "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors \
        --set output=x.safetensors --set device=tpu
    like "... naming the choices" "$err" "device 'tpu' is not auto, cpu or hip"
fi
# Without /dev/kfd no HIP runtime finds a device: a pipeline run loads the companions (and the runtime,
# 20 ms of start-up) only once an op is to run, so a cached rerun never does.
if [ ! -e /dev/kfd ]; then
    run env LD_DEBUG=libs "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=auto.safetensors
    is "a cached rerun of convert.lua is a no-op" "$(printf '%s\n' "$err" | grep -c ': 0 stages ran')" "1"
    is "... that does not load the HIP runtime" "$(printf '%s\n' "$err" | grep -c 'calling init: .*libamdhip64')" "0"
    run env LD_DEBUG=libs "$SWARM" pipeline run "$CONVERT" --set input=ck.safetensors --set output=auto.safetensors \
        --force convert
    is "a run of its convert stage loads it, through the companion" \
        "$(printf '%s\n' "$err" | grep -c 'calling init: .*libamdhip64')" "1"
fi
mkdir -p named
cp "$B/tests/plugins/pipetest.so" named/pipetest.hip.so
run "$SWARM" plugin ls --plugin-path named
like "a plugin named like a companion (NAME.hip.so) but not one is skipped, saying so" "$out" \
    "^skipped: named/pipetest\.hip\.so: org\.swarm\.pipetest is not a companion, and only a companion .* may be named NAME\.hip\.so or NAME\.cuda\.so$"

# --- dedup's minhash (a records op with a GPU variant) through a pipeline ------------------------------------
printf '%s\n' 'Hello, World! Hello again.' 'hello world hello AGAIN' '' 'one two three four five six seven' \
    '!!! ...' 'x' 'Ãcole â æ¥æ¬ 1999' >docs.txt
cat >minhash.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "text, one document a line", output = "signatures", device = { "auto", "device" } }
local sig = swarm.op("dedup/minhash", swarm.read("lines", swarm.input(P.input)), {}, { name = "minhash", device = P.device })
-- binary records of 896 bytes: written as llm.c's uint32 "tokens" (a 1024-byte header, then EOT and a record)
swarm.write("llmc", sig, { path = P.output, header = "llama3" })
LUA
ok "minhash on the CPU" "$SWARM" pipeline run minhash.lua --set input=docs.txt --set output=cpu.sig --set device=cpu
ok "... whose records are 7 signatures of 112 uint64: equal for equal normalized texts, all ones for none" \
    python3 -c '
import struct, sys
b = open("cpu.sig", "rb").read()
assert len(b) == 1024 + 7 * 900 and struct.unpack_from("<3i", b) == (20240801, 7, 7 * 225), len(b)
r = [b[1024 + i * 900 + 4:1024 + i * 900 + 900] for i in range(7)]
v = [struct.unpack("<112Q", x) for x in r]
assert r[0] == r[1] and r[2] == r[4] == b"\xff" * 896, "equal texts"
assert all(max(v[i]) < 2**61 - 1 for i in (0, 3, 5, 6)), "below P"
assert len(set(r)) == 5'
if [ "$gpu" = 0 ]; then
    ok "minhash, device auto" "$SWARM" pipeline run minhash.lua --set input=docs.txt --set output=auto.sig --force minhash
    is "... gives the CPU's bytes" "$(cmp auto.sig cpu.sig && echo same)" "same"
    is "... with one note saying why the GPU was not used" "$(printf '%s\n' "$err" | grep 'note:')" \
        "swarm: note: org.swarm.dedup op minhash runs on the CPU: its hip variant cannot run here (no device)"
    fails "minhash, device hip, fails" 1 "$SWARM" pipeline run minhash.lua --set input=docs.txt --set output=hip.sig \
        --set device=hip --force minhash
    like "... saying no GPU variant can run" "$err" "org\.swarm\.dedup op minhash: no hip \(GPU\) variant can run here: no device"
fi

# --- broken companions are skipped with a reason; the CPU plugin keeps working -----------------------------
run "$SWARM" plugin ls --plugin-path "$TC"
skip() { printf '%s\n' "$out" | grep -F "skipped: $TC/$1: "; }
like "a companion whose runtime library is missing is skipped with the loader's reason" \
    "$(skip missing_runtime.hip.so)" "libswarm_gone_runtime\.so: cannot open shared object file"
like "a companion that differs from its plugin is skipped, the difference named" "$(skip mismatch.so)" \
    "companion of org\.swarm\.convert: op 'cast' differs from org\.swarm\.convert's: op_version 2, the plugin's 1$"
like "a companion of a plugin that is not loaded is skipped" "$(skip orphan.so)" \
    "a companion of org\.swarm\.test\.nosuch, which is not loaded$"
is "three skips, one line each" "$(printf '%s\n' "$out" | grep -c '^skipped: ')" "3"
like "the test companion that loads merges after the plugin's own variant" "$out" \
    "^  cast v1  cpu:100 hip:90 hip:[0-9]+"
ok "with them on the path, convert still runs on the CPU" "$SWARM" pipeline run "$CONVERT" --plugin-path "$TC" \
    --set input=ck.safetensors --set output=skipped.safetensors --force convert
is "... giving the CPU's bytes" "$($MKST dump skipped.safetensors)" "$want"
if [ "$gpu" = 0 ]; then
    like "... after a note that the GPU variant could not run" "$err" \
        "^swarm: note: org\.swarm\.convert op cast \(hip\): no HIP runtime: no device"
fi

# --- a fake runtime: the host stages the GPU variant's call ------------------------------------------------
export SWARM_HIP_RUNTIME="$FAKE" SWARM_FAKE_HIP_LOG="$T/fake.log"
ok "device hip runs on the fake device" "$SWARM" pipeline run "$CONVERT" --plugin-path "$TC" \
    --set input=ck.safetensors --set output=fake.safetensors --set device=hip --force convert
is "... and gives the CPU's bytes" "$($MKST dump fake.safetensors)" "$want"
is "... with no note" "$(printf '%s\n' "$err" | grep -c 'note:')" "0"
is "each input was copied to the device (w 24 bytes, idx 16, h 2)" \
    "$(grep '^memcpy 1 ' "$T/fake.log" | awk '{print $3}' | sort -n | tr '\n' ' ')" "2 16 24 "
is "each output was copied back (w as bf16 12 bytes, idx 16, h 2)" \
    "$(grep '^memcpy 2 ' "$T/fake.log" | awk '{print $3}' | sort -n | tr '\n' ' ')" "2 12 16 "
is "every device buffer was freed" "$(grep -c '^free' "$T/fake.log")" "$(grep -c '^malloc' "$T/fake.log")"

rm -f "$T/fake.log"
run env SWARM_FAKE_HIP_FAIL=malloc "$SWARM" pipeline run "$CONVERT" --plugin-path "$TC" \
    --set input=ck.safetensors --set output=oom.safetensors --force convert
is "out of device memory with auto: the run succeeds" "$rc" "0"
is "... on the CPU, with the CPU's bytes" "$($MKST dump oom.safetensors)" "$want"
is "... after one note (once for all three tensors)" "$(printf '%s\n' "$err" | grep -c 'note:')" "1"
like "... saying why" "$err" \
    "^swarm: note: org\.swarm\.convert op cast \(hip\): out of device memory: cannot allocate [0-9]+ bytes \(hipErrorOutOfMemory \(fake\)\)$"
fails "out of device memory with hip: the run fails" 1 env SWARM_FAKE_HIP_FAIL=malloc "$SWARM" pipeline run \
    "$CONVERT" --plugin-path "$TC" --set input=ck.safetensors --set output=oom2.safetensors --set device=hip \
    --force convert
like "... saying so" "$err" "swarm: error: .*org\.swarm\.convert op cast \(hip\): out of device memory"
is "... in the error alone: no note, since no other variant follows" "$(printf '%s\n' "$err" | grep -c 'note:')" "0"
run env SWARM_HIP_RUNTIME="$T/nowhere/libamdhip64.so" "$SWARM" pipeline run "$CONVERT" --plugin-path "$TC" \
    --set input=ck.safetensors --set output=nort.safetensors --force convert
is "no runtime library with auto: the CPU does the work" "$rc/$($MKST dump nort.safetensors)" "0/$want"
like "... after a note naming the library" "$err" "note: org\.swarm\.convert op cast \(hip\): no HIP runtime: .*nowhere/libamdhip64\.so"

done_testing
