#!/usr/bin/env bash
# layers.sh — no source file includes a header of a layer above its own (tests/tools/layers.py holds the
# table, core/README.md explains it), and the checker itself catches a violation.
. "$(dirname "$0")/lib.sh"

run python3 "$ROOT/tests/tools/layers.py"
is "every include stays within its layer or below" "$rc:$out" "0:"

# The checker can fail: a copy of the tree where the store includes the pipeline engine.
mkdir -p "$T/tree/tests/tools"
cp -r "$ROOT/core" "$ROOT/cache" "$ROOT/lua" "$ROOT/plugins" "$ROOT/hip" "$T/tree/"
cp "$ROOT/tests/tools/layers.py" "$T/tree/tests/tools/"
printf '#include "pipeline/runner.h"\n' >>"$T/tree/cache/store.c"
run python3 "$T/tree/tests/tools/layers.py"
is "a store file including the runner is refused" "$rc" 1
like "the refusal names the file and the header" "$out" "cache/store.c includes core/pipeline/runner.h"

run python3 "$ROOT/tests/tools/layers.py" --graph
like "the folder graph lists the CLI's use of the pipeline engine" "$out" "core/cli -> core/pipeline"

done_testing
