#!/usr/bin/env bash
# remote.sh — swarm remote, push and pull: syncing catalogs (manifests only) between homes over git.
. "$(dirname "$0")/lib.sh"

export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME="$T"   # no user or system git config leaks in
sw() { "$SWARM" --home "$T/$1" "${@:2}"; } # sw HOME ARGS...: swarm on the home $T/HOME
# jget JSON EXPR: prints a python expression over the parsed JSON `j` (one value per line)
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print("\n".join(map(str,r)) if isinstance(r,list) else r)' "$1" "$2"; }
tags() { git --git-dir="$1" tag | sort | tr '\n' ' '; }

$GEN bytes 1 300000 "$T/a.bin"
$GEN bytes 2 5000 "$T/b.bin"
$GEN bytes 3 7000 "$T/c.bin"

# --- 6. remote usage --------------------------------------------------------------------------------------
fails "push with no remote configured" 1 sw a push
like "it says how to add one" "$err" "no remote"
fails "pull with no remote configured" 1 sw a pull
fails "remote add with missing URL is a usage error" 2 sw a remote add origin
git init -q --bare "$T/bare.git"
ok "remote add origin" sw a remote add origin "$T/bare.git"
fails "remote add of an existing name" 1 sw a remote add origin "$T/other.git"
like "it names the remote" "$err" "origin"
run sw a --json remote ls
is "remote ls --json lists name and url" "$(jget "$out" '[r["name"]+" "+r["url"] for r in j]')" "origin $T/bare.git"
fails "push to an unknown remote" 1 sw a push nosuch

# --- 1. push to a bare repository path, pull into a second home --------------------------------------------
ok "add x@v1 in home a" sw a add "$T/a.bin" "$T/b.bin" --name x -m first
is "it prints the version" "$out" "x@v1"
ok "add x@v2 in home a" sw a add "$T/c.bin" --name x -m second
ok "push to the bare repository" sw a push
is "the remote has both tags" "$(tags "$T/bare.git")" "x@v1 x@v2 "
is "...at the local commits" "$(git --git-dir="$T/bare.git" rev-parse x@v2)" "$(git --git-dir="$T/a/catalog" rev-parse x@v2)"
ok "push again (nothing new)" sw a push
ok "remote add in home b" sw b remote add origin "$T/bare.git"
ok "pull into home b" sw b pull
is "pull prints the new versions" "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "x@v1 x@v2 "
run sw b --json ls
is "ls in b lists x, latest v2, 2 versions" "$(jget "$out" '[r["name"]+" "+r["latest"]+" "+str(r["versions"]) for r in j]')" "x v2 2"
fields='[f["path"]+" "+f["sha256"]+" "+str(f["size"])+" "+f["mode"] for f in j["files"]]+[j["parent"],j["message"],j["time"]]'
for v in v1 v2; do
    run sw a --json show "x@$v"; want=$out
    run sw b --json show "x@$v"; got=$out
    is "show x@$v in b: same files, hashes, parent, message" "$(jget "$got" "$fields")" "$(jget "$want" "$fields")"
done
is "show in a reports x@v1 held" "$(jget "$want" 'j["state"]')" "held"
is "show in b reports x@v2 not held" "$(jget "$got" 'j["state"]')" "not held"
run sw b --json log x
is "log in b: newest first, v2's parent is v1" "$(jget "$out" '[r["version"]+"<"+str(r["parent"]) for r in j]' | tr '\n' ' ')" "v2<v1 v1<None "
is "the v2 commit's parent is the v1 commit" "$(git --git-dir="$T/b/catalog" rev-parse 'x@v2^')" "$(git --git-dir="$T/b/catalog" rev-parse x@v1)"
fails "checkout in b fails: the data is not held" 1 sw b checkout x@v1 "$T/co"
like "...and says so" "$err" "not held"
run sw b --json pull
is "pull again: nothing new, 2 unchanged" "$(jget "$out" '[len(j["added"]),len(j["conflicts"]),len(j["rejected"]),j["unchanged"]]' | tr '\n' ' ')" "0 0 0 2 "
is "...and exits 0" "$rc" 0

# --- 1b. a pull killed mid-write leaves a git ref lock: the next pull clears it, fsck reports it ------------
git init -q --bare "$T/lk.git"
ok "home j adds z@v1 and pushes it to lk.git" bash -c "'$SWARM' --home '$T/j' -q add '$T/b.bin' --name z && '$SWARM' --home '$T/j' -q remote add origin '$T/lk.git' && '$SWARM' --home '$T/j' -q push"
ok "home k: remote add origin lk.git" sw k remote add origin "$T/lk.git"
lockf="$T/k/catalog/refs/swarm/remotes/origin/tags/z@v1.lock"
mkdir -p "$(dirname "$lockf")"
echo 0123456789012345678901234567890123456789 >"$lockf"   # what kill -9 during pull's ref update leaves
run sw k fsck
is "fsck reports the stale ref lock" "$(printf '%s\n' "$out" | grep -c 'removed a stale git lock refs/swarm/remotes/origin/tags/z@v1.lock')" 1
ok "...and removed it" test ! -e "$lockf"
run sw k fsck
is "fsck again: no lock reported" "$(printf '%s\n' "$out" | grep -c 'stale git lock')" 0
echo 0123456789012345678901234567890123456789 >"$lockf"
ok "pull with a stale ref lock succeeds" sw k pull
is "...and gets z@v1" "$out" "z@v1"
ok "...and removed the lock" test ! -e "$lockf"

# --- 2. the same through git daemon on 127.0.0.1 ------------------------------------------------------------
mkdir -p "$T/srv" && git init -q --bare "$T/srv/repo.git"
port=$(free_port)
# git-daemon with its output in a file: a pipe it held open would keep a test runner waiting
spawn "$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv" >"$T/daemon.log" 2>&1
ok "git daemon listens on 127.0.0.1:$port" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
url="git://127.0.0.1:$port/repo.git"
ok "remote add daemon in a" sw a remote add daemon "$url"
ok "push to the daemon" sw a push daemon
is "the daemon's repository has both tags" "$(tags "$T/srv/repo.git")" "x@v1 x@v2 "
ok "remote add daemon in c" sw c remote add daemon "$url"
ok "pull from the daemon into c" sw c pull daemon
run sw c --json show x@v2
is "c's x@v2 has a's hashes" "$(jget "$out" "$fields")" "$(jget "$(sw a --json show x@v2)" "$fields")"
run sw c --json log x
is "c's log: v2 then v1" "$(jget "$out" '[r["version"] for r in j]' | tr '\n' ' ')" "v2 v1 "
ok "pull from the daemon again" sw c pull daemon
is "...adds nothing" "$out" ""

# --- 3. pull never rewrites a local version -----------------------------------------------------------------
ok "home d adds different content as x@v1" sw d add "$T/b.bin" --name x@v1
run sw d --json show x@v1; before=$out
d_v1=$(git --git-dir="$T/d/catalog" rev-parse x@v1)
ok "d: remote add origin" sw d remote add origin "$T/bare.git"
fails "d pulls a's x@v1: conflict" 1 sw d pull
like "stderr names the conflict on x@v1" "$err" "^swarm: error: conflict: x@v1 "
run sw d --json show x@v1
is "d's x@v1 is unchanged" "$out" "$before"
is "d's tag still points at its own commit" "$(git --git-dir="$T/d/catalog" rev-parse x@v1)" "$d_v1"
fails "d pulls again: still the conflict" 1 sw d pull
like "...and nothing new" "$out" "^$"

# --- 4. push conflict ---------------------------------------------------------------------------------------
remote_v1=$(git --git-dir="$T/bare.git" rev-parse x@v1)
ok "d adds y@v1 too" sw d add "$T/c.bin" --name y
fails "d pushes: the remote's x@v1 differs" 1 sw d push
like "the error names x@v1" "$err" "^swarm: error: .*x@v1"
is "the remote's x@v1 is unchanged" "$(git --git-dir="$T/bare.git" rev-parse x@v1)" "$remote_v1"
is "y@v1 was still pushed" "$(git --git-dir="$T/bare.git" rev-parse y@v1 2>&1)" "$(git --git-dir="$T/d/catalog" rev-parse y@v1)"
# a remote tag is never moved, not even forward: ff.git's x@v2 is a's x@v1 commit, an ancestor of a's x@v2
git init -q --bare "$T/ff.git" && git --git-dir="$T/a/catalog" push -q "$T/ff.git" 'x@v1:refs/tags/x@v2'
ff_v2=$(git --git-dir="$T/ff.git" rev-parse x@v2)
ok "remote add ff in a" sw a remote add ff "$T/ff.git"
fails "a pushes to ff: x@v2 refused" 1 sw a push ff
is "ff's x@v2 did not move" "$(git --git-dir="$T/ff.git" rev-parse x@v2)" "$ff_v2"
is "ff got x@v1" "$(tags "$T/ff.git")" "x@v1 x@v2 "

# --- 5. malicious manifests ---------------------------------------------------------------------------------
ok "home e adds base@v1 (one small file)" sw e add "$T/b.bin" --name base
M=$(git --git-dir="$T/e/catalog" show base@v1:manifest.json)
H=$(sha256sum "$T/b.bin" | cut -c1-64)
other=$(printf other | sha256sum | cut -c1-64)
like "the base manifest has one chunk holding the whole file" "$M" "\"chunks\":\[\[0,5000,\"$H\"\]\]"
E="$T/evil.git"
git init -q --bare "$E"
BT="$T/base.torrent"
git --git-dir="$T/e/catalog" show base@v1:bundle.torrent >"$BT"
mkver() { # TAG JSON [TORRENT]: commits JSON as manifest.json (and TORRENT as bundle.torrent), tags it TAG in $E
    local blob tree commit tblob
    blob=$(printf '%s\n' "$2" | git --git-dir="$E" hash-object -w --stdin)
    if [ -n "${3:-}" ]; then
        tblob=$(git --git-dir="$E" hash-object -w "$3")
        tree=$(printf '100644 blob %s\tbundle.torrent\n100644 blob %s\tmanifest.json\n' "$tblob" "$blob" | git --git-dir="$E" mktree)
    else
        tree=$(printf '100644 blob %s\tmanifest.json\n' "$blob" | git --git-dir="$E" mktree)
    fi
    commit=$(git --git-dir="$E" commit-tree "$tree" -m "$1")
    git --git-dir="$E" tag "$1" "$commit"
}
# the base manifest renamed, without its torrent (a manifest may name none)
named() { printf '%s' "$M" | sed "s/\"name\":\"base\"/\"name\":\"$1\"/; s/,\"torrents\":{[^}]*}//"; }
mkver good@v1 "$(named good)"
mkver dotdot@v1 "$(named dotdot | sed 's/"path":"b.bin"/"path":"..\/b.bin"/')"
mkver abs@v1 "$(named abs | sed 's/"path":"b.bin"/"path":"\/etc\/b.bin"/')"
mkver size@v1 "$(named size | sed 's/"size":5000/"size":5001/')"
mkver onechunk@v1 "$(named onechunk | sed "s/,\"$H\"\]/,\"$other\"]/")"
mkver badjson@v1 "$(named badjson | sed 's/}$//')"
mkver evil@v1 "$(named other)"
mkver torrent@v1 "$(printf '%s' "$M" | sed 's/"name":"base"/"name":"torrent"/')" "$BT"
mkver notorrent@v1 "$(printf '%s' "$M" | sed 's/"name":"base"/"name":"notorrent"/')"
mkver hex@v1 "$(named hex | sed "s/\"sha256\":\"$H\"/\"sha256\":\"$(printf %s "$H" | tr a-f A-F)\"/")"
mkver githook@v1 "$(named githook | sed 's/"path":"b.bin"/"path":".git\/hooks\/pre-commit"/; s/"mode":"0644"/"mode":"0755"/')"
mkver gitshort@v1 "$(named gitshort | sed 's/"path":"b.bin"/"path":"sub\/GIT~1\/hooks\/post-checkout"/')"
# two files, Config.json and config.json: one file on macOS or Windows
mkver twins@v1 "$(named twins | sed 's/\[{"path":"b.bin"\(.*\)}\]}$/[{"path":"Config.json"\1},{"path":"config.json"\1}]}/')"
deep=$(printf 'd/%.0s' $(seq 70))
mkver deep@v1 "$(named deep | sed "s|\"path\":\"b.bin\"|\"path\":\"${deep}b.bin\"|")"
refused="dotdot abs size onechunk badjson evil hex torrent notorrent githook gitshort twins deep"
ok "f: remote add evil" sw f remote add evil "$E"
fails "f pulls from evil: exit 1" 1 sw f pull evil
for t in $refused; do
    like "refused $t@v1 with a swarm: error: line" "$err" "^swarm: error: refused $t@v1 from evil: (manifest|the manifest inside|torrent|the manifest names)"
done
like "..dotdot: the reason is the '..' path" "$err" "dotdot@v1.*'\.\.'"
like "..abs: the reason is the absolute path" "$err" "abs@v1.*absolute"
like "..size: the reason is the chunk sum" "$err" "size@v1.*does not match its chunks"
like "..onechunk: the reason is the single chunk's hash" "$err" "onechunk@v1.*only chunk"
like "..badjson: the reason is bad JSON" "$err" "badjson@v1.*bad JSON"
like "..evil: the reason names the manifest's other@v1" "$err" "evil@v1.*other@v1"
like "..hex: the reason is the sha256" "$err" "hex@v1.*SHA-256"
like "..torrent: another bundle's torrent is refused" "$err" "torrent@v1.*its folder is 'base', not 'torrent'"
like "..notorrent: a manifest naming a missing torrent is refused" "$err" "notorrent@v1.*names a torrent the version lacks"
like "..githook: the reason is the .git component" "$err" "githook@v1.*'\.git/hooks/pre-commit' has a component git reads as \.git"
like "..gitshort: git~1 (the 8.3 name of .git) is refused" "$err" "gitshort@v1.*component git reads as \.git \('GIT~1'\)"
like "..twins: names one file on a case-insensitive system" "$err" "twins@v1.*'Config\.json' and 'config\.json' are one file"
like "..deep: a path of 71 components is refused" "$err" "deep@v1.*more than 64 components"
is "only good@v1 became a local tag" "$(tags "$T/f/catalog")" "good@v1 "
run sw f --json ls
is "ls in f lists only good" "$(jget "$out" '[r["name"] for r in j]')" "good"
fails "pull from evil again: still refused" 1 sw f pull evil
is "...and still only good@v1" "$(tags "$T/f/catalog")" "good@v1 "

# --- 5b. a huge manifest is parsed once, by pull: ls reads a summary, not the manifest ---------------------
# One file of 200,000 chunks of 256 KiB (48.8 GiB): an 18 MB manifest, over 100 MB of memory to parse.
E="$T/huge.git"
git init -q --bare "$E"
python3 - "$M" >"$T/huge.json" <<'PY'
import json, sys
m = json.loads(sys.argv[1]); m["name"] = "huge"; m.pop("torrents", None)
f = m["files"][0]; n = 200000; L = 262144
f["chunks"] = [[i * L, L, "%064x" % i] for i in range(n)]; f["size"] = n * L
print(json.dumps(m, separators=(",", ":")))
PY
mkver huge@v1 "$(cat "$T/huge.json")"
ok "g pulls huge@v1" bash -c "'$SWARM' --home '$T/g' -q remote add huge '$E' && '$SWARM' --home '$T/g' -q pull huge"
maxrss() { python3 -c 'import resource,subprocess,sys; subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' "$@"; }
run sw g --json ls
is "ls in g: huge, 1 file, 200000 x 256 KiB, not held" "$(jget "$out" '[r["name"]+" "+str(r["files"])+" "+str(r["bytes"])+" "+r["state"] for r in j]')" "huge 1 52428800000 not held"
small=$(maxrss "$SWARM" --home "$T/f" ls) big=$(maxrss "$SWARM" --home "$T/g" ls)
ok "ls of huge@v1 takes under 40 MB more memory than ls of a small catalog ($big MB vs $small MB)" test "$big" -lt $((small + 40))

done_testing
