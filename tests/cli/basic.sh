#!/usr/bin/env bash
# basic.sh — every command on its happy path: add, ls, log, show, diff, checkout, export, verify, fsck,
# gc; output contracts (--json, -q, progress only on a terminal) and where the home is.
. "$(dirname "$0")/lib.sh"

src=$T/src
mkdir -p "$src/tokenizer"
"$GEN" bytes 1 3M "$src/model.safetensors"
echo '{"dim": 64}' >"$src/config.json"
printf '#!/bin/sh\necho hi\n' >"$src/tokenizer/run.sh"
chmod +x "$src/tokenizer/run.sh"
: >"$src/tokenizer/empty"

# --- add -------------------------------------------------------------------------------------------
run "$SWARM" add "$src" --name tiny -m "first cut"
is "add prints NAME@VERSION" "$out" "tiny@v1"
like "add says what it stored" "$err" "added tiny@v1: 4 files"
# index.db's WAL stays beside it between commands (no checkpoint at close: README, "The store").
is "a store was made in SWARM_HOME" "$(ls "$SWARM_HOME" | sort | tr '\n' ' ')" \
    "catalog index.db index.db-shm index.db-wal locks objects quarantine tmp "
nobj=$(find "$SWARM_HOME/objects" -type f | wc -l)
is "one object per distinct content" "$nobj" "4"
run "$SWARM" -q add "$src" --name tiny --allow-same
is "-q prints only the result" "$out|$err" "tiny@v2|"
is "identical content stores no new object" "$(find "$SWARM_HOME/objects" -type f | wc -l)" "$nobj"
# add hashes the torrent's pieces while it stores the files; an archive's entries are stored first and
# their pieces read back from the store: the same tree must give the same torrent, byte for byte
tar -C "$src" -cf "$T/src.tar" .
ok "the same tree added from an archive, in another home" "$SWARM" --home "$T/h-tar" -q add --unpack "$T/src.tar" --name tiny
ok "tiny@v1's .torrent" "$SWARM" torrent tiny@v1 -o "$T/tiny.torrent"
ok "... and the archive's" "$SWARM" --home "$T/h-tar" torrent tiny@v1 -o "$T/tiny-tar.torrent"
ok "are byte-identical" cmp "$T/tiny.torrent" "$T/tiny-tar.torrent"
run "$SWARM" --json add "$src/config.json" --name tiny@release-1
like "--json add" "$out" '"version": "release-1"'
like "--json add counts new bytes" "$out" '"new_bytes": 0'

# --- ls, log, show ---------------------------------------------------------------------------------
run "$SWARM" ls
like "ls lists the bundle with its latest version (the largest vN, not the newer release-1)" "$out" "^tiny +v2 +3 "
run "$SWARM" --json ls
like "ls --json" "$out" '"versions": 3'
run "$SWARM" log tiny
is "log is newest first" "$(printf '%s\n' "$out" | grep -o '^tiny@[^ ]*' | tr '\n' ' ')" "tiny@release-1 tiny@v2 tiny@v1 "
like "log shows the message" "$out" "first cut"
run "$SWARM" show tiny@v1 --json
want=$(sha256sum "$src/model.safetensors" | cut -d' ' -f1)
like "show --json has the file's SHA-256" "$out" "\"sha256\": \"$want\""
like "show --json keeps the exec bit" "$(printf '%s\n' "$out" | grep -A3 run.sh)" '"mode": "0755"'
run "$SWARM" show tiny@v2
like "show names the parent" "$out" "parent: +v1"
like "show lists paths relative to the directory" "$out" " tokenizer/run.sh$"

# --- diff ------------------------------------------------------------------------------------------
mkdir -p "$T/src2"
{ head -c 1000 "$src/model.safetensors"; printf '%100s' x; tail -c +1001 "$src/model.safetensors"; } >"$T/src2/model.safetensors"
cp "$src/config.json" "$T/src2/"
echo new >"$T/src2/README"
"$SWARM" -q add "$T/src2" --name tiny@v3 >/dev/null
run "$SWARM" --json diff tiny@v1 tiny@v3
like "diff finds the added file" "$out" '"path": "README"'
like "diff finds the changed file" "$out" '"path": "model.safetensors"'
like "diff finds removed files" "$out" '"path": "tokenizer/run.sh"'
lack=$(printf '%s\n' "$out" | sed -n 's/.*"lacking_bytes": \([0-9]*\).*/\1/p')
total=$(printf '%s\n' "$out" | sed -n 's/.*"bytes": \([0-9]*\).*/\1/p' | tail -1)
ok "a 100-byte insertion costs under 10% of the file ($lack of $total bytes lacking)" test "$lack" -lt $((total / 10))
run "$SWARM" diff tiny@v1 tiny@v2
like "diff of identical versions" "$out" "0 added, 0 removed, 0 changed; a holder of tiny@v1 lacks 0 B"

# --- checkout --------------------------------------------------------------------------------------
ok "checkout" "$SWARM" checkout tiny@v1 "$T/out"
ok "checkout is byte-identical" diff -r "$src" "$T/out"
is "checkout keeps modes" "$(stat -c %a "$T/out/tokenizer/run.sh") $(stat -c %a "$T/out/config.json")" "755 644"
obj=$SWARM_HOME/objects/${want:0:2}/$want
is "checkout copies, never links" "$(stat -c %h "$obj")" "1"
echo scribble >>"$T/out/model.safetensors"
ok "editing a checkout leaves the store intact" "$SWARM" verify tiny@v1
fails "checkout never overwrites" 1 "$SWARM" checkout tiny@v1 "$T/out"

# --- export ----------------------------------------------------------------------------------------
ok "export" "$SWARM" export tiny@v1 "$T/a.tar.zst"
ok "export again" "$SWARM" export tiny@v1 "$T/b.tar.zst"
ok "exports are byte-identical" cmp "$T/a.tar.zst" "$T/b.tar.zst"
mkdir "$T/x" && tar --zstd -xf "$T/a.tar.zst" -C "$T/x"
ok "the export unpacks to the version's files" diff -r "$src" "$T/x"

# --- verify, fsck, gc ------------------------------------------------------------------------------
run "$SWARM" verify
is "verify checks every version" "$(printf '%s\n' "$out" | grep -c ': ok')" "4"
ok "fsck on a healthy store" "$SWARM" fsck
run "$SWARM" gc
like "gc keeps everything referenced" "$out" "removed 0 objects"

# --- homes and terminals ---------------------------------------------------------------------------
ok "--home wins over SWARM_HOME" "$SWARM" --home "$T/h2" add "$src/config.json" --name other
is "the other home has it" "$("$SWARM" --home "$T/h2" ls --json | grep -c '"other"')" "1"
is "SWARM_HOME does not" "$("$SWARM" ls --json | grep -c '"other"')" "0"
run env -u SWARM_HOME XDG_DATA_HOME="$T/xdg" "$SWARM" add "$src/config.json" --name x
ok "XDG_DATA_HOME is the fallback" test -d "$T/xdg/swarm/objects"
script -qec "$SWARM --home $T/h3 add $src --name tty" /dev/null >"$T/tty.out" 2>&1
like "a progress line is drawn on a terminal" "$(cat "$T/tty.out")" "adding \[[#.]+\]"
run "$SWARM" --home "$T/h4" add "$src" --name notty
is "no progress line when stderr is not a terminal" "$(printf '%s' "$err" | grep -c 'adding \[')" "0"
ok "--help" "$SWARM" --help
run "$SWARM" add --help
like "command --help prints its usage" "$out" "^usage: swarm add PATH"

done_testing
