"""Independent check of a Hugging Face directory written by `r1 gen --trained
NAME -o DIR [--fp8]` against the GGUF expansion of the same model (F32).

Reads model.safetensors by its published layout (8-byte little-endian header
length, JSON header, raw data), decodes BF16, F32 and FP8 e4m3 (OCP E4M3FN:
bias 7, no infinities, 0x7f/0xff NaN) scaled by weight_scale_inv per 128x128
block, maps the names back to llama.cpp's, and compares every tensor with
the GGUF's: BF16 within 2^-8 relative, FP8 within e4m3's half step (2^-4
relative) of the block's scale. Also checks config.json.

    python3 hf_check.py DIR MODEL_F32.gguf     -> prints a summary, exit 1 on mismatch
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = (t["dtype"], t["shape"], data[base + b:base + e])
    return out


def e4m3_table():
    v = np.zeros(256)
    for i in range(256):
        s, ex, m = i >> 7, (i >> 3) & 15, i & 7
        if ex == 15 and m == 7:
            v[i] = np.nan
        elif ex == 0:
            v[i] = m / 8 * 2.0 ** -6
        else:
            v[i] = (1 + m / 8) * 2.0 ** (ex - 7)
        if s:
            v[i] = -v[i]
    return v


def decode(dtype, shape, raw):
    if dtype == "F32":
        return np.frombuffer(raw.tobytes(), dtype="<f4").astype(np.float64).reshape(shape)
    if dtype == "BF16":
        u = np.frombuffer(raw.tobytes(), dtype="<u2").astype(np.uint32) << 16
        return u.view(np.float32).astype(np.float64).reshape(shape)
    if dtype == "F8_E4M3":
        return e4m3_table()[np.frombuffer(raw.tobytes(), dtype=np.uint8)].reshape(shape)
    raise ValueError("dtype " + dtype)


TOP = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}
BLOCK = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
         "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
         "self_attn.q_a_proj": "attn_q_a", "self_attn.q_a_layernorm": "attn_q_a_norm",
         "self_attn.q_b_proj": "attn_q_b", "self_attn.kv_a_proj_with_mqa": "attn_kv_a_mqa",
         "self_attn.kv_a_layernorm": "attn_kv_a_norm", "self_attn.kv_b_proj": "attn_kv_b",
         "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
         "mlp.gate": "ffn_gate_inp", "mlp.gate.e_score_correction_bias": "exp_probs_b",
         "mlp.shared_experts.gate_proj": "ffn_gate_shexp", "mlp.shared_experts.up_proj": "ffn_up_shexp",
         "mlp.shared_experts.down_proj": "ffn_down_shexp", "eh_proj": "nextn.eh_proj", "enorm": "nextn.enorm",
         "hnorm": "nextn.hnorm", "shared_head.norm": "nextn.shared_head_norm"}


def main():
    d, gpath = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    g = gguf.GGUFFile(gpath)
    arch = g.require("general.architecture")
    problems = []
    n_block = g.require(arch + ".block_count")
    n_nextn = g.get(arch + ".nextn_predict_layers", 0)
    want_cls = "DeepseekV3ForCausalLM" if arch == "deepseek2" else "Qwen2ForCausalLM"
    if cfg.get("architectures") != [want_cls]:
        problems.append("config.json architectures %r" % cfg.get("architectures"))
    if cfg.get("num_hidden_layers") != n_block - n_nextn:
        problems.append("num_hidden_layers %r, want %d" % (cfg.get("num_hidden_layers"), n_block - n_nextn))
    if arch == "deepseek2" and cfg.get("num_nextn_predict_layers", 0) != n_nextn:
        problems.append("num_nextn_predict_layers %r" % cfg.get("num_nextn_predict_layers"))
    for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if not os.path.exists(os.path.join(d, f)):
            problems.append("missing " + f)
    st = read_safetensors(os.path.join(d, "model.safetensors"))
    fp8 = any(t[0] == "F8_E4M3" for t in st.values())
    if fp8 and cfg.get("quantization_config", {}).get("fmt") != "e4m3":
        problems.append("FP8 weights without quantization_config fmt e4m3")
    experts = {}
    seen, worst = set(), {"BF16": 0.0, "F8_E4M3": 0.0, "F32": 0.0}
    for name, (dtype, shape, raw) in st.items():
        if name.endswith(".weight_scale_inv"):
            continue
        x = decode(dtype, shape, raw)
        if dtype == "F8_E4M3":
            s = decode(*st[name[:-len(".weight")] + ".weight_scale_inv"])
            x = x * np.kron(s, np.ones((128, 128)))[:shape[0], :shape[1]]
        suffix = ".bias" if name.endswith(".bias") else ".weight"
        base = name[:-len(suffix)]
        if base in TOP:
            gname = TOP[base] + suffix
        else:
            parts = base.split(".")
            if parts[:2] != ["model", "layers"]:
                problems.append("unexpected tensor " + name)
                continue
            layer, rest = parts[2], ".".join(parts[3:])
            if rest.startswith("mlp.experts."):
                e, proj = rest.split(".")[2], rest.split(".")[3]
                experts.setdefault((layer, proj), {})[int(e)] = (x, dtype)
                continue
            if rest in ("embed_tokens", "shared_head.head"):  # the MTP layer's copies of the shared tables
                gname = "token_embd.weight" if rest == "embed_tokens" else "output.weight"
            elif name.endswith("e_score_correction_bias"):
                gname = "blk.%s.exp_probs_b.bias" % layer
            elif rest in BLOCK:
                gname = "blk.%s.%s%s" % (layer, BLOCK[rest], suffix)
            else:
                problems.append("unknown tensor " + name)
                continue
        compare(g, gname, x, dtype, problems, worst, seen)
    for (layer, proj), by_e in experts.items():
        x = np.stack([by_e[e][0] for e in sorted(by_e)])
        gname = "blk.%s.ffn_%s_exps.weight" % (layer, proj.split("_")[0])
        compare(g, gname, x, by_e[0][1], problems, worst, seen)
    for name in g.tensors:
        if name not in seen and not name.startswith("blk.%d.nextn.embed_tokens" % (n_block - 1)) \
                and "shared_head_head" not in name:
            problems.append("GGUF tensor %s has no safetensors counterpart" % name)
    print("%d safetensors tensors (%s), %d GGUF tensors matched; worst relative error: %s" %
          (len(st), "FP8" if fp8 else "BF16", len(seen), ", ".join("%s %.2g" % kv for kv in worst.items())))
    for p in problems[:20]:
        print("PROBLEM:", p)
    sys.exit(1 if problems else 0)


def compare(g, gname, x, dtype, problems, worst, seen):
    if gname not in g.tensors:
        problems.append("no GGUF tensor " + gname)
        return
    ref = g.tensor(gname)
    if ref.shape != x.shape:
        problems.append("%s: shape %s, GGUF %s" % (gname, x.shape, ref.shape))
        return
    seen.add(gname)
    scale = max(np.abs(ref).max(), 1e-30)
    if dtype == "F8_E4M3":  # relative to each element's own magnitude, plus e4m3's subnormal step
        err = np.abs(x - ref) / (np.abs(ref) + scale * 2.0 ** -9)
        tol = 2.0 ** -4
    else:
        err = np.abs(x - ref) / (np.abs(ref) + 1e-30)
        tol = 2.0 ** -8 if dtype == "BF16" else 1e-7
    e = float(err.max())
    worst[dtype] = max(worst[dtype], e)
    if e > tol:
        problems.append("%s (%s): relative error %.3g > %.3g" % (gname, dtype, e, tol))


if __name__ == "__main__":
    main()
