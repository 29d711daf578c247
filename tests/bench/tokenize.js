// tokenize.js NODE_MODULES PEER CORPUS IDS_OUT — one npm peer of tests/bench/tokenize.sh on one thread:
// PEER is "tiktoken" (@dqbd/tiktoken, WASM, encode_ordinary with GPT-2's encoding) or "gpt-3-encoder"
// (plain JavaScript). CORPUS is one document per line (the newline not part of it); IDS_OUT gets, per
// document, its number of ids then the ids, little-endian uint32 (tests/tools/tokbench.c's format).
// Prints "load_s=S encode_s=S ids=N": the time to set the encoder up, and to encode every document, best
// of three passes for tiktoken; gpt-3-encoder caches every piece it has seen, so only its first pass counts.
'use strict';
const fs = require('fs');
const path = require('path');
const [modules, peer, corpusPath, outPath] = process.argv.slice(2);
const load = (name) => require(path.join(path.resolve(modules), name));

const text = fs.readFileSync(corpusPath, 'utf8');
const docs = text.split('\n');
if (text.endsWith('\n')) docs.pop();

let t = process.hrtime.bigint();
let encode;
if (peer === 'tiktoken') {
    const enc = load('@dqbd/tiktoken').get_encoding('gpt2');
    encode = (s) => enc.encode_ordinary(s);
} else if (peer === 'gpt-3-encoder') {
    encode = load('gpt-3-encoder').encode;
} else {
    throw new Error('unknown peer ' + peer);
}
const loadS = Number(process.hrtime.bigint() - t) / 1e9;

let best = Infinity, out = null;
const passes = peer === 'tiktoken' ? 3 : 1;
for (let p = 0; p < passes; p++) {
    const res = new Array(docs.length);
    t = process.hrtime.bigint();
    for (let i = 0; i < docs.length; i++) res[i] = encode(docs[i]);
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    if (s < best) best = s;
    out = res;
}

let total = 0;
for (const ids of out) total += ids.length;
const buf = Buffer.alloc(4 * (docs.length + total));
let w = 0;
for (const ids of out) {
    buf.writeUInt32LE(ids.length, w);
    w += 4;
    for (const id of ids) {
        buf.writeUInt32LE(id, w);
        w += 4;
    }
}
fs.writeFileSync(outPath, buf);
console.log(`load_s=${loadS.toFixed(4)} encode_s=${best.toFixed(4)} ids=${total}`);
