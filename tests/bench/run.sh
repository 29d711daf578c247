#!/usr/bin/env bash
# run.sh BUILD — make bench: swarm against named peers, measured in the same run on the same file.
#
# 1 GiB float32 checkpoint (fixed seed). Timed: sha256 with openssl (the floor: every byte hashed once),
# `swarm add`, `git annex add`, Git LFS (track + add + commit), cp + sync, `swarm checkout` vs cp.
# Each figure is the best of several runs. Before timing, 3 GiB is written and deleted once: on a fresh
# virtual machine the first touch of each page of memory is several times slower than later ones, and
# that would otherwise be charged to whichever tool runs first. Then p2p.sh: the data plane (seed/get).
# Each tool adds into a repository or home it has already (untimed: git init and git annex init, git lfs
# install and track; an empty swarm home made by `swarm ls`), after a sync.
# BENCH_ONLY=add stops after the add and checkout figures. The machine's load average is printed with
# them, and swarm add's CPU time (user + system), which moves less than wall time on a busy machine.
set -euo pipefail
build=${1:-build}
swarm=$(cd "$build" && pwd)/swarm
here=$(cd "$(dirname "$0")" && pwd)
gen=$(cd "$build" && pwd)/tools/gen
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/swarm-bench}
size=${BENCH_SIZE:-1G}
rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
export SOURCE_DATE_EPOCH=1700000000 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost

# best N CMD... — best wall time in seconds over N runs; $prep runs (untimed) before each.
prep=:
best() {
    local n=$1 b="" t s e
    shift
    for _ in $(seq "$n"); do
        eval "$prep"
        sync
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}
ratio() { echo "scale=2; $1 / $2" | bc; }
rss_mib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'; }
cpu_s() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f", $1 + $2}'; }

echo "warming memory (3 GiB written and removed) ..."
dd if=/dev/zero of="$dir/warm" bs=4M count=768 status=none && rm "$dir/warm"
echo "generating a $size float32 checkpoint ..."
"$gen" checkpoint 7 "$size" "$dir/model.safetensors"
cat "$dir/model.safetensors" >/dev/null
bytes=$(stat -c %s "$dir/model.safetensors")

t_sha=$(best 3 openssl dgst -sha256 "$dir/model.safetensors")
# a new empty home, as git annex and Git LFS get a new repository: made, not timed
home() { rm -rf "$dir/home" && "$swarm" --home "$dir/home" -q ls >/dev/null && sync; }
prep='home'
t_add=$(best 3 "$swarm" --home "$dir/home" -q add "$dir/model.safetensors" --name model)
rm -rf "$dir/home"
rss_add=$(rss_mib "$swarm" --home "$dir/home" -q add "$dir/model.safetensors" --name model)
rm -rf "$dir/home"
sync
cpu_add=$(cpu_s "$swarm" --home "$dir/home" -q add "$dir/model.safetensors" --name model)
prep='rm -f "$dir/copy"'
t_cp=$(best 3 sh -c "cp '$dir/model.safetensors' '$dir/copy' && sync")
prep='rm -rf "$dir/co"'
t_co=$(best 3 "$swarm" --home "$dir/home" -q checkout model@v1 "$dir/co")
prep='rm -f "$dir/copy"'
t_cp_nosync=$(best 3 cp "$dir/model.safetensors" "$dir/copy")
rm -rf "$dir/co" "$dir/copy"

annex() {
    rm -rf "$dir/annex" && mkdir "$dir/annex" && cd "$dir/annex" && git init -q && git annex init -q bench &&
        cp "$dir/model.safetensors" . && sync
}
lfs() {
    rm -rf "$dir/lfs" && mkdir "$dir/lfs" && cd "$dir/lfs" && git init -q && git lfs install --local >/dev/null &&
        git lfs track '*.safetensors' >/dev/null && git add .gitattributes && cp "$dir/model.safetensors" . && sync
}
t_annex=n/a t_lfs=n/a
if command -v git-annex >/dev/null; then
    prep='annex'
    t_annex=$(best 2 git -C "$dir/annex" annex add model.safetensors)
    cd "$dir" && rm -rf "$dir/annex"
fi
if command -v git-lfs >/dev/null; then
    prep='lfs'
    t_lfs=$(best 2 sh -c "cd '$dir/lfs' && git add model.safetensors && git commit -qm add")
    cd "$dir" && rm -rf "$dir/lfs"
fi

mb() { echo "scale=0; $bytes / $1 / 1000000" | bc; }
echo
echo "swarm add of a $(numfmt --to=iec "$bytes") checkpoint (best of several runs; lower is better;" \
    "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  %-34s %7ss  %5s MB/s\n' "openssl dgst -sha256 (floor)" "$t_sha" "$(mb "$t_sha")"
printf '  %-34s %7ss  %5s MB/s  %sx openssl  peak RSS %s MiB  CPU %s s\n' "swarm add" "$t_add" "$(mb "$t_add")" \
    "$(ratio "$t_add" "$t_sha")" "$rss_add" "$cpu_add"
printf '  %-34s %7ss  %5s MB/s  swarm add is %sx faster\n' "git annex add" "$t_annex" \
    "$( [ "$t_annex" = n/a ] || mb "$t_annex")" "$( [ "$t_annex" = n/a ] || ratio "$t_annex" "$t_add")"
printf '  %-34s %7ss  %5s MB/s  swarm add is %sx faster\n' "git lfs (add + commit)" "$t_lfs" \
    "$( [ "$t_lfs" = n/a ] || mb "$t_lfs")" "$( [ "$t_lfs" = n/a ] || ratio "$t_lfs" "$t_add")"
printf '  %-34s %7ss  %5s MB/s  swarm add is %sx its time\n' "cp + sync (write floor)" "$t_cp" "$(mb "$t_cp")" \
    "$(ratio "$t_add" "$t_cp")"
echo "swarm checkout"
printf '  %-34s %7ss  %5s MB/s\n' "cp" "$t_cp_nosync" "$(mb "$t_cp_nosync")"
printf '  %-34s %7ss  %5s MB/s  %sx cp\n' "swarm checkout" "$t_co" "$(mb "$t_co")" "$(ratio "$t_co" "$t_cp_nosync")"
[ "${BENCH_ONLY:-}" != add ] || exit 0

# the data plane (seed/get against aria2c, delta fetches, 8 peers at once): absolute paths, the
# annex and lfs steps above leave the shell in $dir
# A part that fails (a peer that stalls in the 8-peer round, say) does not stop the parts after it: the
# bench prints every figure it can, then names what failed and exits 1.
failed=""
part() { bash "$here/$1" "$(dirname "$swarm")" || failed="$failed $1"; }
echo
part p2p.sh
part pipeline.sh
echo
part tokenize.sh
part quant.sh
part dedup.sh
part hf.sh
part work.sh
[ -z "$failed" ] || { echo "bench: these parts failed (their errors are above):$failed" >&2; exit 1; }
