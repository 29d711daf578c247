#!/usr/bin/env bash
# dedup_rss.sh BUILD [MB] — peak memory of pipelines/dedup.lua over a generated JSONL corpus of about MB
# megabytes (default 60; a fixed seed: the same bytes on every machine) with planted near duplicates (one
# word changed) and exact copies (case and punctuation changed): the pipeline's wall time and peak RSS
# (/usr/bin/time -v), next to the corpus's size raw and zstd-compressed.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
mb=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$mb" "$work/corpus.jsonl" <<'PY'
import json, random, sys
random.seed(7)
mb, path = int(sys.argv[1]), sys.argv[2]
words = ["".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(2, 9))) for _ in range(20000)]
docs, size = [], 0
while size < mb << 20:
    r = random.random()
    if docs and r < 0.10:
        w = random.choice(docs).split()
        w[random.randrange(len(w))] = "changed"
        t = " ".join(w)
    elif docs and r < 0.12:
        t = random.choice(docs).upper() + "!!"
    else:
        t = " ".join(random.choice(words) for _ in range(random.randint(100, 800)))
    docs.append(t)
    size += len(t) + 24
with open(path, "w") as f:
    for i, t in enumerate(docs):
        f.write(json.dumps({"id": i, "text": t}) + "\n")
PY
raw=$(stat -c %s "$work/corpus.jsonl")
zst=$(zstd -q -c "$work/corpus.jsonl" | wc -c)
docs=$(wc -l <"$work/corpus.jsonl")
SWARM_HOME=$work/home /usr/bin/time -v "$build/swarm" -q pipeline run "$root/pipelines/dedup.lua" \
    --set input="$work/corpus.jsonl" --set output="$work/out.jsonl.zst" --set report="$work/report.json" \
    2>"$work/time.txt"
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
echo "dedup.lua over $docs documents, $((raw >> 20)) MiB of JSONL ($((zst >> 20)) MiB zstd): $wall, peak RSS $((rss >> 10)) MiB"
