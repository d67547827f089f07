#include "models/synthetic/synthetic.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/quant.h"
#include "models/quant_recipe.h"
#include "kernels/thread_pool.h"
#include "models/synthetic/synthetic_rng.h"
#include "models/synthetic/synthetic_vocab.h"

namespace r1 {
namespace {

using gguf::Value;

using Rng = SyntheticRng;

GgmlType WithFallback(GgmlType t, int64_t k) {
  if (k % GgmlTypeInfo(t).block_size == 0) return t;
  const GgmlType f = kernels::RowFallbackType(t);
  return k % GgmlTypeInfo(f).block_size == 0 ? f : GgmlType::F32;
}

class Builder {
 public:
  Builder(const SyntheticSpec& spec, gguf::Writer& w, ThreadPool& pool) : spec_(spec), w_(w), pool_(pool) {}

  // A (rows, k) matrix with N(0, scale²/k) entries, stored as `type`.
  Status Matrix(const std::string& name, int64_t k, int64_t rows, GgmlType type, float scale = 1.0f,
                int64_t n_expert = 1) {
    type = WithFallback(type, k);
    std::vector<int64_t> ne = {k, rows};
    if (n_expert > 1) ne.push_back(n_expert);
    R1_RETURN_IF_ERROR(w_.DeclareTensor(name, ne, type));
    fills_.push_back([this, name, k, total_rows = rows * n_expert, type, scale](uint8_t* out) {
      const size_t row_bytes = GgmlRowSize(type, k);
      const uint64_t base = SyntheticSeed(name, spec_.seed);
      const float std = scale / std::sqrt(static_cast<float>(k));
      pool_.ParallelFor(total_rows, [&](int64_t b, int64_t e, int) {
        std::vector<float> row(static_cast<size_t>(k));
        for (int64_t r = b; r < e; ++r) {
          Rng rng{base + static_cast<uint64_t>(r) * 0x2545F4914F6CDD1Dull};
          for (auto& x : row) x = rng.Normal() * std;
          kernels::Quantize(type, row.data(), out + static_cast<size_t>(r) * row_bytes, k);
        }
      }, 8);
    });
    return Status::Ok();
  }

  // A vector `center + spread·N(0,1)` stored as F32 (norm weights, biases).
  Status Vector(const std::string& name, int64_t n, float center, float spread) {
    R1_RETURN_IF_ERROR(w_.DeclareTensor(name, {n}, GgmlType::F32));
    fills_.push_back([this, name, n, center, spread](uint8_t* out) {
      Rng rng{SyntheticSeed(name, spec_.seed)};
      std::vector<float> v(static_cast<size_t>(n));
      for (auto& x : v) x = center + spread * rng.Normal();
      std::memcpy(out, v.data(), v.size() * sizeof(float));
    });
    return Status::Ok();
  }

  // Given values, stored as F32.
  Status Values(const std::string& name, std::vector<float> v) {
    R1_RETURN_IF_ERROR(w_.DeclareTensor(name, {static_cast<int64_t>(v.size())}, GgmlType::F32));
    fills_.push_back([v = std::move(v)](uint8_t* out) { std::memcpy(out, v.data(), v.size() * sizeof(float)); });
    return Status::Ok();
  }

  // Writes the file, generating each tensor as it is written.
  Status Write(const std::string& path, const ProgressFn& progress) {
    return w_.Write(path, [&](size_t i, uint8_t* out, size_t) {
      fills_[i](out);
      if (progress) progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(fills_.size()));
      return Status::Ok();
    });
  }

 private:
  const SyntheticSpec& spec_;
  gguf::Writer& w_;
  std::vector<std::function<void(uint8_t*)>> fills_;  // one per tensor, in order
  ThreadPool& pool_;
};

}  // namespace

Status ParseSyntheticWeightType(const std::string& name, GgmlType* type, bool* q4_k_m) {
  std::string t;
  for (char c : name) t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  *q4_k_m = t == "Q4_K_M";
  if (*q4_k_m) return Status::Ok();
  std::string known;
  for (int id = 0; id < 64; ++id) {
    const auto g = static_cast<GgmlType>(id);
    if (!kernels::CanQuantize(g)) continue;  // the generator quantizes with r1's own quantizer
    if (GgmlTypeName(g) == t) {
      *type = g;
      return Status::Ok();
    }
    for (char c : GgmlTypeName(g)) known += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    known += ", ";
  }
  return Status::InvalidArgument("unknown weight type '" + name + "' (" + known + "q4_k_m)");
}

SyntheticSpec SyntheticSpec::Qwen15B() {
  SyntheticSpec s;
  s.arch = "qwen2";
  s.n_vocab = 151936;
  s.n_embd = 1536;
  s.n_layer = 28;
  s.n_head = 12;
  s.n_head_kv = 2;
  s.n_ff = 8960;
  s.n_ctx = 131072;
  s.rope_base = 10000.0;
  return s;
}

StatusOr<SyntheticSpec> SyntheticPreset(const std::string& size, const std::string& arch, const std::string& type) {
  SyntheticSpec s;
  if (size == "1.5b") {
    s = SyntheticSpec::Qwen15B();
  } else if (size == "small") {
    s.n_vocab = 2048; s.n_embd = 256; s.n_layer = 4; s.n_head = 8; s.n_head_kv = 2; s.n_ff = 512;
  } else if (size != "tiny") {
    return Status::InvalidArgument("unknown synthetic size '" + size + "' (tiny, small, 1.5b)");
  }
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3")
    return Status::InvalidArgument("unknown synthetic architecture '" + arch + "' (llama, qwen2, qwen3)");
  s.arch = arch;
  R1_RETURN_IF_ERROR(ParseSyntheticWeightType(type, &s.type, &s.q4_k_m));
  return s;
}

Status WriteSyntheticModel(const SyntheticSpec& s, const std::string& path, const ProgressFn& progress) {
  if (s.n_vocab < 262) return Status::InvalidArgument("synthetic models need n_vocab >= 262");
  const int head_dim = s.head_dim ? s.head_dim : static_cast<int>(s.n_embd / s.n_head);
  const std::string a = s.arch + ".";
  gguf::Writer w;
  w.Set("general.architecture", Value::String(s.arch));
  w.Set("general.name", Value::String("r1.cpp synthetic " + s.arch));
  w.Set("general.file_type", Value::U32(s.q4_k_m ? 15 : static_cast<uint32_t>(s.type)));
  w.Set(a + "context_length", Value::U32(static_cast<uint32_t>(s.n_ctx)));
  w.Set(a + "embedding_length", Value::U32(static_cast<uint32_t>(s.n_embd)));
  w.Set(a + "block_count", Value::U32(static_cast<uint32_t>(s.n_layer)));
  w.Set(a + "feed_forward_length", Value::U32(static_cast<uint32_t>(s.n_ff)));
  w.Set(a + "attention.head_count", Value::U32(static_cast<uint32_t>(s.n_head)));
  w.Set(a + "attention.head_count_kv", Value::U32(static_cast<uint32_t>(s.n_head_kv)));
  w.Set(a + "attention.layer_norm_rms_epsilon", Value::F32(1e-6f));
  double base = s.rope_base ? s.rope_base : (s.arch == "llama" ? 500000.0 : 1000000.0);
  w.Set(a + "rope.freq_base", Value::F32(static_cast<float>(base)));
  if (s.arch == "qwen3" || s.head_dim) {
    w.Set(a + "attention.key_length", Value::U32(static_cast<uint32_t>(head_dim)));
    w.Set(a + "attention.value_length", Value::U32(static_cast<uint32_t>(head_dim)));
  }
  if (s.arch == "llama") w.Set(a + "rope.dimension_count", Value::U32(static_cast<uint32_t>(head_dim)));

  if (s.with_tokenizer) {
    SyntheticVocab v = BuildSyntheticVocab(s.n_vocab);
    w.Set("tokenizer.ggml.model", Value::String("gpt2"));
    w.Set("tokenizer.ggml.pre", Value::String(s.arch == "llama" ? "llama-bpe" : "qwen2"));
    w.Set("tokenizer.ggml.tokens", Value::StringArray(v.tokens));
    w.Set("tokenizer.ggml.token_type", Value::I32Array(v.types));
    w.Set("tokenizer.ggml.merges", Value::StringArray(v.merges));
    w.Set("tokenizer.ggml.bos_token_id", Value::U32(static_cast<uint32_t>(v.bos)));
    w.Set("tokenizer.ggml.eos_token_id", Value::U32(static_cast<uint32_t>(v.eos)));
    w.Set("tokenizer.ggml.add_bos_token", Value::Bool(true));
    w.Set("tokenizer.chat_template", Value::String(v.chat_template));
  }

  ThreadPool pool;
  Builder b(s, w, pool);
  const int64_t q_dim = static_cast<int64_t>(s.n_head) * head_dim;
  const int64_t kv_dim = static_cast<int64_t>(s.n_head_kv) * head_dim;
  const QuantRecipe recipe = s.q4_k_m ? *ParseQuantRecipe("Q4_K_M") : SingleTypeRecipe(s.type);
  const RecipeModelInfo info{s.n_layer, 0, s.n_head / std::max(1, s.n_head_kv)};
  auto type_for = [&](const std::string& name, int64_t k, int64_t rows) {
    return RecipeTensorType(recipe, name, {k, rows}, s.type, info);
  };
  // Embedding rows have unit variance (scale √k undoes the 1/√k).
  R1_RETURN_IF_ERROR(b.Matrix("token_embd.weight", s.n_embd, s.n_vocab, type_for("token_embd.weight", s.n_embd, s.n_vocab),
                              std::sqrt(static_cast<float>(s.n_embd))));
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    R1_RETURN_IF_ERROR(b.Vector(p + "attn_norm.weight", s.n_embd, 1.0f, 0.1f));
    R1_RETURN_IF_ERROR(b.Matrix(p + "attn_q.weight", s.n_embd, q_dim, type_for(p + "attn_q.weight", s.n_embd, q_dim)));
    R1_RETURN_IF_ERROR(b.Matrix(p + "attn_k.weight", s.n_embd, kv_dim, type_for(p + "attn_k.weight", s.n_embd, kv_dim)));
    R1_RETURN_IF_ERROR(b.Matrix(p + "attn_v.weight", s.n_embd, kv_dim, type_for(p + "attn_v.weight", s.n_embd, kv_dim)));
    if (s.arch == "qwen2") {
      R1_RETURN_IF_ERROR(b.Vector(p + "attn_q.bias", q_dim, 0.0f, 0.1f));
      R1_RETURN_IF_ERROR(b.Vector(p + "attn_k.bias", kv_dim, 0.0f, 0.1f));
      R1_RETURN_IF_ERROR(b.Vector(p + "attn_v.bias", kv_dim, 0.0f, 0.1f));
    }
    if (s.arch == "qwen3") {
      R1_RETURN_IF_ERROR(b.Vector(p + "attn_q_norm.weight", head_dim, 1.0f, 0.1f));
      R1_RETURN_IF_ERROR(b.Vector(p + "attn_k_norm.weight", head_dim, 1.0f, 0.1f));
    }
    R1_RETURN_IF_ERROR(b.Matrix(p + "attn_output.weight", q_dim, s.n_embd, type_for(p + "attn_output.weight", q_dim, s.n_embd)));
    R1_RETURN_IF_ERROR(b.Vector(p + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f));
    R1_RETURN_IF_ERROR(b.Matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff, type_for(p + "ffn_gate.weight", s.n_embd, s.n_ff)));
    R1_RETURN_IF_ERROR(b.Matrix(p + "ffn_up.weight", s.n_embd, s.n_ff, type_for(p + "ffn_up.weight", s.n_embd, s.n_ff)));
    R1_RETURN_IF_ERROR(b.Matrix(p + "ffn_down.weight", s.n_ff, s.n_embd, type_for(p + "ffn_down.weight", s.n_ff, s.n_embd)));
    }
  R1_RETURN_IF_ERROR(b.Vector("output_norm.weight", s.n_embd, 1.0f, 0.1f));
  if (!s.tied_embeddings) R1_RETURN_IF_ERROR(b.Matrix("output.weight", s.n_embd, s.n_vocab, type_for("output.weight", s.n_embd, s.n_vocab)));
  if (s.arch == "llama" && s.llama3_rope_freqs) {
    // Llama 3.1's scaling (factor 8, low/high freq factors 1/4, original
    // context 8192) as llama.cpp's converter computes rope_freqs.
    std::vector<float> f(static_cast<size_t>(head_dim / 2));
    const double factor = 8, low = 1, high = 4, old_ctx = 8192;
    for (int i = 0; i < head_dim / 2; ++i) {
      double freq = std::pow(base, -2.0 * i / head_dim);
      double wavelen = 2 * M_PI / freq;
      if (wavelen < old_ctx / high) f[static_cast<size_t>(i)] = 1.0f;
      else if (wavelen > old_ctx / low) f[static_cast<size_t>(i)] = static_cast<float>(factor);
      else {
        double smooth = (old_ctx / wavelen - low) / (high - low);
        f[static_cast<size_t>(i)] = static_cast<float>(1.0 / ((1 - smooth) / factor + smooth));
      }
    }
    R1_RETURN_IF_ERROR(b.Values("rope_freqs.weight", std::move(f)));
  }
  return b.Write(path, progress);
}

}  // namespace r1
