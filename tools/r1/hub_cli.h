// The Hub in the r1 tool: pulling with a progress display, and -m accepting a
// Hugging Face reference (ORG/NAME[:QUANT|:FILE] or a short name) wherever it
// takes a model file.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "hub/hub.h"

namespace r1::cli {

// Downloads what `ref` needs (one progress line per file on a terminal, plain
// lines otherwise) and returns where it is.
StatusOr<hub::PullResult> PullWithProgress(const hub::Config& cfg, const hub::Ref& ref);

// A CLI11 transform for -m: a Hub reference becomes the cached file's path,
// pulled first when the cache does not hold it; a path passes unchanged.
CLI::Validator ModelSource();

}  // namespace r1::cli
