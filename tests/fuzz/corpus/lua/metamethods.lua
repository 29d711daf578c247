local swarm = require "swarm"
local t = swarm.read("lines", swarm.input("x.txt"))
local opts = setmetatable({}, { __index = function(_, k) return k == "name" and "n" .. #tostring(t) or nil end })
local u = swarm.op("text/gpt2_encode", t, setmetatable({}, { __index = function() return nil end }), opts)
swarm.write("lines", t, setmetatable({ path = "out.txt" }, { __pairs = function(s) return next, s, nil end }))
