// Value and TensorInfo helpers shared by the reader and writer.
#include <cstdio>

#include "gguf/gguf.h"

namespace r1::gguf {

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kUint8: return "u8";
    case ValueType::kInt8: return "i8";
    case ValueType::kUint16: return "u16";
    case ValueType::kInt16: return "i16";
    case ValueType::kUint32: return "u32";
    case ValueType::kInt32: return "i32";
    case ValueType::kFloat32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "u64";
    case ValueType::kInt64: return "i64";
    case ValueType::kFloat64: return "f64";
  }
  return "unknown";
}

size_t Value::array_size() const {
  if (type != ValueType::kArray) return 0;
  return strs.size() + ints.size() + floats.size() + arrays.size();
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kUint16: case ValueType::kInt16:
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kUint64: case ValueType::kInt64:
      return true;
    default:
      return false;
  }
}

bool Value::is_float() const { return type == ValueType::kFloat32 || type == ValueType::kFloat64; }

namespace {
std::string Quote(const std::string& s, size_t max_len = 60) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\x%02x", c); out += buf; }
    else out += static_cast<char>(c);
  }
  if (s.size() > max_len) out += "...";
  return out + "\"";
}

std::string Num(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", f);
  return buf;
}
}  // namespace

std::string Value::Summary(size_t max_items) const {
  switch (type) {
    case ValueType::kString: return Quote(str);
    case ValueType::kBool: return b ? "true" : "false";
    case ValueType::kFloat32: case ValueType::kFloat64: return Num(f);
    case ValueType::kUint64: case ValueType::kUint32: case ValueType::kUint16: case ValueType::kUint8:
      return std::to_string(u);
    case ValueType::kArray: {
      size_t n = array_size();
      std::string out = "[" + std::to_string(n) + " × " + ValueTypeName(elem_type) + "] [";
      for (size_t i = 0; i < n && i < max_items; ++i) {
        if (i) out += ", ";
        if (!strs.empty()) out += Quote(strs[i], 24);
        else if (!ints.empty()) out += std::to_string(ints[i]);
        else if (!floats.empty()) out += Num(floats[i]);
        else out += arrays[i].Summary(2);
      }
      return out + (n > max_items ? ", ...]" : "]");
    }
    default: return std::to_string(i);
  }
}

Value Value::U32(uint32_t v) { Value x; x.type = ValueType::kUint32; x.u = v; x.i = v; return x; }
Value Value::I32(int32_t v) { Value x; x.type = ValueType::kInt32; x.i = v; x.u = static_cast<uint64_t>(v); return x; }
Value Value::U64(uint64_t v) { Value x; x.type = ValueType::kUint64; x.u = v; x.i = static_cast<int64_t>(v); return x; }
Value Value::F32(float v) { Value x; x.type = ValueType::kFloat32; x.f = v; return x; }
Value Value::Bool(bool v) { Value x; x.type = ValueType::kBool; x.b = v; x.i = x.u = v; return x; }
Value Value::String(std::string v) { Value x; x.type = ValueType::kString; x.str = std::move(v); return x; }
Value Value::StringArray(std::vector<std::string> v) {
  Value x; x.type = ValueType::kArray; x.elem_type = ValueType::kString; x.strs = std::move(v); return x;
}
Value Value::I32Array(std::vector<int32_t> v) {
  Value x; x.type = ValueType::kArray; x.elem_type = ValueType::kInt32; x.ints.assign(v.begin(), v.end()); return x;
}
Value Value::F32Array(std::vector<float> v) {
  Value x; x.type = ValueType::kArray; x.elem_type = ValueType::kFloat32; x.floats.assign(v.begin(), v.end()); return x;
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::string TensorInfo::ShapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace r1::gguf
