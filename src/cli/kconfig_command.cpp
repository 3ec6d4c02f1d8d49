// `provium kconfig [OPTIONS] [DIR]`: makes a kernel tree's .config one that boots under Provium,
// as `vng --kconfig` does (docs/kernels.md): the kernel's own make targets choose the start and
// resolve dependencies; Provium only sets its fragments' options and says what changed.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include <provium/error.h>

#include "base/capture_output.h"
#include "base/files.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "host/programs.h"
#include "kernel/kconfig.h"

namespace provium::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kUsage = R"(usage: provium kconfig [--minimal] [--debug] [--source SRC] [DIR]

Makes the kernel configuration DIR/.config (DIR: a kernel source tree, or an O= build
directory; default: the working directory) one that boots under Provium. Without a .config it
starts from `make defconfig` (--minimal: `make tinyconfig`, which builds in minutes); an
existing .config keeps everything it has. Then it sets the options of Provium's fragment, runs
`make olddefconfig` and prints each option that changed.

  --minimal      start a new .config from tinyconfig instead of defconfig
  --debug        also what debugging wants: debug info, frame pointers, KASAN, lockdep,
                 kmemleak, the kernel's gdb scripts, no KASLR
  --source SRC   the kernel source tree, when DIR is a new O= build directory
  --print        print the fragment(s) instead, to merge them yourself
  -h, --help     this text

Exit status: 0; 1 when DIR is no kernel tree, make failed, or an option of the fragment could
not be set (a dependency it needs is off: each is named); 2 for a bad command line. More: docs/kernels.md.
)";

struct KconfigOptions {
  bool minimal = false;
  bool debug = false;
  bool print = false;
  bool help = false;
  std::optional<fs::path> source;
  fs::path dir = ".";
};

KconfigOptions parse(const std::vector<std::string>& args) {
  KconfigOptions options;
  bool dir_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") options.help = true;
    else if (arg == "--minimal") options.minimal = true;
    else if (arg == "--debug") options.debug = true;
    else if (arg == "--print") options.print = true;
    else if (arg == "--source") {
      if (++i == args.size()) throw UsageError("--source needs a value");
      options.source = fs::absolute(args[i]);
    } else if (arg.starts_with('-')) {
      throw UsageError(fmt::format("unknown option '{}'", arg));
    } else if (dir_given) {
      throw UsageError(fmt::format("one directory only: '{}' and '{}'", options.dir.string(), arg));
    } else {
      options.dir = arg;
      dir_given = true;
    }
  }
  options.dir = fs::absolute(options.dir).lexically_normal();
  return options;
}

}  // namespace

int kconfig_command(const std::vector<std::string>& args) {
  KconfigOptions options;
  try {
    options = parse(args);
  } catch (const UsageError& error) {
    std::cerr << "provium kconfig: " << error.what() << "\n\n" << kUsage;
    return 2;
  }
  if (options.help) {
    std::cout << kUsage;
    return 0;
  }
  if (options.print) {
    std::cout << kernel::provium_fragment(options.debug).text();
    return 0;
  }
  const fs::path& dir = options.dir;
  const fs::path source = options.source.value_or(dir);
  if (!fs::exists(source / "Kconfig") && !fs::exists(dir / "Makefile")) {
    std::cerr << fmt::format("provium kconfig: {} is not a kernel tree (no Kconfig){}\n", source.string(),
                             options.source ? "" : "; for a new O= build directory, name the source with --source");
    return 1;
  }
  const std::string make = host::find_executable("make").string();
  if (make.empty()) {
    std::cerr << "provium kconfig: make not found in PATH (Debian: make; a kernel build also needs gcc, flex, "
                 "bison, bc and libelf-dev)\n";
    return 1;
  }
  // In an O= directory make runs from the source with O=; in a tree, in the tree.
  std::vector<std::string> make_argv{make, "-C", source.string()};
  if (source != dir) make_argv.push_back("O=" + dir.string());
  auto run_make = [&](const std::string& target) {
    auto argv = make_argv;
    argv.push_back(target);
    base::run_program(argv);
  };

  const fs::path config_file = dir / ".config";
  try {
    if (!fs::exists(config_file)) {
      const std::string start = options.minimal ? "tinyconfig" : "defconfig";
      std::cout << fmt::format("no {}: starting from `make {}`\n", config_file.string(), start);
      run_make(start);
    } else if (options.minimal) {
      std::cout << fmt::format("{} exists and keeps what it has (--minimal only chooses where a new one starts)\n",
                               config_file.string());
    }
    const std::string original = base::read_file(config_file, "kernel configuration");
    const kernel::KernelConfig before = kernel::KernelConfig::parse(original, config_file.string());
    const kernel::KernelConfig fragment = kernel::provium_fragment(options.debug);
    kernel::KernelConfig asked = before;
    for (const auto& [option, value] : fragment.options()) asked.set(option, value);
    {
      std::ofstream out(config_file, std::ios::trunc);
      out << asked.text();
      if (!out.flush()) throw Error(fmt::format("cannot write {}", config_file.string()));
    }
    run_make("olddefconfig");
    const kernel::KernelConfig after =
        kernel::KernelConfig::parse(base::read_file(config_file, "kernel configuration"), config_file.string());

    // The configuration as it was, where the kernel's scripts/diffconfig compares it.
    const fs::path old_file = dir / ".config.old";
    std::ofstream(old_file, std::ios::trunc) << original;

    // Provium's options first, each; then how many followed from them (dependencies, defaults).
    const auto changed = kernel::changes(before, after);
    std::size_t followed = 0;
    std::cout << fmt::format("{}: what Provium needs{}\n", config_file.string(), options.debug ? " and debugging wants" : "");
    for (const auto& change : changed) {
      if (fragment.options().contains(change.option))
        std::cout << fmt::format("  {:<40} {} -> {}\n", change.option, change.before, change.after);
      else
        ++followed;
    }
    std::cout << fmt::format("  and {} option{} that followed from them (scripts/diffconfig {} {})\n", followed,
                             followed == 1 ? "" : "s", old_file.string(), config_file.string());
    int status = 0;
    for (const auto& [option, value] : fragment.options()) {
      if (after.value_of(option) == value) continue;
      std::cerr << fmt::format("provium kconfig: {}={} did not take ({} now): an option it depends on is off; "
                               "find it with `make menuconfig` (/ then {})\n",
                               option, value, after.value_of(option), option.substr(7));
      status = 1;
    }
    if (status == 0)
      std::cout << fmt::format("build it: make -C {} -j$(nproc) bzImage{}\n", dir.string(),
                               after.value_of("CONFIG_MODULES") == "y" ? " modules" : "");
    return status;
  } catch (const Error& error) {
    std::cerr << "provium kconfig: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace provium::cli
