#!/usr/bin/env bash
# bad_input.sh — swarm refuses bad input cleanly: missing and special files, bad names, usage errors,
# unknown versions, clashing bundle paths, occupied checkout targets, damaged objects and a full disk.
# Every refusal must leave the store as it was: no version committed, no object stored.
. "$(dirname "$0")/lib.sh"
umask 022

nobjects() { find "$SWARM_HOME/objects" -type f 2>/dev/null | wc -l; }
object_of() { # FILE: the path its object has in the store
    local h
    h=$(sha256sum "$1" | cut -c1-64)
    echo "$SWARM_HOME/objects/${h:0:2}/$h"
}

mkdir -p "$T/in" "$T/work"
cd "$T/work" || exit 1
echo "a good file" >"$T/in/ok.txt"

# --- Missing and special paths: refused before anything is stored ---------------------------------
fails "add of a missing path" 1 "$SWARM" add "$T/in/nope" --name a
like "the error names the missing path" "$err" "nope"
fails "add of a good file beside a missing path" 1 "$SWARM" add "$T/in/ok.txt" "$T/in/nope" --name a
ln -s "$T/in/gone" "$T/in/dangling"
fails "add of a dangling symlink" 1 "$SWARM" add "$T/in/ok.txt" "$T/in/dangling" --name a
like "the error says the link dangles" "$err" "dangling"
mkfifo "$T/in/fifo"
fails "add of a fifo is refused (and does not block)" 1 timeout 20 "$SWARM" add "$T/in/ok.txt" "$T/in/fifo" --name a
mkdir -p "$T/fifodir"
echo data >"$T/fifodir/file"
mkfifo "$T/fifodir/pipe"
fails "add of a directory holding a fifo is refused" 1 timeout 20 "$SWARM" add "$T/fifodir" --name a
like "the error names the fifo" "$err" "pipe"
ok "ls after refused adds" "$SWARM" ls
is "nothing committed" "$out" ""
is "no object stored" "$(nobjects)" 0

# --- Names and usage --------------------------------------------------------------------------------
long=$(printf 'n%.0s' $(seq 201))
for name in "" ".." "a/b" "a b" "$long" "x.lock" "-x" "x." "a@" "a@v..1" "a@b@c"; do
    fails "bad name '${name:0:20}' is a usage error" 2 "$SWARM" add "$T/in/ok.txt" --name "$name"
done
ok "a 200-character name is fine" "$SWARM" -q add "$T/in/ok.txt" --name "${long:0:200}"
is "it is committed as v1" "$out" "${long:0:200}@v1"
fails "missing --name" 2 "$SWARM" add "$T/in/ok.txt"
like "the error says what is missing" "$err" "missing --name"
fails "--name without a value" 2 "$SWARM" add "$T/in/ok.txt" --name
fails "add without paths" 2 "$SWARM" add --name a
fails "unknown option of a command" 2 "$SWARM" add "$T/in/ok.txt" --name a --bogus
like "the error names the option" "$err" "--bogus"
fails "unknown global option" 2 "$SWARM" --bogus ls
fails "unknown command" 2 "$SWARM" frobnicate
like "the error names the command" "$err" "frobnicate"
fails "too many operands" 2 "$SWARM" show a@v1 b@v1
run "$SWARM" ls
is "only the 200-character bundle exists" "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}')" "${long:0:200}"
is "one object stored" "$(nobjects)" 1

# --- A good bundle, then unknown and existing versions ------------------------------------------------
mkdir -p "$T/good"
echo "first" >"$T/good/a.txt"
echo "second" >"$T/good/b.txt"
ok "add a bundle" "$SWARM" -q add "$T/good" --name good
is "it is good@v1" "$out" "good@v1"
fails "show of an unknown version" 1 "$SWARM" show good@v9
like "the error says unknown version" "$err" "unknown version good@v9"
fails "show of an unknown bundle" 1 "$SWARM" show nosuch@v1
fails "checkout of an unknown version" 1 "$SWARM" checkout good@v9 "$T/co-unknown"
ok "checkout of an unknown version creates no directory" test ! -e "$T/co-unknown"
fails "export of an unknown version" 1 "$SWARM" export good@v9 "$T/unknown.tar.zst"
ok "export of an unknown version creates no file" test ! -e "$T/unknown.tar.zst"
fails "verify of an unknown version" 1 "$SWARM" verify good@v9
fails "log of an unknown bundle" 1 "$SWARM" log nosuch
echo "other" >"$T/in/other.txt"
fails "add with an explicit version that exists" 1 "$SWARM" add "$T/in/other.txt" --name good@v1
like "the error says it exists" "$err" "good@v1 exists already"
run "$SWARM" show good@v1
like "good@v1 still has its own files" "$out" "a\.txt"
ok "an explicit new version is fine" "$SWARM" -q add "$T/in/other.txt" --name good@release-2
is "it is good@release-2" "$out" "good@release-2"
run "$SWARM" log good
is "good has two versions" "$(printf '%s\n' "$out" | grep -c '^good@')" 2

# --- Two sources for one bundle path -------------------------------------------------------------------
mkdir -p "$T/d1" "$T/d2" "$T/tree/x"
echo one >"$T/d1/x"
echo two >"$T/d2/x"
echo deep >"$T/tree/x/y"
before=$(nobjects)
fails "two files with one basename" 1 "$SWARM" add "$T/d1/x" "$T/d2/x" --name clash
like "the error names the bundle path" "$err" "would both be 'x'"
fails "two directories with one file path" 1 "$SWARM" add "$T/d1" "$T/d2" --name clash
fails "a file and a folder with one bundle path" 1 "$SWARM" add "$T/tree" "$T/d1/x" --name clash
like "the error names the path" "$err" "'x' would be both a file and a folder"
fails "the same file twice" 1 "$SWARM" add "$T/d1/x" "$T/d1/x" --name clash
is "nothing was stored for the clashes" "$(nobjects)" "$before"
fails "no clash bundle" 1 "$SWARM" log clash

# --- Checkout never overwrites --------------------------------------------------------------------------
mkdir -p "$T/co"
echo "keep me" >"$T/co/b.txt"
fails "checkout where a target file exists" 1 "$SWARM" checkout good@v1 "$T/co"
like "the error names the file" "$err" "b\.txt exists"
is "the existing file is untouched" "$(cat "$T/co/b.txt")" "keep me"
ok "no other file was written" test ! -e "$T/co/a.txt"
ok "checkout into an empty directory" "$SWARM" checkout good@v1 "$T/co-ok"
ok "the checkout matches" diff -r "$T/good" "$T/co-ok"
echo "not a dir" >"$T/co-file"
fails "checkout into a path that is a file" 1 "$SWARM" checkout good@v1 "$T/co-file"
is "that file is untouched" "$(cat "$T/co-file")" "not a dir"

# --- Damaged objects: found by verify and fsck, never checked out ------------------------------------
"$GEN" bytes 11 300K "$T/in/trunc.bin"
"$GEN" bytes 12 5M "$T/in/flip.bin"
ok "add the bundle to truncate" "$SWARM" -q add "$T/in/trunc.bin" --name trunc
ok "add the bundle to bit-flip" "$SWARM" -q add "$T/in/flip.bin" --name flip
ok "verify before damage" "$SWARM" verify
to=$(object_of "$T/in/trunc.bin")
fo=$(object_of "$T/in/flip.bin")
ok "the object of trunc.bin is where its hash says" test -f "$to"
ok "the object of flip.bin is where its hash says" test -f "$fo"
is "object mode is 0444" "$(stat -c %a "$to")" 444
chmod u+w "$to" "$fo"
truncate -s 1000 "$to"
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(4321); b = f.read(1); f.seek(4321); f.write(bytes([b[0] ^ 1]))' "$fo"
is "the bit flip kept the size" "$(stat -c %s "$fo")" "$(stat -c %s "$T/in/flip.bin")"
run cmp -s "$fo" "$T/in/flip.bin"
is "the bit flip changed the bytes" "$rc" 1

fails "verify finds the damage" 1 "$SWARM" verify
like "verify names the truncated file" "$out" "trunc@v1: CORRUPT trunc\.bin"
like "verify names the flipped file" "$out" "flip@v1: CORRUPT flip\.bin"
like "verify still passes the good bundle" "$out" "good@v1: ok"
fails "verify trunc@v1" 1 "$SWARM" verify trunc@v1
fails "verify flip@v1" 1 "$SWARM" verify flip@v1
like "verify flip@v1 says why" "$out" "do not match"
ok "verify good@v1 is unaffected" "$SWARM" verify good@v1
fails "checkout refuses the truncated object" 1 "$SWARM" checkout trunc@v1 "$T/co-trunc"
ok "no truncated file was written" test ! -e "$T/co-trunc/trunc.bin"
ok "plain checkout trusts the store: sizes match, so it copies" "$SWARM" checkout flip@v1 "$T/co-flip-fast"
fails "checkout --verify refuses the bit-flipped object" 1 "$SWARM" checkout --verify flip@v1 "$T/co-flip"
ok "no bit-flipped file was written" test ! -e "$T/co-flip/flip.bin"
is "checkout leaves no temp file" "$(find "$T/co-flip" "$T/co-trunc" -type f 2>/dev/null | wc -l)" 0
fails "export refuses the bit-flipped object" 1 "$SWARM" export flip@v1 "$T/flip.tar.zst"
ok "no export was written" test ! -e "$T/flip.tar.zst"
is "export leaves no temp file" "$(find "$T" -maxdepth 1 -name 'flip.tar.zst*' | wc -l)" 0

fails "fsck finds the damage" 1 "$SWARM" fsck
like "fsck reports two corrupt objects" "$err" "2 corrupt"
ok "the truncated object is in quarantine" test -f "$SWARM_HOME/quarantine/$(basename "$to")"
ok "the flipped object is in quarantine" test -f "$SWARM_HOME/quarantine/$(basename "$fo")"
ok "the truncated object left objects/" test ! -e "$to"
ok "the flipped object left objects/" test ! -e "$fo"
ok "a second fsck is clean" "$SWARM" fsck
like "it reports no corruption" "$err" " 0 corrupt"
fails "verify trunc@v1 after fsck" 1 "$SWARM" verify trunc@v1
like "it says not held" "$err" "not held"
fails "verify flip@v1 after fsck" 1 "$SWARM" verify flip@v1
like "it says not held" "$err" "not held"
fails "checkout after fsck refuses" 1 "$SWARM" checkout flip@v1 "$T/co-flip2"
like "it says not held" "$err" "not held"
ok "verify good@v1 after fsck" "$SWARM" verify good@v1
ok "re-adding the file restores the object" "$SWARM" -q add "$T/in/flip.bin" --name flip
ok "flip@v1 verifies again" "$SWARM" verify flip@v1

# --- A disk that fills up in the middle of an add ----------------------------------------------------
# diskfull_steps MNT REC runs the scenario in a home on the tmpfs MNT, recording each step's exit status
# and output under REC (the tmpfs may live in a mount namespace that is gone by the time we assert).
diskfull_steps() {
    local home=$1/home rec=$2
    step() {
        local name=$1
        shift
        "$@" >"$rec/$name.out" 2>"$rec/$name.err"
        echo $? >"$rec/$name.rc"
    }
    step add_big "$SWARM" --home "$home" add "$T/in/big100" --name big
    step ls1 "$SWARM" --home "$home" ls
    find "$home/tmp" -mindepth 1 >"$rec/tmp.list" 2>&1
    find "$home/objects" -type f >"$rec/objects.list" 2>&1
    step fsck "$SWARM" --home "$home" fsck
    step add_small "$SWARM" --home "$home" -q add "$T/in/ok.txt" --name small
    step ls2 "$SWARM" --home "$home" ls
    step verify "$SWARM" --home "$home" verify small@v1
}
"$GEN" bytes 13 100M "$T/in/big100"
mnt=$T/mnt
rec=$T/diskfull
mkdir -p "$mnt" "$rec"
mode=none
if mount -t tmpfs -o size=40m tmpfs "$mnt" 2>/dev/null; then
    mode=mount
    trap 'umount "$mnt" 2>/dev/null; _cleanup' EXIT
    diskfull_steps "$mnt" "$rec"
    umount "$mnt"
    ok "the tmpfs is unmounted" test "$(findmnt -n -o TARGET "$mnt" | wc -l)" = 0
elif unshare -rm true 2>/dev/null; then
    mode=unshare
    SWARM=$SWARM T=$T unshare -rm bash -c "$(declare -f diskfull_steps)"'
        mount -t tmpfs -o size=40m tmpfs "$1" && diskfull_steps "$1" "$2"' _ "$mnt" "$rec"
fi
if [ "$mode" = none ] || [ ! -f "$rec/add_big.rc" ]; then
    _n=$((_n + 1))
    echo "ok $_n # SKIP cannot mount a 40 MiB tmpfs (neither as root nor in 'unshare -rm')"
else
    is "add on a full disk fails" "$(cat "$rec/add_big.rc")" 1
    like "its error says the disk is full" "$(cat "$rec/add_big.err")" "^swarm: error: .*No space left"
    is "ls on the full disk succeeds" "$(cat "$rec/ls1.rc")" 0
    is "nothing was committed" "$(cat "$rec/ls1.out")" ""
    is "tmp/ is empty" "$(cat "$rec/tmp.list")" ""
    is "no object was stored" "$(cat "$rec/objects.list")" ""
    is "fsck is clean after the failed add" "$(cat "$rec/fsck.rc")" 0
    is "a small add then succeeds" "$(cat "$rec/add_small.rc")" 0
    is "it is small@v1" "$(cat "$rec/add_small.out")" "small@v1"
    like "ls shows it" "$(cat "$rec/ls2.out")" "^small "
    is "and it verifies" "$(cat "$rec/verify.rc")" 0
fi

# --- a catalog that cannot be opened -------------------------------------------------------------------
# The catalog opens on first use (core/bundle/catalog.h); add opens it before it reads a byte.
"$SWARM" --home "$T/nocat" -q ls
rm -rf "$T/nocat/catalog" && echo "not a repository" >"$T/nocat/catalog"
"$GEN" bytes 13 8M "$T/in/nocat.bin"
fails "add into a home whose catalog cannot be opened" 1 "$SWARM" --home "$T/nocat" add "$T/in/nocat.bin" --name x
like "... says so in one line" "$err" "^swarm: error: cannot open the catalog: "
is "... before storing anything" "$(find "$T/nocat/objects" "$T/nocat/tmp" -type f | wc -l)" 0

done_testing
