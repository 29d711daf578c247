#!/usr/bin/env python3
"""mkst.py — writes small safetensors files for tests, the way the reference writer lays them out
(header padded with spaces to 8 bytes), and reads them back.

    mkst.py write OUT [--meta K=V]... NAME:DTYPE:SHAPE:VALUES...   e.g. w:F32:2x3:1,2,3,4,5,6
    mkst.py dump FILE          prints "NAME DTYPE SHAPE HEXDATA" per tensor in data order, then metadata
"""
import json, struct, sys

FMT = {"F32": "f", "F64": "d", "I64": "q", "I32": "i", "U8": "B", "I8": "b", "F16": "e"}

def write(out, specs, meta):
    hdr, data = {}, b""
    if meta:
        hdr["__metadata__"] = meta
    for s in specs:
        name, dt, shape, vals = s.split(":")
        shape = [int(x) for x in shape.split("x")] if shape else []
        raw = b""
        if dt == "BF16":
            for v in vals.split(","):
                raw += struct.pack("<H", struct.unpack("<I", struct.pack("<f", float(v)))[0] >> 16)
        else:
            conv = float if FMT[dt] in "fde" else int
            raw = b"".join(struct.pack("<" + FMT[dt], conv(v)) for v in vals.split(",") if v != "")
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(out, "wb").write(struct.pack("<Q", len(h)) + h + data)

def dump(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    base = 8 + n
    for name, t in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, e = t["data_offsets"]
        print(name, t["dtype"], "x".join(map(str, t["shape"])), b[base + a:base + e].hex())
    for k, v in meta.items():
        print("meta", k, v)

if __name__ == "__main__":
    if sys.argv[1] == "write":
        meta, specs = {}, []
        args = sys.argv[3:]
        i = 0
        while i < len(args):
            if args[i] == "--meta":
                k, v = args[i + 1].split("=", 1)
                meta[k] = v
                i += 2
            else:
                specs.append(args[i])
                i += 1
        write(sys.argv[2], specs, meta)
    else:
        dump(sys.argv[2])
