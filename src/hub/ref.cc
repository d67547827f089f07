// Model references, the short-name table, the Hub's tree listing and file
// selection: everything about *which* files, nothing about fetching them.
#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "hub/hub.h"

namespace r1::hub {
namespace {

// Ollama's deepseek-r1 tags, mapped to well-known GGUF repositories of the
// same models (README.md shows this table). The default quant is llama.cpp's
// and Ollama's Q4_K_M; :671b is the 1.58-bit dynamic mix most people run R1 with.
constexpr std::array<ShortName, 8> kShortNames = {{
    {"deepseek-r1", "unsloth/DeepSeek-R1-0528-Qwen3-8B-GGUF", "Q4_K_M", "R1-0528 distilled into Qwen3-8B (Ollama's default tag)"},
    {"deepseek-r1:1.5b", "bartowski/DeepSeek-R1-Distill-Qwen-1.5B-GGUF", "Q4_K_M", "R1-Distill-Qwen-1.5B"},
    {"deepseek-r1:7b", "bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF", "Q4_K_M", "R1-Distill-Qwen-7B"},
    {"deepseek-r1:8b", "unsloth/DeepSeek-R1-0528-Qwen3-8B-GGUF", "Q4_K_M", "R1-0528-Qwen3-8B"},
    {"deepseek-r1:14b", "bartowski/DeepSeek-R1-Distill-Qwen-14B-GGUF", "Q4_K_M", "R1-Distill-Qwen-14B"},
    {"deepseek-r1:32b", "bartowski/DeepSeek-R1-Distill-Qwen-32B-GGUF", "Q4_K_M", "R1-Distill-Qwen-32B"},
    {"deepseek-r1:70b", "bartowski/DeepSeek-R1-Distill-Llama-70B-GGUF", "Q4_K_M", "R1-Distill-Llama-70B"},
    {"deepseek-r1:671b", "unsloth/DeepSeek-R1-0528-GGUF", "UD-IQ1_S", "DeepSeek-R1-0528 671B, 1.58-bit dynamic (~185 GB in parts)"},
}};

bool RepoPartOk(std::string_view s) {
  if (s.empty() || s.size() > 96 || s == "." || s == "..") return false;
  if (s.front() == '-' || s.front() == '.') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsGguf(const std::string& path) { return EndsWith(Upper(path), ".GGUF"); }

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsMmproj(const std::string& path) { return Upper(BaseName(path)).find("MMPROJ") != std::string::npos; }

// Where `tag` occurs in `path` between separators; -1 when it does not. The
// char after may not be '_' (Q4_K must not match Q4_K_M).
int TagRank(const std::string& path, const std::string& tag) {
  const std::string p = Upper(path), t = Upper(tag);
  for (size_t at = p.find(t); at != std::string::npos; at = p.find(t, at + 1)) {
    char before = at == 0 ? '/' : p[at - 1];
    char after = at + t.size() == p.size() ? '.' : p[at + t.size()];
    if (std::string_view("-._/").find(before) == std::string_view::npos) continue;
    if (std::string_view("-./").find(after) == std::string_view::npos) continue;
    // "UD-Q4_K_M" holds Q4_K_M too; the plain one is preferred for a plain tag.
    bool dynamic = at >= 3 && p.compare(at - 3, 3, "UD-") == 0 && t.rfind("UD-", 0) != 0;
    return dynamic ? 1 : 0;
  }
  return -1;
}

// All parts of the split set `f` belongs to (just `f` when it is not split).
StatusOr<std::vector<RemoteFile>> WithParts(const std::vector<RemoteFile>& listing, const RemoteFile& f) {
  std::string prefix;
  int no = 0, count = 0;
  if (!ParseSplitName(f.path, &prefix, &no, &count)) return std::vector<RemoteFile>{f};
  std::vector<RemoteFile> parts(count);
  std::vector<bool> seen(count, false);
  for (const RemoteFile& g : listing) {
    std::string p2;
    int no2 = 0, count2 = 0;
    if (ParseSplitName(g.path, &p2, &no2, &count2) && p2 == prefix && count2 == count) {
      parts[no2 - 1] = g;
      seen[no2 - 1] = true;
    }
  }
  for (int k = 0; k < count; ++k)
    if (!seen[k])
      return Status::NotFound(f.path + ": part " + std::to_string(k + 1) + " of " + std::to_string(count) +
                              " is not in the repository");
  return parts;
}

}  // namespace

std::span<const ShortName> ShortNames() { return kShortNames; }

std::string RepoFolderName(const std::string& repo) {
  std::string out = "models--";
  for (char c : repo) {
    if (c == '/') out += "--";
    else out += c;
  }
  return out;
}

bool ParseSplitName(std::string_view path, std::string* prefix, int* no, int* count) {
  // PREFIX-NNNNN-of-MMMMM.gguf (llama.cpp's gguf-split naming)
  constexpr std::string_view kSuffix = ".gguf";
  if (path.size() < 20 || !EndsWith(path, kSuffix)) return false;
  std::string_view stem = path.substr(0, path.size() - kSuffix.size());
  if (stem.size() < 16) return false;
  std::string_view tail = stem.substr(stem.size() - 15);  // -00001-of-00003
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-") return false;
  auto digits = [](std::string_view d, int* v) {
    *v = 0;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
      *v = *v * 10 + (c - '0');
    }
    return true;
  };
  int n = 0, c = 0;
  if (!digits(tail.substr(1, 5), &n) || !digits(tail.substr(10, 5), &c) || n < 1 || c < 1 || n > c) return false;
  *prefix = std::string(stem.substr(0, stem.size() - 15));
  *no = n;
  *count = c;
  return true;
}

StatusOr<Ref> ParseRef(std::string_view s) {
  Ref ref;
  ref.text = std::string(s);
  for (const ShortName& n : kShortNames) {
    if (s == n.name) {
      ref.repo = n.repo;
      ref.quant = n.quant;
      return ref;
    }
  }
  if (s.rfind("hf.co/", 0) == 0) s.remove_prefix(6);  // Ollama's hf.co/ORG/NAME:QUANT form
  if (s.rfind("huggingface.co/", 0) == 0) s.remove_prefix(15);
  std::string_view repo = s, sel;
  if (size_t colon = s.find(':'); colon != std::string_view::npos) {
    repo = s.substr(0, colon);
    sel = s.substr(colon + 1);
    if (sel.empty()) return Status::InvalidArgument("model reference '" + ref.text + "': nothing after ':'");
  }
  if (size_t at = repo.find('@'); at != std::string_view::npos) {
    ref.revision = std::string(repo.substr(at + 1));
    repo = repo.substr(0, at);
    if (ref.revision.empty() || ref.revision.find("..") != std::string::npos ||
        ref.revision.find_first_of(" \t\n?#\\") != std::string::npos)
      return Status::InvalidArgument("model reference '" + ref.text + "': bad revision '" + ref.revision + "'");
  }
  size_t slash = repo.find('/');
  if (slash == std::string_view::npos || !RepoPartOk(repo.substr(0, slash)) || !RepoPartOk(repo.substr(slash + 1))) {
    std::string names;
    for (const ShortName& n : kShortNames) names += std::string(names.empty() ? "" : ", ") + n.name;
    return Status::InvalidArgument("model reference '" + ref.text +
                                   "': expected ORG/NAME[:QUANT|:FILE] (a Hugging Face repository) or one of " + names);
  }
  ref.repo = std::string(repo);
  if (!sel.empty()) {
    std::string v(sel);
    if (v.find("..") != std::string::npos || v.front() == '/' || v.find_first_of("\\\n\r\t?#") != std::string::npos)
      return Status::InvalidArgument("model reference '" + ref.text + "': bad file or quant '" + v + "'");
    if (v.find('.') != std::string::npos || v.find('/') != std::string::npos) ref.file = v;
    else ref.quant = v;
  }
  return ref;
}

bool LooksLikeRef(const std::string& s) {
  std::error_code ec;
  if (s.empty() || std::filesystem::exists(s, ec)) return false;
  for (const ShortName& n : kShortNames)
    if (s == n.name) return true;
  std::string head = s.substr(0, s.find(':'));
  if (EndsWith(head, ".gguf") || EndsWith(head, ".safetensors") || EndsWith(head, ".json")) return false;
  if (head.front() == '/' || head.front() == '.' || head.front() == '~') return false;
  if (std::count(head.begin(), head.end(), '/') != 1 && head.rfind("hf.co/", 0) != 0) return false;
  return ParseRef(s).ok();
}

StatusOr<std::vector<RemoteFile>> ParseTree(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("repository listing: not JSON");
  if (!j.is_array()) return Status::InvalidArgument("repository listing: expected a JSON array of entries");
  std::vector<RemoteFile> out;
  std::set<std::string> paths;
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& e = j[i];
    const std::string where = "repository listing entry " + std::to_string(i);
    if (!e.is_object()) return Status::InvalidArgument(where + ": not an object");
    auto str = [&](const nlohmann::json& o, const char* key) -> StatusOr<std::string> {
      auto it = o.find(key);
      if (it == o.end() || !it->is_string()) return Status::InvalidArgument(where + ": '" + key + "' is missing or not a string");
      return it->get<std::string>();
    };
    auto type = str(e, "type");
    if (!type.ok()) return type.status();
    if (*type != "file") continue;  // "directory"
    auto path = str(e, "path");
    if (!path.ok()) return path.status();
    const std::string& p = *path;
    if (p.empty() || p.size() > 1024 || p.front() == '/' || p.find('\\') != std::string::npos ||
        p.find('\0') != std::string::npos || ("/" + p + "/").find("/../") != std::string::npos ||
        ("/" + p + "/").find("/./") != std::string::npos || p.find("//") != std::string::npos)
      return Status::InvalidArgument(where + ": unsafe path '" + p + "'");
    if (!paths.insert(p).second) return Status::InvalidArgument(where + ": '" + p + "' is listed twice");
    RemoteFile f;
    f.path = p;
    auto size = e.find("size");
    if (size == e.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
      return Status::InvalidArgument(where + " (" + p + "): 'size' is missing or not a non-negative integer");
    f.size = size->get<int64_t>();
    auto oid = str(e, "oid");
    if (!oid.ok()) return oid.status();
    f.git_oid = *oid;
    if (auto lfs = e.find("lfs"); lfs != e.end() && !lfs->is_null()) {
      if (!lfs->is_object()) return Status::InvalidArgument(where + " (" + p + "): 'lfs' is not an object");
      auto sha = str(*lfs, "oid");
      if (!sha.ok()) return sha.status();
      f.sha256 = *sha;
      auto lsize = lfs->find("size");
      if (lsize != lfs->end() && (!lsize->is_number_integer() || lsize->get<int64_t>() != f.size))
        return Status::InvalidArgument(where + " (" + p + "): 'lfs.size' differs from 'size'");
    }
    auto hex_ok = [](const std::string& h, size_t n) {
      return h.size() == n && std::all_of(h.begin(), h.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)); });
    };
    if (!f.sha256.empty() && !hex_ok(f.sha256, 64))
      return Status::InvalidArgument(where + " (" + p + "): 'lfs.oid' is not a SHA-256 in lower-case hex");
    if (!hex_ok(f.git_oid, 40)) return Status::InvalidArgument(where + " (" + p + "): 'oid' is not a git blob id (40 hex digits)");
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> QuantTags(const std::vector<RemoteFile>& listing) {
  std::set<std::string> tags;
  for (const RemoteFile& f : listing) {
    if (!IsGguf(f.path) || IsMmproj(f.path)) continue;
    std::string prefix = BaseName(f.path);
    int no, count;
    std::string stem;
    if (ParseSplitName(prefix, &stem, &no, &count)) prefix = stem;
    else prefix = prefix.substr(0, prefix.size() - 5);
    // The last "-"/"." separated token that looks like a type (Q4_K_M, IQ1_S, F16, BF16, TQ1_0), with UD-.
    std::string u = Upper(prefix);
    std::vector<std::string> tok;
    size_t start = 0;
    for (size_t i = 0; i <= u.size(); ++i)
      if (i == u.size() || u[i] == '-' || u[i] == '.') {
        tok.push_back(u.substr(start, i - start));
        start = i + 1;
      }
    for (size_t i = tok.size(); i-- > 0;) {
      const std::string& t = tok[i];
      bool q = (t.size() >= 2 && (t[0] == 'Q' && std::isdigit(static_cast<unsigned char>(t[1])))) ||
               (t.size() >= 3 && t[0] == 'I' && t[1] == 'Q' && std::isdigit(static_cast<unsigned char>(t[2]))) ||
               (t.size() >= 3 && t[0] == 'T' && t[1] == 'Q' && std::isdigit(static_cast<unsigned char>(t[2]))) ||
               t == "F16" || t == "BF16" || t == "F32";
      if (q) {
        tags.insert(i > 0 && tok[i - 1] == "UD" ? "UD-" + t : t);
        break;
      }
    }
  }
  return {tags.begin(), tags.end()};
}

StatusOr<std::vector<RemoteFile>> SelectFiles(const std::vector<RemoteFile>& listing, const Ref& ref) {
  std::vector<const RemoteFile*> ggufs;
  for (const RemoteFile& f : listing)
    if (IsGguf(f.path)) ggufs.push_back(&f);
  std::sort(ggufs.begin(), ggufs.end(), [](auto* a, auto* b) { return a->path < b->path; });
  if (!ref.file.empty()) {
    const RemoteFile* hit = nullptr;
    for (const RemoteFile& f : listing)
      if (f.path == ref.file) hit = &f;
    if (!hit)
      for (const RemoteFile& f : listing)
        if (BaseName(f.path) == ref.file) hit = &f;
    if (!hit) return Status::NotFound(ref.repo + " has no file '" + ref.file + "'");
    return WithParts(listing, *hit);
  }
  if (ggufs.empty()) {
    if (!ref.quant.empty())
      return Status::NotFound(ref.repo + " has no GGUF files, so no quant '" + ref.quant +
                              "'; without the tag r1 pull fetches its safetensors");
    std::vector<RemoteFile> out;
    bool any_weights = false;
    for (const RemoteFile& f : listing) {
      bool top = f.path.find('/') == std::string::npos;
      bool st = EndsWith(f.path, ".safetensors");
      bool small = top && (EndsWith(f.path, ".json") || f.path == "tokenizer.model" || EndsWith(f.path, ".jinja"));
      if ((st && top) || small) out.push_back(f);
      any_weights |= st && top;
    }
    if (!any_weights) return Status::NotFound(ref.repo + " has neither GGUF nor safetensors files");
    std::sort(out.begin(), out.end(), [](const RemoteFile& a, const RemoteFile& b) {
      return std::make_pair(a.size, a.path) < std::make_pair(b.size, b.path);  // small config first
    });
    return out;
  }
  std::string want = ref.quant.empty() ? "Q4_K_M" : ref.quant;
  const RemoteFile* best = nullptr;
  int best_rank = 2;
  for (const RemoteFile* f : ggufs) {
    if (IsMmproj(f->path)) continue;
    int r = TagRank(f->path, want);
    if (r >= 0 && r < best_rank) {
      best = f;
      best_rank = r;
    }
  }
  if (!best && ref.quant.empty()) {
    for (const RemoteFile* f : ggufs)
      if (!IsMmproj(f->path)) {
        best = f;
        break;
      }
  }
  if (!best) {
    std::string tags;
    for (const std::string& t : QuantTags(listing)) tags += (tags.empty() ? "" : ", ") + t;
    return Status::NotFound(ref.repo + " has no GGUF file tagged '" + want + "'" +
                            (tags.empty() ? std::string() : "; it has " + tags));
  }
  std::string prefix;
  int no = 0, count = 0;
  if (ParseSplitName(best->path, &prefix, &no, &count) && no != 1) {
    // The first part of the set is the one to open.
    for (const RemoteFile* f : ggufs) {
      std::string p2;
      int n2, c2;
      if (ParseSplitName(f->path, &p2, &n2, &c2) && p2 == prefix && c2 == count && n2 == 1) best = f;
    }
  }
  return WithParts(listing, *best);
}

}  // namespace r1::hub
