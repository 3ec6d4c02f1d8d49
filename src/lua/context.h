// What one script file's Lua state knows about its run: the VMs and workers it created (killed
// when the file ends), the results of its test() blocks, and whether it is building a fixture.
// Also the boundary between Lua's longjmp errors and C++ exceptions.
#pragma once

#include <lua.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <provium/vm.h>

#include "cache/cache.h"
#include "lua/runner.h"

namespace provium::lua {

struct VmEntry {
  std::string profile;
  std::string label;        // "vm 1 (default)"
  BootOptions boot;         // as booted, for the snapshot of a fixture
  Vm vm;
  // Building a fixture: this VM's RAM file, initrd and disk overlays in the build's directory.
  std::optional<cache::VmFiles> files;
};

struct WorkerEntry {
  VmEntry* owner;
  Worker worker;
};

// A fixture script being run to build its snapshot: its VMs get file-backed RAM in `dir`.
struct FixtureBuild {
  std::filesystem::path dir;
  // The files of the script's n-th VM.
  cache::VmFiles vm_files(std::size_t n) const { return {dir, "-" + std::to_string(n)}; }
};

struct FileContext {
  std::filesystem::path file;
  std::string chunk_name;  // the file as errors name it
  std::filesystem::path start_dir;
  const FixtureBuild* build = nullptr;  // set while running a fixture script
  std::vector<std::unique_ptr<VmEntry>> vms;
  std::vector<std::unique_ptr<WorkerEntry>> workers;
  std::vector<BlockResult> blocks;
  std::string last_traceback;  // of the last error caught by the message handler
  std::chrono::steady_clock::time_point block_start{};  // when the running test() block began
  // Failure texts of kernel reports: those of VMs the script ended since the last check
  // (kill, shutdown), and those that came outside any test() block (the file's own).
  std::string ended_vm_reports;
  std::string file_reports;

  // Sets file (made absolute), chunk_name (relative to the start directory when the file lies
  // below it) and start_dir (made absolute).
  void locate(const std::filesystem::path& script, const std::filesystem::path& start);
  // The context of a state made by new_state().
  static FileContext& of(lua_State* L);
  // Workers and VMs, in that order; each VM's console is saved into `consoles` first.
  void cleanup(std::vector<Console>* consoles);
  // Checks one VM's console for kernel reports (Vm::check_kernel_reports) before the script
  // ends it: its failure goes into ended_vm_reports.
  void check_before_end(VmEntry& entry);
  // Checks every VM of the file: the failure text of the kernel reports since the last check
  // (ended_vm_reports first), each VM named by its label; empty when nothing failed.
  std::string check_kernel_reports();
};

// A fresh state with the standard libraries, the provium library and the globals of
// docs/lua.md, bound to `context` (which must outlive it).
lua_State* new_state(FileContext& context);

// Runs the chunk of `context.file` at top level. Returns the error (with file:line) when it
// raised one; a todo() outside any block is recorded as a skipped block instead.
std::optional<std::string> run_chunk(lua_State* L);

// An error whose message already says where it happened (it came from Lua code), or the
// original Lua error value of a Lua function called from C++ (kept in the registry).
class ScriptError : public std::exception {
 public:
  ScriptError(lua_State* L, int value_index);  // takes the value at value_index
  ~ScriptError() override;
  ScriptError(const ScriptError&) = delete;
  ScriptError& operator=(const ScriptError&) = delete;
  ScriptError(ScriptError&& other) noexcept;
  const char* what() const noexcept override { return message_.c_str(); }
  void push(lua_State* L) const;  // the original value

 private:
  lua_State* state_;
  int ref_;
  std::string message_;
};

// Calls the function on top of the stack with `args` arguments below it, one result; a Lua
// error becomes a ScriptError.
void call(lua_State* L, int args, int results);

// Runs `body` (which returns the number of values it pushed) and turns a C++ exception into a
// Lua error "file:line: message" at the caller's position. Only the exception's text crosses
// the longjmp; no C++ object is alive when lua_error unwinds.
template <class Body>
int protect(lua_State* L, Body&& body) {
  {
    try {
      return body();
    } catch (const ScriptError& error) {
      error.push(L);
    } catch (const std::exception& error) {
      luaL_where(L, 1);
      lua_pushstring(L, error.what());
      lua_concat(L, 2);
    }
  }
  return lua_error(L);
}

// Argument access that throws C++ exceptions (never longjmps past C++ frames).
class Args {
 public:
  Args(lua_State* L, const char* function, int first = 1) : L_(L), function_(function), first_(first) {}

  lua_State* state() const { return L_; }
  int count() const { return lua_gettop(L_) - first_ + 1; }
  bool absent(int n) const { return lua_isnoneornil(L_, index(n)); }
  int index(int n) const { return first_ + n - 1; }

  std::string string(int n) const;
  std::optional<std::string> optional_string(int n) const;
  int64_t integer(int n) const;
  double number(int n) const;
  std::optional<double> optional_number(int n) const;
  void table(int n) const;  // checks that it is one

  // Fields of the table at argument n.
  std::optional<std::string> string_field(int n, const char* key) const;
  std::optional<int64_t> integer_field(int n, const char* key) const;
  std::optional<double> number_field(int n, const char* key) const;
  bool boolean_field(int n, const char* key) const;
  // nullopt when absent; fails for anything but a boolean.
  std::optional<bool> optional_boolean_field(int n, const char* key) const;
  // Fails naming the first key of the table at argument n that is not `known`; `what` says
  // what the keys are ("boot option").
  void only_keys(int n, const std::set<std::string_view>& known, std::string_view what) const;

  [[noreturn]] void fail(int n, const std::string& what) const;

 private:
  std::string type_name(int n) const;
  lua_State* L_;
  const char* function_;
  int first_;
};

// A duration given in seconds by a script; Error for a negative, NaN or absurd one.
std::chrono::milliseconds seconds(double value);

// Pushes a byte string.
inline void push(lua_State* L, std::string_view bytes) { lua_pushlstring(L, bytes.data(), bytes.size()); }

}  // namespace provium::lua
