// `provium run [OPTIONS] -- CMD [ARGS...]`: one command in a fresh VM, its output streamed as it
// comes, and its exit status as provium's (docs/cli.md, "provium run").
#include <stdlib.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include <provium/error.h>
#include <provium/vm.h>

#include "base/settings.h"
#include "cli/commands.h"
#include "cli/options.h"

namespace provium::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRunUsage = R"(usage: provium run [OPTIONS] [--] CMD [ARGS...]

Boots a fresh VM, runs CMD ARGS (joined with spaces and run by the guest's /bin/sh -c, as ssh
does), shows its output as it comes and exits with its exit status.

options:
      --profile NAME      the provium.toml profile to boot (default: default)
      --kernel PATH       boot this kernel image with the built-in userspace, without a
                          provium.toml (its modules from /lib/modules/RELEASE)
      --config FILE       use this provium.toml (default: the first found from here upward)
      --memory SIZE       the VM's memory (default 512M)
      --cpus N            the VM's CPUs (default 1)
      --timeout SECONDS   the command's deadline (default 3600)
      --accel ACCEL       auto, kvm or tcg
  -h, --help              this text

Exit status: the command's; 124 when it passed its deadline; 125 when the VM failed (it did not
boot, the kernel panicked, the guest stopped answering) or the kernel reported a bug (a WARNING,
BUG, KASAN, ... report) while the command succeeded. The reason is on stderr.
More: docs/cli.md.
)";

constexpr int kDeadline = 124;
constexpr int kVmFailed = 125;

struct RunOptions {
  std::string profile = "default";
  std::optional<fs::path> kernel;
  BootOptions boot;
  std::chrono::seconds timeout{3600};
  std::vector<std::string> command;
  bool help = false;
};

int parse_int(std::string_view option, std::string_view text, int max) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > max)
    throw UsageError(fmt::format("{} wants a whole number from 1 to {}, not '{}'", option, max, text));
  return value;
}

// Applies the settings options at once (they are checked where they are parsed).
RunOptions parse_run_options(const std::vector<std::string>& args, base::Settings& settings) {
  RunOptions options;
  std::size_t i = 0;
  auto value = [&](std::string_view option) -> std::string {
    if (++i >= args.size()) throw UsageError(fmt::format("{} needs a value", option));
    return args[i];
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') break;  // the command
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    } else if (arg == "--profile") {
      options.profile = value(arg);
    } else if (arg == "--kernel") {
      options.kernel = fs::absolute(value(arg));
    } else if (arg == "--config") {
      settings.set("PROVIUM_CONFIG", fs::absolute(value(arg)).string(), "--config");
    } else if (arg == "--accel") {
      settings.set("PROVIUM_ACCEL", value(arg), "--accel");
    } else if (arg == "--memory") {
      options.boot.memory = value(arg);
    } else if (arg == "--cpus") {
      options.boot.cpus = parse_int("--cpus", value(arg), 1024);
    } else if (arg == "--timeout") {
      options.timeout = std::chrono::seconds(parse_int("--timeout", value(arg), 30 * 24 * 3600));
    } else {
      throw UsageError(fmt::format("unknown option '{}'", arg));
    }
  }
  options.command.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())), args.end());
  if (options.command.empty()) throw UsageError("no command given: provium run [OPTIONS] -- CMD [ARGS...]");
  if (options.kernel && options.profile != "default")
    throw UsageError("--kernel and --profile name two kernels: give one of them");
  return options;
}

// A provium.toml of one profile, 'default', that boots `kernel`: what --kernel means. Removed
// with the object.
class KernelOnlyConfig {
 public:
  explicit KernelOnlyConfig(const fs::path& kernel) {
    std::string pattern = (fs::temp_directory_path() / "provium-run-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw Error("cannot create a temporary directory for --kernel");
    dir_ = pattern;
    const toml::table config{{"profile", toml::table{{"default", toml::table{{"kernel", kernel.string()}}}}}};
    std::ofstream(file()) << config << "\n";
  }
  ~KernelOnlyConfig() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  KernelOnlyConfig(const KernelOnlyConfig&) = delete;
  KernelOnlyConfig& operator=(const KernelOnlyConfig&) = delete;
  fs::path file() const { return dir_ / "provium.toml"; }

 private:
  fs::path dir_;
};

void write_out(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote <= 0) return;  // a closed pipe: the output has nowhere to go
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
}

}  // namespace

int run_command(const std::vector<std::string>& args) {
  base::Settings settings = *base::settings();
  RunOptions options;
  try {
    options = parse_run_options(args, settings);
  } catch (const UsageError& error) {
    std::cerr << fmt::format("provium run: {}\n\n", error.what()) << kRunUsage;
    return 2;
  } catch (const Error& error) {  // a setting's value
    std::cerr << fmt::format("provium run: {}\n\n", error.what()) << kRunUsage;
    return 2;
  }
  if (options.help) {
    std::cout << kRunUsage;
    return 0;
  }
  std::optional<KernelOnlyConfig> kernel_config;
  if (options.kernel) {
    kernel_config.emplace(*options.kernel);
    settings.set("PROVIUM_CONFIG", kernel_config->file().string(), "--kernel");
  }
  base::replace_settings(std::move(settings));

  try {
    Vm vm = create(options.profile);
    vm.boot(options.boot);
    ExecOptions exec{.timeout = options.timeout,
                     .stream = false,
                     .on_output = [](int stream, std::string_view bytes) { write_out(stream == 2 ? 2 : 1, bytes); }};
    ExecResult result;
    try {
      result = vm.exec(fmt::format("{}", fmt::join(options.command, " ")), exec);
    } catch (const TimeoutError& error) {
      std::cerr << fmt::format("provium run: {}\n", error.what());
      return kDeadline;
    }
    const auto reports = vm.check_kernel_reports();
    vm.kill();
    if (!reports.ok()) {
      std::cerr << "provium run: " << reports.describe() << "\n";
      return result.exit_code != 0 ? result.exit_code : kVmFailed;
    }
    return result.exit_code;
  } catch (const Error& error) {
    std::cerr << fmt::format("provium run: {}\n", error.what());
    return kVmFailed;
  }
}

}  // namespace provium::cli
