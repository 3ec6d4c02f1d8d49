// The provium command: `provium version`, `provium fixture list|clean`.
#include <fmt/format.h>

#include <cstring>
#include <iostream>
#include <string_view>

#include <provium/error.h>

#include "fixture/cache.h"

namespace {

constexpr std::string_view kUsage = R"(usage: provium COMMAND

commands:
  version          print the version
  fixture list     list the cached fixture snapshots (name, key, sizes, build time)
  fixture clean    remove every cached fixture snapshot

The fixture cache is $PROVIUM_CACHE_DIR, else $XDG_CACHE_HOME/provium, else ~/.cache/provium.
)";

int list_fixtures() {
  provium::cache::Cache cache;
  const auto entries = cache.list();
  std::cout << fmt::format("{} fixture snapshot(s) in {}\n", entries.size(), cache.root().string());
  for (const auto& entry : entries)
    std::cout << fmt::format("  {:<24} {}  RAM {:>6.1f} MB  state {:>6.2f} MB  built in {:.1f} s{}\n",
                             entry.fixture, entry.key.substr(0, 12), entry.ram_size / 1e6,
                             entry.state_size / 1e6, entry.build_seconds,
                             entry.parent.empty() ? "" : " (on " + entry.parent + ")");
  return 0;
}

int clean_fixtures() {
  provium::cache::Cache cache;
  std::cout << fmt::format("removed {} fixture snapshot(s) from {}\n", cache.clean(), cache.root().string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  const std::string_view sub = argc > 2 ? argv[2] : "";
  try {
    if (command == "version") {
      std::cout << "provium " << PROVIUM_VERSION << "\n";
      return 0;
    }
    if (command == "fixture" && sub == "list") return list_fixtures();
    if (command == "fixture" && sub == "clean") return clean_fixtures();
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kUsage;
      return 0;
    }
  } catch (const provium::Error& error) {
    std::cerr << "provium: " << error.what() << "\n";
    return 1;
  }
  std::cerr << (command.empty() ? "provium: no command given\n"
                                : fmt::format("provium: unknown command '{}{}{}'\n", command,
                                              sub.empty() ? "" : " ", sub))
            << kUsage;
  return 2;
}
