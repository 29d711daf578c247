#!/usr/bin/env python3
"""gguf.py — an independent GGUF v3 reader for tests (from ggml's docs/gguf.md, sharing no code with swarm).

    gguf.py dump FILE    prints "version V", one "kv KEY TYPE VALUE" line per key-value, then one
                         "tensor NAME TYPE ne0xne1.. OFFSET SHA256-OF-ITS-BYTES" line per tensor, and
                         "aligned yes|no" (every tensor offset a multiple of the alignment, data after
                         the header padded to it) and "end padded yes|no" (the file ends at the last
                         tensor's end padded with zeros to the alignment, the size ggml's full read takes)
"""
import hashlib, json, struct, sys

TYPES = {0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool", 8: "string",
         9: "array", 10: "u64", 11: "i64", 12: "f64"}
FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
GGML = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 8: ("Q8_0", 32, 34), 24: ("I8", 1, 1),
        25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 30: ("BF16", 1, 2)}

class R:
    def __init__(self, b): self.b, self.p = b, 0
    def take(self, f):
        v = struct.unpack_from("<" + f, self.b, self.p); self.p += struct.calcsize(f); return v[0]
    def str(self):
        n = self.take("Q"); s = self.b[self.p:self.p + n].decode(); self.p += n; return s
    def val(self, t):
        if t == 8: return self.str()
        if t == 9:
            et, n = self.take("I"), self.take("Q")
            return [self.val(et) for _ in range(n)]
        return self.take(FMT[t])

def dump(path):
    b = open(path, "rb").read()
    r = R(b)
    assert b[:4] == b"GGUF"; r.p = 4
    print("version", r.take("I"))
    nt, nkv = r.take("Q"), r.take("Q")
    align = 32
    for _ in range(nkv):
        k = r.str(); t = r.take("I"); v = r.val(t)
        if k == "general.alignment": align = v
        tn = TYPES[t]
        if t == 9: tn = "array"
        print("kv", k, tn, json.dumps(v, ensure_ascii=False) if not isinstance(v, float) else repr(v))
    infos = []
    for _ in range(nt):
        name = r.str(); nd = r.take("I"); ne = [r.take("Q") for _ in range(nd)]
        t = r.take("I"); off = r.take("Q"); infos.append((name, ne, t, off))
    data = (r.p + align - 1) // align * align
    ok = all(b[r.p:data] == b"\0" * (data - r.p) for _ in [0])
    end = last = data
    for name, ne, t, off in infos:
        tn, blk, bpb = GGML[t]
        n = 1
        for x in ne: n *= x
        size = n // blk * bpb
        ok = ok and off % align == 0
        raw = b[data + off:data + off + size]
        assert len(raw) == size, "tensor beyond the file"
        end = max(end, data + (off + size + align - 1) // align * align)
        last = max(last, data + off + size)
        print("tensor", name, tn, "x".join(map(str, ne)), off, hashlib.sha256(raw).hexdigest(), raw[:40].hex())
    print("aligned", "yes" if ok else "no")
    print("end padded", "yes" if len(b) == end and not any(b[last:]) else "no")

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        sys.exit(__doc__)
