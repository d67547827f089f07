"""Tiny GGUF v3 writer used only by selftest.py to build toy models.

Follows the same format description as gguf.py (see its docstring). Tensors are
given as numpy arrays in numpy (row-major) shape, i.e. reversed ggml ne; they
are written as F32, F16, Q8_0 (simple round-to-nearest quantizer, layout as in
dequant.py) or as pre-quantized raw bytes with an explicit ne.
"""
import struct
import numpy as np

from gguf import (VT_UINT8, VT_INT8, VT_UINT16, VT_INT16, VT_UINT32, VT_INT32,
                  VT_FLOAT32, VT_BOOL, VT_STRING, VT_ARRAY, VT_UINT64, VT_INT64,
                  VT_FLOAT64, _SCALAR_FMT, GGML_TYPE_ID)


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _infer_vt(v):
    if isinstance(v, bool):
        return VT_BOOL
    if isinstance(v, int):
        return VT_UINT32 if 0 <= v < 2**32 else VT_INT64
    if isinstance(v, float):
        return VT_FLOAT32
    if isinstance(v, str):
        return VT_STRING
    if isinstance(v, (list, tuple)):
        return VT_ARRAY
    raise TypeError("cannot infer GGUF type of %r" % (v,))


def _value(v, vt, elem_vt=None):
    if vt == VT_STRING:
        return _str(v)
    if vt == VT_ARRAY:
        if elem_vt is None:
            elem_vt = _infer_vt(v[0]) if len(v) else VT_UINT32
        out = struct.pack("<IQ", elem_vt, len(v))
        return out + b"".join(_value(x, elem_vt) for x in v)
    return struct.pack(_SCALAR_FMT[vt], v)


def quantize_q8_0(x):
    """Round-to-nearest Q8_0 (d = amax/127), returns raw bytes."""
    x = np.asarray(x, np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / 127.0).astype(np.float16)
    dd = d.astype(np.float32)
    inv = np.where(dd > 0, 1.0 / np.where(dd > 0, dd, 1), 0)
    q = np.clip(np.round(x * inv[:, None]), -127, 127).astype(np.int8)
    blocks = np.zeros((x.shape[0], 34), np.uint8)
    blocks[:, 0:2] = d.reshape(-1, 1).view(np.uint8)
    blocks[:, 2:] = q.view(np.uint8)
    return blocks.tobytes()


class GGUFWriter:
    def __init__(self, alignment=32, version=3):
        self.kv = []          # (key, vt, value, elem_vt)
        self.tensors = []     # (name, ne, type_id, bytes)
        self.alignment = alignment
        self.version = version
        if alignment != 32:
            self.add("general.alignment", alignment, VT_UINT32)

    def add(self, key, value, vt=None, elem_vt=None):
        self.kv.append((key, vt if vt is not None else _infer_vt(value), value, elem_vt))

    def add_tensor(self, name, arr, dtype="F32"):
        arr = np.asarray(arr)
        ne = list(reversed(arr.shape))
        if dtype == "F32":
            data = arr.astype("<f4").tobytes()
        elif dtype == "F16":
            data = arr.astype("<f2").tobytes()
        elif dtype == "Q8_0":
            data = quantize_q8_0(arr)
        else:
            raise ValueError(dtype)
        self.tensors.append((name, ne, GGML_TYPE_ID[dtype], data))

    def add_raw_tensor(self, name, ne, dtype, data):
        self.tensors.append((name, list(ne), GGML_TYPE_ID[dtype], bytes(data)))

    def write(self, path):
        a = self.alignment
        out = bytearray(b"GGUF")
        out += struct.pack("<IQQ", self.version, len(self.tensors), len(self.kv))
        for key, vt, value, elem_vt in self.kv:
            out += _str(key) + struct.pack("<I", vt) + _value(value, vt, elem_vt)
        off = 0
        offsets = []
        for name, ne, t, data in self.tensors:
            offsets.append(off)
            out += _str(name) + struct.pack("<I", len(ne))
            out += b"".join(struct.pack("<Q", d) for d in ne)
            out += struct.pack("<IQ", t, off)
            off = (off + len(data) + a - 1) // a * a
        out += b"\0" * ((-len(out)) % a)
        base = len(out)
        for (name, ne, t, data), o in zip(self.tensors, offsets):
            out += b"\0" * (base + o - len(out))
            out += data
        with open(path, "wb") as f:
            f.write(bytes(out))
