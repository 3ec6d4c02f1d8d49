// `provium fixture list`, `clean` and `prune`: the persistent fixture cache.
#include <fmt/format.h>

#include <iostream>

#include <provium/error.h>

#include "base/memory_size.h"
#include "base/text.h"
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

int fixture_prune_command(std::optional<std::string_view> size) {
  cache::Cache cache;
  uint64_t limit = cache::cache_size_limit();
  if (size) {
    try {
      limit = std::string_view(*size) == "0" ? 0 : base::parse_memory_size(*size);
    } catch (const Error& error) {
      std::cerr << fmt::format("provium fixture prune: {}\n", error.what());
      return 2;
    }
  }
  const auto pruned = cache.prune(limit);
  std::cout << fmt::format("removed {} fixture snapshot(s) ({}); the cache takes {} (limit {})\n", pruned.entries,
                           base::size_text(pruned.bytes), base::size_text(pruned.left), base::size_text(limit));
  return 0;
}

}  // namespace provium::cli
