-- hf2gguf.lua: a Hugging Face model folder (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) to a
-- GGUF file llama.cpp loads and runs, as llama.cpp's convert_hf_to_gguf.py and llama-quantize make it.
--
-- Parameters (swarm pipeline run pipelines/hf2gguf.lua --set KEY=VALUE ...):
--   input    the model folder (config.json, *.safetensors with or without model.safetensors.index.json,
--            tokenizer.json, tokenizer_config.json), or a bundle version NAME@VERSION holding one (required)
--   output   where the .gguf file is written                                                (required)
--   type     f32, f16, bf16, q8_0 or q4_0: the type of 2-D weights (1-D ones are f32)  (default q8_0)
--   name     general.name                            (default: the input's base name or bundle name)
--   publish  also publish the result as this bundle version, NAME@VERSION           (default: not published)
--
-- Three reusable parts (PIPELINES.md, "Hugging Face models"): the hf format reads the folder as one
-- collection with config.json and the tokenizer as GGUF metadata; quant/quantize makes Q8_0 or Q4_0;
-- hf/gguf_tensors renames the tensors, permutes q_proj/k_proj rows for llama's rope and checks shapes.
local swarm = require "swarm"

local P = swarm.params {
  input = "a Hugging Face model folder, or NAME@VERSION holding one",
  output = "where the .gguf file is written",
  type = { "q8_0", "the type of 2-D weights: f32, f16, bf16, q8_0 or q4_0" },
  name = { "", "general.name of the GGUF file; empty: the input's base name (or bundle name)" },
  publish = { "", "publish the result as this bundle version (NAME@VERSION); empty: do not" },
}

local float = { f32 = true, f16 = true, bf16 = true }
local quant = { q8_0 = true, q4_0 = true }
if not float[P.type] and not quant[P.type] then
  error("type must be f32, f16, bf16, q8_0 or q4_0, not '" .. P.type .. "'", 0)
end

-- Quantizing first gives the same bytes (blocks run along rows; gguf_tensors moves whole rows) and
-- stores a smaller intermediate: Q8_0 is about half of bf16.
local tensors = swarm.read("hf", swarm.input(P.input))
if quant[P.type] then
  tensors = swarm.op("quant/quantize", tensors, { type = P.type }, { name = "quantize" })
end
tensors = swarm.op("hf/gguf_tensors", tensors, { type = float[P.type] and P.type or "keep" }, { name = "tensors" })
swarm.write("gguf", tensors, {
  path = P.output,
  meta = { ["general.name"] = P.name ~= "" and P.name or P.input:match("([^/@]+)[^/]*/*$") },
  publish = P.publish ~= "" and P.publish or nil,
})
