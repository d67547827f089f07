#!/usr/bin/python3
"""Independent float64 numpy reference forward pass for r1.cpp's logit tests.

Usage:
  python3 tests/ref/reference.py --model M.gguf --tokens 1,2,3 [--tokens 4,5 ...]
        --out logits.bin [--dump-experts experts.json] [--n-group G --topk-group K]

Each --tokens is one sequence, run from position 0 on its own. The logits of
every position of every sequence are concatenated and written as little-endian
float64, row-major [total_tokens, n_vocab].

Written from the published model definitions, NOT from r1.cpp's C++:
  * HF transformers modeling_llama.py (LlamaRMSNorm, rotate_half,
    apply_rotary_pos_emb, LlamaMLP, repeat_kv, eager attention),
  * modeling_qwen2.py (q/k/v biases), modeling_qwen3.py (q_norm/k_norm per
    head, applied before rope; head_dim from config),
  * DeepSeek-V3 modeling_deepseek.py (DeepseekV3Attention, apply_rotary_pos_emb
    with its de-interleave view, DeepseekV3YarnRotaryEmbedding, yarn_get_mscale,
    MoEGate noaux_tc, DeepseekV3MoE) and DeepSeek-V2's MoEGate (softmax gating),
  * llama.cpp's converter (conversion/llama.py LlamaModel.permute,
    conversion/deepseek.py DeepseekV2Model) for GGUF names and layouts.
See model_notes() below for the conventions and why they hold.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf import GGUFFile  # noqa: E402


# ---------------------------------------------------------------------------
# Conventions (the facts this file relies on)
#
# LLAMA Q/K PERMUTATION. llama.cpp's LlamaModel.permute(w, n_head, n_head_kv)
#   w.reshape(n_head, 2, hd/2, in).swapaxes(1, 2).reshape(w.shape)
# maps HF row (h, half j, i) to GGUF row h*hd + 2*i + j, so that ggml's
# interleaved ("normal") rope, which rotates pairs (2i, 2i+1), equals HF's
# rotate_half, which rotates pairs (i, i + hd/2), both at frequency i. We undo
# it, w_gguf.reshape(n_head, hd/2, 2, in).swapaxes(1, 2), and then run HF's
# rotate_half rope literally. K uses n_head_kv heads (permute is called with
# n_head_kv for k_proj). selftest.py checks both directions.
#
# LLAMA3 ROPE FREQS. rope_freqs.weight[i] (length n_rot/2) divides frequency i:
#   inv_freq[i] = base^(-2i/n_rot) / rope_freqs[i]     (ggml_rope_ext freq_factors)
# which is how llama.cpp's converter stores HF's "llama3" inv_freq adjustment.
#
# QWEN2/QWEN3 use NEOX rope = HF rotate_half on unpermuted weights, nothing to undo.
#
# DEEPSEEK2 ROPE. The converter (DeepseekV2Model.modify_tensors) does NOT
# permute any weight. HF applies rope to q_pe/k_pe after a de-interleave view
#   x.view(..., d/2, 2).transpose(-1, -2).reshape(..., d)
# and then rotate_half, i.e. it rotates the ORIGINAL pairs (x[2i], x[2i+1]) at
# frequency i, writing the results to positions i and i + d/2. llama.cpp's
# interleaved rope rotates the same pairs at the same frequencies but keeps the
# results at (2i, 2i+1). The two outputs differ only by one fixed permutation of
# the rope dims, applied to both q_pe and k_pe, so every dot product
# q_pe . k_pe (the only thing the rope part feeds) is identical. We run the HF
# form literally (selftest.py checks the equivalence numerically).
#
# DEEPSEEK2 KV_B. HF kv_b_proj.weight (H*(nope+v), kv_lora) viewed as
# (H, nope+v, kv_lora): rows [:nope] give k_nope, [nope:] give v. Older GGUFs
# store it as attn_kv_b (numpy shape (H*(nope+v), kv_lora)). Newer ones split it
# (conversion/deepseek.py): k_b = kv_b[:, :nope, :].transpose(1, 2) stored as
# attn_k_b with ne = [nope, kv_lora, H] -> numpy (H, kv_lora, nope); v_b =
# kv_b[:, nope:, :] stored as attn_v_b with ne = [kv_lora, v, H] -> numpy
# (H, v, kv_lora). Both are supported.
#
# DEEPSEEK2 DIMS. llama.cpp writes key_length = kv_lora + rope (MLA form) and
# key_length_mla = nope + rope, value_length_mla = v_head_dim; older files have
# key_length = nope + rope, value_length = v_head_dim. We take the *_mla keys
# when present and check everything against the tensor shapes.
#
# YARN (DeepseekV3YarnRotaryEmbedding): freq_extra = base^(-2i/d), freq_inter =
# freq_extra / factor, correction range [floor(cd(beta_fast)), ceil(cd(beta_slow))]
# clamped to [0, d-1] with cd(b) = d*ln(orig/(b*2*pi)) / (2*ln(base)); ramp =
# clip((i - low)/(high - low), 0, 1) over i < d/2; inv_freq = freq_inter*ramp +
# freq_extra*(1 - ramp). cos/sin are multiplied by
# yarn_get_mscale(f, mscale)/yarn_get_mscale(f, mscale_all_dim), which is 1 for
# every released V2/V3 config (mscale == mscale_all_dim; GGUF does not store
# mscale), so they are left unscaled. softmax_scale = mscale^2 / sqrt(nope+rope)
# with mscale = 1 + yarn_log_multiplier * ln(factor) (GGUF stores
# yarn_log_multiplier = 0.1 * mscale_all_dim) when factor > 1.
#
# MOE ROUTING. gating 2 (sigmoid, V3 noaux_tc): s = sigmoid(logits); choice =
# s + exp_probs_b; with groups, group score = sum of the top-2 choices in the
# group, keep the topk_group best groups, others are masked to -inf (as in
# DeepSeek's inference/model.py and llama.cpp; HF masks to 0.0, which only
# differs if every kept choice is negative); top-k by choice; weights = s
# (unbiased) of those. gating 1 (softmax, V2): s = softmax(logits); with groups
# (V2 group_limited_greedy) the group score is the group max. Then weights are
# normalised to sum 1 if expert_weights_norm, then multiplied by
# expert_weights_scale (V3 always scales; V2's HF code scales only when not
# normalising, which coincides for every released config). Ties in top-k go to
# the lower expert id. Shared experts (ffn_*_shexp) are added unweighted.
# expert_gating_func absent -> softmax (llama.cpp's default for old V2 GGUFs).
# expert_group_count absent -> no group limit unless --n-group/--topk-group.
#
# MTP. deepseek2.nextn_predict_layers (if present) blocks at the end of
# block_count are the MTP module (llama.cpp counts them in block_count); they
# are skipped in the normal forward pass. With --mtp the first one also runs
# (DeepSeek-V3 section 2.2, as SGLang's deepseek_nextn): for t = 0..T-2,
#   h'_t = block(eh_proj [enorm(embed(token_{t+1})); hnorm(h_t)])  at position t
# with h_t the main model's final hidden state (before output_norm), causal
# attention over the module's own rows 0..t, and the logits
# output(shared_head_norm(h'_t)), which predict token t+2. The block's own
# nextn.embed_tokens / nextn.shared_head_head replace token_embd / output
# when the file has them (llama.cpp's names for HF's embed_tokens and
# shared_head.head of the MTP layer).
# ---------------------------------------------------------------------------


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def rope_hf(x, pos, inv_freq):
    """HF apply_rotary_pos_emb on x (T, ..., d): emb = cat(freqs, freqs)."""
    freqs = np.outer(pos.astype(np.float64), inv_freq)          # (T, d/2)
    emb = np.concatenate([freqs, freqs], axis=-1)               # (T, d)
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    cos, sin = np.cos(emb).reshape(shape), np.sin(emb).reshape(shape)
    return x * cos + rotate_half(x) * sin


def deinterleave(x):
    """HF DeepSeek: x.view(..., d/2, 2).transpose(-1, -2).reshape(..., d)."""
    d = x.shape[-1]
    return x.reshape(x.shape[:-1] + (d // 2, 2)).swapaxes(-1, -2).reshape(x.shape)


def unpermute_llama(w, n_head):
    """Inverse of llama.cpp's LlamaModel.permute on the row axis (axis 0)."""
    rows = w.shape[0]
    hd = rows // n_head
    return (w.reshape((n_head, hd // 2, 2) + w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def yarn_inv_freq(d, base, factor, orig_ctx, beta_fast=32.0, beta_slow=1.0):
    """DeepseekV3YarnRotaryEmbedding._set_cos_sin_cache's inv_freq (float64)."""
    freq_extra = 1.0 / base ** (np.arange(0, d, 2, dtype=np.float64) / d)
    freq_inter = freq_extra / factor
    cd = lambda b: d * math.log(orig_ctx / (b * 2 * math.pi)) / (2 * math.log(base))
    low = max(math.floor(cd(beta_fast)), 0)             # yarn_find_correction_range
    high = min(math.ceil(cd(beta_slow)), d - 1)
    if low == high:
        high += 0.001                                    # yarn_linear_ramp_mask
    ramp = np.clip((np.arange(d // 2, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
    extra_mask = 1.0 - ramp                              # inv_freq_mask
    return freq_inter * (1.0 - extra_mask) + freq_extra * extra_mask, low, high


def yarn_get_mscale(scale, mscale):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def causal_attention(q, k, v, scale):
    """q (T, H, dk), k (T, H, dk), v (T, H, dv) -> (T, H, dv), causal."""
    T = q.shape[0]
    s = np.einsum("ihd,jhd->hij", q, k) * scale
    mask = np.triu(np.ones((T, T), dtype=bool), k=1)
    s = np.where(mask[None], -np.inf, s)
    p = softmax(s, axis=-1)
    return np.einsum("hij,jhd->ihd", p, v)


class Model:
    def __init__(self, path, args):
        self.g = GGUFFile(path)
        self.arch = self.g.require("general.architecture")
        self.args = args
        self._cache = {}

    def has(self, name):
        return name in self.g.tensors

    def W(self, name):
        if name not in self._cache:
            if name not in self.g.tensors:
                raise KeyError("tensor %s not found" % name)
            self._cache[name] = self.g.tensor(name)
        return self._cache[name]

    def kv(self, key, default=None, required=False):
        full = "%s.%s" % (self.arch, key)
        if required:
            return self.g.require(full)
        return self.g.get(full, default)

    def output_weight(self):
        return self.W("output.weight") if self.has("output.weight") else self.W("token_embd.weight")

    def mlp(self, h, il, sfx=""):
        p = "blk.%d." % il
        g = h @ self.W(p + "ffn_gate%s.weight" % sfx).T
        u = h @ self.W(p + "ffn_up%s.weight" % sfx).T
        return (silu(g) * u) @ self.W(p + "ffn_down%s.weight" % sfx).T

    def logits(self, x):
        x = rms_norm(x, self.W("output_norm.weight"), self.eps)
        return x @ self.output_weight().T


class LlamaLike(Model):
    """llama / qwen2 / qwen3 (HF LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)."""

    def __init__(self, path, args):
        super().__init__(path, args)
        self.n_layer = int(self.kv("block_count", required=True))
        self.n_embd = int(self.kv("embedding_length", required=True))
        self.n_head = int(self.kv("attention.head_count", required=True))
        self.n_head_kv = int(self.kv("attention.head_count_kv", self.n_head))
        self.eps = float(self.kv("attention.layer_norm_rms_epsilon", required=True))
        self.head_dim = int(self.kv("attention.key_length", self.n_embd // self.n_head))
        self.n_rot = int(self.kv("rope.dimension_count", self.head_dim))
        base = float(self.kv("rope.freq_base", 10000.0))
        i = np.arange(0, self.n_rot, 2, dtype=np.float64)
        self.inv_freq = 1.0 / base ** (i / self.n_rot)
        if self.has("rope_freqs.weight"):
            ff = self.W("rope_freqs.weight").reshape(-1)
            assert ff.size == self.n_rot // 2, "rope_freqs length %d != n_rot/2" % ff.size
            self.inv_freq = self.inv_freq / ff
        self.pos_scale = 1.0
        st = self.kv("rope.scaling.type", "none")
        if st == "linear":   # HF LlamaLinearScalingRotaryEmbedding: t / factor
            self.pos_scale = 1.0 / float(self.kv("rope.scaling.factor", 1.0))
        elif st not in ("none", None):
            raise NotImplementedError("rope.scaling.type %s for %s" % (st, self.arch))
        if self.arch == "llama" and self.n_rot != self.head_dim:
            raise NotImplementedError("llama with rope.dimension_count != head_dim")

    def qkv(self, h, il):
        p = "blk.%d." % il
        out = []
        for name, nh in (("attn_q", self.n_head), ("attn_k", self.n_head_kv), ("attn_v", self.n_head_kv)):
            w = self.W(p + name + ".weight")
            b = self.W(p + name + ".bias") if self.has(p + name + ".bias") else None
            if self.arch == "llama" and name != "attn_v":
                w = unpermute_llama(w, nh)
                b = unpermute_llama(b, nh) if b is not None else None
            y = h @ w.T + (b if b is not None else 0.0)
            out.append(y.reshape(h.shape[0], nh, self.head_dim))
        return out

    def forward(self, tokens):
        T = len(tokens)
        pos = np.arange(T, dtype=np.float64) * self.pos_scale
        x = self.W("token_embd.weight")[np.asarray(tokens)]
        n_rep = self.n_head // self.n_head_kv
        for il in range(self.n_layer):
            p = "blk.%d." % il
            h = rms_norm(x, self.W(p + "attn_norm.weight"), self.eps)
            q, k, v = self.qkv(h, il)
            if self.has(p + "attn_q_norm.weight"):   # qwen3: RMSNorm over head_dim, before rope
                q = rms_norm(q, self.W(p + "attn_q_norm.weight"), self.eps)
                k = rms_norm(k, self.W(p + "attn_k_norm.weight"), self.eps)
            r = self.n_rot
            q = np.concatenate([rope_hf(q[..., :r], pos, self.inv_freq), q[..., r:]], axis=-1)
            k = np.concatenate([rope_hf(k[..., :r], pos, self.inv_freq), k[..., r:]], axis=-1)
            k = np.repeat(k, n_rep, axis=1)          # HF repeat_kv: q head h uses kv head h // n_rep
            v = np.repeat(v, n_rep, axis=1)
            a = causal_attention(q, k, v, 1.0 / math.sqrt(self.head_dim))
            x = x + a.reshape(T, -1) @ self.W(p + "attn_output.weight").T
            h = rms_norm(x, self.W(p + "ffn_norm.weight"), self.eps)
            x = x + self.mlp(h, il)
        return self.logits(x), None


class DeepSeek2(Model):
    """deepseek2 (DeepSeek-V2/V2-Lite/V3/R1): MLA attention + (shared) MoE."""

    def __init__(self, path, args):
        super().__init__(path, args)
        kv = self.kv
        n_block = int(kv("block_count", required=True))
        self.n_nextn = int(kv("nextn_predict_layers", 0))
        self.n_layer = n_block - self.n_nextn
        self.n_embd = int(kv("embedding_length", required=True))
        self.n_head = int(kv("attention.head_count", required=True))
        self.eps = float(kv("attention.layer_norm_rms_epsilon", required=True))
        # q_lora: decided by the tensors (V2-Lite has attn_q, no attn_q_a; llama.cpp keys it on
        # n_layer == 27 and skips attention.q_lora_rank then).
        self.q_lora = self.has("blk.0.attn_q_a.weight")
        self.kv_lora = int(kv("attention.kv_lora_rank", required=True))
        self.n_rot = int(kv("rope.dimension_count", required=True))
        self.qk_head = int(kv("attention.key_length_mla", 0) or kv("attention.key_length", required=True))
        self.v_head = int(kv("attention.value_length_mla", 0) or kv("attention.value_length", required=True))
        self.nope = self.qk_head - self.n_rot
        self.n_dense = int(kv("leading_dense_block_count", 0))
        self.n_expert = int(kv("expert_count", 0))
        self.n_used = int(kv("expert_used_count", 0))
        self.w_scale = float(kv("expert_weights_scale", 1.0) or 1.0)
        self.w_norm = bool(kv("expert_weights_norm", False))
        self.gating = int(kv("expert_gating_func", 0) or 1)     # 0 (absent) -> softmax
        self.n_group = int(kv("expert_group_count", 0) or 0)
        self.topk_group = int(kv("expert_group_used_count", 0) or 0)
        if args.n_group is not None:
            self.n_group = args.n_group
        if args.topk_group is not None:
            self.topk_group = args.topk_group
        if self.n_group > 1 and self.topk_group < self.n_group:
            log("deepseek2: group-limited routing n_group=%d topk_group=%d" % (self.n_group, self.topk_group))
        else:
            log("deepseek2: no group limit (expert_group_count=%s expert_group_used_count=%s)"
                % (kv("expert_group_count"), kv("expert_group_used_count")))
        self._check_shapes()
        # rope / yarn (DeepseekV3YarnRotaryEmbedding)
        base = float(kv("rope.freq_base", 10000.0))
        d = self.n_rot
        i = np.arange(0, d, 2, dtype=np.float64)
        freq_extra = 1.0 / base ** (i / d)
        self.inv_freq = freq_extra
        self.softmax_scale = 1.0 / math.sqrt(self.qk_head)
        if kv("rope.scaling.type", "none") == "yarn":
            f = float(kv("rope.scaling.factor", 1.0))
            orig = float(kv("rope.scaling.original_context_length", required=True))
            beta_fast = float(kv("rope.scaling.yarn_beta_fast", 32.0))
            beta_slow = float(kv("rope.scaling.yarn_beta_slow", 1.0))
            log_mul = float(kv("rope.scaling.yarn_log_multiplier", 0.0))
            self.inv_freq, low, high = yarn_inv_freq(d, base, f, orig, beta_fast, beta_slow)
            if f > 1.0 and log_mul:
                mscale = 1.0 + log_mul * math.log(f)   # = yarn_get_mscale(f, mscale_all_dim)
                self.softmax_scale *= mscale * mscale
            log("deepseek2: yarn factor=%g orig=%g low=%s high=%s softmax_scale=%.17g"
                % (f, orig, low, high, self.softmax_scale))
        elif kv("rope.scaling.type", "none") not in ("none", None):
            raise NotImplementedError("deepseek2 rope.scaling.type %s" % kv("rope.scaling.type"))

    def _check_shapes(self):
        H, p = self.n_head, "blk.0."
        qname = p + ("attn_q_b.weight" if self.q_lora else "attn_q.weight")
        assert self.g.tensors[qname].ne[1] == H * self.qk_head, "%s rows != H*(nope+rope)" % qname
        assert self.g.tensors[p + "attn_kv_a_mqa.weight"].ne[1] == self.kv_lora + self.n_rot
        if self.has(p + "attn_kv_b.weight"):
            assert self.g.tensors[p + "attn_kv_b.weight"].ne == [self.kv_lora, H * (self.nope + self.v_head)]
        else:
            assert self.g.tensors[p + "attn_k_b.weight"].ne == [self.nope, self.kv_lora, H]
            assert self.g.tensors[p + "attn_v_b.weight"].ne == [self.kv_lora, self.v_head, H]

    def rope(self, x, pos):
        return rope_hf(deinterleave(x), pos, self.inv_freq)

    def attention(self, h, il, pos):
        p, H, T = "blk.%d." % il, self.n_head, h.shape[0]
        if self.q_lora:
            q = rms_norm(h @ self.W(p + "attn_q_a.weight").T, self.W(p + "attn_q_a_norm.weight"), self.eps)
            q = q @ self.W(p + "attn_q_b.weight").T
        else:
            q = h @ self.W(p + "attn_q.weight").T
        q = q.reshape(T, H, self.qk_head)
        q_nope, q_pe = q[..., :self.nope], q[..., self.nope:]
        ckv = h @ self.W(p + "attn_kv_a_mqa.weight").T               # (T, kv_lora + rope)
        c = rms_norm(ckv[:, :self.kv_lora], self.W(p + "attn_kv_a_norm.weight"), self.eps)
        k_pe = ckv[:, self.kv_lora:]                                 # (T, rope), shared by heads
        if self.has(p + "attn_kv_b.weight"):
            kvb = self.W(p + "attn_kv_b.weight").reshape(H, self.nope + self.v_head, self.kv_lora)
            k_nope = np.einsum("tc,hdc->thd", c, kvb[:, :self.nope])
            v = np.einsum("tc,hdc->thd", c, kvb[:, self.nope:])
        else:
            k_nope = np.einsum("tc,hcd->thd", c, self.W(p + "attn_k_b.weight"))   # (H, kv_lora, nope)
            v = np.einsum("tc,hdc->thd", c, self.W(p + "attn_v_b.weight"))        # (H, v, kv_lora)
        q_pe = self.rope(q_pe, pos)
        k_pe = self.rope(k_pe[:, None, :], pos)                     # (T, 1, rope)
        qf = np.concatenate([q_nope, q_pe], axis=-1)
        kf = np.concatenate([k_nope, np.broadcast_to(k_pe, (T, H, self.n_rot))], axis=-1)
        a = causal_attention(qf, kf, v, self.softmax_scale)          # (T, H, v)
        return a.reshape(T, H * self.v_head) @ self.W(p + "attn_output.weight").T

    def route(self, h, il):
        """Returns (ids (T, k), weights (T, k)) per MoEGate."""
        p = "blk.%d." % il
        logits = h @ self.W(p + "ffn_gate_inp.weight").T             # (T, E)
        s = 1.0 / (1.0 + np.exp(-logits)) if self.gating == 2 else softmax(logits)
        choice = s + self.W(p + "exp_probs_b.bias").reshape(-1) if self.has(p + "exp_probs_b.bias") else s.copy()
        T, E = choice.shape
        raw = choice.copy()
        G, KG = self.n_group, self.topk_group
        gs = None
        if G > 1 and 0 < KG < G:
            grp = choice.reshape(T, G, E // G)
            if self.gating == 2:    # noaux_tc: sum of the top-2 per group
                gs = np.sort(grp, axis=-1)[..., -2:].sum(-1)
            else:                   # V2 group_limited_greedy: max per group
                gs = grp.max(-1)
            keep = np.argsort(-gs, axis=-1, kind="stable")[:, :KG]
            gmask = np.zeros((T, G), dtype=bool)
            np.put_along_axis(gmask, keep, True, axis=-1)
            choice = np.where(np.repeat(gmask, E // G, axis=-1), choice, -np.inf)
            gsorted = -np.sort(-gs, axis=-1)
            group_margin = gsorted[:, KG - 1] - gsorted[:, KG]
        else:
            group_margin = np.full(T, np.inf)
        ids = np.argsort(-choice, axis=-1, kind="stable")[:, :self.n_used]
        # How far each token is from choosing differently: the gap between the
        # last chosen and the first unchosen expert (and group). Where it is
        # near 0 the routing is discontinuous: any rounding may flip it.
        csorted = -np.sort(-choice, axis=-1)
        expert_margin = csorted[:, self.n_used - 1] - csorted[:, self.n_used] if self.n_used < E else np.full(T, np.inf)
        self.last_margin = np.minimum(expert_margin, group_margin)
        # --force-experts: follow another engine's routing, recording the
        # regret of each token's forced choice: how much worse, in choice
        # score (expert, or its group's), the forced experts are than the
        # ones chosen here (0 where the two agree).
        self.last_regret = np.zeros(T)
        forced = (getattr(self, "forced", None) or {}).get(il)
        if forced is not None:
            forced = np.asarray(forced, dtype=np.int64).reshape(T, self.n_used)
            for t in range(T):
                own = set(ids[t].tolist())
                kth = choice[t, ids[t]].min()
                for e in forced[t]:
                    if int(e) in own:
                        continue
                    r = kth - raw[t, e]
                    if gs is not None:
                        r = max(r, gsorted[t, KG - 1] - gs[t, e // (E // G)])
                    self.last_regret[t] = max(self.last_regret[t], r)
            ids = forced
        w = np.take_along_axis(s, ids, axis=-1)
        if self.w_norm:
            w = w / w.sum(-1, keepdims=True)
        return ids, w * self.w_scale

    def moe(self, h, il):
        p = "blk.%d." % il
        ids, w = self.route(h, il)
        gate, up, down = (self.W(p + n) for n in ("ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"))
        out = np.zeros_like(h)
        for e in np.unique(ids):
            t, slot = np.nonzero(ids == e)
            he = h[t]
            y = (silu(he @ gate[e].T) * (he @ up[e].T)) @ down[e].T
            out[t] += w[t, slot][:, None] * y
        if self.has(p + "ffn_gate_shexp.weight"):
            out += self.mlp(h, il, "_shexp")
        return out, ids, w

    def forward(self, tokens):
        T = len(tokens)
        pos = np.arange(T, dtype=np.float64)
        x = self.W("token_embd.weight")[np.asarray(tokens)]
        experts = {}
        for il in range(self.n_layer):
            p = "blk.%d." % il
            x = x + self.attention(rms_norm(x, self.W(p + "attn_norm.weight"), self.eps), il, pos)
            h = rms_norm(x, self.W(p + "ffn_norm.weight"), self.eps)
            if il < self.n_dense or not self.has(p + "ffn_gate_inp.weight"):
                x = x + self.mlp(h, il)
            else:
                y, ids, w = self.moe(h, il)
                experts[il] = {"ids": ids.tolist(), "weights": w.tolist(),
                               "margins": [float(min(v, 1e30)) for v in self.last_margin],
                               "regrets": [float(v) for v in self.last_regret]}
                x = x + y
        self.last_hidden = x
        return self.logits(x), experts

    def mtp(self, tokens):
        """MTP logits (T-1, vocab) after forward(tokens)."""
        il, T = self.n_layer, len(tokens)
        p = "blk.%d." % il
        q = p + "nextn."
        emb = self.W(q + "embed_tokens.weight") if self.has(q + "embed_tokens.weight") else self.W("token_embd.weight")
        e = emb[np.asarray(tokens[1:])]
        h = self.last_hidden[:T - 1]
        x = np.concatenate([rms_norm(e, self.W(q + "enorm.weight"), self.eps),
                            rms_norm(h, self.W(q + "hnorm.weight"), self.eps)], axis=-1) @ self.W(q + "eh_proj.weight").T
        pos = np.arange(T - 1, dtype=np.float64)
        x = x + self.attention(rms_norm(x, self.W(p + "attn_norm.weight"), self.eps), il, pos)
        hh = rms_norm(x, self.W(p + "ffn_norm.weight"), self.eps)
        if not self.has(p + "ffn_gate_inp.weight"):
            x = x + self.mlp(hh, il)
        else:
            x = x + self.moe(hh, il)[0]
        norm = self.W(q + "shared_head_norm.weight") if self.has(q + "shared_head_norm.weight") else self.W("output_norm.weight")
        head = self.W(q + "shared_head_head.weight") if self.has(q + "shared_head_head.weight") else self.output_weight()
        return rms_norm(x, norm, self.eps) @ head.T


ARCHS = {"llama": LlamaLike, "qwen2": LlamaLike, "qwen3": LlamaLike, "deepseek2": DeepSeek2}


def log(msg):
    print("reference.py: " + msg, file=sys.stderr)


def load_model(path, args=None):
    if args is None:
        args = argparse.Namespace(n_group=None, topk_group=None)
    arch = GGUFFile(path).require("general.architecture")
    if arch not in ARCHS:
        raise NotImplementedError("architecture %s" % arch)
    return ARCHS[arch](path, args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", action="append", required=True, help="comma-separated ids; repeat per sequence")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dump-experts", help="JSON file with the routed expert ids/weights (deepseek2)")
    ap.add_argument("--force-experts",
                    help="deepseek2: JSON {\"sequences\": [{\"layers\": {\"L\": [[ids] per token]}}]}: route as "
                         "given (another engine's choice) and record each token's regret in --dump-experts")
    ap.add_argument("--n-group", type=int, help="override expert_group_count")
    ap.add_argument("--topk-group", type=int, help="override expert_group_used_count")
    ap.add_argument("--mtp", action="store_true",
                    help="deepseek2: write the MTP module's logits instead (T-1 rows per sequence)")
    args = ap.parse_args(argv)
    m = load_model(args.model, args)
    rows, dump = [], []
    forced = None
    if args.force_experts:
        with open(args.force_experts) as f:
            forced = json.load(f)["sequences"]
        if len(forced) != len(args.tokens):
            raise SystemExit("--force-experts has %d sequences for %d --tokens" % (len(forced), len(args.tokens)))
    for i, spec in enumerate(args.tokens):
        toks = [int(t) for t in spec.split(",") if t.strip() != ""]
        if not toks:
            raise SystemExit("empty --tokens")
        if forced is not None:
            m.forced = {int(k): v for k, v in forced[i]["layers"].items()}
        logits, experts = m.forward(toks)
        rows.append(m.mtp(toks) if args.mtp else logits)
        dump.append({"tokens": toks, "layers": {str(k): v for k, v in (experts or {}).items()}})
    out = np.concatenate(rows, axis=0).astype("<f8")
    with open(args.out, "wb") as f:
        f.write(out.tobytes())
    log("%s: %d tokens x %d vocab -> %s" % (m.arch, out.shape[0], out.shape[1], args.out))
    if args.dump_experts:
        with open(args.dump_experts, "w") as f:
            json.dump({"sequences": dump}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
