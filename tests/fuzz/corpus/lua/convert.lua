-- convert.lua: converts every floating-point tensor of a safetensors checkpoint to another dtype.
--
-- Parameters (swarm pipeline run pipelines/convert.lua --set KEY=VALUE ...):
--   input    the checkpoint: a .safetensors file, a directory of shards, or a bundle version
--            NAME@VERSION (or NAME@VERSION/FILE) held in the store            (required)
--   output   where the converted .safetensors file is written                   (required)
--   dtype    what floating tensors become: bf16, f16 or f32                     (default bf16)
--   publish  also publish the result as this bundle version, NAME@VERSION       (default: not published)
--   device   where the conversion runs: auto (a GPU when one is usable, else the CPU), cpu, or hip
--            (a GPU, else fail)                                                 (default auto)
--
-- F32, F16 and BF16 tensors are converted with round-to-nearest-even (NaN stays NaN); every other tensor
-- is copied as it is, like PyTorch's Module.to(dtype). Tensor names, the order of the data and the
-- metadata are kept.
local swarm = require "swarm"

local P = swarm.params {
  input = "the safetensors checkpoint: a file, a directory of shards, or NAME@VERSION",
  output = "where the converted .safetensors file is written",
  dtype = { "bf16", "what floating tensors become: bf16, f16 or f32" },
  publish = { "", "publish the result as this bundle version (NAME@VERSION); empty: do not" },
  device = { "auto", "where the conversion runs: auto, cpu or hip (a GPU; the same bytes as the CPU)" },
}

local ckpt = swarm.read("safetensors", swarm.input(P.input))
local converted = swarm.op("convert/cast", ckpt, { dtype = P.dtype }, { name = "convert", device = P.device })
swarm.write("safetensors", converted, {
  path = P.output,
  publish = P.publish ~= "" and P.publish or nil,
})
