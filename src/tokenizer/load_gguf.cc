// Tokenizer::FromGguf: the vocabulary as llama.cpp's converter writes it.
//
//   tokenizer.ggml.model       "gpt2" (byte-level BPE); others are rejected
//   tokenizer.ggml.tokens      [string] byte-level spelling ("Ġthe"); CONTROL
//                              and USER_DEFINED tokens are spelled raw
//   tokenizer.ggml.token_type  [int32] 1 normal, 2 unknown, 3 control,
//                              4 user-defined, 5 unused, 6 byte
//   tokenizer.ggml.merges      [string] "Ġ t", in rank order
//   tokenizer.ggml.pre         pre-tokenizer preset (pretokenizer.h)
//   tokenizer.ggml.{bos,eos,eot}_token_id, add_bos_token; tokenizer.chat_template
//
// CONTROL tokens become special added tokens (matched only with
// parse_special), USER_DEFINED ones non-special added tokens (always
// matched), which is how HF treats special=true/false added tokens.
#include <fmt/format.h>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer_impl.h"

namespace r1 {
namespace {

enum GgufTokenType : int64_t {
  kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const gguf::File& file) {
  const std::string ctx = file.path() + ": tokenizer";
  auto model = file.GetString("tokenizer.ggml.model");
  if (!model.ok()) return model.status().WithContext(ctx);
  if (*model != "gpt2")
    return Status::Unimplemented(fmt::format(
        "{}: tokenizer.ggml.model is '{}'; only 'gpt2' (byte-level BPE) is supported", ctx, *model));
  auto tokens = file.GetArray("tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.status().WithContext(ctx);
  const std::vector<std::string>& texts = (*tokens)->strs;
  if (texts.empty() || texts.size() != (*tokens)->array_size())
    return Status::InvalidArgument(ctx + ": tokenizer.ggml.tokens must be a non-empty string array");
  const std::vector<int64_t>* types = nullptr;
  if (const gguf::Value* v = file.Find("tokenizer.ggml.token_type")) {
    if (v->ints.size() != texts.size())
      return Status::InvalidArgument(fmt::format("{}: tokenizer.ggml.token_type has {} entries, tokens has {}",
                                                 ctx, v->ints.size(), texts.size()));
    types = &v->ints;
  }
  auto merges = file.GetArray("tokenizer.ggml.merges");
  if (!merges.ok()) return merges.status().WithContext(ctx);

  auto impl = std::make_unique<Impl>();
  impl->source = "gguf";
  impl->pre_name = file.GetStringOr("tokenizer.ggml.pre", "default");
  auto pre = tok::PreTokenizer::FromPresetName(impl->pre_name);
  if (!pre.ok()) return pre.status().WithContext(ctx);
  impl->pre = std::move(pre).value();
  const tok::NormalizationForm norm = tok::PreTokenizer::PresetNormalizer(impl->pre_name);
  if (norm != tok::NormalizationForm::kNone) impl->normalizers.push_back(norm);
  impl->bpe.set_ignore_merges(tok::PreTokenizer::PresetIgnoresMerges(impl->pre_name));

  impl->token_bytes.resize(texts.size());
  std::string bytes;
  for (size_t i = 0; i < texts.size(); ++i) {
    const int64_t type = types ? (*types)[i] : kNormal;
    const auto id = static_cast<int32_t>(i);
    if (type == kControl || type == kUserDefined) {
      tok::AddedToken t;
      t.content = texts[i];
      t.id = id;
      t.special = type == kControl;
      impl->added.push_back(std::move(t));
      continue;
    }
    tok::ByteLevelDecode(texts[i], &bytes);
    impl->token_bytes[i] = bytes;
    if (type != kUnused) impl->bpe.AddToken(bytes, id);
  }
  std::string left, right;
  for (const std::string& m : (*merges)->strs) {
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) {
      impl->bpe.AddMerge("", "");  // keeps the rank numbering; never matches
      continue;
    }
    tok::ByteLevelDecode(std::string_view(m).substr(0, sp), &left);
    tok::ByteLevelDecode(std::string_view(m).substr(sp + 1), &right);
    impl->bpe.AddMerge(left, right);
  }

  impl->bos = static_cast<int32_t>(file.GetIntOr("tokenizer.ggml.bos_token_id", -1));
  impl->eos = static_cast<int32_t>(file.GetIntOr("tokenizer.ggml.eos_token_id", -1));
  if (file.Find("tokenizer.ggml.eot_token_id") != nullptr)
    impl->eot = static_cast<int32_t>(file.GetIntOr("tokenizer.ggml.eot_token_id", -1));
  impl->add_bos = file.GetBoolOr("tokenizer.ggml.add_bos_token", false);
  impl->chat_template = file.GetStringOr("tokenizer.chat_template", "");
  Status st = impl->Finish();
  if (!st.ok()) return st.WithContext(ctx);
  if (!impl->eot) impl->eot = GuessEot(*impl);
  return TokenizerAccess::Make(std::move(impl));
}

}  // namespace r1
