// provium.toml: the profiles a VM can be created from, and which file they come from.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/memory_size.h"
#include "config/profile.h"

namespace provium::config {

// The [pool] table: a fixed budget of the VMs of every process of this user (docs/writing-tests.md).
struct PoolSettings {
  std::optional<uint64_t> memory;  // bytes
  std::optional<int> cpus;
};

struct Config {
  std::optional<std::filesystem::path> file;      // where it was loaded from, if anywhere
  std::filesystem::path searched_from;            // where the search started when no file was found
  std::map<std::string, Profile, std::less<>> profiles;
  PoolSettings pool;
  std::optional<uint64_t> cache_size;  // [cache] size: the fixture cache's limit, bytes

  // Throws provium::Error naming the profiles that do exist.
  const Profile& profile(std::string_view name) const;
};

// Pure: reads no file and checks no path. Relative paths resolve against file's directory;
// error messages start with "FILE:LINE:COLUMN: ".
Config parse(std::string_view toml_text, const std::filesystem::path& file);
Config load_file(const std::filesystem::path& file);
// provium.toml in start or the nearest parent that has one.
std::optional<std::filesystem::path> find_config(const std::filesystem::path& start);

// The process's configuration. Which file: the run's settings' (--provium_config,
// $PROVIUM_CONFIG), else find_config(current directory). Without a profile 'default' the
// built-in one is added. Loaded on first use and again when the settings name another file;
// thread-safe; references from earlier calls stay valid.
const Config& current();
// Reads the configuration again (tests change the directory or the file between calls).
const Config& reload();

// Profile 'default' for a user without provium.toml: the newest /boot/vmlinuz-* (kernel empty if
// there is none; boot then reports a PrerequisiteError) with a busybox userspace.
Profile builtin_default_profile();
// The same, looking for kernels in boot_dir instead of /boot.
Profile builtin_default_profile(const std::filesystem::path& boot_dir);

}  // namespace provium::config
