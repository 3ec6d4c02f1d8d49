// Lua fixtures (docs/lua.md, "Fixtures"): fixtures/NAME.lua boots and prepares a VM; the last VM it
// created is snapshotted into the same persistent cache, under the same locks, as C++
// fixtures; every provium.fixture(NAME) resumes a copy-on-write VM from it.
#include <fmt/format.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <provium/error.h>

#include "base/files.h"
#include "config/config.h"
#include "cache/build.h"
#include "cache/cache.h"
#include "cache/key.h"
#include "cache/machine_record.h"
#include "cache/resume.h"
#include "lua/dependencies.h"
#include "lua/prelude.h"
#include "lua/vm_boot.h"
#include "vm/launch_plan.h"
#include "vm/machine.h"
#include "vm/vm_access.h"

namespace provium::lua {

namespace fs = std::filesystem;

namespace {

// fixtures/NAME.lua in `from` or its nearest parent up to the start directory, else
// tests/fixtures/NAME.lua of the start directory (the documented layout); `tried` gets every
// path looked at.
std::optional<fs::path> script_for(const fs::path& from, const fs::path& start_dir, std::string_view name,
                                   std::vector<fs::path>& tried) {
  const std::string file = std::string(name) + ".lua";
  const fs::path start = fs::weakly_canonical(start_dir);
  for (fs::path dir = fs::weakly_canonical(from);; dir = dir.parent_path()) {
    tried.push_back(dir / "fixtures" / file);
    if (fs::is_regular_file(tried.back())) return tried.back();
    if (dir == start || dir == dir.parent_path() || dir.string().size() < start.string().size()) break;
  }
  tried.push_back(start / "tests" / "fixtures" / file);
  if (fs::is_regular_file(tried.back())) return tried.back();
  return std::nullopt;
}

fs::path find_script(const fs::path& from, const fs::path& start_dir, std::string_view name) {
  std::vector<fs::path> tried;
  if (auto script = script_for(from, start_dir, name, tried)) return *script;
  std::string list;
  for (const auto& path : tried) list += "\n  " + path.string();
  throw Error(fmt::format("no fixture script for '{}'; looked for:{}", name, list));
}

struct Resolved {
  fs::path script;
  std::string key;
  std::string parent;  // the first fixture the script names, for `provium fixture list`
};

class KeyComputer {
 public:
  explicit KeyComputer(fs::path start_dir) : start_dir_(std::move(start_dir)) {}

  Resolved resolve(const fs::path& from, std::string_view name) {
    cache::check_fixture_name(name);
    Resolved resolved{find_script(from, start_dir_, name), {}, {}};
    const std::string id = resolved.script.string();
    if (!visiting_.insert(id).second)
      throw Error(fmt::format("fixture '{}' uses itself (through provium.fixture calls)", name));
    cache::KeyBuilder key;
    key.add("lua-fixture", name).add("adapter", embed::lua_prelude.view()).add("program", cache::program_identity());
    // Not the profiles: the script chooses one as it runs, so the entry's machine record
    // covers the one it chose (cache::stale_boot_inputs).
    cache::add_guest(key);
    std::set<std::string> helpers;
    add_script(key, resolved.script, resolved, helpers);
    visiting_.erase(id);
    resolved.key = key.hex();
    return resolved;
  }

 private:
  // A script's text, the helpers it loads and the fixtures it uses, recursively.
  void add_script(cache::KeyBuilder& key, const fs::path& script, Resolved& resolved,
                  std::set<std::string>& helpers) {
    const std::string source = base::read_file(script, "Lua script");
    key.add("script", source);
    const auto uses = scan_dependencies(source);
    for (const auto& helper : uses.helpers) {
      if (!helpers.insert(helper).second) continue;
      const fs::path path = fs::path(helper).is_absolute() ? fs::path(helper) : start_dir_ / helper;
      if (!fs::is_regular_file(path)) {
        key.add("missing helper", helper);  // the script will fail on it and say so
        continue;
      }
      key.add("helper", helper);
      add_script(key, path, resolved, helpers);
    }
    for (const auto& parent : uses.fixtures) {
      if (resolved.parent.empty()) resolved.parent = parent;
      key.add("parent", resolve(script.parent_path(), parent).key);
    }
  }

  fs::path start_dir_;
  std::set<std::string> visiting_;
};

// Runs the fixture script into `build` and snapshots its last VM.
void build_into(const FileContext& user, const fs::path& script, const cache::Entry& build) {
  FixtureBuild fixture{build.dir};
  FileContext context;
  context.locate(script, user.start_dir);
  context.build = &fixture;
  struct StateCloser {
    lua_State* L;
    FileContext& context;
    ~StateCloser() {
      try {
        context.cleanup(nullptr);
      } catch (const std::exception&) {
        // A VM that will not die is the loop's to reap; the build's own error says more.
      }
      lua_close(L);
    }
  } state{new_state(context), context};

  if (auto error = run_chunk(state.L))
    throw Error(fmt::format("the fixture script failed: {}", *error));
  if (!context.blocks.empty()) throw Error("the fixture script called todo()");
  if (context.vms.empty()) throw Error("the fixture script created no VM");
  if (const auto reports = context.check_kernel_reports(); !reports.empty())
    throw Error("the fixture script's VM is not snapshotted: " + reports);
  VmEntry& last = *context.vms.back();
  if (!last.vm.running())
    throw Error(fmt::format("the last VM the script created ({}) is not running; the fixture "
                            "snapshots it, so leave it booted", last.label));
  auto& machine = vm::VmAccess::machine(last.vm);
  fs::copy_file(machine.initrd(), build.initrd());
  machine.save_snapshot(build.state());
  fs::rename(last.files->ram(), build.ram());
  const auto disks = vm::vm_disks(config::current().profile(last.profile), last.boot);
  for (std::size_t i = 0; i < disks.size(); ++i)
    if (!disks[i].readonly) fs::rename(last.files->disk(i), build.files().disk(i));
  cache::write_machine_record(build, last.profile, last.boot);
  // The other VMs' files (RAM, initrd copies of resumed fixtures, disk overlays).
  for (std::size_t n = 0; n < context.vms.size(); ++n) {
    const cache::VmFiles files = fixture.vm_files(n + 1);
    std::error_code ignored;
    fs::remove(files.ram(), ignored);
    fs::remove(files.initrd(), ignored);
    // Every index a VM's overlays may have (a root disk comes first).
    for (std::size_t i = 0; i <= context.vms[n]->boot.disks.size(); ++i) fs::remove(files.disk(i), ignored);
  }
}

cache::Entry ensure_built(const FileContext& user, std::string_view name, const Resolved& resolved) {
  return cache::find_or_build(
      {"lua-" + std::string(name), resolved.key, resolved.parent.empty() ? "" : "lua-" + resolved.parent,
       std::string(name), resolved.script.string()},
      [&](const cache::Entry& build) { build_into(user, resolved.script, build); });
}

// The script and key of fixture `name` as seen from `context`'s file, resolved once per process.
Resolved resolve_once(const FileContext& context, std::string_view name) {
  static std::mutex mutex;
  static std::map<std::pair<fs::path, std::string>, Resolved> resolved;
  std::lock_guard lock(mutex);
  const auto id = std::pair{context.file.parent_path(), std::string(name)};
  if (auto it = resolved.find(id); it != resolved.end()) return it->second;
  return resolved.emplace(id, KeyComputer(context.start_dir).resolve(id.first, name)).first->second;
}

}  // namespace

bool has_fixture_script(const FileContext& context, std::string_view name) {
  std::vector<fs::path> tried;
  return script_for(context.file.parent_path(), context.start_dir, name, tried).has_value();
}

VmEntry& resume_fixture(FileContext& context, std::string_view name) {
  const Resolved resolved = resolve_once(context, name);
  const std::string cache_name = "lua-" + std::string(name);
  std::string profile_name;
  BootOptions boot;
  cache::ResumeRequest request{
      .fixture = cache_name,
      .key = resolved.key,
      .ensure_built = [&] {
        cache::Entry entry = ensure_built(context, name, resolved);
        // The script chooses the boot options as it runs, so the key cannot cover what the
        // host gave the boot: the entry's machine record says whether that changed.
        if (auto stale = cache::stale_boot_inputs(entry)) {
          cache::Cache().discard(cache_name, resolved.key, entry, *stale);
          entry = ensure_built(context, name, resolved);  // current by construction
        }
        return entry;
      },
      .machine_of = [&](const cache::Entry& entry) {
        const cache::MachineRecord record = cache::read_machine_record(entry);
        profile_name = record.profile;
        boot = record.boot;
        return std::pair{config::current().profile(profile_name), boot};
      },
      .into_ram_file = std::nullopt,
  };
  VmEntry& vm = add_vm(context, "", fmt::format("fixture {}", name));
  if (context.build) {
    // Inside another fixture's build: this VM may become that snapshot.
    vm.files = context.build->vm_files(context.vms.size());
    request.into_ram_file = *vm.files;
  }
  auto machine = cache::resume(request);
  vm.profile = profile_name;
  vm.vm = vm::VmAccess::wrap(profile_name, std::move(machine));
  vm.boot = boot;
  return vm;
}

}  // namespace provium::lua
