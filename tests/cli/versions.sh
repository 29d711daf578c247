#!/usr/bin/env bash
# versions.sh — managing versions (issue 17, items 6, 7 and 11): the latest version (NAME, NAME@latest) in
# every command that takes one, ls's held state, add of unchanged content, rm and rename, and two peers
# that each made the same vN (push and pull through a bare git repository on disk, two homes).
. "$(dirname "$0")/lib.sh"

export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME="$T"   # no user or system git config leaks in
B="$ROOT/${SWARM_BUILD:-build}"
MKST="python3 $ROOT/tests/tools/mkst.py"
sw() { "$SWARM" --home "$T/$1" "${@:2}"; } # sw HOME ARGS...: swarm on the home $T/HOME
# jget JSON EXPR: prints a python expression over the parsed JSON `j` (one value per line)
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print("\n".join(map(str,r)) if isinstance(r,list) else r)' "$1" "$2"; }
versions() { sw "$1" --json log "$2" | python3 -c 'import json,sys; print(" ".join(r["version"] for r in json.load(sys.stdin)))'; }
cd "$T" || exit 1

$GEN bytes 1 300000 f1.bin
$GEN bytes 2 5000 f2.bin
$GEN bytes 3 7000 f3.bin
$GEN bytes 4 9000 f4.bin

# --- 11. latest: the largest plain vN, accepted as NAME and NAME@latest ----------------------------------
ok "add x@v1" sw a add f1.bin --name x
ok "add x@v2" sw a add f1.bin f2.bin --name x
ok "a derived version x@v2-bf16, added after v2" sw a add f3.bin --name x@v2-bf16
run sw a --json ls
is "ls: latest is v2, not the newer derived v2-bf16" "$(jget "$out" '[r["latest"]+" "+str(r["versions"]) for r in j]')" "v2 3"
for ref in x x@latest; do
    run sw a --json show "$ref"
    is "show $ref is x@v2" "$(jget "$out" 'j["version"]')" "v2"
done
run sw a magnet x@v2; want=$out
run sw a magnet x
is "magnet x is x@v2's" "$out" "$want"
ok "torrent x@latest" sw a torrent x@latest -o latest.torrent
ok "... is x@v2's torrent" cmp latest.torrent <(sw a torrent x@v2)
ok "checkout x" sw a checkout x co
ok "... writes x@v2's files" cmp co/f2.bin f2.bin
ok "export x@latest" sw a export x@latest x.tar.zst
ok "verify x" sw a verify x
run sw a --json diff x@v1 x
is "diff x@v1 x: f2.bin added" "$(jget "$out" '[f["path"] for f in j["added"]]')" "f2.bin"
ok "explicit names only: y@rc1" sw a add f3.bin --name y@rc1
ok "... then y@rc2" sw a add f4.bin --name y@rc2
run sw a --json show y
is "... the latest is the newest, rc2" "$(jget "$out" 'j["version"]')" "rc2"
fails "add --name x@latest: 'latest' is reserved" 1 sw a add f4.bin --name x@latest
like "... and says why" "$err" "'latest' names a bundle's latest version"
fails "show of an unknown bundle" 1 sw a show nosuch
like "... says so" "$err" "unknown bundle 'nosuch'"
cat >in.lua <<'LUA'
local swarm = require "swarm"
local t = swarm.read("safetensors", swarm.input("m@latest"))
swarm.write("safetensors", t, { publish = "m@out" })
LUA
$MKST write m1.safetensors w:F32:2:1,2
$MKST write m2.safetensors w:F32:2:3,4
ok "m@v1 and m@v2 (safetensors)" bash -c "'$SWARM' --home '$T/a' -q add m1.safetensors --name m && '$SWARM' --home '$T/a' -q add m2.safetensors --name m"
ok "a pipeline reads swarm.input(\"m@latest\")" sw a pipeline run in.lua --plugin-path "$B/plugins"
run sw a --json show m@out
is "... its provenance names the version it resolved to" "$(jget "$out" 'j["provenance"]["bundles"]')" "m@v2"

# --- 7. unchanged content makes no version unless asked ---------------------------------------------------
run sw a add f2.bin f1.bin --name x
is "re-adding x@v2's files exits 0" "$rc" 0
is "... prints the version that holds them" "$out" "x@v2"
like "... and says nothing changed" "$err" "^nothing changed: x@v2 holds the same files"
is "... and makes no version" "$(versions a x)" "v2-bf16 v2 v1"
run sw a --json add f1.bin f2.bin --name x
is "--json says so too" "$(jget "$out" '[j["version"], j["unchanged"]]' | tr '\n' ' ')" "v2 True "
chmod +x f2.bin
run sw a --json add f1.bin f2.bin --name x -q
is "a changed mode is a change" "$(jget "$out" '[j["version"], j["unchanged"]]' | tr '\n' ' ')" "v3 False "
chmod -x f2.bin
ok "--allow-same makes a version of the same files" sw a add f1.bin f2.bin --name x --allow-same
is "... x@v4" "$out" "x@v4"

# --- 7. rm ------------------------------------------------------------------------------------------------
fails "rm x@v1: x@v2 is built on it" 1 sw a rm x@v1
like "... names the child" "$err" "x@v1 is the parent of x@v2: remove that first"
fails "rm of a bare NAME is a usage error" 2 sw a rm x
fails "rm of an unknown version" 1 sw a rm x@v9
ok "rm x@v4 (not pushed)" sw a rm x@v4
is "... it is gone from log" "$(versions a x)" "v3 v2-bf16 v2 v1"
fails "... and from show" 1 sw a show x@v4
ok "rm x@latest removes x@v3" sw a rm x@latest
like "... and says which" "$err" "removed x@v3"
$GEN bytes 9 400000 only.bin
ok "z@v1 holds bytes no other version holds" sw a add only.bin --name z
ok "rm z@v1" sw a rm z@v1
run sw a --json gc --prune now  # the object is seconds old: past no grace period but "now"
is "gc then frees its bytes" "$(jget "$out" 'j["bytes_freed"]')" 400000

# --- 11. ls's state: the latest's, and how many versions are held ----------------------------------------
git init -q --bare cat.git
ok "a: remote add origin, push" bash -c "'$SWARM' --home '$T/a' -q remote add origin '$T/cat.git' && '$SWARM' --home '$T/a' -q push"
ok "b: remote add origin" sw b remote add origin "$T/cat.git"
ok "b: pull" sw b pull
ok "b holds f1.bin through another bundle" sw b add f1.bin --name other
run sw b ls
like "ls: x's latest (v1 + f2.bin) is partly held, x@v1 whole" "$out" "^x +v2 +3 .* partly held \(1 of 3 versions\)$"
like "... a bundle of one version says only its state" "$out" "^other +v1 +1 .* held$"
run sw b --json ls
is "ls --json: state and held_versions" "$(jget "$out" '[r["state"]+" "+str(r["held_versions"]) for r in j if r["name"]=="x"]')" "partly held 1"

# --- 7. rm of a pushed version ----------------------------------------------------------------------------
fails "rm x@v2-bf16 in a: pushed" 1 sw a rm x@v2-bf16
like "... says where and what --force means" "$err" "x@v2-bf16 was pushed to origin .*--force removes it here only: the remote keeps it, and a later pull brings it back"
ok "rm --force x@v2-bf16" sw a rm --force x@v2-bf16
like "... says origin still holds it" "$err" "origin still holds it"
ok "pull brings it back" sw a pull
is "... and names it" "$out" "x@v2-bf16"
ok "removed on the remote too, with git" git --git-dir="$T/a/catalog" push -q origin :refs/tags/x@v2-bf16
ok "pull then forgets that origin held it" sw a pull
ok "... and rm x@v2-bf16 needs no --force" sw a rm x@v2-bf16
ok "pull does not bring it back" sw a pull
fails "... it is gone" 1 sw a show x@v2-bf16

# --- 6. two peers each made f@v2: the way out, and the way around ---------------------------------------
ok "a: f@v1, pushed" bash -c "'$SWARM' --home '$T/a' -q add f1.bin --name f && '$SWARM' --home '$T/a' -q push"
ok "b: pull f@v1" sw b pull
ok "a: f@v2, pushed" bash -c "'$SWARM' --home '$T/a' -q add f2.bin --name f && '$SWARM' --home '$T/a' -q push"
ok "b, before pulling, makes its own f@v2" sw b add f3.bin --name f
is "... (the number is taken on the remote, but b has not seen it)" "$out" "f@v2"
fails "b: push is refused" 1 sw b push
like "... and says how to resolve it" "$err" "pull, rename yours \(swarm rename NAME@V NAME@V-local\), then push again"
fails "b: pull reports the conflict" 1 sw b pull
like "... naming the command that resolves it" "$err" \
    "conflict: f@v2 differs between here and origin; kept the local version\. To take origin's, rename yours and pull again: swarm rename f@v2 f@v2-local && swarm pull origin"
fails "rename to another bundle is a usage error" 2 sw b rename f@v2 g@v2
fails "rename to a version that exists" 1 sw b rename f@v2 f@v1
fails "rename of a version a remote holds" 1 sw b rename y@rc2 y@rc2-local
like "... says why" "$err" "y@rc2 was pushed to origin .*it cannot be renamed"
fails "rename of a parent" 1 sw b rename f@v1 f@v1-local
like "... names the child" "$err" "f@v1 is the parent of f@v2: only a version nothing is built on can be renamed"
ok "b: rename f@v2 f@v2-local" sw b rename f@v2 f@v2-local
is "... prints the new name" "$out" "f@v2-local"
run sw b --json show f@v2-local
is "... same files, version and parent" "$(jget "$out" '[j["version"], j["parent"], [f["path"] for f in j["files"]]]' | tr '\n' ' ')" "v2-local v1 ['f3.bin'] "
fails "... the old name is gone" 1 sw b show f@v2
ok "b: pull again" sw b pull
is "... brings origin's f@v2" "$out" "f@v2"
ok "b: push f@v2-local" sw b push
is "the remote holds both" "$(git --git-dir=cat.git tag -l 'f@*' | sort | tr '\n' ' ')" "f@v1 f@v2 f@v2-local "
ok "a: f@v3, pushed" bash -c "'$SWARM' --home '$T/a' -q add f3.bin f4.bin --name f && '$SWARM' --home '$T/a' -q push"
ok "b: pull f@v3" sw b pull
ok "b: rm --force f@v3 (origin keeps it)" sw b rm --force f@v3
ok "b: add new content" sw b add f4.bin --name f
is "... numbers past what origin holds: f@v4, not f@v3" "$out" "f@v4"
fails "b: add --name f@v3 (origin holds it)" 1 sw b add f1.bin --name f@v3
like "... says so" "$err" "origin holds f@v3 already"

done_testing
