-- quantize.lua: quantizes a safetensors checkpoint for llama.cpp, into a GGUF file.
--
-- Parameters (swarm pipeline run pipelines/quantize.lua --set KEY=VALUE ...):
--   input    the checkpoint: a .safetensors file, a directory of shards, or a bundle version
--            NAME@VERSION (or NAME@VERSION/FILE) held in the store            (required)
--   output   where the .gguf file is written                                    (required)
--   type     q8_0 or q4_0                                                       (default q8_0)
--   arch     general.architecture                                               (default llama)
--   name     general.name                       (default: the input's base name, without its extension)
--   publish  also publish the result as this bundle version, NAME@VERSION       (default: not published)
--
-- Every 2-D tensor whose rows hold a multiple of 32 elements becomes Q8_0 (or Q4_0), bit-exact with
-- ggml's reference quantization; every other floating tensor (f64 included) becomes F32 and other tensors
-- are kept. Shapes are written in ggml's order (ne[0] innermost). The file carries general.architecture,
-- general.name, general.quantization_version = 2 and general.file_type, and the checkpoint's own metadata
-- as strings. This file's tensor names are the checkpoint's: for a Hugging Face model folder, which
-- llama.cpp can load and run, use pipelines/hf2gguf.lua.
local swarm = require "swarm"

local P = swarm.params {
  input = "the safetensors checkpoint: a file, a directory of shards, or NAME@VERSION",
  output = "where the .gguf file is written",
  type = { "q8_0", "the block type of 2-D tensors: q8_0 or q4_0" },
  arch = { "llama", "general.architecture of the GGUF file" },
  name = { "", "general.name of the GGUF file; empty: the input's base name without its extension" },
  publish = { "", "publish the result as this bundle version (NAME@VERSION); empty: do not" },
}

local ckpt = swarm.read("safetensors", swarm.input(P.input))
local quantized = swarm.op("quant/quantize", ckpt, { type = P.type }, { name = "quantize" })
swarm.write("gguf", quantized, {
  path = P.output,
  meta = { ["general.architecture"] = P.arch,
           ["general.name"] = P.name ~= "" and P.name or (P.input:gsub("@[^/]*$", "")):match("([^/]+)/*$"):gsub("%.[^.]*$", "") },
  publish = P.publish ~= "" and P.publish or nil,
})
