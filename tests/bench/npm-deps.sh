#!/bin/sh
# npm-deps.sh DIR — `make deps-bench`: the npm packages tests/bench/tokenize.sh runs against, installed
# into DIR (git-ignored, under build/; never globally), at pinned versions: @dqbd/tiktoken (tiktoken's
# WASM build), tiktoken-node (tiktoken's Rust core as a native module, its prebuilt linux-x64 binary in the
# package), tokenizers (Hugging Face's native node binding, prebuilt binaries in the package) and
# gpt-3-encoder (plain JavaScript). Only when one is missing. Installs Debian's npm when there is no npm at
# all (it brings node).
set -eu
dir=$1
pkgs="@dqbd/tiktoken@1.0.22 tiktoken-node@0.0.7 tokenizers@0.23.2 gpt-3-encoder@1.1.4"
have=1
for p in $pkgs; do
    name=${p%@*}
    version=${p##*@}
    grep -qs "\"version\": *\"$version\"" "$dir/node_modules/$name/package.json" || have=0
done
[ "$have" = 1 ] && exit 0
command -v npm >/dev/null 2>&1 || sh "$(dirname "$0")/../deps.sh" npm
echo "make deps-bench: npm install $pkgs into $dir"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name": "swarm-bench-peers", "private": true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --silent $pkgs
