#!/usr/bin/env bash
# dedup.sh BUILD — the dedup plugin's near op (MinHash + LSH, default params: 5-word shingles, 14 bands x 8
# rows) and exact op over 100,000 generated documents with planted near duplicates and copies, 2 threads:
# documents per second (best of 3), and the precision and recall of what near removes against what was
# planted (tests/tools/dedupbench.c defines the corpus and the scoring).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
echo
echo "dedup, ${BENCH_DEDUP_DOCS:-100000} generated documents in memory, 2 threads (tests/tools/dedupbench.c):"
"$build/tools/dedupbench" "$build/plugins/dedup.so" "${BENCH_DEDUP_DOCS:-100000}" 2 | sed 's/^/  /'
