#!/usr/bin/env bash
# plugin.sh — the plugin loader and `swarm plugin ls|info`: every broken test plugin is skipped with its
# reason and never stops the others loading; the search path's order; the example plugin's schema;
# only the entry symbol is exported; the ABI header compiles alone as C99 and as C++.
. "$(dirname "$0")/lib.sh"
unset SWARM_PLUGIN_PATH

B="$ROOT/${SWARM_BUILD:-build}"
TP="$B/tests/plugins"
EXAMPLE="$B/plugins/example.so"

# --- ls: the broken test plugins are skipped, one line each, and the good ones load -----------------
run "$SWARM" plugin ls --plugin-path "$TP"
is "ls exits 0 whatever it skips" "$rc" "0"
skip() { printf '%s\n' "$out" | grep -F "skipped: $TP/$1.so: "; }
like "wrong major: both versions named" "$(skip wrong_major)" \
    "built for plugin ABI 2\.0; this swarm loads ABI 1\.x \(up to 1\.3\)$"
like "newer minor: both versions named" "$(skip newer_minor)" \
    "built for plugin ABI 1\.4, newer than this swarm's ABI 1\.3$"
like "missing entry symbol" "$(skip no_entry)" "no swarm_plugin_entry symbol"
like "entry returning NULL" "$(skip null_entry)" "swarm_plugin_entry returned NULL$"
like "duplicate id: the second is skipped" "$(skip dup_b)" \
    "duplicate id org\.swarm\.test\.dup \(already loaded from $TP/dup_a\.so\)$"
like "duplicate id: the first loads" "$out" "^org\.swarm\.test\.dup 0\.0\.1  $TP/dup_a\.so$"
like "duplicate param name" "$(skip param_dup)" "op 'op': two params named 'n'$"
like "unknown param type" "$(skip param_type)" "op 'op': param 'n': unknown type 42$"
like "default that does not parse" "$(skip param_default)" \
    "op 'op': param 'factor': default: '1\.0x' is not a finite number$"
like "id that is not reverse-DNS" "$(skip bad_id)" "id 'Swarm Test' is not reverse-DNS"
like "op_version 0" "$(skip bad_op_version)" "op 'op': op_version is 0"
like "a records format param named like a swarm.write option" "$(skip rformat_option)" \
    "format 'fmt': param 'compress' has the name of an option of swarm\.read or swarm\.write$"
is "one line per broken plugin" "$(printf '%s\n' "$out" | grep -c '^skipped: ')" "11"
like "the example loads from the build tree" "$out" "^org\.swarm\.example 0\.1\.0  $B/plugins/example\.so$"
like "ops with versions and variants with scores" "$out" "^  scale v1  cpu:100$"
like "a variant that cannot run scores 0, with its reason" "$out" "^  every_type v3  hip:0 \(no ROCm device 0\) cpu:50$"
like "a probe answering out of range scores 0" "$out" "^  odd_probe v1  cpu:0 \(probe returned 150, not a score from 0 to 100\)$"

run "$SWARM" --json plugin ls --plugin-path "$TP"
like "ls --json gives variants" "$out" '"device": "hip",'
ok "ls --json is JSON with plugins and skipped" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert {p["id"] for p in d["plugins"]} >= {"org.swarm.example", "org.swarm.test.dup", "org.swarm.test.types", "org.swarm.pipetest", "org.swarm.convert", "org.swarm.safetensors"}
assert len(d["skipped"]) == 11 and all(s["path"] and s["reason"] for s in d["skipped"])' "$out"

mkdir -p "$T/junk"
echo "not a shared object" >"$T/junk/junk.so"
echo "ignored: not .so" >"$T/junk/readme.txt"
run "$SWARM" plugin ls --plugin-path "$T/junk" --plugin-path "$T/missing"
is "a file dlopen refuses is skipped, still exit 0" "$rc" "0"
like "... with dlopen's reason" "$out" "^skipped: $T/junk/junk\.so: .+"
is "only *.so files are tried" "$(printf '%s\n' "$out" | grep -c readme)" "0"
like "a --plugin-path that does not exist is reported" "$out" \
    "^skipped: $T/missing: cannot read the directory: No such file"
run "$SWARM" plugin ls --plugin-path "$TP" --plugin-path "$TP/" --plugin-path "$TP/../plugins"
is "a directory is searched once however it is named" "$(printf '%s\n' "$out" | grep -c '^skipped: ')" "11"

# --- the search path: --plugin-path, then $SWARM_PLUGIN_PATH, then the build tree ------------------
mkdir -p "$T/env" "$T/cli"
cp "$EXAMPLE" "$T/env/"
cp "$EXAMPLE" "$T/cli/"
run env SWARM_PLUGIN_PATH="$T/nowhere::$T/env" "$SWARM" plugin ls
like "SWARM_PLUGIN_PATH loads the example" "$out" "^org\.swarm\.example 0\.1\.0  $T/env/example\.so$"
like "... before the build tree's copy, then a duplicate" "$out" \
    "^skipped: $B/plugins/example\.so: duplicate id org\.swarm\.example"
like "SWARM_PLUGIN_PATH entries are colon-separated; a missing one is reported" "$out" \
    "^skipped: $T/nowhere: cannot read"
run env SWARM_PLUGIN_PATH="$T/env" "$SWARM" plugin ls --plugin-path "$T/cli"
like "--plugin-path comes before SWARM_PLUGIN_PATH" "$out" "^org\.swarm\.example 0\.1\.0  $T/cli/example\.so$"
run "$SWARM" plugin
like "plain 'plugin' lists" "$out" "^org\.swarm\.example "

# --- info --------------------------------------------------------------------------------------------
run "$SWARM" plugin info org.swarm.example
is "info exits 0" "$rc" "0"
like "info shows the op with its version" "$out" "^scale v1, deterministic$"
like "info shows the op's doc" "$out" "^  Multiplies every element of a float32 tensor by factor\.$"
like "info shows factor's type and default" "$out" "^    factor float = 1\.0$"
like "info shows factor's doc" "$out" "^        what every element is multiplied by$"
like "info shows the input" "$out" "^    x  tensor  a float32 tensor of any shape$"
like "info shows the output" "$out" "^    y  tensor  x \* factor, same shape$"
like "info shows the variants" "$out" "^    cpu  numerics ref-f32  score 100$"
run "$SWARM" --json plugin info org.swarm.example
ok "info --json gives the param schema" python3 -c '
import json, sys
p = json.loads(sys.argv[1])["ops"][0]["params"]
assert p == [{"name": "factor", "type": "float", "default": "1.0", "doc": "what every element is multiplied by"}], p' "$out"
run "$SWARM" plugin info org.swarm.test.types --plugin-path "$TP"
like "info: enum choices and default" "$out" "^    mode  enum\(fast\|exact\) = exact$"
like "info: a required param" "$out" "^    label string \(required\)$"
like "info: a multi-line doc stays indented" "$out" "^        over two lines$"
like "info: records ports" "$out" "^    text  records  lines$"
like "info: why a variant cannot run" "$out" \
    "^    hip  numerics ref  score 0 \(no ROCm device 0\)$"
like "info: serial op" "$out" "^every_type v3, serial$"
like "info: build id" "$out" "^build: test-build$"
fails "info of an unknown id" 1 "$SWARM" plugin info org.swarm.nope
like "... names the id" "$err" "no plugin 'org\.swarm\.nope'"
fails "info of a skipped plugin" 1 "$SWARM" plugin info org.swarm.test.wrong-major --plugin-path "$TP"
fails "info without an id" 2 "$SWARM" plugin info
fails "an unknown subcommand" 2 "$SWARM" plugin frob
fails "--plugin-path needs a value" 2 "$SWARM" plugin ls --plugin-path
like "... and says so" "$err" "option '--plugin-path' needs a value"

# --- host functions during probes: log lines follow -v, scratch memory is freed (SAN=1 checks) ------
run "$SWARM" plugin ls --plugin-path "$TP"
is "an info log line is hidden by default" "$(printf '%s\n' "$err" | grep -c 'cpu probe ran')" "0"
run "$SWARM" -v plugin ls --plugin-path "$TP"
like "... and shown with -v" "$err" "^swarm: plugin org\.swarm\.test\.types: cpu probe ran$"

# --- exports and the header --------------------------------------------------------------------------
is "example.so exports only swarm_plugin_entry" "$(nm -D --defined-only "$EXAMPLE" | awk '{print $2, $3}')" \
    "T swarm_plugin_entry"
mkdir -p "$T/hand"
ok "the hand build command in PIPELINES.md works" ${CC:-cc} -shared -fPIC -fvisibility=hidden -I"$ROOT/plugins" \
    "$ROOT/plugins/example/example.c" -o "$T/hand/example.so"
is "... and exports only the entry too" "$(nm -D --defined-only "$T/hand/example.so" | awk '{print $2, $3}')" \
    "T swarm_plugin_entry"
run "$SWARM" plugin ls --plugin-path "$T/hand"
like "... and loads" "$out" "^org\.swarm\.example 0\.1\.0  $T/hand/example\.so$"
is "the header includes only stddef.h and stdint.h" "$(grep '^#include' "$ROOT/plugins/swarm_plugin.h" | tr '\n' ' ')" \
    "#include <stddef.h> #include <stdint.h> "
echo '#include "swarm_plugin.h"' >"$T/header.c"
ok "the header compiles alone as C99 -pedantic" ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -I"$ROOT/plugins" \
    -c "$T/header.c" -o "$T/header.o"
ok "the header compiles alone as C++" ${CXX:-c++} -x c++ -fsyntax-only -pedantic -Wall -Wextra -Werror \
    -I"$ROOT/plugins" "$T/header.c"

# --- make install: the header and swarm-plugin.pc are all an author needs ------------------------------
run make -s -C "$ROOT" install DESTDIR="$T/dest" BUILD="${SWARM_BUILD:-build}"
is "make install succeeds" "$rc" "0"
D=$(ls -d "$T"/dest/*/lib/pkgconfig "$T"/dest/*/*/lib/pkgconfig 2>/dev/null | head -n 1)
ok "swarm-plugin.pc is installed" test -f "$D/swarm-plugin.pc"
mkdir -p "$T/author"
cp "$ROOT/plugins/example/example.c" "$T/author/myop.c"
sed -i 's/org\.swarm\.example/org.example.myop/' "$T/author/myop.c"
flags=$(PKG_CONFIG_PATH="$D" pkg-config --define-prefix --cflags swarm-plugin)
like "pkg-config gives the installed header's folder" "$flags" "^-I$T/dest/.*/include/swarm -fPIC -fvisibility=hidden *$"
ok "cc -shared \$(pkg-config --cflags swarm-plugin) builds a plugin" ${CC:-cc} -shared $flags "$T/author/myop.c" \
    -o "$T/author/myop.so"
run "$SWARM" plugin ls --plugin-path "$T/author"
like "... which loads" "$out" "^org\.example\.myop 0\.1\.0  $T/author/myop\.so$"
ok "the plugins are installed" test -f "$(dirname "$D")/swarm/plugins/convert.so"
is "swarm-plugin.pc's version is the plugin ABI's" "$(PKG_CONFIG_PATH="$D" pkg-config --modversion swarm-plugin)" \
    "$(sed -n 's/^#define SWARM_PLUGIN_ABI_MAJOR //p' "$ROOT/plugins/swarm_plugin.h").$(sed -n 's/^#define SWARM_PLUGIN_ABI_MINOR //p' "$ROOT/plugins/swarm_plugin.h")"

# --- an installed swarm finds its own plugins and pipelines, never the build tree's ----------------------
P=$(dirname "$(dirname "$D")")
run "$P/bin/swarm" plugin ls
like "the installed swarm loads the installed plugins" "$out" "^org\.swarm\.convert 0\.1\.0  $P/lib/swarm/plugins/convert\.so"
case "$out" in *"$ROOT/"*) res=1 ;; *) res=0 ;; esac
is "... and none of the build tree's" "$res" 0
ok "the shipped pipelines are installed" test -f "$P/share/swarm/pipelines/convert.lua"
ok "... and GPT-2's vocabulary" test -f "$P/share/swarm/gpt2/vocab.bpe"
cd "$T" && python3 "$ROOT/tests/tools/mkst.py" write in.safetensors w:F32:2:1,2
ok "the installed swarm runs a shipped pipeline by its name" "$P/bin/swarm" pipeline run convert \
    --set input=in.safetensors --set output=out.safetensors
is "... and writes its output" "$(python3 "$ROOT/tests/tools/mkst.py" dump out.safetensors)" "w BF16 2 803f0040"
cp "$P/bin/swarm" "$T/lonely-swarm"
run "$T/lonely-swarm" plugin ls
is "a copy of swarm away from any plugins finds none (no compiled-in path)" "$out" ""
case "$(strings "$B/swarm")" in *"$ROOT"*) res=1 ;; *) res=0 ;; esac
is "the program holds no path of the build machine" "$res" 0

done_testing
