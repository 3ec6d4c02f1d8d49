// `provium run` and `provium shell`: a fresh VM for a person at a terminal (docs/cli.md). `run`
// runs one command, streams its output and exits with its status; `shell` opens a login shell
// (or a command) on a pseudo-terminal of the guest, through a worker of the agent.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>

#include <provium/error.h>
#include <provium/vm.h>

#include "base/files.h"
#include "base/settings.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cache/resume.h"
#include "config/config.h"
#ifdef PROVIUM_HAVE_LUA
#include "lua/context.h"
#include "lua/vm_boot.h"
#endif
#include "vm/guest_access.h"
#include "vm/handoff.h"
#include "vm/launch_plan.h"
#include "vm/terminal.h"
#include "vm/vm_access.h"

namespace provium::cli {

namespace fs = std::filesystem;

namespace {

// The options both commands take, in their usage texts.
constexpr std::string_view kVmOptions = R"(options:
      --profile NAME      the provium.toml profile to boot (default: default)
      --fixture NAME      a VM resumed from the Lua fixture NAME (fixtures/NAME.lua or
                          tests/fixtures/NAME.lua here; built first where it is not cached),
                          else from the C++ fixture NAME as its test program last built it
      --kernel PATH       boot this kernel image with the built-in userspace, without a
                          provium.toml (its modules from /lib/modules/RELEASE); or a
                          kernel build tree: its bzImage and the modules built there
      --config FILE       use this provium.toml (default: the first found from here upward)
      --memory SIZE       the VM's memory (default 512M)
      --cpus N            the VM's CPUs (default 1)
      --accel ACCEL       auto, kvm or tcg
      --file HOST:GUEST   put the host file or directory HOST at GUEST (an absolute path) in
                          the guest, on any profile; repeatable
      --disk IMAGE[:ro]   attach a disk image (raw, or qcow2 by its magic) as the next
                          /dev/vdX, read-only with :ro; repeatable. Writes reach the image
      --share HOST[:GUEST][:ro]
                          share the host directory HOST at GUEST (default: HOST's own
                          absolute path) over virtio-9p, read-only with :ro; both sides
                          see the other's writes; repeatable. The kernel needs 9p
      --host-root         the guest's root is this host's, read-only over virtio-9p under
                          a tmpfs overlay (writes stay in the guest): the host's bash,
                          Python and test tools run unchanged. The kernel needs 9p and
                          overlayfs (provium kconfig gives both)
      --gdb               QEMU's gdbstub on a socket in the VM's run directory, the kernel
                          booted with nokaslr; the VM waits, before the command, for gdb
                          (the command to paste is printed) to continue or detach
)";

const std::string kRunUsage = fmt::format(R"(usage: provium run [OPTIONS] [--] CMD [ARGS...]

Boots a fresh VM, runs CMD with ARGS exactly as given (each quoted for the guest's /bin/sh; a
lone CMD is a shell command line: 'dmesg | tail'), shows its output as it comes and exits with
its exit status.

{}      --timeout SECONDS   the command's deadline (default 3600)
  -h, --help              this text

Exit status: the command's; 124 when it passed its deadline; 125 when the VM failed (it did not
boot, the kernel panicked, the guest stopped answering) or the kernel reported a bug (a WARNING,
BUG, KASAN, ... report) while the command succeeded. The reason is on stderr.
More: docs/cli.md.
)", kVmOptions);

const std::string kShellUsage = fmt::format(R"(usage: provium shell [OPTIONS] [-- CMD [ARGS...]]
       provium shell --attach NAME

Boots a fresh VM and opens a login shell in it (or runs CMD) on a pseudo-terminal of the guest:
what you type goes to the guest (Ctrl-C to its foreground job), the window's size follows
yours. `exit` or Ctrl-D ends the shell and the VM; the exit status is the shell's.

{}      --attach NAME       a shell in the VM NAME that a test program kept for a look
                          (--provium_keep_failed, PROVIUM_KEEP_FAILED=1), instead of a fresh
                          VM; that program goes on when the shell ends
  -h, --help              this text

The first line names the file the guest's console goes to: `tail -f` it in another terminal.
Exit status: the shell's; 125 when the VM failed. More: docs/cli.md.
)", kVmOptions);

constexpr int kDeadline = 124;
constexpr int kVmFailed = 125;

struct RunOptions {
  std::string profile = "default";
  std::optional<fs::path> kernel;
  BootOptions boot;
  std::chrono::seconds timeout{3600};
  std::vector<std::string> command;
  std::optional<std::string> attach;   // shell --attach NAME
  std::optional<std::string> fixture;  // --fixture NAME: a Lua fixture of the working directory
  bool host_root = false;              // --host-root
  bool help = false;
};

// The options of both commands; the settings ones go into `settings` at once (they are checked
// where they are parsed). `provium run` needs a command, `provium shell` takes one.
RunOptions parse_run_options(const std::vector<std::string>& args, base::Settings& settings, bool command_needed) {
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
    } else if (arg == "--fixture") {
      options.fixture = value(arg);
    } else if (arg == "--attach") {
      options.attach = value(arg);
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
      options.boot.cpus = parse_number("--cpus", value(arg), 1, 1024);
    } else if (arg == "--file") {
      const std::string spec = value(arg);
      const std::size_t colon = spec.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
        throw UsageError(fmt::format("--file {}: give HOST:GUEST, the host path and the guest's absolute path", spec));
      options.boot.files[spec.substr(colon + 1)] = fs::absolute(spec.substr(0, colon)).string();
    } else if (arg == "--disk") {
      std::string image = value(arg);
      const bool readonly = image.ends_with(":ro");
      if (readonly) image.resize(image.size() - 3);
      const std::string path = fs::absolute(image).string();
      options.boot.disks.push_back({path, vm::disk_format(path, "--disk"), readonly});
    } else if (arg == "--host-root") {
      options.host_root = true;
    } else if (arg == "--share") {
      const std::string spec = value(arg);
      try {
        options.boot.shares.push_back(config::parse_share(spec, fs::current_path()));
      } catch (const Error& error) {
        throw UsageError(fmt::format("--{}", error.what()));
      }
    } else if (arg == "--gdb") {
      settings.set("PROVIUM_GDB", "1", "--gdb");
    } else if (arg == "--timeout") {
      options.timeout = std::chrono::seconds(parse_number("--timeout", value(arg), 1, 30 * 24 * 3600));
    } else {
      throw UsageError(fmt::format("unknown option '{}'", arg));
    }
  }
  options.command.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())), args.end());
  if (options.command.empty() && command_needed)
    throw UsageError("no command given: provium run [OPTIONS] -- CMD [ARGS...]");
  if (options.kernel && options.profile != "default")
    throw UsageError("--kernel and --profile name two kernels: give one of them");
  if (options.fixture && options.host_root)
    throw UsageError("--fixture's VM is resumed from its snapshot; the host's root cannot be in one");
  if (options.fixture && (options.kernel || options.profile != "default"))
    throw UsageError("--fixture's VM is the fixture's own: no --kernel or --profile with it");
  if (options.fixture && (!options.boot.files.empty() || !options.boot.disks.empty()))
    throw UsageError("--fixture's VM is resumed from its snapshot: its files and disks are the fixture's");
  return options;
}

// A provium.toml of one profile, 'default', that boots `kernel`: what --kernel means. Removed
// with the object.
class KernelOnlyConfig {
 public:
  explicit KernelOnlyConfig(const fs::path& kernel) : dir_(fs::temp_directory_path(), "provium-run-") {
    const toml::table config{{"profile", toml::table{{"default", toml::table{{"kernel", kernel.string()}}}}}};
    std::ofstream(file()) << config << "\n";
  }
  fs::path file() const { return dir_.path() / "provium.toml"; }

 private:
  base::TemporaryDirectory dir_;
};

// A command line parsed and its settings applied; `prepare` returns false after printing the
// usage (or the help), with the exit status in `status`.
struct Prepared {
  RunOptions options;
  std::optional<KernelOnlyConfig> kernel_config;
};

bool prepare(const std::vector<std::string>& args, std::string_view name, std::string_view usage, bool command_needed,
             Prepared& prepared, int& status) {
  base::Settings settings = *base::settings();
  try {
    prepared.options = parse_run_options(args, settings, command_needed);
  } catch (const std::exception& error) {  // UsageError, or provium::Error for a setting's value
    std::cerr << fmt::format("provium {}: {}\n\n", name, error.what()) << usage;
    status = 2;
    return false;
  }
  if (prepared.options.help) {
    std::cout << usage;
    status = 0;
    return false;
  }
  if (prepared.options.kernel) {
    prepared.kernel_config.emplace(*prepared.options.kernel);
    settings.set("PROVIUM_CONFIG", prepared.kernel_config->file().string(), "--kernel");
  }
  // One VM for one command: a spare resumed for a next VM that never comes would only take a
  // QEMU and a share of the pool.
  settings.set("PROVIUM_SPARES", "0", fmt::format("provium {}", name));
  base::replace_settings(std::move(settings));
  return true;
}

// A VM resumed from fixture `name`: the Lua fixture of that name (fixtures/NAME.lua or
// tests/fixtures/NAME.lua of the working directory, built first where it is not cached), else the
// C++ fixture of that name its test program built last (its machine record says how to boot it;
// only the program can build it).
Vm fixture_vm(const std::string& name) {
#ifdef PROVIUM_HAVE_LUA
  lua::FileContext context;
  context.locate(fs::current_path() / "(command line)", fs::current_path());
  if (lua::has_fixture_script(context, name)) return std::move(lua::resume_fixture(context, name).vm);
#endif
  cache::check_fixture_name(name);
  auto recorded = cache::resume_newest(name);
  return vm::VmAccess::wrap(recorded.profile, std::move(recorded.machine));
}

// The VM of the command: a fresh one of the profile, or one resumed from a fixture.
Vm fresh_vm(const RunOptions& options) {
  if (options.fixture) return fixture_vm(*options.fixture);
  if (!options.host_root) {
    Vm vm = create(options.profile);
    vm.boot(options.boot);
    return vm;
  }
  config::Profile profile = config::current().profile(options.profile);
  if (profile.rootfs || profile.initrd)
    throw Error(fmt::format("--host-root: {} has a {} of its own; the host's root would take its place",
                            profile.describe(), profile.rootfs ? "rootfs" : "initrd"));
  profile.host_root = true;
  if (!profile.origin.contains("init")) profile.init = "/provium-init";
  return vm::VmAccess::boot_on(profile, options.boot);
}

// Brings up the VM and hands it to `use`; the exit status is use's, 125 when the VM failed (with
// the reason on stderr).
int on_fresh_vm(const RunOptions& options, std::string_view name, const std::function<int(Vm&)>& use) {
  try {
    Vm vm = fresh_vm(options);
    if (base::settings()->gdb) vm::VmAccess::machine(vm).wait_for_debugger();  // --gdb
    const int status = use(vm);
    vm.kill();
    return status;
  } catch (const Error& error) {
    std::cerr << fmt::format("provium {}: {}\n", name, error.what());
    return kVmFailed;
  }
}

// What the guest's shell runs for the command's words: a single word is a shell command line as
// it is (`provium run -- 'dmesg | tail'`); several are a program and its arguments, each quoted
// so that its argv arrives as typed (`provium run -- sh -c 'exit 7'`).
std::string guest_command_line(const std::vector<std::string>& command) {
  if (command.size() == 1) return command.front();
  std::vector<std::string> words;
  for (const std::string& word : command) words.push_back(base::shell_quote(word));
  return fmt::format("{}", fmt::join(words, " "));
}

}  // namespace

int run_command(const std::vector<std::string>& args) {
  Prepared prepared;
  int status = 0;
  if (!prepare(args, "run", kRunUsage, true, prepared, status)) return status;
  if (prepared.options.attach) {
    std::cerr << "provium run: --attach is provium shell's\n\n" << kRunUsage;
    return 2;
  }
  const RunOptions& options = prepared.options;
  return on_fresh_vm(options, "run", [&](Vm& vm) {
    ExecOptions exec{.timeout = options.timeout,
                     .stream = false,
                     .on_output = [](int stream, std::string_view bytes) { base::write_all(stream == 2 ? 2 : 1, bytes); }};
    ExecResult result;
    try {
      result = vm.exec(guest_command_line(options.command), exec);
    } catch (const TimeoutError& error) {
      std::cerr << fmt::format("provium run: {}\n", error.what());
      return kDeadline;
    }
    const auto reports = vm.check_kernel_reports();
    if (!reports.ok()) {
      std::cerr << "provium run: " << reports.describe() << "\n";
      return result.exit_code != 0 ? result.exit_code : kVmFailed;
    }
    return result.exit_code;
  });
}

int shell_command(const std::vector<std::string>& args) {
  Prepared prepared;
  int status = 0;
  if (!prepare(args, "shell", kShellUsage, false, prepared, status)) return status;
  const RunOptions& options = prepared.options;
  if (options.attach) {
    // A VM that a test program kept for a look (PROVIUM_KEEP_FAILED): the program owns it and
    // goes on when this shell ends.
    try {
      auto session = vm::attach(base::settings()->run_root, *options.attach);
      vm::Terminal terminal(*session);
      std::cerr << fmt::format("provium shell: attached to VM {}; exit or Ctrl-D ends the shell, and its test "
                               "program goes on\r\n",
                               *options.attach);
      status = vm::run_at_this_terminal(terminal, guest_command_line(options.command));
      session->close("the shell ended");
      return status;
    } catch (const Error& error) {
      std::cerr << fmt::format("provium shell: {}\n", error.what());
      return kVmFailed;
    }
  }
  return on_fresh_vm(options, "shell", [&](Vm& vm) {
    vm.mount_vfs();  // /proc, /sys, /dev, /dev/pts, ...: what a shell user expects to find
    // The shell holds its connection until it exits: a worker's, so that the VM's own stays free.
    Worker worker = vm.spawn();
    vm::Terminal terminal(vm::GuestAccess::session(worker));
    std::cerr << fmt::format("provium shell: VM {} of profile '{}'; its console: {}\r\n",
                             vm::VmAccess::machine(vm).name(), options.profile,
                             vm::VmAccess::machine(vm).console_log().string());
    return vm::run_at_this_terminal(terminal, guest_command_line(options.command));
  });
}

}  // namespace provium::cli
