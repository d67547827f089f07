"""Minimal, independent GGUF v2/v3 reader (numpy only).

Written from the GGUF format description (ggml docs/gguf.md; gguf-py's
gguf/constants.py for the value-type and ggml-type enums), not from r1.cpp.

File layout (all little-endian):
    uint32 magic "GGUF" (bytes 47 47 55 46), uint32 version (2 or 3),
    uint64 n_tensors, uint64 n_kv,
    n_kv x { string key; uint32 value_type; value }
        string = uint64 length + UTF-8 bytes (no terminator)
        array  = uint32 elem_type + uint64 count + count x value
    n_tensors x { string name; uint32 n_dims; n_dims x uint64 ne;
                  uint32 ggml_type; uint64 offset }
    padding to general.alignment (default 32)
    tensor data: each offset is relative to the start of this section.

Dimension order: ne[0] is the innermost (contiguous) dimension. A PyTorch
Linear weight of shape (out, in) is stored with ne = [in, out]; reading the data
row-major therefore gives a numpy array of shape tuple(reversed(ne)).
"""
import struct
import numpy as np

GGUF_MAGIC = b"GGUF"

# gguf-py constants.py: GGUFValueType
VT_UINT8, VT_INT8, VT_UINT16, VT_INT16, VT_UINT32, VT_INT32 = 0, 1, 2, 3, 4, 5
VT_FLOAT32, VT_BOOL, VT_STRING, VT_ARRAY = 6, 7, 8, 9
VT_UINT64, VT_INT64, VT_FLOAT64 = 10, 11, 12
_SCALAR_FMT = {VT_UINT8: "<B", VT_INT8: "<b", VT_UINT16: "<H", VT_INT16: "<h",
               VT_UINT32: "<I", VT_INT32: "<i", VT_FLOAT32: "<f", VT_BOOL: "<?",
               VT_UINT64: "<Q", VT_INT64: "<q", VT_FLOAT64: "<d"}
_SCALAR_NP = {VT_UINT8: "<u1", VT_INT8: "<i1", VT_UINT16: "<u2", VT_INT16: "<i2",
              VT_UINT32: "<u4", VT_INT32: "<i4", VT_FLOAT32: "<f4", VT_BOOL: "<u1",
              VT_UINT64: "<u8", VT_INT64: "<i8", VT_FLOAT64: "<f8"}

# ggml.h enum ggml_type (gguf-py GGMLQuantizationType): id -> (name, block elems, block bytes)
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 30: ("BF16", 1, 2),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    29: ("IQ1_M", 256, 56), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
}
GGML_TYPE_ID = {v[0]: k for k, v in GGML_TYPES.items()}


class GGUFError(Exception):
    pass


class TensorInfo:
    def __init__(self, name, ne, ggml_type, offset):
        self.name = name
        self.ne = list(ne)              # ne[0] innermost
        self.ggml_type = ggml_type
        self.offset = offset            # relative to the data section
        self.data_start = None          # absolute file offset, set by the reader

    @property
    def type_name(self):
        return GGML_TYPES.get(self.ggml_type, ("type%d" % self.ggml_type,))[0]

    @property
    def n_elements(self):
        n = 1
        for d in self.ne:
            n *= d
        return n

    @property
    def shape(self):
        """numpy (row-major) shape: reversed ne."""
        return tuple(reversed(self.ne))

    def n_bytes(self):
        if self.ggml_type not in GGML_TYPES:
            raise GGUFError("tensor %s: unknown ggml type %d" % (self.name, self.ggml_type))
        _, blk, size = GGML_TYPES[self.ggml_type]
        if self.ne[0] % blk:
            raise GGUFError("tensor %s: ne[0]=%d not a multiple of block %d"
                            % (self.name, self.ne[0], blk))
        return self.n_elements // blk * size


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise GGUFError("truncated file: need %d bytes at offset %d (size %d)"
                            % (n, self.pos, len(self.buf)))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def scalar(self, vt):
        fmt = _SCALAR_FMT[vt]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def u32(self):
        return self.scalar(VT_UINT32)

    def u64(self):
        return self.scalar(VT_UINT64)

    def string(self):
        n = self.u64()
        return bytes(self.take(n)).decode("utf-8", errors="surrogateescape")

    def value(self, vt):
        if vt == VT_STRING:
            return self.string()
        if vt == VT_ARRAY:
            et = self.u32()
            n = self.u64()
            if et in _SCALAR_NP:
                # numeric arrays in one go (vocab scores/types can be 150k long)
                size = np.dtype(_SCALAR_NP[et]).itemsize
                arr = np.frombuffer(bytes(self.take(n * size)), dtype=_SCALAR_NP[et])
                if et == VT_BOOL:
                    return [bool(x) for x in arr]
                return arr.tolist()
            return [self.value(et) for _ in range(n)]
        if vt in _SCALAR_FMT:
            return self.scalar(vt)
        raise GGUFError("unknown value type %d at offset %d" % (vt, self.pos))


class GGUFFile:
    """Parsed GGUF: .version, .kv (dict key -> python value), .kv_types
    (key -> value type id, arrays as (VT_ARRAY, elem_type)), .tensors
    (ordered dict name -> TensorInfo), .alignment, .data_offset."""

    def __init__(self, path):
        self.path = path
        self.mm = np.memmap(path, dtype=np.uint8, mode="r")
        c = _Cursor(memoryview(self.mm))
        if bytes(c.take(4)) != GGUF_MAGIC:
            raise GGUFError("%s: bad magic" % path)
        self.version = c.u32()
        if self.version not in (2, 3):
            raise GGUFError("%s: unsupported GGUF version %d" % (path, self.version))
        n_tensors = c.u64()
        n_kv = c.u64()
        self.kv, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = c.string()
            vt = c.u32()
            if vt == VT_ARRAY:
                save = c.pos
                et = c.u32()
                c.pos = save
                self.kv_types[key] = (VT_ARRAY, et)
            else:
                self.kv_types[key] = vt
            self.kv[key] = c.value(vt)
        self.tensors = {}
        for _ in range(n_tensors):
            name = c.string()
            nd = c.u32()
            ne = [c.u64() for _ in range(nd)]
            t = c.u32()
            off = c.u64()
            if name in self.tensors:
                raise GGUFError("duplicate tensor %s" % name)
            self.tensors[name] = TensorInfo(name, ne, t, off)
        self.alignment = int(self.kv.get("general.alignment", 32))
        if self.alignment <= 0 or self.alignment & (self.alignment - 1):
            raise GGUFError("general.alignment %d is not a power of two" % self.alignment)
        a = self.alignment
        self.data_offset = (c.pos + a - 1) // a * a
        for ti in self.tensors.values():
            if ti.offset % a:
                raise GGUFError("tensor %s offset %d not aligned to %d" % (ti.name, ti.offset, a))
            ti.data_start = self.data_offset + ti.offset

    # -- metadata helpers ---------------------------------------------------
    def get(self, key, default=None):
        return self.kv.get(key, default)

    def require(self, key):
        if key not in self.kv:
            raise GGUFError("cannot find %s in metadata" % key)
        return self.kv[key]

    # -- tensor data -----------------------------------------------------------
    def raw(self, name):
        """Raw bytes of a tensor as a uint8 numpy view into the memmap."""
        ti = self.tensors[name]
        n = ti.n_bytes()
        if ti.data_start + n > len(self.mm):
            raise GGUFError("tensor %s data [%d, %d) beyond file size %d"
                            % (name, ti.data_start, ti.data_start + n, len(self.mm)))
        return self.mm[ti.data_start:ti.data_start + n]

    def tensor(self, name):
        """Tensor dequantized to float64, numpy shape reversed(ne)."""
        from dequant import dequantize  # local import: dequant.py sits beside us
        ti = self.tensors[name]
        flat = dequantize(self.raw(name), ti.ggml_type, ti.n_elements)
        return flat.reshape(ti.shape)


def load(path):
    return GGUFFile(path)


if __name__ == "__main__":
    import sys
    g = GGUFFile(sys.argv[1])
    print("version", g.version, "alignment", g.alignment, "data at", g.data_offset)
    for k, v in g.kv.items():
        s = repr(v)
        print("  %s = %s" % (k, s if len(s) < 100 else s[:100] + "... (%d items)" % len(v)))
    for t in g.tensors.values():
        print("  %-40s %-6s ne=%s" % (t.name, t.type_name, t.ne))
