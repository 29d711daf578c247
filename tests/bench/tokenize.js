// tokenize.js NODE_MODULES PEER CORPUS IDS_OUT — one npm peer of tests/bench/tokenize.sh on one thread.
// PEER is one of
//   tiktoken       @dqbd/tiktoken: tiktoken's Rust core compiled to WASM, encode_ordinary with "gpt2"
//   tiktoken-node  tiktoken-node: tiktoken's Rust core (tiktoken-rs) as a native N-API module, "gpt2";
//                  its encode allows special tokens (the corpus has none)
//   tokenizers     tokenizers: Hugging Face's Rust tokenizers as a native N-API module, built from GPT-2's
//                  encoder.json and vocab.bpe (BPE, ByteLevel pre-tokenizer without prefix space, no
//                  normalizer or special tokens); encodeBatch on the same batches of 1024 documents as
//                  swarm. Its work runs on one libuv worker while node waits, TOKENIZERS_PARALLELISM=false
//                  (set by tokenize.sh) keeps a batch on that one thread.
//   gpt-3-encoder  plain JavaScript
// CORPUS is one document per line (the newline not part of it); IDS_OUT gets, per document, its number of
// ids then the ids, little-endian uint32 (tests/tools/tokbench.c's format). GPT2_DIR in the environment
// names the folder of encoder.json and vocab.bpe (for tokenizers). Prints "load_s=S encode_s=S ids=N": the
// time to set the encoder up, and to encode every document, best of three passes; gpt-3-encoder caches
// every piece it has seen, so only its first pass counts.
'use strict';
const fs = require('fs');
const path = require('path');
const [modules, peer, corpusPath, outPath] = process.argv.slice(2);
const load = (name) => require(path.join(path.resolve(modules), name));
const BATCH = 1024;

const text = fs.readFileSync(corpusPath, 'utf8');
const docs = text.split('\n');
if (text.endsWith('\n')) docs.pop();

// A Hugging Face tokenizer equal to GPT-2's, from its two files.
function hfTokenizer() {
    const dir = process.env.GPT2_DIR;
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
    const merges = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n')
        .filter((l) => l && !l.startsWith('#version'));
    const json = {
        version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
        pre_tokenizer: {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true},
        post_processor: null, decoder: null,
        model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
            end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges},
    };
    return load('tokenizers').Tokenizer.fromString(JSON.stringify(json));
}

// The peer's encoder: an async function from the documents to their arrays of ids.
function setUp() {
    if (peer === 'tiktoken') {
        const enc = load('@dqbd/tiktoken').get_encoding('gpt2');
        return async (all) => all.map((s) => enc.encode_ordinary(s));
    }
    if (peer === 'tiktoken-node') {
        const enc = load('tiktoken-node').getEncoding('gpt2');
        return async (all) => all.map((s) => enc.encode(s));
    }
    if (peer === 'tokenizers') {
        const tok = hfTokenizer();
        return async (all) => {
            const res = [];
            for (let i = 0; i < all.length; i += BATCH)
                for (const e of await tok.encodeBatch(all.slice(i, i + BATCH), {addSpecialTokens: false}))
                    res.push(e.getIds());
            return res;
        };
    }
    if (peer === 'gpt-3-encoder') {
        const encode = load('gpt-3-encoder').encode;
        return async (all) => all.map(encode);
    }
    throw new Error('unknown peer ' + peer);
}

async function main() {
    let t = process.hrtime.bigint();
    const encodeAll = setUp();
    const loadS = Number(process.hrtime.bigint() - t) / 1e9;

    let best = Infinity, out = null;
    const passes = peer === 'gpt-3-encoder' ? 1 : 3;
    for (let p = 0; p < passes; p++) {
        t = process.hrtime.bigint();
        const res = await encodeAll(docs);
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
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
