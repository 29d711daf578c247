#!/bin/sh
# npm-deps.sh DIR — `make deps-bench`: the npm packages tests/bench/tokenize.sh runs against, installed
# into DIR (git-ignored, under build/; never globally): @dqbd/tiktoken (tiktoken's WASM build) and
# gpt-3-encoder (plain JavaScript), at pinned versions. Only when missing. Installs Debian's npm when
# there is no npm at all (it brings node).
set -eu
dir=$1
pkgs="@dqbd/tiktoken@1.0.22 gpt-3-encoder@1.1.4"
[ -f "$dir/node_modules/@dqbd/tiktoken/package.json" ] && [ -f "$dir/node_modules/gpt-3-encoder/package.json" ] &&
    exit 0
command -v npm >/dev/null 2>&1 || sh "$(dirname "$0")/../deps.sh" npm
echo "make deps-bench: npm install $pkgs into $dir"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name": "swarm-bench-peers", "private": true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --silent $pkgs
