#!/bin/sh
# run.sh BUILD SECONDS MAX_LEN NAME... — make fuzz: runs each libFuzzer harness BUILD/fuzz/fuzz_NAME for
# SECONDS on a scratch corpus (new inputs go there, never into tests/fuzz/corpus/), seeded from
# tests/fuzz/corpus/NAME, tests/fuzz/crashers/NAME and the folders tests/fuzz/NAME.seeds names,
# with tests/fuzz/NAME.dict when there is one and
# the flags of tests/fuzz/NAME.options after the defaults. Prints each harness's executions and coverage
# (cov, ft of libFuzzer's last stats line); exits 1 when any harness found a crash, leak, timeout or
# out-of-memory (its input is kept in the scratch folder, named on the output, to add as a crasher).
BUILD=$1 SECONDS_EACH=$2 MAX_LEN=$3
shift 3
FUZZ=tests/fuzz
OUT=$(mktemp -d "${TMPDIR:-/tmp}/swarm-fuzz.XXXXXX")
failed=""
for name in "$@"; do
    mkdir -p "$OUT/$name/corpus"
    set -- -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$OUT/$name/" -print_final_stats=1
    [ -f "$FUZZ/$name.dict" ] && set -- "$@" -dict="$FUZZ/$name.dict"
    [ -f "$FUZZ/$name.options" ] && set -- "$@" $(cat "$FUZZ/$name.options")
    set -- "$@" "$OUT/$name/corpus" "$FUZZ/corpus/$name"
    [ -d "$FUZZ/crashers/$name" ] && set -- "$@" "$FUZZ/crashers/$name"
    if [ -f "$FUZZ/$name.seeds" ]; then
        while read -r d; do set -- "$@" "$d"; done <"$FUZZ/$name.seeds"
    fi
    "$BUILD/fuzz/fuzz_$name" "$@" >"$OUT/$name/log" 2>&1
    rc=$?
    stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$OUT/$name/log" | tail -1)
    execs=$(grep -E '^stat::number_of_executed_units' "$OUT/$name/log" | awk '{print $2}')
    cov=$(echo "$stats" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$stats" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    if [ "$rc" = 0 ]; then
        printf '%-16s ok      %10s execs  cov %6s  ft %6s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}"
    else
        failed="$failed $name"
        printf '%-16s FAILED  %10s execs  cov %6s  ft %6s  (exit %s; log and input in %s/%s)\n' "$name" \
            "${execs:-?}" "${cov:-?}" "${ft:-?}" "$rc" "$OUT" "$name"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*property failed|artifact_prefix|Test unit written)' "$OUT/$name/log" | head -5
    fi
done
if [ -n "$failed" ]; then
    echo "make fuzz: failed:$failed"
    exit 1
fi
rm -rf "$OUT"
