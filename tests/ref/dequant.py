"""Dequantization of ggml tensor data to float64, vectorized with numpy.

Written from ggml's block layouts (ggml/src/ggml-common.h, block_q*) and the
element order of ggml/src/ggml-quants.c dequantize_row_* (llama.cpp), checked
with the search tool; no code from r1.cpp. All fp16 scales are little-endian
IEEE half. QK_K = 256.

Block layouts (bytes):
  Q8_0 (32 el, 34 B): f16 d | int8 qs[32]                 y[j] = d*qs[j]
  Q4_0 (32 el, 18 B): f16 d | u8 qs[16]
        y[j] = d*((qs[j] & 0xF) - 8), y[j+16] = d*((qs[j] >> 4) - 8)   (j < 16)
  Q5_0 (32 el, 22 B): f16 d | u32 qh (LE) | u8 qs[16]
        hi0 = bit j of qh, hi1 = bit j+16 of qh
        y[j] = d*(((qs[j]&0xF) | hi0<<4) - 16), y[j+16] = d*(((qs[j]>>4) | hi1<<4) - 16)
  Q4_K (256 el, 144 B): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
        8 sub-blocks of 32 with 6-bit (scale, min) from get_scale_min_k4(j):
          j < 4: sc = s[j] & 63,  m = s[j+4] & 63
          j >= 4: sc = (s[j+4] & 0xF) | ((s[j-4] >> 6) << 4)
                  m  = (s[j+4] >> 4)  | ((s[j]   >> 6) << 4)
        for chunk c in 0..3 (64 elements, q = qs[32c : 32c+32]):
          y[64c + l]      = d*sc[2c]  *(q[l] & 0xF) - dmin*m[2c]
          y[64c + 32 + l] = d*sc[2c+1]*(q[l] >> 4)  - dmin*m[2c+1]
  Q5_K (256 el, 176 B): f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
        as Q4_K, plus the 5th bit: low nibble of chunk c gets bit 2c of qh[l],
        high nibble gets bit 2c+1 of qh[l] (value += 16 when set).
  Q6_K (256 el, 210 B): u8 ql[128] | u8 qh[64] | int8 scales[16] | f16 d
        for half n in 0..1 (128 elements; ql += 64n, qh += 32n, sc += 8n),
        l in 0..31, is = l // 16:
          y[l]    = d*sc[is]  *((ql[l]    & 0xF | ((qh[l]>>0)&3)<<4) - 32)
          y[l+32] = d*sc[is+2]*((ql[l+32] & 0xF | ((qh[l]>>2)&3)<<4) - 32)
          y[l+64] = d*sc[is+4]*((ql[l]    >> 4  | ((qh[l]>>4)&3)<<4) - 32)
          y[l+96] = d*sc[is+6]*((ql[l+32] >> 4  | ((qh[l]>>6)&3)<<4) - 32)
  BF16: upper 16 bits of an IEEE float32.
"""
import numpy as np

QK_K = 256


def _f16(b):
    """(..., 2) uint8 -> float64 of the little-endian halfs."""
    return np.ascontiguousarray(b).view("<f2")[..., 0].astype(np.float64)


def _blocks(raw, n_elements, blk, size):
    raw = np.asarray(raw, dtype=np.uint8)
    if n_elements % blk:
        raise ValueError("%d elements is not a multiple of the block size %d" % (n_elements, blk))
    nb = n_elements // blk
    if raw.size != nb * size:
        raise ValueError("expected %d bytes for %d elements, got %d" % (nb * size, n_elements, raw.size))
    return raw.reshape(nb, size)


def deq_f32(raw, n):
    return np.frombuffer(np.asarray(raw, np.uint8).tobytes(), "<f4", n).astype(np.float64)


def deq_f16(raw, n):
    return np.frombuffer(np.asarray(raw, np.uint8).tobytes(), "<f2", n).astype(np.float64)


def deq_bf16(raw, n):
    u = np.frombuffer(np.asarray(raw, np.uint8).tobytes(), "<u2", n).astype(np.uint32) << 16
    return u.view(np.float32).astype(np.float64)


def deq_q8_0(raw, n):
    b = _blocks(raw, n, 32, 34)
    d = _f16(b[:, 0:2])
    qs = b[:, 2:34].view(np.int8).astype(np.float64)
    return (d[:, None] * qs).reshape(-1)


def deq_q4_0(raw, n):
    b = _blocks(raw, n, 32, 18)
    d = _f16(b[:, 0:2])
    qs = b[:, 2:18]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.float64) - 8.0
    return (d[:, None] * q).reshape(-1)


def deq_q5_0(raw, n):
    b = _blocks(raw, n, 32, 22)
    d = _f16(b[:, 0:2])
    qh = np.ascontiguousarray(b[:, 2:6]).view("<u4")[:, 0]
    qs = b[:, 6:22].astype(np.uint32)
    j = np.arange(16, dtype=np.uint32)
    hi0 = (qh[:, None] >> j) & 1
    hi1 = (qh[:, None] >> (j + 16)) & 1
    lo = (qs & 0xF) | (hi0 << 4)
    hi = (qs >> 4) | (hi1 << 4)
    q = np.concatenate([lo, hi], axis=1).astype(np.float64) - 16.0
    return (d[:, None] * q).reshape(-1)


def _scale_min_k4(s):
    """s: (nb, 12) uint8 -> sc, m: (nb, 8) ints (ggml get_scale_min_k4)."""
    s = s.astype(np.int64)
    sc = np.empty((s.shape[0], 8), np.int64)
    m = np.empty((s.shape[0], 8), np.int64)
    sc[:, :4] = s[:, 0:4] & 63
    m[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, m


def deq_q4_k(raw, n):
    b = _blocks(raw, n, QK_K, 144)
    d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    sc, m = _scale_min_k4(b[:, 4:16])
    qs = b[:, 16:144].reshape(-1, 4, 32)                      # (nb, chunk, l)
    q = np.stack([qs & 0xF, qs >> 4], axis=2)                 # (nb, chunk, half, l)
    q = q.reshape(-1, 8, 32).astype(np.float64)               # sub-block j = 2c + half
    y = (d[:, None] * sc)[:, :, None] * q - (dmin[:, None] * m)[:, :, None]
    return y.reshape(-1)


def deq_q5_k(raw, n):
    b = _blocks(raw, n, QK_K, 176)
    d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    sc, m = _scale_min_k4(b[:, 4:16])
    qh = b[:, 16:48].astype(np.int64)                         # (nb, l)
    qs = b[:, 48:176].reshape(-1, 4, 32).astype(np.int64)     # (nb, chunk, l)
    lo = qs & 0xF
    hi = qs >> 4
    c = np.arange(4)[None, :, None]
    lo = lo + 16 * ((qh[:, None, :] >> (2 * c)) & 1)
    hi = hi + 16 * ((qh[:, None, :] >> (2 * c + 1)) & 1)
    q = np.stack([lo, hi], axis=2).reshape(-1, 8, 32).astype(np.float64)
    y = (d[:, None] * sc)[:, :, None] * q - (dmin[:, None] * m)[:, :, None]
    return y.reshape(-1)


def deq_q6_k(raw, n):
    b = _blocks(raw, n, QK_K, 210)
    nb = b.shape[0]
    ql = b[:, 0:128].reshape(nb, 2, 64).astype(np.int64)      # (nb, half, 64)
    qh = b[:, 128:192].reshape(nb, 2, 32).astype(np.int64)    # (nb, half, 32)
    sc = b[:, 192:208].view(np.int8).reshape(nb, 2, 8).astype(np.float64)
    d = _f16(b[:, 208:210])
    q1 = (ql[:, :, 0:32] & 0xF) | (((qh >> 0) & 3) << 4)
    q2 = (ql[:, :, 32:64] & 0xF) | (((qh >> 2) & 3) << 4)
    q3 = (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
    q4 = (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
    q = np.stack([q1, q2, q3, q4], axis=2).astype(np.float64) - 32.0   # (nb, half, 4, 32)
    # scale index for element l of quarter k: is + 2k with is = l // 16
    l = np.arange(32)
    k = np.arange(4)
    sidx = (l[None, :] // 16) + 2 * k[:, None]                # (4, 32)
    s = sc[:, :, sidx]                                        # (nb, half, 4, 32)
    y = d[:, None, None, None] * s * q
    return y.reshape(-1)


_DEQ = {0: deq_f32, 1: deq_f16, 30: deq_bf16, 8: deq_q8_0, 2: deq_q4_0, 6: deq_q5_0,
        12: deq_q4_k, 13: deq_q5_k, 14: deq_q6_k}


def dequantize(raw, ggml_type, n_elements):
    """raw: uint8 array of the tensor's bytes -> flat float64 array."""
    if ggml_type == 28:  # F64
        return np.frombuffer(np.asarray(raw, np.uint8).tobytes(), "<f8", n_elements).copy()
    if ggml_type not in _DEQ:
        raise NotImplementedError("dequantization of ggml type %d is not implemented" % ggml_type)
    return _DEQ[ggml_type](raw, n_elements)
