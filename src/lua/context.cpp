// The file context, the error boundary and argument access of the Lua adapter.
#include "lua/context.h"

#include <utility>

#include <fmt/format.h>

#include <limits>

#include <provium/error.h>

namespace provium::lua {

namespace {
const char kContextKey = 0;  // its address is the registry key of the FileContext
}

FileContext& FileContext::of(lua_State* L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kContextKey);
  auto* context = static_cast<FileContext*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *context;
}

void FileContext::locate(const std::filesystem::path& script, const std::filesystem::path& start) {
  start_dir = std::filesystem::absolute(start);
  file = script.is_absolute() ? script : start_dir / script;
  const auto relative = file.lexically_relative(start_dir);
  chunk_name = !relative.empty() && *relative.begin() != ".." ? relative.string() : file.string();
}

std::chrono::milliseconds seconds(double value) {
  if (!(value >= 0) || value > 1e7) throw Error(fmt::format("{} is not a duration in seconds", value));
  return std::chrono::milliseconds(static_cast<int64_t>(value * 1000));
}

void register_context(lua_State* L, FileContext& context) {
  lua_pushlightuserdata(L, &context);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kContextKey);
}

void FileContext::cleanup(std::vector<Console>* consoles) {
  workers.clear();  // each closes its connection; the worker exits
  for (auto& entry : vms) {
    // Even an empty console is listed: a VM resumed from a fixture has written nothing since.
    if (consoles)
      consoles->push_back({entry->label, entry->vm.console_tail(std::numeric_limits<std::size_t>::max())});
    entry->vm.kill();
  }
  vms.clear();
}

namespace {
std::string failure_of(VmEntry& entry) {
  const auto check = entry.vm.check_kernel_reports();
  return check.ok() ? std::string() : fmt::format("{}: {}", entry.label, check.describe());
}
}  // namespace

void FileContext::check_before_end(VmEntry& entry) { ended_vm_reports += failure_of(entry); }

std::string FileContext::check_kernel_reports() {
  std::string failures = std::exchange(ended_vm_reports, {});
  for (auto& entry : vms) failures += failure_of(*entry);
  return failures;
}

ScriptError::ScriptError(lua_State* L, int value_index) : state_(L) {
  value_index = lua_absindex(L, value_index);
  if (const char* text = lua_tostring(L, value_index)) {
    message_ = text;
  } else if (luaL_callmeta(L, value_index, "__tostring") && lua_isstring(L, -1)) {
    message_ = lua_tostring(L, -1);
    lua_pop(L, 1);
  } else {
    message_ = fmt::format("(an error object of type {})", luaL_typename(L, value_index));
  }
  lua_pushvalue(L, value_index);
  ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
}

ScriptError::~ScriptError() {
  if (ref_ != LUA_NOREF) luaL_unref(state_, LUA_REGISTRYINDEX, ref_);
}

ScriptError::ScriptError(ScriptError&& other) noexcept
    : state_(other.state_), ref_(other.ref_), message_(std::move(other.message_)) {
  other.ref_ = LUA_NOREF;
}

void ScriptError::push(lua_State* L) const { lua_rawgeti(L, LUA_REGISTRYINDEX, ref_); }

void call(lua_State* L, int args, int results) {
  if (lua_pcall(L, args, results, 0) != LUA_OK) {
    ScriptError error(L, -1);
    lua_pop(L, 1);
    throw error;
  }
}

// --- Args ---

void Args::fail(int n, const std::string& what) const {
  throw Error(fmt::format("{}: argument {} {}", function_, n, what));
}

std::string Args::type_name(int n) const { return luaL_typename(L_, index(n)); }

std::string Args::string(int n) const {
  if (lua_type(L_, index(n)) != LUA_TSTRING)
    fail(n, fmt::format("must be a string, got {}", type_name(n)));
  std::size_t size = 0;
  const char* data = lua_tolstring(L_, index(n), &size);
  return std::string(data, size);
}

std::optional<std::string> Args::optional_string(int n) const {
  if (absent(n)) return std::nullopt;
  return string(n);
}

int64_t Args::integer(int n) const {
  int is_integer = 0;
  const lua_Integer value = lua_tointegerx(L_, index(n), &is_integer);
  if (!is_integer || lua_type(L_, index(n)) == LUA_TSTRING)
    fail(n, fmt::format("must be an integer, got {}", lua_type(L_, index(n)) == LUA_TNUMBER
                                                          ? fmt::format("{}", lua_tonumber(L_, index(n)))
                                                          : type_name(n)));
  return value;
}

double Args::number(int n) const {
  if (lua_type(L_, index(n)) != LUA_TNUMBER) fail(n, fmt::format("must be a number, got {}", type_name(n)));
  return lua_tonumber(L_, index(n));
}

std::optional<double> Args::optional_number(int n) const {
  if (absent(n)) return std::nullopt;
  return number(n);
}

void Args::table(int n) const {
  if (!lua_istable(L_, index(n))) fail(n, fmt::format("must be a table, got {}", type_name(n)));
}

namespace {
// Pushes t[key] of the table at `index` without metamethods.
int raw_field(lua_State* L, int index, const char* key) {
  lua_pushstring(L, key);
  return lua_rawget(L, index);
}
}  // namespace

std::optional<std::string> Args::string_field(int n, const char* key) const {
  table(n);
  const int type = raw_field(L_, index(n), key);
  std::optional<std::string> value;
  if (type == LUA_TSTRING) {
    std::size_t size = 0;
    const char* data = lua_tolstring(L_, -1, &size);
    value.emplace(data, size);
  }
  lua_pop(L_, 1);
  if (type != LUA_TNIL && type != LUA_TSTRING)
    fail(n, fmt::format("field '{}' must be a string, got {}", key, lua_typename(L_, type)));
  return value;
}

std::optional<int64_t> Args::integer_field(int n, const char* key) const {
  table(n);
  const int type = raw_field(L_, index(n), key);
  int is_integer = 0;
  const lua_Integer value = lua_tointegerx(L_, -1, &is_integer);
  lua_pop(L_, 1);
  if (type == LUA_TNIL) return std::nullopt;
  if (type != LUA_TNUMBER || !is_integer) fail(n, fmt::format("field '{}' must be an integer", key));
  return value;
}

std::optional<double> Args::number_field(int n, const char* key) const {
  table(n);
  const int type = raw_field(L_, index(n), key);
  const double value = lua_tonumber(L_, -1);
  lua_pop(L_, 1);
  if (type == LUA_TNIL) return std::nullopt;
  if (type != LUA_TNUMBER) fail(n, fmt::format("field '{}' must be a number", key));
  return value;
}

bool Args::boolean_field(int n, const char* key) const {
  table(n);
  raw_field(L_, index(n), key);
  const bool value = lua_toboolean(L_, -1);
  lua_pop(L_, 1);
  return value;
}

std::optional<bool> Args::optional_boolean_field(int n, const char* key) const {
  table(n);
  const int type = raw_field(L_, index(n), key);
  const bool value = lua_toboolean(L_, -1);
  lua_pop(L_, 1);
  if (type == LUA_TNIL) return std::nullopt;
  if (type != LUA_TBOOLEAN) fail(n, fmt::format("field '{}' must be true or false", key));
  return value;
}

void Args::only_keys(int n, const std::set<std::string_view>& known, std::string_view what) const {
  table(n);
  lua_pushnil(L_);
  while (lua_next(L_, index(n))) {
    lua_pop(L_, 1);
    const bool is_string = lua_type(L_, -1) == LUA_TSTRING;
    const std::string key = is_string ? lua_tostring(L_, -1) : luaL_typename(L_, -1);
    if (!is_string || !known.count(key)) {
      lua_pop(L_, 1);
      std::string names;
      for (auto name : known) names += (names.empty() ? "" : ", ") + std::string(name);
      fail(n, fmt::format("has an unknown {} key '{}' (known: {})", what, key, names));
    }
  }
}

}  // namespace provium::lua
