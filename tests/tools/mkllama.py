#!/usr/bin/env python3
"""mkllama.py — a tiny Llama laid out as a Hugging Face download, and an independent forward pass of it
(pure Python, from the Hugging Face modeling code's definitions: rotate_half rope, grouped-query
attention, RMSNorm, SiLU-gated MLP), for tests. Shares no code with swarm.

    mkllama.py write DIR GPT2_DIR [--shards N] [--dtype bf16|f32|f16] [--seed S] [--arch A] [--vocab V]
                                  [--inv-freq 1]
        config.json (hidden 64, 2 layers, 4 heads, 2 kv heads, ffn 128, vocab 50257), model.safetensors
        (or N shards and model.safetensors.index.json; tensors split in order), tokenizer.json built from
        GPT-2's encoder.json and vocab.bpe (GPT2_DIR), tokenizer_config.json. Weights: seeded Gaussians.
        --arch Qwen2ForCausalLM adds q/k/v biases; --vocab V gives the embedding and lm_head V rows (V
        above 50257: padded, as Qwen2 pads to a multiple of 128); --inv-freq 1 adds each layer's
        self_attn.rotary_emb.inv_freq, a tensor the converter drops.
    mkllama.py tokenizer DIR GPT2_DIR
        only tokenizer.json and tokenizer_config.json (for a checkpoint written by `gen llama`)
    mkllama.py logprobs DIR IDS...
        one line per position: the log-softmax of the next-token logits as "ID:LOGP" for the 5 most
        likely tokens, computed in float64 from the stored weights
"""
import json, math, os, random, struct, sys

H, L, NH, NKV, FFN, V, EPS, THETA = 64, 2, 4, 2, 128, 50257, 1e-5, 10000.0
HD = H // NH
PACK = {"F32": ("<f", 4), "F16": ("<e", 2)}


def bf16_round(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u


def encode(vals, dt):
    if dt == "BF16":
        return b"".join(struct.pack("<H", bf16_round(v)) for v in vals)
    return b"".join(struct.pack(PACK[dt][0], v) for v in vals)


def tensors(seed, arch="LlamaForCausalLM", vocab=V, inv_freq=False):
    """(name, shape, values) in the order of Hugging Face's state dict."""
    r = random.Random(seed)
    g = lambda n, s: [r.gauss(0.0, s) for _ in range(n)]
    out = [("model.embed_tokens.weight", [vocab, H], g(vocab * H, 1.0))]
    for i in range(L):
        p = "model.layers.%d." % i
        out += [(p + "input_layernorm.weight", [H], [1.0 + x for x in g(H, 0.1)]),
                (p + "self_attn.q_proj.weight", [NH * HD, H], g(NH * HD * H, 0.3)),
                (p + "self_attn.k_proj.weight", [NKV * HD, H], g(NKV * HD * H, 0.3)),
                (p + "self_attn.v_proj.weight", [NKV * HD, H], g(NKV * HD * H, 0.15)),
                (p + "self_attn.o_proj.weight", [H, NH * HD], g(H * NH * HD, 0.15)),
                (p + "post_attention_layernorm.weight", [H], [1.0 + x for x in g(H, 0.1)]),
                (p + "mlp.gate_proj.weight", [FFN, H], g(FFN * H, 0.15)),
                (p + "mlp.up_proj.weight", [FFN, H], g(FFN * H, 0.15)),
                (p + "mlp.down_proj.weight", [H, FFN], g(H * FFN, 0.1))]
        if arch == "Qwen2ForCausalLM":
            out += [(p + "self_attn.%s_proj.bias" % n, [k * HD], g(k * HD, 0.5)) for n, k in (("q", NH), ("k", NKV), ("v", NKV))]
        if inv_freq:
            out += [(p + "self_attn.rotary_emb.inv_freq", [HD // 2], [THETA ** (-2.0 * i / HD) for i in range(HD // 2)])]
    out += [("model.norm.weight", [H], [1.0 + x for x in g(H, 0.1)]), ("lm_head.weight", [vocab, H], g(vocab * H, 0.4))]
    return out


def write_st(path, items, dt):
    hdr, blobs, off = {}, [], 0
    for name, shape, vals in items:
        b = encode(vals, dt)
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def tokenizer(gpt2):
    vocab = json.load(open(os.path.join(gpt2, "encoder.json"), encoding="utf-8"))
    merges = [l for l in open(os.path.join(gpt2, "vocab.bpe"), encoding="utf-8").read().split("\n")[1:] if l]
    return {"version": "1.0",
            "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": True, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                      "merges": merges}}


def write_tokenizer(d, gpt2):
    json.dump(tokenizer(gpt2), open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    json.dump({"add_bos_token": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
               "tokenizer_class": "GPT2Tokenizer"}, open(os.path.join(d, "tokenizer_config.json"), "w"))


def write(d, gpt2, shards=1, dtype="bf16", seed=1, arch="LlamaForCausalLM", vocab=V, inv_freq=False):
    os.makedirs(d, exist_ok=True)
    dt = {"bf16": "BF16", "f32": "F32", "f16": "F16"}[dtype]
    cfg = {"architectures": [arch], "model_type": "qwen2" if arch.startswith("Qwen2") else "llama", "hidden_size": H,
           "intermediate_size": FFN, "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV,
           "max_position_embeddings": 128, "rms_norm_eps": EPS, "rope_theta": THETA, "vocab_size": vocab,
           "bos_token_id": 50256, "eos_token_id": 50256, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    write_tokenizer(d, gpt2)
    items = tensors(seed, arch, vocab, inv_freq)
    if shards == 1:
        write_st(os.path.join(d, "model.safetensors"), items, dt)
        return
    per = (len(items) + shards - 1) // shards
    wm = {}
    for s in range(shards):
        name = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        part = items[s * per:(s + 1) * per]
        write_st(os.path.join(d, name), part, dt)
        wm.update({n: name for n, _, _ in part})
    json.dump({"metadata": {}, "weight_map": wm}, open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)


# ---- The reference forward pass ----------------------------------------------------------------------

def load(d):
    w = {}
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    for f in files:
        b = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", b[:8])[0]
        for name, t in json.loads(b[8:8 + n]).items():
            if name == "__metadata__":
                continue
            a, e = t["data_offsets"]
            raw = b[8 + n + a:8 + n + e]
            if t["dtype"] == "BF16":
                vals = [struct.unpack("<f", struct.pack("<I", u << 16))[0]
                        for u in struct.unpack("<%dH" % (len(raw) // 2), raw)]
            else:
                fmt, sz = PACK[t["dtype"]]
                vals = list(struct.unpack("<%d%s" % (len(raw) // sz, fmt[1]), raw))
            cols = t["shape"][-1]
            w[name] = [vals[i:i + cols] for i in range(0, len(vals), cols)] if len(t["shape"]) == 2 else vals
    return w


def matvec(m, x):
    return [sum(a * b for a, b in zip(row, x)) for row in m]


def rmsnorm(x, g):
    s = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + EPS)
    return [v * s * gi for v, gi in zip(x, g)]


def rope(v, pos):
    """Hugging Face's rotate_half: element i pairs with i + HD/2."""
    out = list(v)
    for i in range(HD // 2):
        th = pos * THETA ** (-2.0 * i / HD)
        c, s = math.cos(th), math.sin(th)
        a, b = v[i], v[i + HD // 2]
        out[i], out[i + HD // 2] = a * c - b * s, b * c + a * s
    return out


def forward(w, ids):
    """The final hidden state (after the norm) at every position."""
    xs = [list(w["model.embed_tokens.weight"][t]) for t in ids]
    for l in range(L):
        p = "model.layers.%d." % l
        ks, vs, outs = [], [], []
        for pos, x in enumerate(xs):
            h = rmsnorm(x, w[p + "input_layernorm.weight"])
            q, k, v = (matvec(w[p + "self_attn.%s_proj.weight" % n], h) for n in "qkv")
            if p + "self_attn.q_proj.bias" in w:  # Qwen2
                q, k, v = ([a + b for a, b in zip(y, w[p + "self_attn.%s_proj.bias" % n])] for y, n in zip((q, k, v), "qkv"))
            ks.append([rope(k[j * HD:(j + 1) * HD], pos) for j in range(NKV)])
            vs.append([v[j * HD:(j + 1) * HD] for j in range(NKV)])
            att = []
            for hh in range(NH):
                qh, kv = rope(q[hh * HD:(hh + 1) * HD], pos), hh // (NH // NKV)
                sc = [sum(a * b for a, b in zip(qh, ks[t][kv])) / math.sqrt(HD) for t in range(pos + 1)]
                m = max(sc)
                e = [math.exp(s - m) for s in sc]
                z = sum(e)
                att += [sum(e[t] / z * vs[t][kv][i] for t in range(pos + 1)) for i in range(HD)]
            x = [a + b for a, b in zip(x, matvec(w[p + "self_attn.o_proj.weight"], att))]
            h = rmsnorm(x, w[p + "post_attention_layernorm.weight"])
            g, u = matvec(w[p + "mlp.gate_proj.weight"], h), matvec(w[p + "mlp.up_proj.weight"], h)
            f = [gi / (1.0 + math.exp(-gi)) * ui for gi, ui in zip(g, u)]
            outs.append([a + b for a, b in zip(x, matvec(w[p + "mlp.down_proj.weight"], f))])
        xs = outs
    return [rmsnorm(x, w["model.norm.weight"]) for x in xs]


def logprobs(d, ids):
    w = load(d)
    for x in forward(w, ids):
        lg = matvec(w["lm_head.weight"], x)
        m = max(lg)
        lse = m + math.log(sum(math.exp(v - m) for v in lg))
        top = sorted(range(len(lg)), key=lambda i: -lg[i])[:5]
        print(" ".join("%d:%.6f" % (i, lg[i] - lse) for i in top))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "write":
        opts = dict(zip(a[3::2], a[4::2]))
        write(a[1], a[2], int(opts.get("--shards", 1)), opts.get("--dtype", "bf16"), int(opts.get("--seed", 1)),
              opts.get("--arch", "LlamaForCausalLM"), int(opts.get("--vocab", V)), opts.get("--inv-freq") == "1")
    elif len(a) == 3 and a[0] == "tokenizer":
        write_tokenizer(a[1], a[2])
    elif len(a) >= 3 and a[0] == "logprobs":
        logprobs(a[1], [int(x) for x in a[2:]])
    else:
        sys.exit(__doc__)
