#include "base/settings.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "base/files.h"
#include "base/memory_size.h"
#include "provium/error.h"

namespace provium::base {

namespace fs = std::filesystem;

namespace {

// Every variable a Settings reads, in the order environment() lists them.
constexpr const char* kVariables[] = {
    "PROVIUM_CONFIG",  "PROVIUM_ACCEL",    "PROVIUM_TRANSPORT", "PROVIUM_POOL_MEM",
    "PROVIUM_POOL_CPUS", "PROVIUM_TIMEOUT", "PROVIUM_SPARES", "PROVIUM_REQUIRE", "PROVIUM_STREAM",
    "PROVIUM_KERNEL_REPORTS", "PROVIUM_KEEP_FAILED", "PROVIUM_GDB",
    "PROVIUM_RUN_DIR", "PROVIUM_CACHE_DIR", "PROVIUM_CACHE_SIZE", "PROVIUM_LOG_DIR",  "PROVIUM_CID_DIR",
    "PROVIUM_LUA",     "PROVIUM_LUA_ROOT",
};

// Variables an earlier version read, and what they are called now.
constexpr std::pair<const char*, const char*> kRenamed[] = {{"PROVIUM_PRESTART", "PROVIUM_SPARES"}};

std::string given(const Settings::Lookup& lookup, const char* name) {
  const char* value = lookup(name);
  return value ? value : "";
}

int parse_cpus(std::string_view text, std::string_view origin) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > 4096)
    throw Error(fmt::format("{} is \"{}\"; it must be a whole number of CPUs from 1 to 4096", origin, text));
  return value;
}

std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view origin) {
  const std::string copy(text);
  char* end = nullptr;
  const double seconds = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || !(seconds > 0) || seconds > 86400)
    throw Error(fmt::format("{} is \"{}\"; it must be a number of seconds in (0, 86400]", origin, text));
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

// A memory size ("512M", "20G"); nullopt for empty text.
std::optional<uint64_t> parse_size(std::string_view text, std::string_view origin) {
  if (text.empty()) return std::nullopt;
  try {
    return parse_memory_size(text);
  } catch (const Error& error) {
    throw Error(fmt::format("{}: {}", origin, error.what()));
  }
}

bool parse_switch(std::string_view text, std::string_view origin) {
  if (text == "1") return true;
  if (text == "0") return false;
  throw Error(fmt::format("{} is \"{}\"; it must be 1 or 0", origin, text));
}

std::string one_of(std::string_view text, std::string_view origin, std::initializer_list<std::string_view> allowed) {
  for (auto value : allowed)
    if (text == value) return std::string(text);
  std::string list;
  for (auto value : allowed) list += (list.empty() ? "" : ", ") + std::string(value);
  throw Error(fmt::format("{} is \"{}\"; it must be one of {}", origin, text, list));
}

}  // namespace

Settings Settings::read(const Lookup& lookup) {
  Settings settings;
  const std::string runtime = given(lookup, "XDG_RUNTIME_DIR");
  settings.default_run_root_ =
      runtime.empty() ? fs::path(fmt::format("/tmp/provium-{}", ::getuid())) : fs::path(runtime) / "provium";
  const std::string xdg_cache = given(lookup, "XDG_CACHE_HOME"), home = given(lookup, "HOME");
  settings.default_cache_root_ = !xdg_cache.empty() ? fs::path(xdg_cache) / "provium"
                                 : !home.empty()    ? fs::path(home) / ".cache/provium"
                                                    : fs::path(fmt::format("/tmp/provium-cache-{}", ::getuid()));
  settings.run_root = settings.default_run_root_;
  settings.cache_root = settings.default_cache_root_;
  for (const char* name : kVariables) {
    const std::string value = given(lookup, name);
    if (!value.empty()) settings.set(name, value, name);
  }
  // A renamed variable still set would otherwise be ignored without a word.
  for (const auto& [old_name, name] : kRenamed)
    if (!given(lookup, old_name).empty())
      throw Error(fmt::format("{} is now called {} (docs/glossary.md); set that instead", old_name, name));
  return settings;
}

Settings Settings::from_environment() {
  return read([](const char* name) { return std::getenv(name); });
}

void Settings::set(std::string_view variable, std::string_view text, std::string_view origin) {
  const bool unset = text.empty();
  auto path = [&] { return unset ? std::optional<fs::path>() : std::optional<fs::path>(fs::path(text)); };
  if (variable == "PROVIUM_CONFIG") {
    config = path();
  } else if (variable == "PROVIUM_ACCEL") {
    accel = unset ? "" : one_of(text, origin, {"auto", "kvm", "tcg"});
  } else if (variable == "PROVIUM_TRANSPORT") {
    // Checked where it is used, which names the transports and says what the host lacks.
    transport = text;
  } else if (variable == "PROVIUM_POOL_MEM") {
    pool_memory = parse_size(text, origin);
  } else if (variable == "PROVIUM_CACHE_SIZE") {
    cache_size = parse_size(text, origin);
  } else if (variable == "PROVIUM_POOL_CPUS") {
    pool_cpus = unset ? std::nullopt : std::optional<int>(parse_cpus(text, origin));
  } else if (variable == "PROVIUM_TIMEOUT") {
    operation_timeout = unset ? std::chrono::seconds(60) : parse_seconds(text, origin);
  } else if (variable == "PROVIUM_SPARES") {
    spares = unset || parse_switch(text, origin);
  } else if (variable == "PROVIUM_REQUIRE") {
    require_prerequisites = !unset && parse_switch(text, origin);
  } else if (variable == "PROVIUM_STREAM") {
    stream_output = !unset && parse_switch(text, origin);
  } else if (variable == "PROVIUM_KERNEL_REPORTS") {
    check_kernel_reports = unset || one_of(text, origin, {"check", "ignore"}) == "check";
  } else if (variable == "PROVIUM_KEEP_FAILED") {
    keep_failed = !unset && parse_switch(text, origin);
  } else if (variable == "PROVIUM_GDB") {
    gdb = !unset && parse_switch(text, origin);
  } else if (variable == "PROVIUM_RUN_DIR") {
    run_root = unset ? default_run_root_ : fs::path(text);
  } else if (variable == "PROVIUM_CACHE_DIR") {
    cache_root = unset ? default_cache_root_ : fs::path(text);
  } else if (variable == "PROVIUM_LOG_DIR") {
    log_dir = path();
  } else if (variable == "PROVIUM_CID_DIR") {
    cid_dir = unset ? fs::path("/tmp/provium-cids") : fs::path(text);
  } else if (variable == "PROVIUM_LUA") {
    lua_directory = path();
  } else if (variable == "PROVIUM_LUA_ROOT") {
    lua_root = path();
  } else {
    throw Error(fmt::format("{}: no setting is named {}", origin, variable));
  }
  if (unset) {
    given_.erase(std::string(variable));
  } else {
    given_.insert_or_assign(std::string(variable), std::string(text));
  }
}

std::filesystem::path Settings::make_logs_root() const {
  if (!log_dir) ensure_private_directory(run_root);
  std::error_code error;
  fs::create_directories(logs_root(), error);
  if (error) throw Error(fmt::format("cannot create {}: {}", logs_root().string(), error.message()));
  return logs_root();
}

std::vector<std::string> Settings::environment(const char* const* inherited) const {
  std::vector<std::string> variables;
  for (; inherited && *inherited; ++inherited) {
    const std::string_view entry(*inherited);
    const std::string_view name = entry.substr(0, entry.find('='));
    if (std::none_of(std::begin(kVariables), std::end(kVariables), [&](const char* known) { return name == known; }))
      variables.emplace_back(entry);
  }
  for (const char* name : kVariables)
    if (auto it = given_.find(name); it != given_.end()) variables.push_back(fmt::format("{}={}", name, it->second));
  return variables;
}

namespace {

struct Current {
  std::mutex mutex;
  std::shared_ptr<const Settings> settings;
};

Current& current() {
  static Current instance;
  return instance;
}

}  // namespace

std::shared_ptr<const Settings> settings() {
  Current& c = current();
  std::lock_guard lock(c.mutex);
  if (!c.settings) c.settings = std::make_shared<const Settings>(Settings::from_environment());
  return c.settings;
}

void replace_settings(Settings changed) {
  Current& c = current();
  std::lock_guard lock(c.mutex);
  c.settings = std::make_shared<const Settings>(std::move(changed));
}

void change_setting(std::string_view variable, std::string_view value) {
  Settings changed = *settings();
  changed.set(variable, value, variable);
  replace_settings(std::move(changed));
}

ScopedSettings::ScopedSettings(std::initializer_list<std::pair<std::string_view, std::string_view>> changes)
    : saved_(settings()) {
  for (const auto& [variable, value] : changes) change_setting(variable, value);
}

ScopedSettings::~ScopedSettings() {
  Current& c = current();
  std::lock_guard lock(c.mutex);
  c.settings = saved_;
}

}  // namespace provium::base
