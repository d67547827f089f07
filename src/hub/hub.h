// The Hugging Face Hub: resolving a model reference, downloading its files
// into the standard cache, and finding what is already there.
//
//   auto ref = hub::ParseRef("bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF:Q4_K_M");
//   auto got = hub::Pull(hub::Config::FromEnvironment(), *ref, on_progress);
//   // got->path: the first GGUF part (or the snapshot directory) to open
//
// The cache is huggingface_hub's own layout, shared with every tool that uses
// it: $HF_HUB_CACHE (default $HF_HOME/hub, default ~/.cache/huggingface/hub)
// /models--ORG--NAME/{blobs/ID, snapshots/COMMIT/PATH -> ../../blobs/ID,
// refs/REVISION}. A blob is named by its ETag: the SHA-256 of an LFS file, the
// git blob id of a small one. A download in progress is blobs/ID.incomplete
// (plus ID.incomplete.ranges for a parallel one); it is renamed to ID only
// after its hash was checked, so an interrupted download never looks complete,
// and the next run resumes it with HTTP Range requests.
//
// HTTP is libcurl's (redirects, TLS, proxies, timeouts); see README.md.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/status.h"

namespace r1::hub {

struct Config {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT (a mirror), no trailing '/'
  std::string token;                                // HF_TOKEN: gated and private repositories
  std::string cache_dir;                            // the hub cache (see above)
  int connections = 4;                              // parallel ranges of one big file (R1_HUB_CONNECTIONS)
  int64_t parallel_min_bytes = 32ll << 20;          // files smaller than this use one connection
  int stall_timeout_s = 30;                         // no byte for this long fails (R1_HUB_TIMEOUT)
  int connect_timeout_s = 20;
  int retries = 3;                                  // per range, resuming where it stopped

  static Config FromEnvironment();
};

// What the user wrote: ORG/NAME[@REVISION][:QUANT|:FILE], or a short name
// (deepseek-r1:7b) from ShortNames().
struct Ref {
  std::string repo;               // ORG/NAME
  std::string revision = "main";  // a branch, tag or commit
  std::string quant;              // Q4_K_M, UD-IQ1_S...: selects GGUF files by tag
  std::string file;               // a path in the repository (and the other parts of its split set)
  std::string text;               // as written
};

StatusOr<Ref> ParseRef(std::string_view s);

// Whether a -m argument means the Hub: it is no existing path, does not end in
// .gguf/.safetensors, and has the ORG/NAME shape or is a short name.
bool LooksLikeRef(const std::string& s);

struct ShortName {
  const char* name;  // deepseek-r1:7b
  const char* repo;
  const char* quant;
  const char* what;
};
std::span<const ShortName> ShortNames();

// One file of a repository listing.
struct RemoteFile {
  std::string path;
  int64_t size = 0;
  std::string sha256;  // the LFS oid; empty for a file kept in git itself
  std::string git_oid; // the git blob id (SHA-1)
  // The blob's name in the cache (huggingface_hub's ETag): sha256, else git_oid.
  const std::string& blob_id() const { return sha256.empty() ? git_oid : sha256; }
};

// GET /api/models/REPO/tree/REV?recursive=true: a JSON array of entries
// {type, path, size, oid, lfs: {oid, size}}. Directories are skipped; bad or
// hostile entries are InvalidArgument naming the entry and field.
StatusOr<std::vector<RemoteFile>> ParseTree(std::string_view json);

// The files a reference asks for, in download order:
//  * :FILE: that file, with every part of its split set (NAME-0000k-of-0000N.gguf);
//  * :QUANT: the GGUF files whose path carries that tag (case-insensitive,
//    between separators), all parts of the first such set; NotFound lists
//    the tags the repository has;
//  * neither: Q4_K_M when present (llama.cpp's default), else the first GGUF;
//    a repository without GGUF files gets its safetensors and top-level JSON
//    (config, tokenizer, index) files.
// mmproj (vision projector) files are never chosen by tag.
StatusOr<std::vector<RemoteFile>> SelectFiles(const std::vector<RemoteFile>& listing, const Ref& ref);

// The quant tags of a repository's GGUF files (for messages and r1 list).
std::vector<std::string> QuantTags(const std::vector<RemoteFile>& listing);

struct FileProgress {
  std::string path;      // in the repository
  int64_t done = 0;      // bytes present (resumed bytes included)
  int64_t total = 0;
  double bytes_per_s = 0;
  int file_index = 0;    // 0-based, of n_files
  int n_files = 0;
  bool verifying = false;  // hashing after the download
  bool finished = false;   // the last call for this file
  bool cached = false;     // already complete in the cache: nothing downloaded
};
using ProgressFn = std::function<void(const FileProgress&)>;

struct PullResult {
  std::string repo_dir;               // CACHE/models--ORG--NAME
  std::string commit;
  std::string snapshot;               // repo_dir/snapshots/COMMIT
  std::vector<std::string> files;     // snapshot paths of the selected files
  std::string path;                   // what to open: the first .gguf (part), else the snapshot directory
  int64_t downloaded_bytes = 0;
  int64_t resumed_bytes = 0;          // bytes an earlier, interrupted run had left
};

// Resolves `ref` through the Hub and downloads what is missing. Errors name
// the repository, file and what failed: 401 (gated: set HF_TOKEN), 404, a
// stalled server (no byte for stall_timeout_s), a hash mismatch (the file is
// discarded), a full disk (the partial file is kept for a resume).
StatusOr<PullResult> Pull(const Config& cfg, const Ref& ref, const ProgressFn& progress);

// The same selection from the cache only: NotFound when a selected file (or a
// part of its set) is missing. No network.
StatusOr<PullResult> FindLocal(const Config& cfg, const Ref& ref);

struct LocalModel {
  std::string repo;     // ORG/NAME
  std::string commit;
  std::string path;     // the first GGUF part, or the snapshot directory
  std::string name;     // path within the snapshot ("" for a directory of safetensors)
  int parts = 1;
  int64_t bytes = 0;
  bool gguf = true;
};

// Every GGUF set and safetensors snapshot in the cache, sorted by repository.
StatusOr<std::vector<LocalModel>> ListLocal(const Config& cfg);

// Removes a model: with a quant or file, only those files (and blobs no other
// snapshot uses); otherwise the whole repository. Appends what was removed.
Status Remove(const Config& cfg, const Ref& ref, std::vector<std::string>* removed);

// "models--ORG--NAME" for "ORG/NAME".
std::string RepoFolderName(const std::string& repo);

// NAME-00002-of-00005.gguf -> {prefix "NAME", no 2, count 5}; false otherwise.
bool ParseSplitName(std::string_view path, std::string* prefix, int* no, int* count);

// Lower-case hex SHA-256 of a file (OpenSSL); `progress` gets bytes hashed.
StatusOr<std::string> Sha256File(const std::string& path, const std::function<void(int64_t)>& progress = {});

}  // namespace r1::hub
