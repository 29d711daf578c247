#!/usr/bin/env bash
# fuzz_replay.sh — every fuzz harness of tests/fuzz/ (linked with tests/fuzz/replay.c, no libFuzzer) over
# its seed corpus and its saved crashers: a parser that crashes, reads out of bounds (SAN=1), leaks, or
# breaks a round-trip property on any of them fails here. NAME.seeds names more seed folders, relative to
# the repository (the shipped pipelines for the lua harness), read where they are rather than copied. tests/fuzz/README.md says how to add a crasher.
. "$(dirname "$0")/lib.sh"
FUZZ="$ROOT/tests/fuzz"

for src in "$FUZZ"/fuzz_*.c; do
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    bin="$ROOT/${SWARM_BUILD:-build}/fuzz/replay_$name"
    dirs=("$FUZZ/corpus/$name")
    [ -d "$FUZZ/crashers/$name" ] && dirs+=("$FUZZ/crashers/$name")
    [ -f "$FUZZ/$name.seeds" ] && while read -r d; do dirs+=("$ROOT/$d"); done <"$FUZZ/$name.seeds"
    n=$(find "${dirs[@]}" -type f | wc -l)
    ok "$name: $n inputs replay" "$bin" "${dirs[@]}"
    [ "$n" -gt 0 ]
    is "$name: a seed corpus" "$?" 0
done
done_testing
