// vm:boot() from a script: options from a Lua table, and file-backed RAM inside fixture builds.
#include "lua/vm_boot.h"

#include <fmt/format.h>

#include <functional>
#include <set>

#include <provium/error.h>

#include "base/boot_fields.h"
#include "config/config.h"
#include "cache/resume.h"
#include "vm/vm_access.h"

namespace provium::lua {

namespace fs = std::filesystem;

namespace {

fs::path host_path(const FileContext& context, const std::string& path) {
  const fs::path given(path);
  return given.is_absolute() ? given : context.start_dir / given;
}

// Calls `each` with every table of the list in field `field` of argument n (its 1-based index
// too); a field that is neither absent nor a table is an error naming it.
void each_table(const Args& args, int n, const char* field, const std::function<void(const Args&, int)>& each) {
  lua_State* L = args.state();
  lua_getfield(L, args.index(n), field);
  if (lua_istable(L, -1)) {
    Args list(L, "boot", lua_gettop(L));
    const auto count = static_cast<int>(lua_rawlen(L, -1));
    for (int i = 1; i <= count; ++i) {
      lua_rawgeti(L, list.index(1), i);
      each(Args(L, "boot", lua_gettop(L)), i);
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    lua_pop(L, 1);
    args.fail(n, fmt::format("field '{}' must be a list of tables", field));
  }
  lua_pop(L, 1);
}

}  // namespace

BootOptions boot_options(const Args& args, int n) {
  BootOptions options;
  if (args.absent(n)) return options;
  args.table(n);
  // Every option BootOptions has, by its own name (base/boot_fields.h); each is read below.
  std::set<std::string_view> known;
  base::each_boot_field(options, [&](const char* name, const auto&) { known.insert(name); });
  args.only_keys(n, known, "boot option");
  lua_State* L = args.state();
  const auto& context = FileContext::of(L);
  lua_getfield(L, args.index(n), "memory");
  const bool memory_in_mib = lua_type(L, -1) == LUA_TNUMBER;
  lua_pop(L, 1);
  if (memory_in_mib)  // a whole number of MiB
    options.memory = fmt::format("{}M", *args.integer_field(n, "memory"));
  else if (auto memory = args.string_field(n, "memory"))
    options.memory = *memory;
  if (auto cpus = args.integer_field(n, "cpus")) options.cpus = static_cast<int>(*cpus);
  if (auto workers = args.integer_field(n, "max_workers")) options.max_workers = static_cast<int>(*workers);
  if (auto timeout = args.number_field(n, "timeout")) options.timeout = seconds(*timeout);

  lua_getfield(L, args.index(n), "files");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 3);
        args.fail(n, "field 'files' must map guest paths to host paths (strings)");
      }
      options.files[lua_tostring(L, -2)] = host_path(context, lua_tostring(L, -1)).string();
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    lua_pop(L, 1);
    args.fail(n, "field 'files' must be a table");
  }
  lua_pop(L, 1);

  each_table(args, n, "disks", [&](const Args& disk, int i) {
    Disk spec;
    // The documented form gives the path first, {"img.raw", format = "qcow2"}; path = ... works too.
    auto path = disk.string_field(1, "path");
    lua_rawgeti(L, disk.index(1), 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      if (path) throw Error(fmt::format("boot: disk {} gives its path twice (first and as path =)", i));
      path = lua_tostring(L, -1);
    } else if (!lua_isnil(L, -1)) {
      throw Error(fmt::format("boot: disk {}'s first element, its path, must be a string", i));
    }
    lua_pop(L, 1);
    if (!path) throw Error(fmt::format("boot: disk {} has no path", i));
    spec.path = host_path(context, *path).string();
    spec.format = disk.string_field(1, "format").value_or("raw");
    spec.readonly = disk.boolean_field(1, "readonly");
    options.disks.push_back(std::move(spec));
  });
  each_table(args, n, "shares", [&](const Args& share, int i) {
    auto host = share.string_field(1, "host");
    auto guest = share.string_field(1, "guest");
    if (!host || !guest) throw Error(fmt::format("boot: share {} needs a host and a guest path", i));
    options.shares.push_back({host_path(context, *host).string(), *guest, share.boolean_field(1, "readonly")});
  });
  return options;
}

VmEntry& add_vm(FileContext& context, std::string profile, std::string_view what) {
  auto entry = std::make_unique<VmEntry>();
  entry->label = fmt::format("vm {} ({})", context.vms.size() + 1, what);
  entry->profile = std::move(profile);
  context.vms.push_back(std::move(entry));
  return *context.vms.back();
}

void boot_vm(FileContext& context, VmEntry& entry, const BootOptions& options) {
  if (entry.vm.running() || entry.files) throw Error("boot: this VM was already booted");
  if (!context.build) {
    entry.vm.boot(options);
  } else {
    // Building a fixture: this VM may become the snapshot, so its RAM is a file of the build.
    entry.files = context.build->vm_files(context.vms.size());
    entry.vm = vm::VmAccess::wrap(
        entry.profile, cache::boot_into_ram_file(config::current().profile(entry.profile), options, *entry.files));
  }
  entry.boot = options;
}

}  // namespace provium::lua
