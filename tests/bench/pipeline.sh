#!/usr/bin/env bash
# pipeline.sh BUILD — make bench, pipelines: `swarm pipeline run` against named peers, same run.
#
# 1. No-op rerun of a 10-stage pipeline (read safetensors, 8 chained pipetest/copy, write; every stage
#    cached) vs snakemake on 10 chained `cp` rules with every output up to date: median wall time of
#    several reruns each. Targets: swarm >= 20x faster than snakemake, and under 50 ms.
# 2. Dispatch overhead: pipetest/upper over 1,000,000 one-line records with batch = 1 (one plugin call
#    per record) vs batch = 100000 (calls amortized), fresh home each run, best of 3. Per call:
#    (t_batch1 - t_batch100000) / 1e6. Target < 2 us. The output must equal `tr a-z A-Z` of the input.
# 3. pipelines/convert.lua, f32 -> bf16, and pipelines/quantize.lua, f32 -> Q8_0 GGUF, on a 1 GiB
#    checkpoint (64 tensors of 4 Mi floats; fresh home, best of 2) vs cp of the same file (best of 3) and
#    cp + sync (best of 2: swarm fsyncs the object it stores), page cache warm; peak RSS; a few thousand
#    converted values checked against round-to-nearest-even in python, the GGUF's tensors listed. The
#    hashing floor, measured in the same run: openssl's SHA-256 of the input, and of input + output on
#    two cores (swarm names the input, the op's outputs and the output object by their SHA-256). Targets:
#    as fast as cp + sync, and >= 50% of cp where the hashing floor allows.
# Needs BUILD/tests/plugins/pipetest.so (`make bench` builds it), python3, bc, GNU time; snakemake is
# optional (n/a without it). Scratch: ${BENCH_DIR:-$TMPDIR}/swarm-bench-pipeline (about 3.5 GiB), removed
# at exit. run.sh calls this last; alone: bash tests/bench/pipeline.sh BUILD (about 3 minutes on 2 cores).
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME with a '.'
build=${1:-build}
swarm=$(cd "$build" && pwd)/swarm
gen=$(cd "$build" && pwd)/tools/gen
testplugins=$(cd "$build" && pwd)/tests/plugins
convert=$(cd "$(dirname "$0")/../.." && pwd)/pipelines/convert.lua
quantize=$(cd "$(dirname "$0")/../.." && pwd)/pipelines/quantize.lua
gguf_py=$(cd "$(dirname "$0")/../.." && pwd)/tests/tools/gguf.py
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}/swarm-bench-pipeline
noop_runs=${BENCH_NOOP_RUNS:-20}
snake_runs=${BENCH_SNAKE_RUNS:-10} # one snakemake start costs 1-2 s here
for tool in python3 bc /usr/bin/time openssl; do
    command -v "$tool" >/dev/null || { echo "pipeline bench: $tool is missing (make deps-bench installs it)" >&2; exit 1; }
done
[ -f "$testplugins/pipetest.so" ] || { echo "pipeline bench: no $testplugins/pipetest.so (make $build/tests/plugins/pipetest.so)" >&2; exit 1; }
cleanup() { chmod -R u+w "$dir" 2>/dev/null || true; rm -rf "$dir"; }
rm -rf "$dir"
mkdir -p "$dir"
trap cleanup EXIT
cd "$dir" # the pipelines below name relative paths

# wall CMD... — wall seconds of one run of CMD (stdout and stderr to $dir/run.out, run.err); a failure
# stops the bench
wall() {
    local s e
    s=$EPOCHREALTIME
    if ! "$@" >"$dir/run.out" 2>"$dir/run.err"; then
        echo "pipeline bench: failed: $*" >&2
        tail -5 "$dir/run.err" >&2
        exit 1
    fi
    e=$EPOCHREALTIME
    echo "$e - $s" | bc
}
# best N CMD... — best wall seconds over N runs; $prep runs (untimed) before each
prep=:
best() {
    local n=$1 b="" t
    shift
    for _ in $(seq "$n"); do
        eval "$prep"
        t=$(wall "$@")
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}
# median N CMD... — "MEDIAN MIN MAX" wall seconds over N runs
median() {
    local n=$1
    shift
    for _ in $(seq "$n"); do wall "$@"; done | sort -g |
        awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]}'
}
ms() { printf '%.1f' "$(echo "$1 * 1000" | bc)"; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
verdict() { [ "$(echo "scale=4; $1" | bc)" = 1 ] && echo met || echo MISSED; } # verdict BC-CONDITION
sw() { "$swarm" --home "$dir/$1" "${@:2}"; }                          # sw HOME ARGS...
bad=""                                                                # what came out wrong, reported at the end

echo "warming memory (3 GiB written and removed) ..."
dd if=/dev/zero of="$dir/warm" bs=4M count=768 status=none && rm "$dir/warm"

# ---- 1. no-op rerun: swarm (10 stages) vs snakemake (10 rules) ------------------------------------
echo "pipeline 1/3: no-op rerun of a 10-stage pipeline, swarm vs snakemake ..."
python3 - <<'EOF'
import json, struct
# a small checkpoint: four float32 tensors (about 26 KiB)
tensors = [("embed", [32, 64]), ("layer.0.weight", [64, 64]), ("layer.0.bias", [64]), ("head", [16, 64])]
hdr, data = {"__metadata__": {"format": "pt"}}, b""
for name, shape in tensors:
    n = 1
    for d in shape:
        n *= d
    hdr[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + 4 * n]}
    data += struct.pack("<%df" % n, *[((i * 37) % 101 - 50) / 1000.0 for i in range(n)])
h = json.dumps(hdr, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open("small.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
EOF
cat >ten.lua <<'EOF'
-- input, read, 8 chained copies (distinct params, so distinct cache keys), write: 10 stages + input
local swarm = require "swarm"
local P = swarm.params { input = "the checkpoint", output = "where the copy goes" }
local t = swarm.read("safetensors", swarm.input(P.input))
for i = 1, 8 do
  t = swarm.op("pipetest/copy", t, { note = "stage " .. i }, { name = "copy" .. i })
end
swarm.write("safetensors", t, { path = P.output })
EOF
ten=(pipeline run ten.lua --set input=small.safetensors --set output=ten-out.safetensors --plugin-path "$testplugins")
sw h1 -q "${ten[@]}"
sw h1 "${ten[@]}" 2>"$dir/ten.log" >&2
grep -q ': 0 stages ran, 11 cached' "$dir/ten.log" || {
    echo "PIPELINE BENCH: the rerun was not a no-op:" >&2
    cat "$dir/ten.log" >&2
    bad="$bad no-op"
}
sync
read -r t_noop t_noop_min t_noop_max < <(median "$noop_runs" "$swarm" --home "$dir/h1" -q "${ten[@]}")
t_snake=n/a
if command -v snakemake >/dev/null; then
    mkdir sm && cp small.safetensors sm/s0.safetensors
    # the first rule is the default target: r10 first, so the workflow has exactly 10 rules
    for i in $(seq 10 -1 1); do
        printf 'rule r%d:\n    input: "s%d.safetensors"\n    output: "s%d.safetensors"\n    shell: "cp {input} {output}"\n' \
            "$i" $((i - 1)) "$i"
    done >sm/Snakefile
    (cd sm && snakemake --cores 1 --quiet all >/dev/null 2>&1)
    cmp -s sm/s0.safetensors sm/s10.safetensors || { echo "PIPELINE BENCH: snakemake did not build s10" >&2; exit 1; }
    sync
    read -r t_snake t_snake_min t_snake_max < <(cd sm && median "$snake_runs" snakemake --cores 1 --quiet all)
    grep -q . "$dir/run.err" && { echo "snakemake said on a rerun:" >&2; cat "$dir/run.err" >&2; }
fi

# ---- 2. dispatch overhead: one call per record ---------------------------------------------------
echo "pipeline 2/3: pipetest/upper over 1,000,000 records, batch 1 vs batch 100000 ..."
python3 - <<'EOF'
import random
random.seed(7)
abc = "abcdefghijklmnopqrstuvwxyzABC019-_"
with open("lines.txt", "w") as f:
    f.write("".join("r%d%s\n" % (i, "".join(random.choices(abc, k=random.randint(0, 12)))) for i in range(1000000)))
EOF
[ "$(wc -l <lines.txt)" = 1000000 ] || { echo "pipeline bench: lines.txt is not 1,000,000 lines" >&2; exit 1; }
cat >upper.lua <<'EOF'
-- lines -> pipetest/upper with `batch` records per plugin call -> lines
local swarm = require "swarm"
local P = swarm.params { input = "a text file", output = "where the upper-cased lines go", batch = "records per call" }
local recs = swarm.read("lines", swarm.input(P.input))
local up = swarm.op("pipetest/upper", recs, {}, { name = "upper", batch = math.tointeger(tonumber(P.batch)) })
swarm.write("lines", up, { path = P.output })
EOF
tr a-z A-Z <lines.txt >want.txt
stage_s() { awk -v s="$1" '$2 == s {print $3}' "$dir/run.err" | head -1; } # a stage's seconds, last run's table
upper_run() { # upper_run BATCH: t_upper (wall, best of 3, fresh home) and s_upper (that run's upper stage)
    local t b="" s=""
    for _ in 1 2 3; do
        rm -rf "$dir/h2" "$dir/upper-out.txt"
        t=$(wall "$swarm" --home "$dir/h2" pipeline run upper.lua --set input=lines.txt --set output=upper-out.txt \
            --set batch="$1" --plugin-path "$testplugins")
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t s=$(stage_s upper); fi
    done
    t_upper=$b s_upper=${s:-?}
    cmp -s want.txt upper-out.txt || {
        echo "PIPELINE BENCH: batch $1: the output is not tr a-z A-Z of the input:" >&2
        cmp want.txt upper-out.txt >&2 || true
        bad="$bad upper-batch-$1"
    }
}
upper_run 1
t_b1=$t_upper s_b1=$s_upper
upper_run 100000
t_bbig=$t_upper s_bbig=$s_upper
rm -rf "$dir/h2" lines.txt want.txt upper-out.txt

# ---- 3. convert.lua f32 -> bf16 on 1 GiB, vs cp --------------------------------------------------
echo "pipeline 3/3: convert.lua f32 -> bf16 and quantize.lua f32 -> Q8_0 on a 1 GiB checkpoint, vs cp ..."
"$gen" checkpoint 7 1G big.safetensors
bytes=$(stat -c %s big.safetensors)
cat big.safetensors >/dev/null
prep='rm -f copy.safetensors'
t_cp=$(best 3 cp big.safetensors copy.safetensors)
t_cpsync=$(best 2 sh -c 'cp big.safetensors copy.safetensors && sync') # swarm fsyncs what it stores
rm -f copy.safetensors
t_sha=$(best 3 openssl dgst -sha256 big.safetensors)
# pipe_run PIPELINE OUTPUT: t_pipe (wall, best of 2, fresh home), rss_pipe (MiB, the larger), pipe_stages
pipe_run() {
    local t r
    t_pipe="" rss_pipe=0 pipe_stages=""
    for _ in 1 2; do
        rm -rf "$dir/h3" "$2"
        sync
        t=$(wall /usr/bin/time -f %M -o "$dir/rss" "$swarm" --home "$dir/h3" pipeline run "$1" \
            --set input=big.safetensors --set output="$2")
        r=$(awk '{v = $1} END {printf "%.0f", v / 1024}' "$dir/rss")
        [ "$r" -gt "$rss_pipe" ] && rss_pipe=$r
        if [ -z "$t_pipe" ] || [ "$(echo "$t < $t_pipe" | bc)" = 1 ]; then
            t_pipe=$t
            pipe_stages=$(awk '$NF == "s" {printf "%s%s %s s", sep, $2, $3; sep = ", "}' "$dir/run.err")
        fi
    done
}
pipe_run "$quantize" q8.gguf
t_quant=$t_pipe rss_quant=$rss_pipe quant_stages=$pipe_stages
quant_bytes=$(stat -c %s q8.gguf)
quant_check=$(python3 "$gguf_py" dump q8.gguf | awk '/^tensor/ {n++; if ($3 == "Q8_0") q++} END {printf "%d tensors, %d Q8_0", n, q}')
rm -f q8.gguf
pipe_run "$convert" bf16.safetensors
t_conv=$t_pipe rss_conv=$rss_pipe conv_stages=$pipe_stages
out_bytes=$(stat -c %s bf16.safetensors)
if ! python3 - big.safetensors bf16.safetensors >"$dir/check.out" 2>&1 <<'EOF'; then
import json, random, struct, sys
def header(f):
    n = struct.unpack("<Q", f.read(8))[0]
    return json.loads(f.read(n)), 8 + n
fi, fo = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
hi, bi = header(fi)
ho, bo = header(fo)
names = [k for k in hi if k != "__metadata__"]
assert sorted(names) == sorted(k for k in ho if k != "__metadata__"), "tensor names differ"
assert ho.get("__metadata__") == hi.get("__metadata__"), "metadata differs"
def bf16(u):  # float32 bits -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN
    if (u & 0x7F800000) == 0x7F800000 and u & 0x7FFFFF:
        return None
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
rnd, checked, bad = random.Random(1), 0, []
for k in names:
    ti, to = hi[k], ho[k]
    assert ti["dtype"] == "F32" and to["dtype"] == "BF16", "%s: %s -> %s" % (k, ti["dtype"], to["dtype"])
    assert ti["shape"] == to["shape"], "%s: shape %s -> %s" % (k, ti["shape"], to["shape"])
    n = (ti["data_offsets"][1] - ti["data_offsets"][0]) // 4
    assert to["data_offsets"][1] - to["data_offsets"][0] == 2 * n, k + ": wrong size"
    for i in [0, 1, n - 1] + [rnd.randrange(n) for _ in range(60)]:
        fi.seek(bi + ti["data_offsets"][0] + 4 * i)
        fo.seek(bo + to["data_offsets"][0] + 2 * i)
        u, = struct.unpack("<I", fi.read(4))
        v, = struct.unpack("<H", fo.read(2))
        want = bf16(u)
        checked += 1
        if (want is None and (v & 0x7F80) != 0x7F80) or (want is not None and v != want):
            bad.append("%s[%d]: f32 %08x -> %04x, want %s" % (k, i, u, v, "NaN" if want is None else "%04x" % want))
# every value of the first tensor: about 1 in 65536 is an exact tie (low half 0x8000), to even
import array
k, ti, to = names[0], hi[names[0]], ho[names[0]]
fi.seek(bi + ti["data_offsets"][0])
fo.seek(bo + to["data_offsets"][0])
a, b = array.array("I"), array.array("H")
a.frombytes(fi.read(ti["data_offsets"][1] - ti["data_offsets"][0]))
b.frombytes(fo.read(to["data_offsets"][1] - to["data_offsets"][0]))
ties = sum(1 for u in a if u & 0xFFFF == 0x8000)
want = [((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF for u in a]  # no NaN in a generated checkpoint
if want != b.tolist():
    i = next(i for i in range(len(a)) if want[i] != b[i])
    bad.append("%s[%d]: f32 %08x -> %04x, want %04x (whole tensor)" % (k, i, a[i], b[i], want[i]))
checked += len(a)
print("%d values in %d tensors checked (all of %s, %d ties)" % (checked, len(names), k, ties))
if bad:
    print("%d mismatches, e.g.:\n  %s" % (len(bad), "\n  ".join(bad[:5])))
    sys.exit(1)
EOF
    echo "PIPELINE BENCH: convert.lua's output is WRONG:" >&2
    cat "$dir/check.out" >&2
    bad="$bad convert"
fi
checked=$(head -1 "$dir/check.out")

# ---- report ----------------------------------------------------------------------------------------
gbs() { printf '%.2f' "$(echo "scale=4; $bytes / $1 / 1000000000" | bc)"; }
echo
echo "pipeline no-op rerun: 10 stages, all cached (median of $noop_runs reruns, snakemake $snake_runs; lower is better)"
printf '  %-36s %8s ms  (%s-%s)\n' "swarm pipeline run (11 cached)" "$(ms "$t_noop")" "$(ms "$t_noop_min")" "$(ms "$t_noop_max")"
if [ "$t_snake" = n/a ]; then
    printf '  %-36s %8s    (snakemake is not installed: make deps-bench)\n' "snakemake (10 rules, up to date)" n/a
else
    printf '  %-36s %8s ms  (%s-%s)\n' "snakemake (10 rules, up to date)" "$(ms "$t_snake")" "$(ms "$t_snake_min")" \
        "$(ms "$t_snake_max")"
    printf '  %-36s %sx faster than snakemake (target >= 20x: %s)\n' "swarm no-op rerun" \
        "$(ratio "$t_snake" "$t_noop")" "$(verdict "$t_snake >= 20 * $t_noop")"
fi
printf '  %-36s %s ms (target < 50 ms: %s)\n' "" "$(ms "$t_noop")" "$(verdict "$t_noop < 0.05")"

echo "pipeline dispatch: pipetest/upper over 1,000,000 records (fresh home, best of 3; upper stage in brackets)"
printf '  %-36s %7.3f s  (%s s)  %.2f us per record, all in\n' "batch = 1 (1,000,000 calls)" "$t_b1" "$s_b1" "$t_b1"
printf '  %-36s %7.3f s  (%s s)\n' "batch = 100000 (10 calls)" "$t_bbig" "$s_bbig"
printf '  %-36s %.2f us per call (target < 2 us: %s)' "dispatch overhead" "$(echo "$t_b1 - $t_bbig" | bc)" \
    "$(verdict "$t_b1 - $t_bbig < 2")"
case "$s_b1$s_bbig" in
*'?'*) echo ;;
*) printf ', %.2f us from the stage times alone\n' "$(echo "$s_b1 - $s_bbig" | bc)" ;;
esac

human() { numfmt --to=iec-i --suffix=B --round=nearest --format=%.1f "$1"; }
pct() { printf '%.0f' "$(echo "scale=4; 100 * $1 / $2" | bc)"; }
# The hashing floor for an output of B bytes: the input's SHA-256 (one core: its id is the hash of the
# whole file) and the output's (the op's outputs, tensor by tensor, on both cores) at openssl's rate.
floor() { echo "scale=4; $t_sha + $t_sha * $1 / $bytes / 2" | bc; }
# report NAME T RSS STAGES OUT_BYTES
report() {
    printf '  %-36s %7.2f s  %5s GB/s  (best of 2, fresh home)  peak RSS %s MiB\n' "$1" "$2" "$(gbs "$2")" "$3"
    printf '  %-36s %s\n' "  its stages" "$4"
    printf '  %-36s %s%% of cp (target >= 50%%: %s), %s%% of cp + sync (target >= 100%%: %s)\n' "  throughput" \
        "$(pct "$t_cp" "$2")" "$(verdict "$t_cp / $2 >= 0.5")" "$(pct "$t_cpsync" "$2")" "$(verdict "$2 <= $t_cpsync")"
    printf '  %-36s %.2f s (SHA-256 of %s in on one core + %s out on two), so at best %s%% of cp; swarm is at %.1fx it\n' \
        "  hashing floor" "$(floor "$5")" "$(human "$bytes")" "$(human "$5")" "$(pct "$t_cp" "$(floor "$5")")" \
        "$(echo "scale=4; $2 / $(floor "$5")" | bc)"
}
echo "pipelines on a 1 GiB checkpoint: $(human "$bytes") in (page cache warm; higher GB/s is better)"
printf '  %-36s %7.2f s  %5s GB/s  (best of 3)\n' "cp" "$t_cp" "$(gbs "$t_cp")"
printf '  %-36s %7.2f s  %5s GB/s  (best of 2; swarm fsyncs the object it stores)\n' "cp + sync" "$t_cpsync" "$(gbs "$t_cpsync")"
printf '  %-36s %7.2f s  %5s GB/s  (best of 3; the hashing floor below)\n' "openssl dgst -sha256" "$t_sha" "$(gbs "$t_sha")"
echo "convert.lua f32 -> bf16: $(human "$out_bytes") out"
report "swarm pipeline run convert.lua" "$t_conv" "$rss_conv" "$conv_stages" "$out_bytes"
echo "quantize.lua f32 -> Q8_0 GGUF: $(human "$quant_bytes") out ($quant_check)"
report "swarm pipeline run quantize.lua" "$t_quant" "$rss_quant" "$quant_stages" "$quant_bytes"
case $bad in
*convert*) printf '  %-36s MISMATCH (see above): %s\n' "output check (bf16 = RNE of f32)" "$checked" ;;
*) printf '  %-36s ok: %s\n' "output check (bf16 = RNE of f32)" "$checked" ;;
esac
if [ -n "$bad" ]; then
    echo "PIPELINE BENCH: WRONG RESULTS:$bad (see above)" >&2
    exit 1
fi
