// provium.toml → Config. Every error names the file, line and column (toml++ keeps the source
// region of every key and value) and the key, so a user can fix the file without guessing.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include <toml++/toml.h>

#include "config/config.h"
#include "provium/error.h"

namespace provium::config {
namespace {

namespace fs = std::filesystem;

fs::path resolve(const fs::path& dir, const std::string& value) {
  return (dir / value).lexically_normal();
}

// How each key's string is stored. Every key of a profile is a string.
using Store = void (*)(Profile&, std::string value, const fs::path& dir);

struct KeyRule {
  std::string_view name;
  Store store;
  std::span<const std::string_view> allowed = {};  // empty: any value
  bool may_be_empty = false;
  bool list = false;  // an array of such strings, each stored in turn
};

constexpr std::array<std::string_view, 3> kAccels = {"auto", "kvm", "tcg"};
constexpr std::array<std::string_view, 3> kMachines = {"q35", "microvm", "pc"};
constexpr std::array<std::string_view, 3> kTransports = {"auto", "virtio-serial", "vsock"};
constexpr std::array<std::string_view, 3> kKernelBoots = {"auto", "pvh", "bzimage"};
constexpr std::array<std::string_view, 2> kUserspaces = {"busybox", "host"};

const std::array<KeyRule, 14> kKeys = {{
    {"kernel", [](Profile& p, std::string v, const fs::path& dir) { p.set_kernel(resolve(dir, v)); }},
    {"initrd", [](Profile& p, std::string v, const fs::path& dir) { p.initrd = resolve(dir, v); }},
    {"rootfs", [](Profile& p, std::string v, const fs::path& dir) { p.rootfs = resolve(dir, v); }},
    {"init", [](Profile& p, std::string v, const fs::path&) { p.init = std::move(v); }},
    {"append", [](Profile& p, std::string v, const fs::path&) { p.append = std::move(v); }, {},
     true},
    {"accel", [](Profile& p, std::string v, const fs::path&) { p.accel = std::move(v); },
     kAccels},
    {"machine", [](Profile& p, std::string v, const fs::path&) { p.machine = std::move(v); },
     kMachines},
    {"transport", [](Profile& p, std::string v, const fs::path&) { p.transport = std::move(v); },
     kTransports},
    {"kernel_boot", [](Profile& p, std::string v, const fs::path&) { p.kernel_boot = std::move(v); },
     kKernelBoots},
    {"userspace", [](Profile& p, std::string v, const fs::path&) { p.host_root = v == "host"; }, kUserspaces},
    {"shares", [](Profile& p, std::string v, const fs::path& dir) { p.shares.push_back(parse_share(v, dir)); }, {},
     false, true},
    {"modules", [](Profile& p, std::string v, const fs::path& dir) { p.modules = resolve(dir, v); }},
    {"vmlinux", [](Profile& p, std::string v, const fs::path& dir) { p.vmlinux = resolve(dir, v); }},
    // A bare name is looked up in PATH when QEMU starts; only a path is relative to the file.
    {"qemu",
     [](Profile& p, std::string v, const fs::path& dir) {
       p.qemu = v.find('/') == std::string::npos ? std::move(v) : resolve(dir, v).string();
     }},
}};

const KeyRule* find_rule(std::string_view key) {
  auto rule = std::find_if(kKeys.begin(), kKeys.end(),
                           [&](const KeyRule& r) { return r.name == key; });
  return rule == kKeys.end() ? nullptr : &*rule;
}

std::string key_names() {
  std::vector<std::string_view> names;
  for (const KeyRule& rule : kKeys) names.push_back(rule.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// "a string", "an integer": for "must be a string, not an integer".
std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

bool valid_profile_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

class Reader {
 public:
  explicit Reader(const fs::path& file)
      : file_(file), dir_(fs::absolute(file).parent_path()) {}

  Config read(std::string_view text) const {
    toml::table root;
    try {
      root = toml::parse(text, file_.string());
    } catch (const toml::parse_error& error) {
      fail(error.source(), "{}", error.description());
    }
    Config config;
    config.file = file_;
    for (auto&& [key, node] : root) {
      if (key.str() == "pool") {
        config.pool = read_pool(node);
        continue;
      }
      if (key.str() == "cache") {
        config.cache_size = read_cache(node);
        continue;
      }
      if (key.str() != "profile") {
        fail(key.source(), "unknown top-level {} '{}'; only [profile.NAME] tables, [pool] and [cache] are allowed",
             node.is_table() ? "table" : "key", key.str());
      }
      const toml::table* profiles = node.as_table();
      if (!profiles) {
        fail(node.source(), "'profile' must be a table of [profile.NAME] tables, not {}",
             type_name(node));
      }
      for (auto&& [name, body] : *profiles) {
        config.profiles.emplace(name.str(), read_profile(name, body));
      }
    }
    return config;
  }

 private:
  PoolSettings read_pool(const toml::node& node) const {
    const toml::table* table = node.as_table();
    if (!table) fail(node.source(), "'pool' must be a table, not {}", type_name(node));
    PoolSettings pool;
    for (auto&& [key, value] : *table) {
      if (key.str() == "memory") {
        const auto* text = value.as_string();
        if (!text) fail(value.source(), "pool: key 'memory' must be a string like \"4G\", not {}", type_name(value));
        try {
          pool.memory = base::parse_memory_size(text->get());
        } catch (const Error& error) {
          fail(value.source(), "pool: key 'memory': {}", error.what());
        }
      } else if (key.str() == "cpus") {
        const auto* number = value.as_integer();
        if (!number || number->get() < 1 || number->get() > 4096)
          fail(value.source(), "pool: key 'cpus' must be a positive integer");
        pool.cpus = static_cast<int>(number->get());
      } else {
        fail(key.source(), "pool: unknown key '{}'; allowed keys: memory, cpus", key.str());
      }
    }
    return pool;
  }

  // [cache] size = "20G": the fixture cache's limit.
  std::optional<uint64_t> read_cache(const toml::node& node) const {
    const toml::table* table = node.as_table();
    if (!table) fail(node.source(), "'cache' must be a table, not {}", type_name(node));
    std::optional<uint64_t> size;
    for (auto&& [key, value] : *table) {
      if (key.str() != "size") fail(key.source(), "cache: unknown key '{}'; allowed keys: size", key.str());
      const auto* text = value.as_string();
      if (!text) fail(value.source(), "cache: key 'size' must be a string like \"20G\", not {}", type_name(value));
      try {
        size = base::parse_memory_size(text->get());
      } catch (const Error& error) {
        fail(value.source(), "cache: key 'size': {}", error.what());
      }
    }
    return size;
  }

  Profile read_profile(const toml::key& name, const toml::node& body) const {
    if (name.str().empty()) fail(name.source(), "empty profile name");
    if (!valid_profile_name(name.str())) {
      fail(name.source(), "bad profile name '{}': use letters, digits, '_', '.' and '-'",
           name.str());
    }
    const toml::table* table = body.as_table();
    if (!table) {
      fail(body.source(), "profile '{}' must be a table, not {}", name.str(), type_name(body));
    }
    Profile profile;
    profile.name = name.str();
    profile.defined_at = fmt::format("{}:{}", file_.string(), body.source().begin.line);
    for (auto&& [key, value] : *table) read_key(profile, key, value);
    if (profile.host_root && (profile.initrd || profile.rootfs))
      fail(body.source(), "profile '{}': userspace = \"host\" is the guest's root; it takes no {}", profile.name,
           profile.initrd ? "initrd" : "rootfs");
    if ((profile.busybox_userspace() || profile.host_root) && !profile.origin.contains("init"))
      profile.init = "/provium-init";
    if (profile.build_tree && !profile.modules) profile.modules = profile.build_tree;  // the modules built there
    if (profile.build_tree && !profile.vmlinux) profile.vmlinux = *profile.build_tree / "vmlinux";
    if (!profile.origin.contains("kernel")) {
      fail(body.source(), "profile '{}' has no 'kernel'", profile.name);
    }
    return profile;
  }

  void read_key(Profile& profile, const toml::key& key, const toml::node& value) const {
    const KeyRule* rule = find_rule(key.str());
    if (!rule) {
      // Memory and CPUs are chosen per boot (BootOptions), a common first guess for a profile key.
      const bool boot_option = key.str() == "memory" || key.str() == "cpus";
      fail(key.source(), "profile '{}': unknown key '{}'{}; allowed keys: {}", profile.name,
           key.str(), boot_option ? " (memory and cpus are boot options)" : "", key_names());
    }
    if (rule->list) {
      const toml::array* items = value.as_array();
      if (!items)
        fail(value.source(), "profile '{}': key '{}' must be an array of strings, not {}", profile.name, rule->name,
             type_name(value));
      for (const toml::node& item : *items) store_string(profile, *rule, item);
    } else {
      store_string(profile, *rule, value);
    }
    profile.origin[std::string(rule->name)] = position(value.source());
  }

  // One string of a key, checked and stored.
  void store_string(Profile& profile, const KeyRule& rule, const toml::node& value) const {
    const toml::value<std::string>* string = value.as_string();
    if (!string) {
      fail(value.source(), "profile '{}': key '{}' must be a string, not {}", profile.name,
           rule.name, type_name(value));
    }
    const std::string& text = string->get();
    if (text.empty() && !rule.may_be_empty) {
      fail(value.source(), "profile '{}': key '{}' must not be empty", profile.name, rule.name);
    }
    if (!rule.allowed.empty() &&
        std::find(rule.allowed.begin(), rule.allowed.end(), text) == rule.allowed.end()) {
      fail(value.source(), "profile '{}': key '{}' must be one of {}, not '{}'", profile.name,
           rule.name, fmt::join(rule.allowed, ", "), text);
    }
    try {
      rule.store(profile, text, dir_);
    } catch (const Error& error) {
      fail(value.source(), "profile '{}': key '{}': {}", profile.name, rule.name, error.what());
    }
  }

  std::string position(const toml::source_region& where) const {
    return fmt::format("{}:{}:{}", file_.string(), where.begin.line, where.begin.column);
  }

  template <class... Args>
  [[noreturn]] void fail(const toml::source_region& where, fmt::format_string<Args...> format,
                         Args&&... args) const {
    throw Error(fmt::format("{}: {}", position(where),
                            fmt::format(format, std::forward<Args>(args)...)));
  }

  fs::path file_;
  fs::path dir_;  // relative paths in the file are relative to it
};

}  // namespace

Config parse(std::string_view toml_text, const std::filesystem::path& file) {
  return Reader(file).read(toml_text);
}

Config load_file(const std::filesystem::path& file) {
  const fs::path absolute = fs::absolute(file);
  // Opening a directory succeeds on Linux and reads as empty: it would pass as a config without
  // profiles.
  if (fs::is_directory(absolute)) throw Error(fmt::format("{} is a directory", absolute.string()));
  std::ifstream in(absolute, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {}: {}", absolute.string(), std::strerror(errno)));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw Error(fmt::format("cannot read {}", absolute.string()));
  return parse(text, absolute);
}

}  // namespace provium::config
