// Subcommand registry for the `r1` tool.
//
// Each subcommand lives in its own tools/r1/cmd_*.cc and registers itself:
//
//   namespace {
//   struct Options { std::string model; };
//   int Run(const Options& o) { ... return 0; }
//   const bool kRegistered = r1::cli::RegisterCommand(
//       "inspect", "Print a GGUF file's metadata and tensors",
//       [](CLI::App& app) -> r1::cli::RunFn {
//         auto o = std::make_shared<Options>();
//         app.add_option("file", o->model)->required();
//         return [o] { return Run(*o); };
//       });
//   }  // namespace
//
// The returned function runs when that subcommand is chosen; its result is
// the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace r1::cli {

using RunFn = std::function<int()>;
using SetupFn = std::function<RunFn(CLI::App&)>;

bool RegisterCommand(std::string name, std::string help, SetupFn setup);

}  // namespace r1::cli
