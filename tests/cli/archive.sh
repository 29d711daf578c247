#!/usr/bin/env bash
# archive.sh — archives in and out: `add --unpack` of .tar, .tar.gz, .tar.zst and .zip reproduces the tree
# (bytes and executable bits); unsafe archives (path escapes, absolute paths, links, clashing members,
# damaged or non-archives) are refused with nothing committed; `export` is byte-reproducible.
. "$(dirname "$0")/lib.sh"
umask 022

nobjects() { find "$SWARM_HOME/objects" -type f 2>/dev/null | wc -l; }
# "PATH MODE" of every file under a tree, sorted: what a checkout must reproduce besides the bytes.
modes() { (cd "$1" && find . -type f -printf '%P %m\n' | LC_ALL=C sort); }

mkdir -p "$T/work"
cd "$T/work" || exit 1

# The source tree: nested folders, an executable, an empty file, a name with spaces, a file over one
# 4 MiB ingest block.
src=$T/src
mkdir -p "$src/a/b/c" "$src/d" "$src/with space"
"$GEN" bytes 1 10K "$src/top.bin"
"$GEN" bytes 2 5M "$src/a/b/c/deep.bin"
"$GEN" bytes 3 1K "$src/with space/file name.txt"
printf '#!/bin/sh\necho hi\n' >"$src/d/run.sh"
chmod 755 "$src/d/run.sh"
: >"$src/a/empty"
is "the source has an executable" "$(stat -c %a "$src/d/run.sh")" 755

tar -C "$src" -cf "$T/t.tar" .
tar -C "$src" -czf "$T/t.tar.gz" .
tar -C "$src" -cf - . | zstd -q -o "$T/t.tar.zst"
python3 - "$src" "$T/t.zip" <<'EOF'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(src):
        for name in sorted(dirs) + sorted(files):  # folder entries too
            p = os.path.join(root, name)
            z.write(p, os.path.relpath(p, src))
EOF

# --- Unsafe and broken archives: refused, nothing committed -------------------------------------------
python3 - "$T" <<'EOF'
import io, sys, tarfile, zipfile
T = sys.argv[1]
def reg(name, data=b"x"):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
    return ti, data
def link(name, target, kind):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target
    return ti, None
def tar(name, members):
    with tarfile.open(f"{T}/{name}", "w") as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
tar("escape.tar", [reg("ok.txt"), reg("../evil", b"pwned")])
tar("escape2.tar", [reg("ok.txt"), reg("a/../../evil2", b"pwned")])
tar("absolute.tar", [reg("ok.txt"), reg("/etc/x", b"pwned")])
tar("symlink.tar", [reg("ok.txt"), link("link-member", "/etc/passwd", tarfile.SYMTYPE)])
tar("hardlink.tar", [reg("ok.txt"), link("hard-member", "ok.txt", tarfile.LNKTYPE)])
tar("fifo.tar", [reg("ok.txt"), link("fifo-member", "", tarfile.FIFOTYPE)])
tar("dup.tar", [reg("same.txt", b"1"), reg("same.txt", b"2")])
tar("fileanddir.tar", [reg("a", b"file"), reg("a/b", b"inside")])
hook = reg(".git/hooks/pre-commit", b"#!/bin/sh\ntouch pwned\n"); hook[0].mode = 0o755
tar("githook.tar", [reg("ok.txt"), hook])
tar("githook2.tar", [reg("ok.txt"), reg("sub/.GIT./config", b"x")])
tar("twins.tar", [reg("Config.json", b"1"), reg("config.json", b"2")])
tar("nfd.tar", [reg("caf\u00e9", b"1"), reg("cafe\u0301", b"2")])
with zipfile.ZipFile(f"{T}/escape.zip", "w") as z:
    z.writestr("ok.txt", "x")
    z.writestr(zipfile.ZipInfo("../evil3"), "pwned")
EOF
fails "a ../ member" 1 "$SWARM" add --unpack "$T/escape.tar" --name evil
like "the error names the member" "$err" "'\.\./evil'"
fails "an a/../../ member" 1 "$SWARM" add --unpack "$T/escape2.tar" --name evil
fails "a ../ member in a zip" 1 "$SWARM" add --unpack "$T/escape.zip" --name evil
ok "no file was created outside" test ! -e "$T/evil" -a ! -e "$T/evil2" -a ! -e "$T/evil3" -a ! -e ../evil
fails "an absolute member" 1 "$SWARM" add --unpack "$T/absolute.tar" --name evil
like "the error says absolute" "$err" "absolute path '/etc/x'"
fails "a symlink member" 1 "$SWARM" add --unpack "$T/symlink.tar" --name evil
like "the error names the symlink member" "$err" "member 'link-member' is a symbolic link"
fails "a hardlink member" 1 "$SWARM" add --unpack "$T/hardlink.tar" --name evil
like "the error names the hardlink member" "$err" "member 'hard-member' is a hard link"
fails "a fifo member" 1 "$SWARM" add --unpack "$T/fifo.tar" --name evil
like "the error names the fifo member" "$err" "member 'fifo-member' is a fifo"
fails "a member twice" 1 "$SWARM" add --unpack "$T/dup.tar" --name evil
like "the error names the path" "$err" "same\.txt"
fails "a member that is both a file and a folder" 1 "$SWARM" add --unpack "$T/fileanddir.tar" --name evil
like "the error names the path" "$err" "'a' would be both a file and a folder"
fails "a .git/hooks/pre-commit member" 1 "$SWARM" add --unpack "$T/githook.tar" --name evil
like "the error names the .git component" "$err" "'\.git/hooks/pre-commit' has a component git reads as \.git"
fails "a .GIT. member (an NTFS alias of .git)" 1 "$SWARM" add --unpack "$T/githook2.tar" --name evil
fails "Config.json beside config.json" 1 "$SWARM" add --unpack "$T/twins.tar" --name evil
like "the error names both and says why" "$err" "'Config\.json' and 'config\.json' are one file on a case-insensitive"
fails "a name in NFC beside its NFD twin" 1 "$SWARM" add --unpack "$T/nfd.tar" --name evil
like "the error says normalization" "$err" "Unicode normalization"
# a compression bomb: 65 MiB of zeros in a few KiB of .tar.zst, over the default cap (64 MiB, 100x the size)
mkdir -p "$T/bomb" && truncate -s 65M "$T/bomb/zeros" && tar -C "$T/bomb" -cf - zeros | zstd -q -o "$T/bomb.tar.zst"
fails "an archive unpacking to over 100x its size and 64 MiB" 1 "$SWARM" add --unpack "$T/bomb.tar.zst" --name evil
like "the error names the cap and the option" "$err" "bomb\.tar\.zst unpacks to more than 64\.0 MiB.*--unpack-max"
ok "--unpack-max 66M lets it in" "$SWARM" -q add --unpack "$T/bomb.tar.zst" --unpack-max 66M --name bomb
fails "--unpack-max below a member's size" 1 "$SWARM" add --unpack "$T/t.tar" --unpack-max 1K --name evil
like "the error names --unpack-max" "$err" "t\.tar unpacks to more than --unpack-max \(1\.0 KiB\)"
fails "--unpack-max with a bad size is a usage error" 2 "$SWARM" add --unpack "$T/t.tar" --unpack-max 1X --name evil
fails "two archives with one member path" 1 "$SWARM" add --unpack "$T/t.tar" "$T/t.tar.gz" --name evil
echo "just some text, not an archive" >"$T/not-archive.tar"
fails "not an archive" 1 "$SWARM" add --unpack "$T/not-archive.tar" --name evil
like "the error names the file" "$err" "not-archive\.tar"
head -c 300000 "$T/t.tar.gz" >"$T/truncated.tar.gz"
fails "a truncated archive" 1 "$SWARM" add --unpack "$T/truncated.tar.gz" --name evil
fails "--unpack of a missing file" 1 "$SWARM" add --unpack "$T/nope.tar" --name evil
fails "--unpack of a directory" 1 "$SWARM" add --unpack "$src" --name evil
like "the error says it is not a file" "$err" "is not a regular file"
ok "ls after the refusals" "$SWARM" ls
is "nothing but bomb was committed" "$(printf '%s\n' "$out" | awk 'NR > 1 {print $1}')" "bomb"
fails "no evil bundle" 1 "$SWARM" log evil
ok "fsck is clean after the refusals" "$SWARM" fsck

# --- Good archives: byte-identical checkout, modes kept ------------------------------------------------
for a in t.tar t.tar.gz t.tar.zst t.zip; do
    n=${a//./-}
    ok "add --unpack $a" "$SWARM" -q add --unpack "$T/$a" --name "$n"
    is "$a becomes $n@v1" "$out" "$n@v1"
    ok "checkout of $n@v1" "$SWARM" -q checkout "$n@v1" "$T/co-$n"
    ok "$a: the checkout is byte-identical to the source" diff -r "$src" "$T/co-$n"
    is "$a: modes are kept" "$(modes "$T/co-$n")" "$(modes "$src")"
done
run "$SWARM" show t-zip@v1
like "show lists the executable as 0755" "$out" "0755 +18 .* d/run\.sh"
like "show lists the plain file as 0644" "$out" "0644 +10240 .* top\.bin"
ok "every unpacked version verifies" "$SWARM" verify

# --- Export: reproducible, and round-trips --------------------------------------------------------------
ok "export t-tar@v1" "$SWARM" export t-tar@v1 "$T/e1.tar.zst"
ok "export it again" "$SWARM" export t-tar@v1 "$T/e2.tar.zst"
ok "both exports are identical" cmp "$T/e1.tar.zst" "$T/e2.tar.zst"
ok "export leaves no temp file" test "$(find "$T" -maxdepth 1 -name 'e*.tar.zst*' | wc -l)" = 2
mkdir -p "$T/x1"
ok "tar --zstd -xf reads the export" tar --zstd -xf "$T/e1.tar.zst" -C "$T/x1"
ok "the extracted tree is byte-identical to the source" diff -r "$src" "$T/x1"
is "the extracted tree has the source's modes" "$(modes "$T/x1")" "$(modes "$src")"
run env TZ=UTC tar --zstd -tvf "$T/e1.tar.zst" --full-time --numeric-owner
like "members are owned by 0/0" "$out" "^-rwxr-xr-x 0/0 .* d/run\.sh$"
like "members carry the version's time (SOURCE_DATE_EPOCH)" "$out" "2023-11-14 22:13:20 top\.bin$"
is "only regular files are exported" "$(printf '%s\n' "$out" | grep -vc '^-')" 0
ok "the export of the zip import is the same archive" "$SWARM" export t-zip@v1 "$T/e-zip.tar.zst"
ok "(zip and tar imports give the same bundle)" cmp "$T/e1.tar.zst" "$T/e-zip.tar.zst"
ok "export over an existing file replaces it whole" "$SWARM" export t-tar@v1 "$T/e2.tar.zst"
ok "(and it is still identical)" cmp "$T/e1.tar.zst" "$T/e2.tar.zst"
fails "export into a missing folder" 1 "$SWARM" export t-tar@v1 "$T/no/such/dir/x.tar.zst"

# --- Two homes, same files, same SOURCE_DATE_EPOCH: the same export -----------------------------------
# The second copy lives at another path with other mtimes and is added a second later: none of that
# may reach the archive.
cp -a "$src" "$T/src-copy"
find "$T/src-copy" -exec touch -d '2001-02-03 04:05:06' {} +
ok "add the tree in home 1" "$SWARM" --home "$T/home1" -q add "$src" --name model
sleep 1
ok "add the copy in home 2" "$SWARM" --home "$T/home2" -q add "$T/src-copy" --name model
ok "export from home 1" "$SWARM" --home "$T/home1" export model@v1 "$T/h1.tar.zst"
ok "export from home 2" "$SWARM" --home "$T/home2" export model@v1 "$T/h2.tar.zst"
ok "the two homes export identical archives" cmp "$T/h1.tar.zst" "$T/h2.tar.zst"
ok "a third home adding the .tar.zst export gets the same bundle" \
    "$SWARM" --home "$T/home3" -q add --unpack "$T/h1.tar.zst" --name model
ok "export from home 3" "$SWARM" --home "$T/home3" export model@v1 "$T/h3.tar.zst"
ok "(identical again)" cmp "$T/h1.tar.zst" "$T/h3.tar.zst"
ok "another SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=1600000000 "$SWARM" --home "$T/home4" -q add "$src" --name model
ok "export from home 4" "$SWARM" --home "$T/home4" export model@v1 "$T/h4.tar.zst"
run cmp -s "$T/h1.tar.zst" "$T/h4.tar.zst"
is "a different version time gives a different archive" "$rc" 1

done_testing
