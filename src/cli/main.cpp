// The provium command: dispatches to the subcommands (commands.h).
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <provium/error.h>
#include <provium/vm.h>

#include "cli/commands.h"

namespace {

constexpr std::string_view kUsage = R"(usage: provium COMMAND

commands:
  test [OPTIONS] PATH  run Provium Lua test scripts: a file, or every *.lua below a directory
                       (provium test --help says more)
  run [OPTIONS] -- CMD run one command in a fresh VM and exit with its status (provium run
                       --help says more)
  shell [OPTIONS]      a login shell in a fresh VM, on a terminal of the guest (provium shell
                       --help says more)
  kconfig [DIR]        make a kernel tree's .config one that boots under Provium (provium
                       kconfig --help says more)
  version              print the version
  fixture list         list the cached fixture snapshots (name, key, sizes, build time)
  fixture clean        remove every cached fixture snapshot
  fixture prune [SIZE] remove the least recently used snapshots that no VM runs from, until the
                       cache takes at most SIZE (512M, 20G, ...; default: its limit) on disk
  fixture export [NAME...] -o FILE
                       write the cached snapshots of the fixtures named (default: all) into one
                       archive (tar, zstd) for other machines
  fixture import FILE  check an archive of `fixture export` whole, then put its snapshots into
                       this machine's cache

The fixture cache is $PROVIUM_CACHE_DIR, else $XDG_CACHE_HOME/provium, else ~/.cache/provium.
Its limit is $PROVIUM_CACHE_SIZE, else provium.toml's [cache] size, else 20G: each build
removes what is over it.
More: docs/cli.md; fixtures built once for a CI job matrix: docs/ci.md.
)";

int test(const std::vector<std::string>& args) {
#ifdef PROVIUM_HAVE_LUA
  return provium::cli::test_command(args);
#else
  (void)args;
  std::cerr << "provium test: this provium was built without Lua (meson -Dlua=disabled, or no "
               "Lua 5.4 found), so it cannot run Lua scripts; rebuild it with liblua5.4-dev "
               "installed (-Dlua=enabled)\n";
  return 2;
#endif
}

int run(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  const std::string_view sub = argc > 2 ? argv[2] : "";
  const std::vector<std::string> rest(argv + std::min(argc, 2), argv + argc);
  try {
    if (command == "test") return test(rest);
    if (command == "run") return provium::cli::run_command({argv + 2, argv + argc});
    if (command == "kconfig") return provium::cli::kconfig_command({argv + 2, argv + argc});
    if (command == "shell") return provium::cli::shell_command({argv + 2, argv + argc});
#ifdef PROVIUM_HAVE_LUA
    if (command == "__run-file") return provium::cli::run_file_command(rest);
#endif
    if (command == "version") {
      std::cout << "provium " << PROVIUM_VERSION << "\n";
      return 0;
    }
    if (command == "fixture" && sub == "list") return provium::cli::fixture_list_command();
    if (command == "fixture" && sub == "clean") return provium::cli::fixture_clean_command();
    if (command == "fixture" && sub == "export")
      return provium::cli::fixture_export_command({argv + 3, argv + argc});
    if (command == "fixture" && sub == "import")
      return provium::cli::fixture_import_command({argv + 3, argv + argc});
    if (command == "fixture" && sub == "prune" && argc <= 4)
      return provium::cli::fixture_prune_command(argc == 4 ? std::optional<std::string_view>(argv[3]) : std::nullopt);
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

}  // namespace

int main(int argc, char** argv) {
  const int status = run(argc, argv);
  provium::shutdown_all();  // every VM ended and the loop thread joined before main returns
  return status;
}
