// r1: the command-line entry point. Subcommands register themselves (command.h).
#include <cstdio>
#include <memory>
#include <vector>

#include "command.h"

namespace r1::cli {
namespace {

struct Entry {
  std::string name, help;
  SetupFn setup;
};

std::vector<Entry>& Registry() {
  static std::vector<Entry> entries;
  return entries;
}

}  // namespace

bool RegisterCommand(std::string name, std::string help, SetupFn setup) {
  Registry().push_back({std::move(name), std::move(help), std::move(setup)});
  return true;
}

}  // namespace r1::cli

int main(int argc, char** argv) {
  CLI::App app{"r1.cpp: local inference for the DeepSeek-R1 family"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, r1::cli::RunFn>> subs;
  for (auto& e : r1::cli::Registry()) {
    CLI::App* sub = app.add_subcommand(e.name, e.help);
    subs.emplace_back(sub, e.setup(*sub));
  }
  CLI11_PARSE(app, argc, argv);
  for (auto& [sub, run] : subs) {
    if (sub->parsed()) return run();
  }
  return 1;
}
