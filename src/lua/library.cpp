// A fresh Lua state for one script: the standard libraries, the `provium` table, the globals of
// the prelude (test, todo, assert, ...), and running the file's chunk.
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include <provium/error.h>

#include "config/config.h"
#include "base/files.h"
#include "lua/context.h"
#include "lua/guest_methods.h"
#include "lua/pack.h"
#include "lua/prelude.h"
#include "lua/vm_boot.h"

namespace provium::lua {

void register_context(lua_State* L, FileContext& context);  // context.cpp

namespace {

int create(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "provium.create");
    const std::string profile = args.optional_string(1).value_or("default");
    config::current().profile(profile);  // an unknown profile fails here, naming the known ones
    VmEntry& entry = add_vm(FileContext::of(L), profile, profile);
    entry.vm = provium::create(profile);
    push_vm(L, entry);
    return 1;
  });
}

int fixture(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "provium.fixture");
    push_vm(L, resume_fixture(FileContext::of(L), args.string(1)));
    return 1;
  });
}

int shutdown_all(lua_State* L) {
  return protect(L, [&] {
    auto& context = FileContext::of(L);
    for (auto& entry : context.vms)
      if (entry->vm.running()) {
        context.check_before_end(*entry);
        entry->vm.shutdown();
      }
    return 0;
  });
}

int pack(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "provium.pack");
    const auto format = args.string(1);
    std::vector<int64_t> values;
    for (int n = 2; n <= args.count(); ++n) values.push_back(args.integer(n));
    push(L, pack_values(format, values));
    return 1;
  });
}

int unpack(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "provium.unpack");
    const auto values = unpack_values(args.string(1), args.string(2));
    if (!lua_checkstack(L, static_cast<int>(values.size()))) throw Error("unpack: too many values");
    for (auto value : values) lua_pushinteger(L, value);
    return static_cast<int>(values.size());
  });
}

int sleep(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "provium.sleep");
    std::this_thread::sleep_for(seconds(args.number(1)));
    return 0;
  });
}

const luaL_Reg kProvium[] = {{"create", create},   {"fixture", fixture}, {"shutdown_all", shutdown_all},
                             {"pack", pack},       {"unpack", unpack},   {"sleep", sleep},
                             {"tap", tap},         {nullptr, nullptr}};

// record_block(name, status, message, source, line), called by the prelude's test().
int record_block(lua_State* L) {
  return protect(L, [&] {
    Args args(L, "record_block");
    auto& context = FileContext::of(L);
    BlockResult block;
    block.name = args.string(1);
    const auto status = args.string(2);
    block.status = status == "passed" ? BlockResult::Status::passed
                   : status == "todo" ? BlockResult::Status::todo
                                      : BlockResult::Status::failed;
    block.message = args.string(3);
    // The handler saw the error first and kept its traceback, which starts with the message.
    if (block.status == BlockResult::Status::failed && !context.last_traceback.empty())
      block.message = std::move(context.last_traceback);
    context.last_traceback.clear();
    block.file = args.string(4);
    block.line = static_cast<int>(args.integer(5));
    // The kernel's reports during the block fail it, whatever else it did.
    if (const auto reports = context.check_kernel_reports(); !reports.empty()) {
      block.message = block.status == BlockResult::Status::failed ? block.message + "\n" + reports : reports;
      block.status = BlockResult::Status::failed;
    }
    block.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - context.block_start).count();
    context.blocks.push_back(std::move(block));
    return 0;
  });
}

// begin_block(), called by the prelude's test() first: reports from before the block are the
// file's.
int begin_block(lua_State* L) {
  return protect(L, [&] {
    auto& context = FileContext::of(L);
    context.file_reports += context.check_kernel_reports();
    context.block_start = std::chrono::steady_clock::now();
    return 0;
  });
}

// A traceback without the frames of the adapter itself (the prelude, error, xpcall).
std::string script_frames(std::string_view traceback) {
  std::string kept;
  std::size_t frames = 0;
  while (!traceback.empty()) {
    const auto end = std::min(traceback.find('\n'), traceback.size());
    const auto line = traceback.substr(0, end);
    traceback.remove_prefix(std::min(end + 1, traceback.size()));
    const bool frame = line.starts_with("\t");
    if (frame && (line.find("provium prelude:") != std::string_view::npos ||
                  line == "\t[C]: in function 'error'" || line == "\t[C]: in function 'xpcall'"))
      continue;
    frames += frame;
    kept.append(line).push_back('\n');
  }
  while (!kept.empty() && kept.back() == '\n') kept.pop_back();
  if (frames == 0 && kept.ends_with("stack traceback:")) kept.resize(kept.size() - 17);
  while (!kept.empty() && kept.back() == '\n') kept.pop_back();
  return kept;
}

int set_traceback(lua_State* L) {
  std::size_t size = 0;
  const char* text = lua_tolstring(L, 1, &size);
  if (text) FileContext::of(L).last_traceback = script_frames(std::string_view(text, size));
  return 0;
}

}  // namespace

lua_State* new_state(FileContext& context) {
  lua_State* L = luaL_newstate();
  if (!L) throw Error("cannot create a Lua state (out of memory)");
  luaL_openlibs(L);
  register_context(L, context);
  register_guest_types(L);

  luaL_newlib(L, kProvium);
  lua_setglobal(L, "provium");

  const auto prelude = embed::lua_prelude.view();
  if (luaL_loadbufferx(L, prelude.data(), prelude.size(), "=provium prelude", "t") != LUA_OK) {
    std::string message = lua_tostring(L, -1);
    lua_close(L);
    throw Error("the Lua prelude does not load: " + message);
  }
  lua_createtable(L, 0, 5);
  lua_pushcfunction(L, record_block);
  lua_setfield(L, -2, "record_block");
  lua_pushcfunction(L, set_traceback);
  lua_setfield(L, -2, "set_traceback");
  lua_pushcfunction(L, begin_block);
  lua_setfield(L, -2, "begin_block");
  push(L, context.start_dir.string());
  lua_setfield(L, -2, "start_dir");
  lua_pushboolean(L, context.build != nullptr);
  lua_setfield(L, -2, "building");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    std::string message = lua_tostring(L, -1);
    lua_close(L);
    throw Error("the Lua prelude failed: " + message);
  }
  lua_getfield(L, -1, "output");
  lua_setfield(L, LUA_REGISTRYINDEX, "provium.output");
  lua_getfield(L, -1, "Todo");
  lua_setfield(L, LUA_REGISTRYINDEX, "provium.todo");
  lua_getfield(L, -1, "traceback_handler");
  lua_setfield(L, LUA_REGISTRYINDEX, "provium.traceback_handler");
  lua_pop(L, 1);
  return L;
}

std::optional<std::string> run_chunk(lua_State* L) {
  auto& context = FileContext::of(L);
  const std::string text = base::read_file(context.file, "Lua script");
  lua_getfield(L, LUA_REGISTRYINDEX, "provium.traceback_handler");
  const int handler = lua_gettop(L);
  const std::string chunk_name = "@" + context.chunk_name;
  if (luaL_loadbufferx(L, text.data(), text.size(), chunk_name.c_str(), "t") != LUA_OK) {
    std::string message = lua_tostring(L, -1);
    lua_settop(L, handler - 1);
    return message;
  }
  if (lua_pcall(L, 0, 0, handler) == LUA_OK) {
    lua_settop(L, handler - 1);
    return std::nullopt;
  }
  // todo() outside any block: the rest of the file is skipped.
  if (lua_getmetatable(L, -1)) {
    lua_getfield(L, LUA_REGISTRYINDEX, "provium.todo");
    const bool is_todo = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (is_todo) {
      lua_getfield(L, -1, "reason");
      BlockResult block{"(the rest of the file)", BlockResult::Status::todo,
                        lua_isstring(L, -1) ? lua_tostring(L, -1) : "", context.chunk_name, 0};
      context.blocks.push_back(std::move(block));
      lua_settop(L, handler - 1);
      return std::nullopt;
    }
  }
  std::string message = context.last_traceback.empty() ? ScriptError(L, -1).what() : context.last_traceback;
  context.last_traceback.clear();
  lua_settop(L, handler - 1);
  return message;
}

}  // namespace provium::lua
