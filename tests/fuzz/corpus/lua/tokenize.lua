-- tokenize.lua: tokenizes a text corpus with GPT-2's BPE into llm.c token shards, ready for training.
--
-- Parameters (swarm pipeline run pipelines/tokenize.lua --set KEY=VALUE ...):
--   input         JSONL documents (.jsonl, .jsonl.gz or .jsonl.zst): a file, a directory of shards, or a
--                 bundle version NAME@VERSION[/FILE]                                  (required)
--   output        the directory the shards go into (shard_000000.bin, ...)             (required)
--   vocab         GPT-2's vocabulary: a directory with vocab.bpe and encoder.json, or a tokenizer.json
--                                                                                     (required)
--   field         the JSON field holding each document's text                         (default text)
--   shard_tokens  tokens per shard, the EOT tokens included                            (default 100000000)
--   header        llm.c's header: gpt2 (uint16 tokens) or llama3 (uint32 tokens)      (default gpt2)
--   publish       also publish the shards as this bundle version, NAME@VERSION        (default: not published)
--
-- Each document becomes <|endoftext|> (50256) then its tokens, as llm.c's fineweb.py writes them. A
-- document is never split: a shard ends before the document that would take it past shard_tokens (a
-- document longer than that has a shard of its own), so reading the shards back gives the documents.
local swarm = require "swarm"

local P = swarm.params {
  input = "JSONL documents (.jsonl, .jsonl.gz, .jsonl.zst): a file, a directory, or NAME@VERSION",
  output = "the directory the llm.c shards go into",
  vocab = "GPT-2's vocabulary: a directory with vocab.bpe and encoder.json, or a tokenizer.json",
  field = { "text", "the JSON field holding each document's text" },
  shard_tokens = { "100000000", "tokens per shard, EOT tokens included" },
  header = { "gpt2", "llm.c header: gpt2 (uint16 tokens) or llama3 (uint32 tokens)" },
  publish = { "", "publish the shards as this bundle version (NAME@VERSION); empty: do not" },
}

local shard_tokens = math.tointeger(tonumber(P.shard_tokens))
assert(shard_tokens and shard_tokens >= 1, "shard_tokens must be a positive integer")

local docs = swarm.read("jsonl", swarm.input(P.input), { field = P.field })
local ids = swarm.op("text/gpt2_encode", docs, { vocab = P.vocab }, { name = "tokenize" })
-- A document of n tokens is stored as n uint32 ids behind a 4-byte length: 4 (n + 1) bytes, exactly
-- four bytes per token of the shard once its EOT is counted.
swarm.write("llmc", ids, {
  path = P.output,
  header = P.header,
  shard_bytes = 4 * shard_tokens,
  publish = P.publish ~= "" and P.publish or nil,
})
