-- gguf2hf.lua: a GGUF file of a llama or qwen2 model (swarm's, llama.cpp's converter's or llama-quantize's;
-- F32, F16, BF16, Q8_0 or Q4_0 tensors) back to a safetensors file with Hugging Face's tensor names, the
-- reverse of hf2gguf.lua.
--
-- Parameters (swarm pipeline run pipelines/gguf2hf.lua --set KEY=VALUE ...):
--   input    the .gguf file, or a bundle version NAME@VERSION (or NAME@VERSION/FILE) holding one (required)
--   output   where the .safetensors file is written                                         (required)
--   dtype    keep (F32, F16, BF16 stay as they are; Q8_0 and Q4_0 become f32), f32, f16 or bf16
--                                                                                          (default keep)
--   publish  also publish the result as this bundle version, NAME@VERSION           (default: not published)
--
-- Three reusable parts (PIPELINES.md, "Hugging Face models"): hf/hf_tensors gives each tensor its Hugging
-- Face name and permutes attn_q/attn_k rows back from llama's rotary layout; quant/dequantize makes f32
-- of Q8_0 and Q4_0 (q x d, as ggml); convert/cast makes the dtype asked for. The GGUF key-values go into
-- the safetensors __metadata__ (typed keys, as the gguf format reads them), with format = "pt".
local swarm = require "swarm"

local P = swarm.params {
  input = "the .gguf file, or NAME@VERSION holding one",
  output = "where the .safetensors file is written",
  dtype = { "keep", "what the tensors become: keep (quantized ones f32), f32, f16 or bf16" },
  publish = { "", "publish the result as this bundle version (NAME@VERSION); empty: do not" },
}

local dtypes = { keep = true, f32 = true, f16 = true, bf16 = true }
if not dtypes[P.dtype] then
  error("dtype must be keep, f32, f16 or bf16, not '" .. P.dtype .. "'", 0)
end

local model = swarm.read("gguf", swarm.input(P.input))
local tensors = swarm.op("hf/hf_tensors", model, {}, { name = "tensors" })
tensors = swarm.op("quant/dequantize", tensors, {}, { name = "dequantize" })
if P.dtype ~= "keep" then
  tensors = swarm.op("convert/cast", tensors, { dtype = P.dtype }, { name = "cast" })
end
swarm.write("safetensors", tensors, {
  path = P.output,
  meta = { format = "pt" },
  publish = P.publish ~= "" and P.publish or nil,
})
