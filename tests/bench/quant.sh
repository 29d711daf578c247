#!/usr/bin/env bash
# quant.sh BUILD — Q8_0 and Q4_0 quantization of 1 GiB of f32 in memory with the quant plugin's CPU
# variant, 2 threads, against memcpy of the same bytes with 2 threads in the same run (the target:
# Q8_0 at least 25% of memcpy). Both best of 3.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
echo
echo "quantization, 1 GiB of f32 in memory, 2 threads (tests/tools/quantbench.c):"
for t in q8_0 q4_0; do
    "$build/tools/quantbench" "$build/plugins/quant.so" "${BENCH_QUANT_MIB:-1024}" 2 "$t" | sed 's/^/  /'
done
