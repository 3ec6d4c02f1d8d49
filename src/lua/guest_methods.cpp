// The methods of VM and worker objects (docs/lua.md, "VMs" and "Workers"), each a thin translation between Lua
// values and the C++ Guest API: the semantics live in the C++ library, not here. One file of
// about 500 lines on purpose: a flat table of short bindings reads best in one place.
#include "lua/guest_methods.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include <provium/error.h>

#include "lua/json.h"
#include "lua/vm_boot.h"

namespace provium::lua {

namespace {

constexpr const char* kVmType = "provium.vm";
constexpr const char* kWorkerType = "provium.worker";

// The userdata of a VM or a worker holds a pointer to the entry its FileContext owns: the
// entry outlives a collected userdata, and the file's end kills what is left.

Guest& self_guest(lua_State* L, const char* method) {
  if (auto** vm = static_cast<VmEntry**>(luaL_testudata(L, 1, kVmType))) return (*vm)->vm;
  if (auto** worker = static_cast<WorkerEntry**>(luaL_testudata(L, 1, kWorkerType))) return (*worker)->worker;
  throw Error(fmt::format("{}: call it as a method, vm:{}(...) (with a colon)", method, method));
}

// The VM itself, or the VM of a worker (for what a worker shares with its VM).
VmEntry& self_owner(lua_State* L, const char* method) {
  if (auto** worker = static_cast<WorkerEntry**>(luaL_testudata(L, 1, kWorkerType))) return *(*worker)->owner;
  if (auto** vm = static_cast<VmEntry**>(luaL_testudata(L, 1, kVmType))) return **vm;
  throw Error(fmt::format("{}: call it as a method, vm:{}(...) (with a colon)", method, method));
}

VmEntry& self_vm(lua_State* L, const char* method) {
  if (auto** vm = static_cast<VmEntry**>(luaL_testudata(L, 1, kVmType))) return **vm;
  if (luaL_testudata(L, 1, kWorkerType)) throw Error(fmt::format("{}: a worker has no {}()", method, method));
  throw Error(fmt::format("{}: call it as a method, vm:{}(...) (with a colon)", method, method));
}

void push_output(lua_State* L, const std::string& bytes) {
  lua_getfield(L, LUA_REGISTRYINDEX, "provium.output");
  push(L, bytes);
  call(L, 1, 1);
}

void set_field(lua_State* L, const char* key, std::string_view bytes) {
  push(L, bytes);
  lua_setfield(L, -2, key);
}

void set_field(lua_State* L, const char* key, int64_t value) {
  lua_pushinteger(L, value);
  lua_setfield(L, -2, key);
}

// A buffer table {[arg index] = bytes, ...} (syscall_bufs, syscall_ptr).
std::map<int64_t, std::string> buffer_table(const Args& args, int n) {
  args.table(n);
  lua_State* L = args.state();
  std::map<int64_t, std::string> buffers;
  lua_pushnil(L);
  while (lua_next(L, args.index(n))) {
    int is_integer = 0;
    const int64_t slot = lua_tointegerx(L, -2, &is_integer);
    if (!is_integer || slot < 0 || slot > 5 || lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 2);
      args.fail(n, "must map argument indexes 0..5 to byte strings");
    }
    std::size_t size = 0;
    const char* data = lua_tolstring(L, -1, &size);
    buffers[slot].assign(data, size);
    lua_pop(L, 1);
  }
  return buffers;
}

// The trailing integers a0, a1, ... from argument `first` on, one per syscall slot.
std::vector<Arg> slot_integers(const Args& args, int first) {
  const int given = std::max(0, args.count() - first + 1);
  if (given > 6) throw Error(fmt::format("a syscall takes at most 6 arguments, {} given", given));
  std::vector<Arg> slots;
  for (int i = 0; i < given; ++i) slots.emplace_back(args.integer(first + i));
  return slots;
}

// Places the buffers into their slots, growing the slot list to the highest index used.
void place(std::vector<Arg>& slots, int64_t index, Arg buffer) {
  if (slots.size() <= static_cast<std::size_t>(index)) slots.resize(index + 1, Arg(0));
  slots[index] = std::move(buffer);
}

// One pointer spec of syscall_ptr / ioctl_buf: `length` bytes, `data` copied in and
// zero-padded; returned when `output`.
Arg pointer_buffer(const Args& args, int n, const char* length_key, std::string_view what) {
  const bool output = args.boolean_field(n, "output");
  auto data = args.string_field(n, "data").value_or("");
  const auto length = args.integer_field(n, length_key);
  if (length && (*length < 0 || static_cast<uint64_t>(*length) < data.size()))
    throw Error(fmt::format("{}: {} = {} is smaller than its data ({} bytes)", what, length_key, *length, data.size()));
  if (length) data.resize(static_cast<std::size_t>(*length), '\0');
  return output ? inout(std::move(data)) : in(std::move(data));
}

// Calls f(i) for the i-th (1-based) element of the list at argument n, the element on top.
template <class F>
void each_element(const Args& args, int n, F&& f) {
  args.table(n);
  lua_State* L = args.state();
  const auto count = static_cast<int>(lua_rawlen(L, args.index(n)));
  for (int i = 1; i <= count; ++i) {
    lua_rawgeti(L, args.index(n), i);
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      args.fail(n, fmt::format("element {} must be a table", i));
    }
    Args element(L, "", lua_gettop(L));
    f(i, element);
    lua_pop(L, 1);
  }
}

// --- methods shared by VMs and workers ---

// The options of a call that can take long, at argument n: {timeout = seconds}.
CallOptions call_options(const Args& args, int n) {
  CallOptions options;
  if (args.absent(n)) return options;
  args.only_keys(n, {"timeout"}, "call option");
  if (auto timeout = args.number_field(n, "timeout")) options.timeout = seconds(*timeout);
  return options;
}

// exec's options at argument n: {timeout = seconds, stream = true}.
ExecOptions exec_options(const Args& args, int n) {
  ExecOptions options;
  if (args.absent(n)) return options;
  args.only_keys(n, {"timeout", "stream"}, "exec option");
  if (auto timeout = args.number_field(n, "timeout")) options.timeout = seconds(*timeout);
  options.stream = args.optional_boolean_field(n, "stream").value_or(false);
  return options;
}

int exec(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "exec", 2);
    auto result = self_guest(L, "exec").exec(args.string(1), exec_options(args, 2));
    lua_createtable(L, 0, 4);
    lua_pushboolean(L, result.ok());
    lua_setfield(L, -2, "ok");
    set_field(L, "exit_code", result.exit_code);
    push_output(L, result.out);
    lua_setfield(L, -2, "stdout");
    push_output(L, result.err);
    lua_setfield(L, -2, "stderr");
    return 1;
  });
}

// A TapResult as a table: {planned, tests = {{number, name, outcome, reason, output}, ...},
// missing, bail_out, trailing, exit_code, output, passed, all_skipped, explanation}.
void push_tap_result(lua_State* L, const TapResult& result) {
  lua_createtable(L, 0, 10);
  if (result.planned) set_field(L, "planned", *result.planned);
  lua_createtable(L, static_cast<int>(result.tests.size()), 0);
  for (std::size_t i = 0; i < result.tests.size(); ++i) {
    const auto& subtest = result.tests[i];
    lua_createtable(L, 0, 5);
    set_field(L, "number", subtest.number);
    set_field(L, "name", subtest.name);
    constexpr const char* kOutcomes[] = {"pass", "fail", "skip", "todo"};
    set_field(L, "outcome", std::string(kOutcomes[static_cast<int>(subtest.outcome)]));
    set_field(L, "reason", subtest.reason);
    set_field(L, "output", subtest.output);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "tests");
  lua_createtable(L, static_cast<int>(result.missing.size()), 0);
  for (std::size_t i = 0; i < result.missing.size(); ++i) {
    lua_pushinteger(L, result.missing[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "missing");
  if (result.bail_out) set_field(L, "bail_out", *result.bail_out);
  set_field(L, "trailing", result.trailing);
  set_field(L, "exit_code", result.exit_code);
  set_field(L, "output", result.output);
  lua_pushboolean(L, result.passed());
  lua_setfield(L, -2, "passed");
  lua_pushboolean(L, result.all_skipped());
  lua_setfield(L, -2, "all_skipped");
  set_field(L, "explanation", explain_tap(result));
}

}  // namespace

int tap(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "tap", 2);
    push_tap_result(L, run_tap(self_guest(L, "tap"), args.string(1), exec_options(args, 2)));
    return 1;
  });
}

namespace {

int json(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "json", 2);
    const auto command = args.string(1);
    auto result = self_guest(L, "json").exec(command);
    if (!result.ok())
      throw Error(fmt::format("json({}): the command exited with {}; stderr: {}", command,
                              result.exit_code, result.err));
    push_json(L, result.out, fmt::format("json({})", command));
    return 1;
  });
}

int read_file(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "read_file", 2);
    push(L, self_guest(L, "read_file").read_file(args.string(1), call_options(args, 2)));
    return 1;
  });
}

int write_file(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "write_file", 2);
    self_guest(L, "write_file").write_file(args.string(1), args.string(2), call_options(args, 3));
    return 0;
  });
}

// copy_to(host_path, guest_path, opts?) and copy_from(guest_path, host_path, opts?): a relative
// host path is the file's (the working directory while it runs is the start directory).
int copy_to(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "copy_to", 2);
    self_guest(L, "copy_to").copy_to(args.string(1), args.string(2), call_options(args, 3));
    return 0;
  });
}

int copy_from(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "copy_from", 2);
    self_guest(L, "copy_from").copy_from(args.string(1), args.string(2), call_options(args, 3));
    return 0;
  });
}

int dmesg(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "dmesg", 2);
    push(L, self_guest(L, "dmesg").dmesg(args.optional_string(1).value_or("")));
    return 1;
  });
}

int mount_vfs(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "mount_vfs", 2);
    VfsMounts mounts;
    if (!args.absent(1)) {
      // Each of VfsMounts' switches by the name Lua gives it.
      constexpr std::pair<std::string_view, bool VfsMounts::*> kSwitches[] = {
          {"proc", &VfsMounts::proc}, {"sys", &VfsMounts::sys},       {"securityfs", &VfsMounts::securityfs},
          {"dev", &VfsMounts::dev},   {"devpts", &VfsMounts::devpts}, {"shm", &VfsMounts::shm},
          {"run", &VfsMounts::run},   {"tmp", &VfsMounts::tmp}};
      static_assert(std::size(kSwitches) * sizeof(bool) == sizeof(VfsMounts), "a VfsMounts switch without a Lua name");
      std::set<std::string_view> names;
      for (const auto& [name, flag] : kSwitches) names.insert(name);
      args.only_keys(1, names, "mount");
      for (const auto& [name, flag] : kSwitches)
        if (auto wanted = args.optional_boolean_field(1, std::string(name).c_str())) mounts.*flag = *wanted;
    }
    self_guest(L, "mount_vfs").mount_vfs(mounts);
    return 0;
  });
}

int wait_until(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "wait_until", 2);
    Guest& guest = self_guest(L, "wait_until");
    if (lua_type(L, args.index(1)) != LUA_TFUNCTION) args.fail(1, "must be a function");
    std::chrono::milliseconds timeout = Guest::kWaitTimeout, interval = Guest::kWaitInterval;
    std::string description = "condition";
    if (!args.absent(2)) {
      if (auto value = args.number_field(2, "timeout")) timeout = seconds(*value);
      if (auto value = args.number_field(2, "interval")) interval = seconds(*value);
      if (auto value = args.string_field(2, "desc")) description = *value;
    }
    const int result = lua_gettop(L) + 1;
    lua_pushnil(L);  // the truthy value, returned
    guest.wait_until(
        [&] {
          lua_pushvalue(L, args.index(1));
          call(L, 0, 1);
          const bool done = lua_toboolean(L, -1);
          if (done) lua_replace(L, result); else lua_pop(L, 1);
          return done;
        },
        timeout, interval, description);
    return 1;
  });
}

int syscall(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "syscall", 2);
    const auto nr = args.integer(1);
    auto slots = slot_integers(args, 2);
    lua_pushinteger(L, self_guest(L, "syscall").syscall(nr, std::span<const Arg>(slots)).ret);
    return 1;
  });
}

int syscall_buf(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "syscall_buf", 2);
    const auto nr = args.integer(1);
    const auto slot = args.integer(2);
    if (slot < 0 || slot > 5) args.fail(2, fmt::format("is the buffer's argument index, 0..5; got {}", slot));
    auto slots = slot_integers(args, 4);
    place(slots, slot, in(args.string(3)));
    lua_pushinteger(L, self_guest(L, "syscall_buf").syscall(nr, std::span<const Arg>(slots)).ret);
    return 1;
  });
}

int syscall_bufs(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "syscall_bufs", 2);
    const auto nr = args.integer(1);
    auto buffers = buffer_table(args, 2);
    auto slots = slot_integers(args, 3);
    for (auto& [slot, bytes] : buffers) place(slots, slot, inout(std::move(bytes)));
    auto result = self_guest(L, "syscall_bufs").syscall(nr, std::span<const Arg>(slots));
    lua_pushinteger(L, result.ret);
    for (const auto& bytes : result.out) push(L, bytes);
    return 1 + static_cast<int>(result.out.size());
  });
}

int syscall_ptr(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "syscall_ptr", 2);
    const auto nr = args.integer(1);
    auto buffers = buffer_table(args, 2);
    std::map<int64_t, Arg> pointed;  // the buffers, as they get their pointers
    for (auto& [slot, bytes] : buffers) pointed.emplace(slot, inout(std::move(bytes)));
    // The answer lists returned pointers by slot, then in spec order within a slot; the
    // script wants them in spec order overall.
    std::vector<std::pair<int64_t, int>> output_specs;  // (slot, spec number) in spec order
    each_element(args, 3, [&](int i, const Args& spec) {
      const auto slot = spec.integer_field(1, "buf_idx");
      const auto offset = spec.integer_field(1, "ptr_offset");
      if (!slot || !pointed.count(*slot))
        throw Error(fmt::format("syscall_ptr: pointer {}: buf_idx must name a key of the buffer table", i));
      if (!offset || *offset < 0) throw Error(fmt::format("syscall_ptr: pointer {}: ptr_offset missing or negative", i));
      Arg target = pointer_buffer(spec, 1, "data_len", fmt::format("syscall_ptr: pointer {}", i));
      if (target.returned()) output_specs.emplace_back(*slot, i);
      pointed.at(*slot) = pointed.at(*slot).ptr(static_cast<std::size_t>(*offset), std::move(target));
    });
    auto slots = slot_integers(args, 4);
    for (auto& [slot, arg] : pointed) place(slots, slot, std::move(arg));
    auto result = self_guest(L, "syscall_ptr").syscall(nr, std::span<const Arg>(slots));
    lua_pushinteger(L, result.ret);
    const std::size_t buffer_count = pointed.size();
    for (std::size_t i = 0; i < buffer_count; ++i) push(L, result.out[i]);
    // Answer order: by slot (map order), then spec order; stable_sort gives that mapping.
    auto by_slot = output_specs;
    std::stable_sort(by_slot.begin(), by_slot.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& spec : output_specs) {
      const auto position = std::find(by_slot.begin(), by_slot.end(), spec) - by_slot.begin();
      push(L, result.out[buffer_count + position]);
    }
    return 1 + static_cast<int>(buffer_count + output_specs.size());
  });
}

void push_ioctl_result(lua_State* L, const IoctlResult& result) {
  lua_pushinteger(L, result.ret);
  if (result.out) push(L, *result.out); else lua_pushnil(L);
}

int ioctl(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "ioctl", 2);
    const auto fd = args.integer(1);
    const auto cmd = static_cast<unsigned long>(args.integer(2));
    Guest& guest = self_guest(L, "ioctl");
    // ours: an integer third argument is passed as it is.
    auto result = lua_type(L, args.index(3)) == LUA_TNUMBER
                      ? guest.ioctl(static_cast<int>(fd), cmd, Arg(args.integer(3)))
                      : guest.ioctl(static_cast<int>(fd), cmd, args.optional_string(3).value_or(""));
    push_ioctl_result(L, result);
    return 2;
  });
}

int ioctl_buf(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "ioctl_buf", 2);
    const auto fd = args.integer(1);
    const auto cmd = static_cast<unsigned long>(args.integer(2));
    const std::string given = args.string(3);
    Guest& guest = self_guest(L, "ioctl_buf");
    // No struct and no pointers: the command gets the integer 0, as ioctl without data does,
    // and no struct comes back (nil).
    if (given.empty() && (args.absent(4) || lua_rawlen(L, args.index(4)) == 0)) {
      push_ioctl_result(L, guest.ioctl(static_cast<int>(fd), cmd));
      return 2;
    }
    Arg structure = inout(given);
    each_element(args, 4, [&](int i, const Args& spec) {
      const auto offset = spec.integer_field(1, "ptr_offset");
      if (!offset || *offset < 0) throw Error(fmt::format("ioctl_buf: spec {}: ptr_offset missing or negative", i));
      Arg target = pointer_buffer(spec, 1, "buf_len", fmt::format("ioctl_buf: spec {}", i));
      structure = structure.ptr(static_cast<std::size_t>(*offset), std::move(target));
    });
    auto result = guest.ioctl(static_cast<int>(fd), cmd, structure);
    push_ioctl_result(L, result);
    for (const auto& bytes : result.buffers) push(L, bytes);
    return 2 + static_cast<int>(result.buffers.size());
  });
}

int background(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "background", 2);
    const Job job = self_guest(L, "background").background(args.string(1));
    lua_createtable(L, 0, 2);
    set_field(L, "id", static_cast<int64_t>(job.id));
    set_field(L, "pid", static_cast<int64_t>(job.pid));
    return 1;
  });
}

Job job_arg(const Args& args, int n) {
  const auto id = args.integer_field(n, "id");
  if (!id || *id < 0 || *id > UINT32_MAX) args.fail(n, "must be a job from background()");
  return Job{static_cast<uint32_t>(*id), static_cast<int>(args.integer_field(n, "pid").value_or(0))};
}

void push_job_result(lua_State* L, const JobResult& result) {
  lua_createtable(L, 0, 4);
  set_field(L, "exit_code", result.exit_code);
  set_field(L, "stdout", result.out);
  set_field(L, "stderr", result.err);
  lua_pushboolean(L, result.running);
  lua_setfield(L, -2, "running");
}

int job_wait(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "job_wait", 2);
    const Job job = job_arg(args, 1);
    const auto timeout = seconds(args.optional_number(2).value_or(0));
    push_job_result(L, self_guest(L, "job_wait").job_wait(job, timeout));
    return 1;
  });
}

int job_output(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "job_output", 2);
    push_job_result(L, self_guest(L, "job_output").job_output(job_arg(args, 1)));
    return 1;
  });
}

int job_kill(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "job_kill", 2);
    push_job_result(L, self_guest(L, "job_kill").job_kill(job_arg(args, 1)));
    return 1;
  });
}

int set_timeout(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "set_timeout", 2);
    self_guest(L, "set_timeout").set_timeout(seconds(args.number(1)));
    return 0;
  });
}

// --- VM only ---

int boot(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "boot", 2);
    VmEntry& entry = self_vm(L, "boot");
    boot_vm(FileContext::of(L), entry, boot_options(args, 1));
    return 0;
  });
}

int shutdown(lua_State* L) {
  return protect(L, [&] {
    VmEntry& entry = self_vm(L, "shutdown");
    FileContext::of(L).check_before_end(entry);
    entry.vm.shutdown();
    return 0;
  });
}

int expect_kernel_report(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "expect_kernel_report", 2);
    self_vm(L, "expect_kernel_report").vm.expect_kernel_report(args.string(1));
    return 0;
  });
}

int kill(lua_State* L) {
  return protect(L, [&] {
    if (auto** worker = static_cast<WorkerEntry**>(luaL_testudata(L, 1, kWorkerType))) {
      (*worker)->worker.kill();
      return 0;
    }
    VmEntry& entry = self_vm(L, "kill");
    FileContext::of(L).check_before_end(entry);
    entry.vm.kill();
    return 0;
  });
}

int running(lua_State* L) {
  return protect(L, [&] {
    lua_pushboolean(L, self_owner(L, "running").vm.running());
    return 1;
  });
}

int console(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "console", 2);
    const auto lines = args.absent(1) ? 20 : args.integer(1);
    if (lines < 0) args.fail(1, "must not be negative");
    push(L, self_owner(L, "console").vm.console_tail(static_cast<std::size_t>(lines)));
    return 1;
  });
}

int spawn(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "spawn", 2);
    VmEntry& owner = self_vm(L, "spawn");
    SpawnOptions options;
    if (!args.absent(1)) options.thread = args.boolean_field(1, "thread");
    auto& context = FileContext::of(L);
    context.workers.push_back(std::make_unique<WorkerEntry>(WorkerEntry{&owner, owner.vm.spawn(options)}));
    auto** slot = static_cast<WorkerEntry**>(lua_newuserdatauv(L, sizeof(WorkerEntry*), 0));
    *slot = context.workers.back().get();
    luaL_setmetatable(L, kWorkerType);
    return 1;
  });
}

int worker_index(lua_State* L) {
  // worker.pid, else the method table.
  auto** worker = static_cast<WorkerEntry**>(luaL_checkudata(L, 1, kWorkerType));
  if (lua_type(L, 2) == LUA_TSTRING && std::string_view(lua_tostring(L, 2)) == "pid") {
    lua_pushinteger(L, (*worker)->worker.pid());
    return 1;
  }
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

int vm_tostring(lua_State* L) {
  auto** vm = static_cast<VmEntry**>(luaL_checkudata(L, 1, kVmType));
  lua_pushfstring(L, "%s", (*vm)->label.c_str());
  return 1;
}

int worker_tostring(lua_State* L) {
  auto** worker = static_cast<WorkerEntry**>(luaL_checkudata(L, 1, kWorkerType));
  lua_pushfstring(L, "worker %d of %s", (*worker)->worker.pid(), (*worker)->owner->label.c_str());
  return 1;
}

const luaL_Reg kGuestMethods[] = {
    {"exec", exec},           {"json", json},
    {"read_file", read_file}, {"write_file", write_file}, {"copy_to", copy_to}, {"copy_from", copy_from},
    {"dmesg", dmesg},         {"mount_vfs", mount_vfs},
    {"wait_until", wait_until}, {"syscall", syscall},
    {"syscall_buf", syscall_buf}, {"syscall_bufs", syscall_bufs},
    {"syscall_ptr", syscall_ptr}, {"ioctl", ioctl},
    {"ioctl_buf", ioctl_buf}, {"background", background},
    {"job_wait", job_wait},   {"job_output", job_output}, {"job_kill", job_kill}, {"tap", tap},
    {"set_timeout", set_timeout}, {"kill", kill},
    {"running", running},     {"console", console},
    {nullptr, nullptr}};

const luaL_Reg kVmOnlyMethods[] = {
    {"boot", boot}, {"shutdown", shutdown}, {"spawn", spawn},
    {"expect_kernel_report", expect_kernel_report}, {nullptr, nullptr}};

}  // namespace

void register_guest_types(lua_State* L) {
  luaL_newmetatable(L, kVmType);
  lua_newtable(L);
  luaL_setfuncs(L, kGuestMethods, 0);
  luaL_setfuncs(L, kVmOnlyMethods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, vm_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  luaL_newmetatable(L, kWorkerType);
  lua_newtable(L);
  luaL_setfuncs(L, kGuestMethods, 0);
  lua_setfield(L, -2, "methods");
  lua_pushcfunction(L, worker_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, worker_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

void push_vm(lua_State* L, VmEntry& entry) {
  auto** slot = static_cast<VmEntry**>(lua_newuserdatauv(L, sizeof(VmEntry*), 0));
  *slot = &entry;
  luaL_setmetatable(L, kVmType);
}

}  // namespace provium::lua
