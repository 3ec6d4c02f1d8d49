// `provium fixture list`, `clean`, `prune`, `export` and `import`: the persistent fixture cache.
#include <fmt/format.h>

#include <iostream>

#include <provium/error.h>

#include "base/memory_size.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cache/archive.h"
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

int fixture_export_command(const std::vector<std::string>& args) {
  std::vector<std::string> names;
  std::string output;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-o" || arg == "--output") {
      if (i + 1 == args.size()) {
        std::cerr << fmt::format("provium fixture export: {} needs a file\n", arg);
        return 2;
      }
      output = args[++i];
    } else if (arg.rfind("--output=", 0) == 0) {
      output = arg.substr(9);
    } else if (arg.rfind("-o", 0) == 0) {
      output = arg.substr(2);
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << fmt::format("provium fixture export: unknown option '{}'\n", arg);
      return 2;
    } else {
      names.push_back(arg);
    }
  }
  if (output.empty()) {
    std::cerr << "provium fixture export: say where the archive goes: -o FILE\n";
    return 2;
  }
  cache::Cache cache;
  const auto exported = cache::export_entries(cache, names, output);
  for (const auto& meta : exported)
    std::cout << fmt::format("  {:<24} {}  RAM {:>6.1f} MB\n", meta.fixture, meta.key.substr(0, 12), meta.ram_size / 1e6);
  std::error_code error;
  std::cout << fmt::format("exported {} to {} ({})\n", base::plural(exported.size(), "fixture snapshot", "fixture snapshots"),
                           output, base::size_text(std::filesystem::file_size(output, error)));
  return 0;
}

int fixture_import_command(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0].empty() || args[0][0] == '-') {
    std::cerr << "provium fixture import: name one archive: provium fixture import FILE\n";
    return 2;
  }
  cache::Cache cache;
  const auto imported = cache::import_entries(cache, args[0]);
  std::size_t added = 0;
  for (const auto& item : imported) {
    std::cout << fmt::format("  {:<24} {}  {}\n", item.meta.fixture, item.meta.key.substr(0, 12),
                             item.already_cached ? "already cached" : "imported");
    added += !item.already_cached;
  }
  std::cout << fmt::format("imported {} into {}\n", base::plural(added, "fixture snapshot", "fixture snapshots"),
                           cache.root().string());
  return 0;
}

}  // namespace provium::cli
