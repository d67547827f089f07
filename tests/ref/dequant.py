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
  Q4_1 (32 el, 20 B): f16 d | f16 m | u8 qs[16]
        y[j] = d*(qs[j] & 0xF) + m, y[j+16] = d*(qs[j] >> 4) + m
  Q5_1 (32 el, 24 B): f16 d | f16 m | u32 qh | u8 qs[16]   (Q5_0's bits, + m, no bias)
  IQ4_NL (32 el, 18 B): f16 d | u8 qs[16]; as Q4_0 with the nibble indexing
        KVALUES_IQ4NL instead of (nibble - 8).
  IQ4_XS (256 el, 136 B): f16 d | u16 scales_h | u8 scales_l[4] | u8 qs[128]
        sub-block ib (32 el): ls = (scales_l[ib//2] >> 4*(ib%2)) & 0xF | ((scales_h >> 2ib) & 3) << 4
        dl = d*(ls - 32); qs[16ib:16ib+16] as IQ4_NL.
  Q2_K (256 el, 84 B): u8 scales[16] | u8 qs[64] | f16 d | f16 dmin
        for half n (128 el, q = qs[32n:32n+32]), shift j in 0..3 (32 el):
          element 128n + 32j + l has code (q[l] >> 2j) & 3 and scale byte
          sc = scales[8n + 2j + l//16]: y = d*(sc & 0xF)*code - dmin*(sc >> 4)
  Q3_K (256 el, 110 B): u8 hmask[32] | u8 qs[64] | u8 scales[12] | f16 d
        codes as Q2_K; element e's high bit is bit (e // 32) of hmask[e % 32];
        value = code - (0 if high bit else 4). 16 six-bit scales: low 4 bits
        nibble (s // 8) of scales[s % 8], top 2 bits (scales[8 + s%4] >> 2(s//4)) & 3;
        y = d*(scale - 32)*value, scale of element e = e // 16.
  TQ2_0 (256 el, 66 B): u8 qs[64] | f16 d; codes as Q2_K, y = d*(code - 1).
  TQ1_0 (256 el, 54 B): u8 qs[48] | u8 qh[4] | f16 d; trit n of byte b is
        (((b * 3^n) & 0xFF) * 3) >> 8. Elements 32n + m (n < 5, m < 32): trit n
        of qs[m]; 160 + 16n + m (n < 5, m < 16): trit n of qs[32 + m];
        240 + 4n + j (n < 4, j < 4): trit n of qh[j]. y = d*(trit - 1).

Codebook ("IQ grid") types, 256 el: eight sub-blocks of 32 (ib), 32 groups of 8
(g). A group's 8 magnitudes are one 8-byte grid entry (byte j = element j) or,
for IQ3_*, two 4-byte entries (elements 0..3, 4..7). A sign byte per group has
bit j set when element j is negative; XXS/XS keep 7 bits, an index into
KSIGNS_IQ2XS. ls = 2s+1 for a 4-bit (IQ1: 3-bit) scale field s. The grids are
read from src/kernels/iq_tables.h, a file generated from ggml-common.h (data,
not code).
  IQ2_XXS (66 B): f16 d | 8 B per ib = u32 a0, a1: byte l of a0 = grid index of
        group l, bits 7l.. of a1 = sign index, a1 >> 28 = s. y = d*ls/8 * grid*sign
  IQ2_XS (74 B): f16 d | u16 qs[32] (9-bit grid index | 7-bit sign index << 9) |
        u8 scales[8]: nibble n of byte ib is s of elements 16n..16n+15 of ib.
  IQ2_S (82 B): f16 d | u8 qs[32] index low bits | u8 signs[32] | u8 qh[8]
        (bits 2l, 2l+1 of qh[ib] = index bits 8, 9 of group l) | scales as IQ2_XS.
  IQ3_XXS (98 B): f16 d | u8 qs[64] grid index per 4 el | u32 per ib: 7-bit sign
        indices, s in bits 28..31. y = d*ls/4 * grid*sign
  IQ3_S (110 B): f16 d | u8 qs[64] | u8 qh[8] (bit k of qh[ib] = index bit 8 of
        quad k) | u8 signs[32] | u8 scales[4] (nibble ib%2 of byte ib//2).
        y = d*ls * grid*sign
  IQ1_S (50 B): f16 d | u8 qs[32] | u16 qh[8]: bits 3l..3l+2 index bits 8..10 of
        group l, bits 12..14 s, bit 15 delta sign. y = d*ls*(grid + delta),
        delta = -0.125 if bit 15 else 0.125 (grid int8 in {-1, 0, 1}).
  IQ1_M (56 B): u8 qs[32] | u8 qh[16] (nibble g%2 of qh[g//2]: 3 index bits, bit
        3 delta sign) | u16 sc[4]: 3-bit s of 16-el half h at sc[h//4] >> 3(h%4);
        d = f16 from the top nibbles of sc[0..3] (sc[0]'s lowest).
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


KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113],
                         np.float64)


def deq_q4_1(raw, n):
    b = _blocks(raw, n, 32, 20)
    d, m = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    qs = b[:, 4:20]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.float64)
    return (d[:, None] * q + m[:, None]).reshape(-1)


def deq_q5_1(raw, n):
    b = _blocks(raw, n, 32, 24)
    d, m = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    qh = np.ascontiguousarray(b[:, 4:8]).view("<u4")[:, 0]
    qs = b[:, 8:24].astype(np.uint32)
    j = np.arange(16, dtype=np.uint32)
    lo = (qs & 0xF) | (((qh[:, None] >> j) & 1) << 4)
    hi = (qs >> 4) | (((qh[:, None] >> (j + 16)) & 1) << 4)
    q = np.concatenate([lo, hi], axis=1).astype(np.float64)
    return (d[:, None] * q + m[:, None]).reshape(-1)


def deq_iq4_nl(raw, n):
    b = _blocks(raw, n, 32, 18)
    d = _f16(b[:, 0:2])
    qs = b[:, 2:18]
    q = KVALUES_IQ4NL[np.concatenate([qs & 0xF, qs >> 4], axis=1)]
    return (d[:, None] * q).reshape(-1)


def deq_iq4_xs(raw, n):
    b = _blocks(raw, n, QK_K, 136)
    d = _f16(b[:, 0:2])
    sh = np.ascontiguousarray(b[:, 2:4]).view("<u2")[:, 0].astype(np.int64)
    sl = b[:, 4:8].astype(np.int64)
    ib = np.arange(8)
    ls = ((sl[:, ib // 2] >> (4 * (ib % 2))) & 0xF) | (((sh[:, None] >> (2 * ib)) & 3) << 4)
    qs = b[:, 8:136].reshape(-1, 8, 16)
    q = KVALUES_IQ4NL[np.concatenate([qs & 0xF, qs >> 4], axis=2)]         # (nb, 8, 32)
    return ((d[:, None] * (ls - 32))[:, :, None] * q).reshape(-1)


def _codes2(qs):
    """(nb, 64) uint8 -> (nb, 256) 2-bit codes in element order (Q2_K layout)."""
    q = qs.reshape(-1, 2, 1, 32).astype(np.int64)                           # (nb, half, 1, l)
    shift = 2 * np.arange(4).reshape(1, 1, 4, 1)
    return ((q >> shift) & 3).reshape(-1, QK_K)


def deq_q2_k(raw, n):
    b = _blocks(raw, n, QK_K, 84)
    sc = b[:, 0:16].astype(np.int64)
    code = _codes2(b[:, 16:80]).reshape(-1, 16, 16).astype(np.float64)
    d, dmin = _f16(b[:, 80:82]), _f16(b[:, 82:84])
    y = (d[:, None] * (sc & 0xF))[:, :, None] * code - (dmin[:, None] * (sc >> 4))[:, :, None]
    return y.reshape(-1)


def deq_q3_k(raw, n):
    b = _blocks(raw, n, QK_K, 110)
    hmask = b[:, 0:32].astype(np.int64)
    code = _codes2(b[:, 32:96])
    s = b[:, 96:108].astype(np.int64)
    d = _f16(b[:, 108:110])
    e = np.arange(QK_K)
    high = (hmask[:, e % 32] >> (e // 32)) & 1
    value = (code - np.where(high == 1, 0, 4)).astype(np.float64)
    k = np.arange(16)
    low4 = np.where(k < 8, s[:, k % 8] & 0xF, s[:, k % 8] >> 4)
    top2 = (s[:, 8 + k % 4] >> (2 * (k // 4))) & 3
    scale = (low4 | (top2 << 4)) - 32                                       # (nb, 16)
    y = (d[:, None] * scale)[:, :, None] * value.reshape(-1, 16, 16)
    return y.reshape(-1)


def deq_tq2_0(raw, n):
    b = _blocks(raw, n, QK_K, 66)
    d = _f16(b[:, 64:66])
    return (d[:, None] * (_codes2(b[:, 0:64]) - 1)).reshape(-1)


def _trit(byte, t):
    return ((((byte.astype(np.int64) * 3 ** t) & 0xFF) * 3) >> 8)


def deq_tq1_0(raw, n):
    b = _blocks(raw, n, QK_K, 54)
    d = _f16(b[:, 52:54])
    parts = [_trit(b[:, 0:32], t) for t in range(5)]
    parts += [_trit(b[:, 32:48], t) for t in range(5)]
    parts += [_trit(b[:, 48:52], t) for t in range(4)]
    trits = np.concatenate(parts, axis=1)
    return (d[:, None] * (trits - 1)).reshape(-1)


_IQ_TABLES = None


def _iq_tables():
    """The codebooks of iq_tables.h as numpy arrays, by C++ name."""
    global _IQ_TABLES
    if _IQ_TABLES is None:
        import os
        import re
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "kernels", "iq_tables.h")
        text = open(path, encoding="utf-8").read()
        _IQ_TABLES = {}
        for ctype, name, body in re.findall(r"constexpr (\w+) (\w+)\[\d+\] = \{(.*?)\};", text, re.S):
            vals = [int(v.strip(), 0) for v in body.split(",") if v.strip()]
            dtype = {"uint64_t": np.uint64, "uint32_t": np.uint32, "uint8_t": np.uint8, "int8_t": np.int8}[ctype]
            _IQ_TABLES[name] = np.array(vals, dtype=np.int64 if ctype == "int8_t" else dtype)
    return _IQ_TABLES


def _grid_bytes(table, idx, nbytes):
    """Entries table[idx] split into their little-endian bytes: idx.shape + (nbytes,)."""
    e = _iq_tables()[table][idx].astype(np.uint64)
    shift = (8 * np.arange(nbytes)).astype(np.uint64)
    return ((e[..., None] >> shift) & np.uint64(0xFF)).astype(np.int64)


def _sign_bits(signs):
    """(..., ) sign bytes -> (..., 8) of +1 / -1 (bit j set: element j negative)."""
    bit = (signs.astype(np.int64)[..., None] >> np.arange(8)) & 1
    return 1 - 2 * bit


def _u16(b):
    return np.ascontiguousarray(b).view("<u2").astype(np.int64)


def _u32(b):
    return np.ascontiguousarray(b).view("<u4").astype(np.int64)


def _iq_out(d, ls_per_group, values):
    """d (nb,), ls (nb, 32) per 8-element group, values (nb, 32, 8) -> flat y."""
    return (d[:, None, None] * ls_per_group[:, :, None] * values).reshape(-1)


def deq_iq2_xxs(raw, n):
    b = _blocks(raw, n, QK_K, 66)
    d = _f16(b[:, 0:2])
    w = _u32(b[:, 2:66]).reshape(-1, 8, 2)                                  # (nb, ib, 2)
    idx = b[:, 2:66].reshape(-1, 8, 8)[:, :, 0:4].reshape(-1, 32)          # bytes of a0
    l = np.arange(4)
    sidx = ((w[:, :, 1:2] >> (7 * l)) & 127).reshape(-1, 32)
    signs = _iq_tables()["kIq2Signs"][sidx]
    ls = np.repeat(2 * (w[:, :, 1] >> 28) + 1, 4, axis=1)
    return _iq_out(d, ls / 8.0, _grid_bytes("kIq2xxsGrid", idx, 8) * _sign_bits(signs))


def _iq2_half_scales(sc):
    """(nb, 8) scale bytes -> (nb, 32) ls per group (nibble n covers groups 2n, 2n+1 of ib)."""
    s = np.stack([sc & 0xF, sc >> 4], axis=2).astype(np.int64)              # (nb, ib, half)
    return np.repeat(2 * s + 1, 2, axis=2).reshape(-1, 32)


def deq_iq2_xs(raw, n):
    b = _blocks(raw, n, QK_K, 74)
    d = _f16(b[:, 0:2])
    q = _u16(b[:, 2:66])                                                    # (nb, 32)
    signs = _iq_tables()["kIq2Signs"][q >> 9]
    ls = _iq2_half_scales(b[:, 66:74])
    return _iq_out(d, ls / 8.0, _grid_bytes("kIq2xsGrid", q & 511, 8) * _sign_bits(signs))


def deq_iq2_s(raw, n):
    b = _blocks(raw, n, QK_K, 82)
    d = _f16(b[:, 0:2])
    qs = b[:, 2:34].astype(np.int64)
    signs = b[:, 34:66]
    qh = b[:, 66:74].astype(np.int64)
    g = np.arange(32)
    idx = qs | (((qh[:, g // 4] >> (2 * (g % 4))) & 3) << 8)
    ls = _iq2_half_scales(b[:, 74:82])
    return _iq_out(d, ls / 8.0, _grid_bytes("kIq2sGrid", idx, 8) * _sign_bits(signs))


def _quads(table, idx):
    """(nb, 64) quad indices -> (nb, 32, 8) magnitudes (two 4-byte entries per group)."""
    return _grid_bytes(table, idx, 4).reshape(-1, 32, 8)


def deq_iq3_xxs(raw, n):
    b = _blocks(raw, n, QK_K, 98)
    d = _f16(b[:, 0:2])
    idx = b[:, 2:66].astype(np.int64)
    w = _u32(b[:, 66:98])                                                   # (nb, 8)
    l = np.arange(4)
    sidx = ((w[:, :, None] >> (7 * l)) & 127).reshape(-1, 32)
    signs = _iq_tables()["kIq2Signs"][sidx]
    ls = np.repeat(2 * (w >> 28) + 1, 4, axis=1)
    return _iq_out(d, ls / 4.0, _quads("kIq3xxsGrid", idx) * _sign_bits(signs))


def deq_iq3_s(raw, n):
    b = _blocks(raw, n, QK_K, 110)
    d = _f16(b[:, 0:2])
    qs = b[:, 2:66].astype(np.int64)
    qh = b[:, 66:74].astype(np.int64)
    signs = b[:, 74:106]
    sc = b[:, 106:110].astype(np.int64)
    q = np.arange(64)
    idx = qs | (((qh[:, q // 8] >> (q % 8)) & 1) << 8)
    ib = np.arange(8)
    ls = np.repeat(2 * ((sc[:, ib // 2] >> (4 * (ib % 2))) & 0xF) + 1, 4, axis=1)
    return _iq_out(d, ls.astype(np.float64), _quads("kIq3sGrid", idx) * _sign_bits(signs))


def _iq1_values(idx, delta_negative):
    """(nb, 32) grid indices, (nb, 32) delta sign bits -> (nb, 32, 8) grid + delta."""
    grid = _grid_bytes("kIq1sGrid", idx, 8)
    grid = np.where(grid > 127, grid - 256, grid).astype(np.float64)
    return grid + np.where(delta_negative, -0.125, 0.125)[:, :, None]


def deq_iq1_s(raw, n):
    b = _blocks(raw, n, QK_K, 50)
    d = _f16(b[:, 0:2])
    qs = b[:, 2:34].astype(np.int64)
    qh = _u16(b[:, 34:50])                                                  # (nb, 8)
    g = np.arange(32)
    idx = qs | (((qh[:, g // 4] >> (3 * (g % 4))) & 7) << 8)
    ls = 2 * ((qh[:, g // 4] >> 12) & 7) + 1
    return _iq_out(d, ls.astype(np.float64), _iq1_values(idx, (qh[:, g // 4] >> 15) & 1))


def deq_iq1_m(raw, n):
    b = _blocks(raw, n, QK_K, 56)
    qs = b[:, 0:32].astype(np.int64)
    qh = b[:, 32:48].astype(np.int64)
    sc = _u16(b[:, 48:56])                                                  # (nb, 4)
    dbits = (sc[:, 0] >> 12) | ((sc[:, 1] >> 12) << 4) | ((sc[:, 2] >> 12) << 8) | ((sc[:, 3] >> 12) << 12)
    d = dbits.astype("<u2").view("<f2").astype(np.float64)
    g = np.arange(32)
    nib = (qh[:, g // 2] >> (4 * (g % 2))) & 0xF
    idx = qs | ((nib & 7) << 8)
    h = g // 2                                                              # 16-element half of group g
    ls = 2 * ((sc[:, h // 4] >> (3 * (h % 4))) & 7) + 1
    return _iq_out(d, ls.astype(np.float64), _iq1_values(idx, nib >> 3))


_DEQ = {16: deq_iq2_xxs, 17: deq_iq2_xs, 22: deq_iq2_s, 18: deq_iq3_xxs, 21: deq_iq3_s,
        19: deq_iq1_s, 29: deq_iq1_m,
        0: deq_f32, 1: deq_f16, 30: deq_bf16, 8: deq_q8_0, 2: deq_q4_0, 6: deq_q5_0,
        12: deq_q4_k, 13: deq_q5_k, 14: deq_q6_k, 3: deq_q4_1, 7: deq_q5_1, 20: deq_iq4_nl,
        23: deq_iq4_xs, 10: deq_q2_k, 11: deq_q3_k, 34: deq_tq1_0, 35: deq_tq2_0}


def dequantize(raw, ggml_type, n_elements):
    """raw: uint8 array of the tensor's bytes -> flat float64 array."""
    if ggml_type == 28:  # F64
        return np.frombuffer(np.asarray(raw, np.uint8).tobytes(), "<f8", n_elements).copy()
    if ggml_type not in _DEQ:
        raise NotImplementedError("dequantization of ggml type %d is not implemented" % ggml_type)
    return _DEQ[ggml_type](raw, n_elements)
