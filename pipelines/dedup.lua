-- dedup.lua: removes exact and near-duplicate documents from a JSONL corpus (MinHash + LSH, as
-- datatrove's FineWeb setup does), and reports what it removed.
--
-- Parameters (swarm pipeline run pipelines/dedup.lua --set KEY=VALUE ...):
--   input    JSONL documents (.jsonl, .jsonl.gz or .jsonl.zst): a file, a directory of shards, or a
--            bundle version NAME@VERSION[/FILE]                                         (required)
--   output   the deduplicated JSONL, zstd-compressed when the name ends in .zst         (required)
--   report   the JSON report: parameters, permutations, clusters with their exact and near
--            duplicates                                                                 (required)
--   field    the JSON field holding each document's text                               (default text)
--   bands, rows, shingle, seed   MinHash + LSH parameters                     (default 14, 8, 5, 1)
--   publish  also publish the deduplicated JSONL as this bundle version                (default: not published)
--
-- Exact duplicates (same normalized text) and near-duplicates (documents that share an LSH band) are
-- clustered together and each cluster keeps its first document. Documents keep their order and bytes.
-- One pass of MinHash, and memory bounded by the signatures: sign streams the documents, cluster sees
-- only the signatures, keep streams the documents again beside their decisions.
local swarm = require "swarm"

local P = swarm.params {
  input = "JSONL documents (.jsonl, .jsonl.gz, .jsonl.zst): a file, a directory, or NAME@VERSION",
  output = "the deduplicated JSONL (.jsonl.zst compresses it)",
  report = "where the JSON report (exact and near duplicates) is written",
  field = { "text", "the JSON field holding each document's text" },
  bands = { "14", "LSH bands" },
  rows = { "8", "MinHash rows per band" },
  shingle = { "5", "words per shingle" },
  seed = { "1", "seed of the MinHash permutations" },
  publish = { "", "publish the deduplicated JSONL as this bundle version (NAME@VERSION); empty: do not" },
}

local function int(name)
  local v = math.tointeger(tonumber(P[name]))
  assert(v, name .. " must be an integer")
  return v
end
local sig = { field = P.field, bands = int "bands", rows = int "rows", shingle = int "shingle", seed = int "seed" }

local docs = swarm.read("jsonl", swarm.input(P.input))
local signed = swarm.op("dedup/sign", docs, sig, { name = "sign" })
local decisions = swarm.op("dedup/cluster", signed, { bands = sig.bands, rows = sig.rows }, { name = "cluster" })
local kept = swarm.op("dedup/keep", { docs, decisions }, {}, { name = "keep" })
local report = swarm.op("dedup/report", decisions, sig, { name = "report" })
swarm.write("jsonl", kept, { path = P.output, publish = P.publish ~= "" and P.publish or nil })
swarm.write("lines", report, { path = P.report, name = "write-report" })
