"""PyTorch models of the two trained tiny architectures, written from the
published definitions and mirroring tests/ref/reference.py (the float64
reference the engine is checked against), with the same tensor names as
llama.cpp's GGUF (so export is a rename-free dump):

  DeepSeek2  (r1-tiny, DeepSeek-V3/R1): MLA with q-LoRA / kv-LoRA and a decoupled
             rope part (interleaved layout, YaRN with mscale), leading dense
             layers, MoE with a shared expert, sigmoid scores + the aux-loss-free
             correction bias, group-limited top-k, normalised weights scaled by
             routed_scaling_factor, one MTP (next-n) module.
  Qwen2      (r1-distill-tiny): GQA attention with q/k/v bias, NEOX rope, SwiGLU.

Weights are stored as PyTorch (out, in) matrices; GGUF ne is the reverse.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rope_hf(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def deinterleave(x):
    d = x.shape[-1]
    return x.reshape(x.shape[:-1] + (d // 2, 2)).transpose(-1, -2).reshape(x.shape)


def yarn_inv_freq(d, base, factor, orig_ctx, beta_fast=32.0, beta_slow=1.0):
    freq_extra = 1.0 / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    freq_inter = freq_extra / factor
    cd = lambda b: d * math.log(orig_ctx / (b * 2 * math.pi)) / (2 * math.log(base))
    low = max(math.floor(cd(beta_fast)), 0)
    high = min(math.ceil(cd(beta_slow)), d - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(d // 2, dtype=torch.float64) - low) / (high - low), 0.0, 1.0)
    extra_mask = 1.0 - ramp
    return freq_inter * (1.0 - extra_mask) + freq_extra * extra_mask


def rope_tables(inv_freq, T):
    """HF's cos/sin for positions 0..T-1: emb = cat(freqs, freqs), (1, T, d)."""
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq.double())
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().float()[None], emb.sin().float()[None]


def causal_mask(T, device):
    return torch.triu(torch.full((T, T), float("-inf"), device=device), diagonal=1)


class Lin(nn.Module):
    def __init__(self, n_in, n_out, bias=False, std=None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * (std if std else n_in ** -0.5))
        self.bias = nn.Parameter(torch.zeros(n_out)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


def mlp(x, g, u, d):
    return F.linear(F.silu(F.linear(x, g)) * F.linear(x, u), d)


# ----------------------------------------------------------------------------- DeepSeek2

class DSConfig:
    def __init__(self, **kw):
        self.n_vocab = 0          # compact (used ids)
        self.n_embd = 256
        self.n_layer = 3          # main layers (the MTP block comes after)
        self.n_dense = 1
        self.n_head = 4
        self.q_lora = 128
        self.kv_lora = 128
        self.nope = 32
        self.rope = 32
        self.v_head = 32
        self.n_ff = 512
        self.n_ff_exp = 128
        self.n_expert = 8
        self.n_used = 2
        self.n_group = 4
        self.topk_group = 2
        self.n_shared = 1
        self.routed_scale = 2.5
        self.eps = 1e-6
        self.rope_base = 10000.0
        self.yarn_factor = 4.0
        self.yarn_orig = 512
        self.yarn_log_mul = 0.1   # 0.1 * mscale_all_dim (1.0)
        self.ctx = 2048
        self.n_nextn = 1
        self.__dict__.update(kw)


class MLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        H, qk = c.n_head, c.nope + c.rope
        self.attn_q_a = Lin(c.n_embd, c.q_lora)
        self.attn_q_a_norm = nn.Parameter(torch.ones(c.q_lora))
        self.attn_q_b = Lin(c.q_lora, H * qk)
        self.attn_kv_a_mqa = Lin(c.n_embd, c.kv_lora + c.rope)
        self.attn_kv_a_norm = nn.Parameter(torch.ones(c.kv_lora))
        self.attn_kv_b = Lin(c.kv_lora, H * (c.nope + c.v_head))
        self.attn_output = Lin(H * c.v_head, c.n_embd, std=(H * c.v_head) ** -0.5 / 2)

    def forward(self, h, cos, sin, scale, mask):
        c, (B, T, _) = self.c, h.shape
        H = c.n_head
        q = self.attn_q_b(rms_norm(self.attn_q_a(h), self.attn_q_a_norm, c.eps)).view(B, T, H, c.nope + c.rope)
        q_nope, q_pe = q[..., :c.nope], q[..., c.nope:]
        ckv = self.attn_kv_a_mqa(h)
        kvc = rms_norm(ckv[..., :c.kv_lora], self.attn_kv_a_norm, c.eps)
        k_pe = ckv[..., c.kv_lora:]
        kvb = self.attn_kv_b(kvc).view(B, T, H, c.nope + c.v_head)
        k_nope, v = kvb[..., :c.nope], kvb[..., c.nope:]
        q_pe = rope_hf(deinterleave(q_pe), cos[:, :, None], sin[:, :, None])
        k_pe = rope_hf(deinterleave(k_pe), cos, sin)[:, :, None].expand(B, T, H, c.rope)
        qf = torch.cat([q_nope, q_pe], -1).transpose(1, 2)
        kf = torch.cat([k_nope, k_pe], -1).transpose(1, 2)
        s = torch.matmul(qf, kf.transpose(-1, -2)) * scale + mask
        a = torch.matmul(torch.softmax(s, -1), v.transpose(1, 2))
        return self.attn_output(a.transpose(1, 2).reshape(B, T, H * c.v_head))


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        E, D, Fe = c.n_expert, c.n_embd, c.n_ff_exp
        self.ffn_gate_inp = Lin(D, E, std=0.02)
        self.register_buffer("exp_probs_b", torch.zeros(E))
        self.ffn_gate_exps = nn.Parameter(torch.randn(E, Fe, D) * D ** -0.5)
        self.ffn_up_exps = nn.Parameter(torch.randn(E, Fe, D) * D ** -0.5)
        self.ffn_down_exps = nn.Parameter(torch.randn(E, D, Fe) * Fe ** -0.5 / 2)
        Fs = Fe * c.n_shared
        self.ffn_gate_shexp = Lin(D, Fs)
        self.ffn_up_shexp = Lin(D, Fs)
        self.ffn_down_shexp = Lin(Fs, D, std=Fs ** -0.5 / 2)
        self.load = torch.zeros(E)

    def route(self, x):
        c = self.c
        s = torch.sigmoid(F.linear(x, self.ffn_gate_inp.weight))     # (N, E)
        choice = s.detach() + self.exp_probs_b
        N, E = choice.shape
        G, KG = c.n_group, c.topk_group
        grp = choice.view(N, G, E // G)
        gs = grp.topk(2, dim=-1).values.sum(-1)                      # noaux_tc: top-2 sum per group
        keep = gs.topk(KG, dim=-1).indices
        gmask = torch.zeros(N, G, dtype=torch.bool).scatter_(1, keep, True)
        choice = choice.masked_fill(~gmask.repeat_interleave(E // G, dim=1), float("-inf"))
        ids = choice.topk(c.n_used, dim=-1).indices
        w = s.gather(1, ids)
        w = w / w.sum(-1, keepdim=True)
        return ids, w * c.routed_scale

    def forward(self, x):
        B, T, D = x.shape
        xf = x.reshape(-1, D)
        ids, w = self.route(xf)
        out = torch.zeros_like(xf)
        if self.training:
            self.load += torch.bincount(ids.reshape(-1), minlength=self.c.n_expert).float()
        for e in range(self.c.n_expert):
            t, slot = torch.nonzero(ids == e, as_tuple=True)
            if t.numel() == 0:
                continue
            he = xf[t]
            y = mlp(he, self.ffn_gate_exps[e], self.ffn_up_exps[e], self.ffn_down_exps[e])
            out.index_add_(0, t, w[t, slot][:, None] * y)
        out = out + mlp(xf, self.ffn_gate_shexp.weight, self.ffn_up_shexp.weight, self.ffn_down_shexp.weight)
        return out.view(B, T, D)

    def update_bias(self, gamma):
        """Aux-loss-free balancing (DeepSeek-V3 §2.1.2): push under-loaded experts up."""
        if self.load.sum() > 0:
            self.exp_probs_b += gamma * torch.sign(self.load.mean() - self.load)
        self.load.zero_()


class DSBlock(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        self.c = c
        self.attn_norm = nn.Parameter(torch.ones(c.n_embd))
        self.ffn_norm = nn.Parameter(torch.ones(c.n_embd))
        self.attn = MLA(c)
        self.moe = moe
        if moe:
            self.ffn = MoE(c)
        else:
            self.ffn_gate = Lin(c.n_embd, c.n_ff)
            self.ffn_up = Lin(c.n_embd, c.n_ff)
            self.ffn_down = Lin(c.n_ff, c.n_embd, std=c.n_ff ** -0.5 / 2)

    def forward(self, x, cos, sin, scale, mask):
        c = self.c
        x = x + self.attn(rms_norm(x, self.attn_norm, c.eps), cos, sin, scale, mask)
        h = rms_norm(x, self.ffn_norm, c.eps)
        if self.moe:
            return x + self.ffn(h)
        return x + mlp(h, self.ffn_gate.weight, self.ffn_up.weight, self.ffn_down.weight)


class NumberRows(nn.Module):
    """Training-time factorisation of the number tokens' vocabulary rows.

    DeepSeek-V3's tokenizer writes numbers in chunks of up to three digits
    ("2193" is "219", "3"), and the chains of thought work digit by digit, so
    the model must learn each of the 1,110 chunks' digits. Here a chunk's input
    and output rows are its free row plus one shared vector per (chunk length,
    place, digit): "347" starts out knowing it is 3 hundreds, 4 tens, 7 units.
    Export folds the shared vectors into the rows (DeepSeek2.effective_rows), so
    the written model is a plain deepseek2 with ordinary embedding and output
    matrices. `num_idx` is (n_vocab, 3) indices into the 90-row tables (length
    1..3 x place x digit), 90 for none; None disables it (loading a checkpoint)."""

    def __init__(self, d, num_idx):
        super().__init__()
        self.on = num_idx is not None
        if self.on:
            self.register_buffer("idx", num_idx)
            self.embd = nn.Parameter(torch.randn(91, d) * 3 ** -0.5)
            self.out = nn.Parameter(torch.randn(91, d) * d ** -0.5 * 3 ** -0.5)

    def rows(self, table):
        t = torch.cat([table[:90], torch.zeros_like(table[90:])], 0)
        return t[self.idx].sum(1)


class DeepSeek2(nn.Module):
    def __init__(self, c, num_idx=None):
        super().__init__()
        self.c = c
        # Unit-scale embeddings: at 0.02 the blocks' outputs (rms ~0.5 at init) swamp the token identity in the
        # residual stream, and the first runs never learnt to copy a token (REPORT.md).
        self.token_embd = nn.Parameter(torch.randn(c.n_vocab, c.n_embd))
        self.blocks = nn.ModuleList([DSBlock(c, i >= c.n_dense) for i in range(c.n_layer)])
        self.output_norm = nn.Parameter(torch.ones(c.n_embd))
        self.output = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * c.n_embd ** -0.5)
        self.numbers = NumberRows(c.n_embd, num_idx)
        # MTP (next-n) module: [enorm(emb(t+1)); hnorm(h_t)] -> eh_proj -> block -> shared head.
        self.mtp_block = DSBlock(c, True)
        self.enorm = nn.Parameter(torch.ones(c.n_embd))
        self.hnorm = nn.Parameter(torch.ones(c.n_embd))
        self.eh_proj = Lin(2 * c.n_embd, c.n_embd)
        self.shared_head_norm = nn.Parameter(torch.ones(c.n_embd))
        inv = yarn_inv_freq(c.rope, c.rope_base, c.yarn_factor, c.yarn_orig)
        self.register_buffer("inv_freq", inv.float())
        mscale = 1.0 + c.yarn_log_mul * math.log(c.yarn_factor) if c.yarn_factor > 1 else 1.0
        self.scale = (c.nope + c.rope) ** -0.5 * mscale * mscale

    def moe_layers(self):
        return [b.ffn for b in list(self.blocks) + [self.mtp_block] if b.moe]

    def effective_rows(self):
        """(input embeddings, output head) as the exported model has them."""
        if not self.numbers.on:
            return self.token_embd, self.output
        return (self.token_embd + self.numbers.rows(self.numbers.embd),
                self.output + self.numbers.rows(self.numbers.out))

    def forward(self, tokens, mtp=False):
        B, T = tokens.shape
        cos, sin = rope_tables(self.inv_freq, T)
        mask = causal_mask(T, tokens.device)
        embd, head = self.effective_rows()
        x = embd[tokens]
        for b in self.blocks:
            x = b(x, cos, sin, self.scale, mask)
        logits = F.linear(rms_norm(x, self.output_norm, self.c.eps), head)
        if not mtp:
            return logits, None
        # MTP at position t predicts token t+2 from h_t and the embedding of token t+1.
        e = embd[tokens[:, 1:]]
        h = self.eh_proj(torch.cat([rms_norm(e, self.enorm, self.c.eps), rms_norm(x[:, :-1], self.hnorm, self.c.eps)], -1))
        h = self.mtp_block(h, cos[:, :T - 1], sin[:, :T - 1], self.scale, mask[:T - 1, :T - 1])
        mlog = F.linear(rms_norm(h, self.shared_head_norm, self.c.eps), head)
        return logits, mlog

    def gguf_tensors(self):
        """name -> float32 numpy array in PyTorch layout (GGUF ne reversed)."""
        out = {k: v.detach().float().numpy() for k, v in self.gguf_params().items()}
        embd, head = self.effective_rows()
        out["token_embd.weight"], out["output.weight"] = embd.detach().float().numpy(), head.detach().float().numpy()
        return out

    def gguf_params(self):
        """name -> the live parameter or buffer (for export and for --init)."""
        c, out = self.c, {}
        def block(i, b):
            p = "blk.%d." % i
            a = b.attn
            out[p + "attn_norm.weight"] = b.attn_norm
            out[p + "attn_q_a.weight"] = a.attn_q_a.weight
            out[p + "attn_q_a_norm.weight"] = a.attn_q_a_norm
            out[p + "attn_q_b.weight"] = a.attn_q_b.weight
            out[p + "attn_kv_a_mqa.weight"] = a.attn_kv_a_mqa.weight
            out[p + "attn_kv_a_norm.weight"] = a.attn_kv_a_norm
            out[p + "attn_kv_b.weight"] = a.attn_kv_b.weight
            out[p + "attn_output.weight"] = a.attn_output.weight
            out[p + "ffn_norm.weight"] = b.ffn_norm
            if b.moe:
                m = b.ffn
                out[p + "ffn_gate_inp.weight"] = m.ffn_gate_inp.weight
                out[p + "exp_probs_b.bias"] = m.exp_probs_b
                out[p + "ffn_gate_exps.weight"] = m.ffn_gate_exps
                out[p + "ffn_up_exps.weight"] = m.ffn_up_exps
                out[p + "ffn_down_exps.weight"] = m.ffn_down_exps
                out[p + "ffn_gate_shexp.weight"] = m.ffn_gate_shexp.weight
                out[p + "ffn_up_shexp.weight"] = m.ffn_up_shexp.weight
                out[p + "ffn_down_shexp.weight"] = m.ffn_down_shexp.weight
            else:
                out[p + "ffn_gate.weight"] = b.ffn_gate.weight
                out[p + "ffn_up.weight"] = b.ffn_up.weight
                out[p + "ffn_down.weight"] = b.ffn_down.weight
        out["token_embd.weight"] = self.token_embd
        for i, b in enumerate(self.blocks):
            block(i, b)
        n = c.n_layer
        block(n, self.mtp_block)
        p = "blk.%d.nextn." % n
        out[p + "eh_proj.weight"] = self.eh_proj.weight
        out[p + "enorm.weight"] = self.enorm
        out[p + "hnorm.weight"] = self.hnorm
        out[p + "shared_head_norm.weight"] = self.shared_head_norm
        out["output_norm.weight"] = self.output_norm
        out["output.weight"] = self.output
        return out

    def gguf_kv(self):
        c, a = self.c, "deepseek2."
        return {
            "general.architecture": "deepseek2",
            a + "context_length": c.ctx, a + "embedding_length": c.n_embd, a + "block_count": c.n_layer + c.n_nextn,
            a + "feed_forward_length": c.n_ff, a + "attention.head_count": c.n_head,
            a + "attention.head_count_kv": c.n_head, a + "attention.layer_norm_rms_epsilon": c.eps,
            a + "rope.freq_base": c.rope_base, a + "leading_dense_block_count": c.n_dense,
            a + "attention.q_lora_rank": c.q_lora, a + "attention.kv_lora_rank": c.kv_lora,
            a + "attention.key_length": c.nope + c.rope, a + "attention.value_length": c.v_head,
            a + "expert_feed_forward_length": c.n_ff_exp, a + "expert_count": c.n_expert,
            a + "expert_used_count": c.n_used, a + "expert_shared_count": c.n_shared,
            a + "expert_weights_scale": c.routed_scale, a + "expert_weights_norm": True,
            a + "expert_gating_func": 2, a + "expert_group_count": c.n_group,
            a + "expert_group_used_count": c.topk_group, a + "nextn_predict_layers": c.n_nextn,
            a + "rope.dimension_count": c.rope, a + "rope.scaling.type": "yarn",
            a + "rope.scaling.factor": c.yarn_factor, a + "rope.scaling.original_context_length": c.yarn_orig,
            a + "rope.scaling.yarn_log_multiplier": c.yarn_log_mul,
        }


# ----------------------------------------------------------------------------- Qwen2

class QConfig:
    def __init__(self, **kw):
        self.n_vocab = 0
        self.n_embd = 256
        self.n_layer = 4
        self.n_head = 4
        self.n_head_kv = 2
        self.head_dim = 64
        self.n_ff = 768
        self.eps = 1e-6
        self.rope_base = 10000.0
        self.ctx = 2048
        self.__dict__.update(kw)


class QBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        D, hd = c.n_embd, c.head_dim
        self.attn_norm = nn.Parameter(torch.ones(D))
        self.attn_q = Lin(D, c.n_head * hd, bias=True)
        self.attn_k = Lin(D, c.n_head_kv * hd, bias=True)
        self.attn_v = Lin(D, c.n_head_kv * hd, bias=True)
        self.attn_output = Lin(c.n_head * hd, D, std=(c.n_head * hd) ** -0.5 / 2)
        self.ffn_norm = nn.Parameter(torch.ones(D))
        self.ffn_gate = Lin(D, c.n_ff)
        self.ffn_up = Lin(D, c.n_ff)
        self.ffn_down = Lin(c.n_ff, D, std=c.n_ff ** -0.5 / 2)

    def forward(self, x, cos, sin, mask):
        c, (B, T, D) = self.c, x.shape
        h = rms_norm(x, self.attn_norm, c.eps)
        q = self.attn_q(h).view(B, T, c.n_head, c.head_dim).transpose(1, 2)
        k = self.attn_k(h).view(B, T, c.n_head_kv, c.head_dim).transpose(1, 2)
        v = self.attn_v(h).view(B, T, c.n_head_kv, c.head_dim).transpose(1, 2)
        q, k = rope_hf(q, cos[:, None], sin[:, None]), rope_hf(k, cos[:, None], sin[:, None])
        rep = c.n_head // c.n_head_kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c.head_dim) + mask
        a = torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.attn_output(a)
        h = rms_norm(x, self.ffn_norm, c.eps)
        return x + mlp(h, self.ffn_gate.weight, self.ffn_up.weight, self.ffn_down.weight)


class Qwen2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        # Unit-scale embeddings: at 0.02 the blocks' outputs (rms ~0.5 at init) swamp the token identity in the
        # residual stream, and the first runs never learnt to copy a token (REPORT.md).
        self.token_embd = nn.Parameter(torch.randn(c.n_vocab, c.n_embd))
        self.blocks = nn.ModuleList([QBlock(c) for _ in range(c.n_layer)])
        self.output_norm = nn.Parameter(torch.ones(c.n_embd))
        self.output = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * c.n_embd ** -0.5)
        inv = 1.0 / c.rope_base ** (torch.arange(0, c.head_dim, 2, dtype=torch.float64) / c.head_dim)
        self.register_buffer("inv_freq", inv.float())

    def moe_layers(self):
        return []

    def forward(self, tokens, mtp=False):
        B, T = tokens.shape
        cos, sin = rope_tables(self.inv_freq, T)
        mask = causal_mask(T, tokens.device)
        x = self.token_embd[tokens]
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return F.linear(rms_norm(x, self.output_norm, self.c.eps), self.output), None

    def gguf_tensors(self):
        return {k: v.detach().float().numpy() for k, v in self.gguf_params().items()}

    def gguf_params(self):
        out = {"token_embd.weight": self.token_embd, "output_norm.weight": self.output_norm, "output.weight": self.output}
        for i, b in enumerate(self.blocks):
            p = "blk.%d." % i
            out[p + "attn_norm.weight"] = b.attn_norm
            for n in ("attn_q", "attn_k", "attn_v"):
                out[p + n + ".weight"] = getattr(b, n).weight
                out[p + n + ".bias"] = getattr(b, n).bias
            out[p + "attn_output.weight"] = b.attn_output.weight
            out[p + "ffn_norm.weight"] = b.ffn_norm
            out[p + "ffn_gate.weight"] = b.ffn_gate.weight
            out[p + "ffn_up.weight"] = b.ffn_up.weight
            out[p + "ffn_down.weight"] = b.ffn_down.weight
        return out

    def gguf_kv(self):
        c, a = self.c, "qwen2."
        return {"general.architecture": "qwen2", a + "context_length": c.ctx, a + "embedding_length": c.n_embd,
                a + "block_count": c.n_layer, a + "feed_forward_length": c.n_ff, a + "attention.head_count": c.n_head,
                a + "attention.head_count_kv": c.n_head_kv, a + "attention.layer_norm_rms_epsilon": c.eps,
                a + "rope.freq_base": c.rope_base}
