#!/bin/sh
# fetch-llama.sh DIR — `make deps`: llama.cpp as the judge of GGUF files swarm converts, through the npm
# package node-llama-cpp@3.21.1 and its prebuilt Linux x64 binaries (@node-llama-cpp/linux-x64@3.21.1:
# llama-addon.node, libllama, libggml-base), installed into DIR (git-ignored, under build/) from the
# lockfile tests/tools/node-llama-cpp.lock.json with `npm ci --ignore-scripts`: every package pinned,
# no install script run, nothing built from source, nothing downloaded at run time (tests load the
# binaries with build: "never"). Only when missing. Installs Debian's npm when there is no npm at all.
set -eu
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
bins=node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
[ -f "$dir/$bins/llama-addon.node" ] && [ -f "$dir/node_modules/node-llama-cpp/package.json" ] && exit 0
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "fetch-llama.sh: no prebuilt llama.cpp for $(uname -sm); tests skip it"; exit 0; }
command -v npm >/dev/null 2>&1 || sh "$here/../deps.sh" npm
echo "make deps: installing node-llama-cpp@3.21.1 (prebuilt llama.cpp) into $dir"
mkdir -p "$dir"
echo '{"name": "swarm-llama-judge", "private": true, "dependencies": {"node-llama-cpp": "3.21.1", "@node-llama-cpp/linux-x64": "3.21.1"}}' >"$dir/package.json"
cp "$here/node-llama-cpp.lock.json" "$dir/package-lock.json"
(cd "$dir" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund --silent)
