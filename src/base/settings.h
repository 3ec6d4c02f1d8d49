// The run's settings: every PROVIUM_* variable, read once from the environment, then changed
// only by flags (--provium_* of a test program, the options of the provium command). Each layer
// reads its part from settings(); nothing else reads or sets these variables. A child process
// gets them through environment() (docs/configuration.md lists them).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace provium::base {

struct Settings {
  // PROVIUM_CONFIG: this provium.toml instead of the nearest one upward.
  std::optional<std::filesystem::path> config;
  // PROVIUM_ACCEL: auto, kvm or tcg for every profile; empty: each profile's own.
  std::string accel;
  // PROVIUM_TRANSPORT: auto, vsock or virtio-serial for every profile; empty: each profile's own.
  std::string transport;
  // PROVIUM_POOL_MEM (bytes) and PROVIUM_POOL_CPUS: a fixed budget for all VMs of this user.
  std::optional<uint64_t> pool_memory;
  std::optional<int> pool_cpus;
  // PROVIUM_TIMEOUT (seconds): how long one guest operation may take by default.
  std::chrono::milliseconds operation_timeout{std::chrono::seconds(60)};
  // PROVIUM_SPARES=0 turns spares off: each fixture VM is started when a test asks for it.
  bool spares = true;
  // PROVIUM_REQUIRE=1: a missing QEMU or kernel fails a test program instead of skipping it.
  bool require_prerequisites = false;
  // PROVIUM_STREAM=1: every exec shows its output live (ExecOptions::stream).
  bool stream_output = false;
  // PROVIUM_KERNEL_REPORTS: "check" (the default) fails a test during which the kernel
  // reported a bug (a WARNING, a KASAN report, ...) that it did not expect; "ignore" does not.
  bool check_kernel_reports = true;
  // PROVIUM_KEEP_FAILED=1: a failed TEST_F's VM is kept for `provium shell --attach` instead of
  // killed, and the program waits for that shell (a debugging switch, never for CI).
  bool keep_failed = false;
  // PROVIUM_GDB=1: every VM gets QEMU's gdbstub on a socket in its run directory and boots
  // with nokaslr, and a test's VM waits for a debugger before the test body runs.
  bool gdb = false;
  // PROVIUM_RUN_DIR, else $XDG_RUNTIME_DIR/provium, else /tmp/provium-UID: run directories of
  // VMs, the resource pool's ledger, provium test's logs.
  std::filesystem::path run_root;
  // PROVIUM_CACHE_DIR, else $XDG_CACHE_HOME/provium, else ~/.cache/provium (without a home
  // /tmp/provium-cache-UID): fixture snapshots, decompressed kernels, the rerun record.
  std::filesystem::path cache_root;
  // PROVIUM_CACHE_SIZE (bytes): the fixture cache's limit (else provium.toml's [cache] size,
  // else 20G).
  std::optional<uint64_t> cache_size;
  // PROVIUM_LOG_DIR: where the logs of failed files and tests are kept (default: run_root/logs).
  std::optional<std::filesystem::path> log_dir;
  // PROVIUM_CID_DIR: the machine-wide vsock CID leases (default: /tmp/provium-cids).
  std::filesystem::path cid_dir = "/tmp/provium-cids";
  // PROVIUM_LUA and PROVIUM_LUA_ROOT: Lua scripts a test program runs as tests, and where their
  // relative paths start.
  std::optional<std::filesystem::path> lua_directory;
  std::optional<std::filesystem::path> lua_root;

  // A variable's value as a process's environment gives it (nullptr when unset).
  using Lookup = std::function<const char*(const char*)>;
  static Settings read(const Lookup& lookup);
  static Settings from_environment();

  // Sets the setting that `variable` names from text, as if the environment held it; empty
  // text gives the default back. `origin` names the text's source in an error ("--provium_pool_cpus");
  // throws provium::Error for text the setting cannot take, and for an unknown variable.
  void set(std::string_view variable, std::string_view text, std::string_view origin);

  // A child process's environment that gives it these settings: `inherited` ("NAME=value"
  // entries, as environ holds them) without its PROVIUM_* settings, then each one given here
  // (by the environment or set()).
  std::vector<std::string> environment(const char* const* inherited) const;

  // Where logs are kept: log_dir, else run_root/logs.
  std::filesystem::path logs_root() const { return log_dir ? *log_dir : run_root / "logs"; }
  // The same, created when missing: the default one inside the private run-directory base (logs
  // hold consoles, which can hold the guest's and the host's secrets); a chosen one as it is.
  // Throws provium::Error naming a directory it cannot create.
  std::filesystem::path make_logs_root() const;

 private:
  std::map<std::string, std::string, std::less<>> given_;
  // What run_root and cache_root are when their variables are not given (from HOME and XDG_*).
  std::filesystem::path default_run_root_, default_cache_root_;
};

// The process's settings, read from the environment on first use (a malformed variable throws
// provium::Error naming it, at every use until it is fixed). Thread-safe; a caller keeps the
// snapshot it got even when the settings are replaced.
std::shared_ptr<const Settings> settings();
// Replaces the process's settings: the flags of a program, before its VMs start.
void replace_settings(Settings changed);

// What `variable` would set, for the rest of the process (or of the ScopedSettings around it);
// an empty value gives the default back. For tests and benchmarks that compare settings.
void change_setting(std::string_view variable, std::string_view value);

// Changes settings for one scope and puts the earlier ones back.
class ScopedSettings {
 public:
  // {{"PROVIUM_SPARES", "0"}, ...}
  ScopedSettings(std::initializer_list<std::pair<std::string_view, std::string_view>> changes);
  ~ScopedSettings();
  ScopedSettings(const ScopedSettings&) = delete;
  ScopedSettings& operator=(const ScopedSettings&) = delete;

 private:
  std::shared_ptr<const Settings> saved_;
};

}  // namespace provium::base
