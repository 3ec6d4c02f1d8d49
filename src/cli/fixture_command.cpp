// `provium fixture list` and `provium fixture clean`: the persistent fixture cache.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cache/cache.h"

namespace provium::cli {

int fixture_list_command() {
  cache::Cache cache;
  const auto entries = cache.list();
  std::cout << fmt::format("{} fixture snapshot(s) in {}\n", entries.size(), cache.root().string());
  for (const auto& entry : entries)
    std::cout << fmt::format("  {:<24} {}  RAM {:>6.1f} MB  state {:>6.2f} MB  built in {:.1f} s{}\n",
                             entry.fixture, entry.key.substr(0, 12), entry.ram_size / 1e6,
                             entry.state_size / 1e6, entry.build_seconds,
                             entry.parent.empty() ? "" : " (on " + entry.parent + ")");
  return 0;
}

int fixture_clean_command() {
  cache::Cache cache;
  std::cout << fmt::format("removed {} fixture snapshot(s) from {}\n", cache.clean(), cache.root().string());
  return 0;
}

}  // namespace provium::cli
