#!/usr/bin/env bash
# seeds.sh BUILD — (re)makes the seed corpora of tests/fuzz/corpus/ with swarm's own writers (pipelines,
# add, export, torrent) from small inputs, plus tests/tools/mkst.py for safetensors. Run from the
# repository root after `make`; the files are committed, so this runs only when a format changes.
set -eu
BUILD=${1:-build}
ROOT=$(pwd)
SWARM="$ROOT/$BUILD/swarm"
C="$ROOT/tests/fuzz/corpus"
T=$(mktemp -d "${TMPDIR:-/tmp}/swarm-seeds.XXXXXX")
trap 'rm -rf "$T"' EXIT
export SWARM_HOME="$T/home" SOURCE_DATE_EPOCH=1700000000 SWARM_AUTHOR="fuzz <fuzz@example.org>"
cd "$T"
mkdir -p "$C"/{safetensors,gguf,jsonl,wds,tokens,gpt2_vocab,tokenizer_json,hf,manifest,pull,torrent,archive,lua}

# Tensors: a checkpoint, converted by convert.lua, quantized by quantize.lua (q8_0 and q4_0).
python3 "$ROOT/tests/tools/mkst.py" write ck.safetensors --meta format=pt \
    w:F32:2x32:$(python3 -c 'print(",".join(str(i / 8) for i in range(64)))') b:BF16:3:1,2,3 ids:I64:2:7,8 s:F32::1
cp ck.safetensors "$C/safetensors/mkst.safetensors"
"$SWARM" -q pipeline run "$ROOT/pipelines/convert.lua" --set input=ck.safetensors --set output="$C/safetensors/bf16.safetensors"
"$SWARM" -q pipeline run "$ROOT/pipelines/quantize.lua" --set input=ck.safetensors --set output="$C/gguf/q8_0.gguf"
"$SWARM" -q pipeline run "$ROOT/pipelines/quantize.lua" --set input=ck.safetensors --set output="$C/gguf/q4_0.gguf" \
    --set type=q4_0 --set arch=gpt2

# Records: jsonl written back, WebDataset, llm.c (both headers) and nanoGPT token files.
printf '{"text":"hello world","id":1}\n{"text":"caf\\u00e9 \\"quoted\\"\\n","id":2}\n{"text":""}\n' >docs.jsonl
cat >rw.lua <<'LUA'
local swarm = require "swarm"
local P = swarm.params { format = "records format", input = "in", output = "out", header = { "gpt2", "" } }
local r = swarm.read(P.format == "wds" and "webdataset" or P.format == "tok" and "jsonl" or P.format, swarm.input(P.input),
                     P.format == "tok" and { field = "text" } or nil)
if P.format == "tok" then
  r = swarm.op("text/gpt2_encode", r, { vocab = P.header })
  swarm.write("llmc", r, { path = P.output .. "/gpt2.bin" })
  swarm.write("llmc", r, { path = P.output .. "/llama3.bin", header = "llama3" })
  swarm.write("nanogpt", r, { path = P.output .. "/nanogpt.bin" })
else
  swarm.write(P.format == "wds" and "webdataset" or P.format, r, { path = P.output })
end
LUA
"$SWARM" -q pipeline run rw.lua --set format=jsonl --set input=docs.jsonl --set output="$C/jsonl/docs.jsonl"
python3 - <<'PY'
import io, tarfile
with tarfile.open("in.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("d/s1.txt", b"one"), ("d/s1.cls", b"1"), ("d/s2.txt", b"two"), ("d/s2.json", b"{}")):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
"$SWARM" -q pipeline run rw.lua --set format=wds --set input=in.tar --set output="$C/wds/samples.tar"

# Tokenizer files: a byte-level vocabulary of the 256 bytes and a few merges, as GPT-2's files and as a
# tokenizer.json; the token files are those docs encoded with it.
python3 - <<'PY'
import json
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
u = [chr(c) for c in cs]
enc = {c: i for i, c in enumerate(u)}
merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), ("\u0120", "w"), ("o", "r"), ("\u0120w", "or")]
for a, b in merges:
    enc[a + b] = len(enc)
enc["<|endoftext|>"] = len(enc)
json.dump(enc, open("encoder.json", "w"))
open("vocab.bpe", "w").write("#version: 0.2\n" + "".join("%s %s\n" % m for m in merges))
open("gpt2_vocab", "wb").write(open("encoder.json", "rb").read() + b"\0" + open("vocab.bpe", "rb").read() + b"\0hello world<|endoftext|>")
tj = {"version": "1.0", "added_tokens": [{"id": enc["<|endoftext|>"], "content": "<|endoftext|>", "special": True}],
      "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
      "model": {"type": "BPE", "vocab": {k: v for k, v in enc.items() if k != "<|endoftext|>"},
                "merges": ["%s %s" % m for m in merges]}}
json.dump(tj, open("tokenizer.json", "w"))
PY
cp gpt2_vocab "$C/gpt2_vocab/tiny"
cp tokenizer.json "$C/tokenizer_json/tiny.json"
mkdir -p vocab && cp encoder.json vocab.bpe vocab/
mkdir -p tok && "$SWARM" -q pipeline run rw.lua --set format=tok --set input=docs.jsonl --set output=tok --set header="$T/vocab"
cp tok/*.bin "$C/tokens/"

# A Hugging Face folder (fuzz_hf.c's entries: name index, u16 length, bytes): config.json with a vocab_size
# above the tokenizer's count (the padding), a shard of two tensors, its index, tokenizer.json, and
# tokenizer_config.json; then the same with the index before its shard.
python3 "$ROOT/tests/tools/mkst.py" write shard.safetensors e:BF16:2x4:1,2,3,4,5,6,7,8 n:F32:4:1,1,1,1
python3 - "$C/hf" <<'PY'
import json, struct, sys
cfg = {"architectures": ["LlamaForCausalLM"], "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 1,
       "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 16, "rms_norm_eps": 1e-5,
       "vocab_size": 300, "bos_token_id": 0, "eos_token_id": [1, 2]}
index = {"metadata": {}, "weight_map": {"e": "model-00001-of-00002.safetensors", "n": "model-00001-of-00002.safetensors"}}
files = {0: json.dumps(cfg).encode(), 1: open("shard.safetensors", "rb").read(), 2: json.dumps(index).encode(),
         3: open("tokenizer.json", "rb").read(), 4: json.dumps({"add_bos_token": True, "chat_template": "{{x}}"}).encode()}
entry = lambda k: bytes([k]) + struct.pack("<H", len(files[k])) + files[k]
open(sys.argv[1] + "/folder", "wb").write(b"".join(entry(k) for k in (0, 1, 2, 3, 4)))
open(sys.argv[1] + "/index-first", "wb").write(b"".join(entry(k) for k in (2, 0, 3)))
PY


# Versions: a manifest, its torrent, what pull checks (tag, manifest, torrent), and swarm's export.
mkdir -p data/sub && printf 'one\n' >data/a.txt && printf 'two\n' >data/sub/b.txt && : >data/empty
"$SWARM" -q add data --name tiny -m seed
"$SWARM" -q add data/sub/b.txt --name tiny -m "a second version"
for v in v1 v2; do
    git --git-dir "$SWARM_HOME/catalog" show "tiny@$v:manifest.json" >"$C/manifest/tiny-$v.json"
    git --git-dir "$SWARM_HOME/catalog" show "tiny@$v:bundle.torrent" >"$C/torrent/tiny-$v.torrent"
    { printf 'tiny@%s\0' $v; cat "$C/manifest/tiny-$v.json"; printf '\0'; cat "$C/torrent/tiny-$v.torrent"; } >"$C/pull/tiny-$v"
done
"$SWARM" -q export tiny@v1 "$C/archive/tiny.tar.zst"
tar -C data -cf "$C/archive/gnu.tar" . && tar -C data -czf "$C/archive/gnu.tar.gz" .
(cd data && python3 -c 'import zipfile; z = zipfile.ZipFile("../x.zip", "w"); [z.write(p) for p in ("a.txt", "sub/b.txt")]') && cp x.zip "$C/archive/files.zip"

# Pipelines: declarations that call back into swarm.* from metamethods (the shipped pipelines are seeds
# too, read where they are: tests/fuzz/lua.seeds).
cat >"$C/lua/metamethods.lua" <<'LUA'
local swarm = require "swarm"
local t = swarm.read("lines", swarm.input("x.txt"))
local opts = setmetatable({}, { __index = function(_, k) return k == "name" and "n" .. #tostring(t) or nil end })
local u = swarm.op("text/gpt2_encode", t, setmetatable({}, { __index = function() return nil end }), opts)
swarm.write("lines", t, setmetatable({ path = "out.txt" }, { __pairs = function(s) return next, s, nil end }))
LUA
