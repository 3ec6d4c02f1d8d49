// Lua scripts as GoogleTest tests: each *.lua file of the directory given with --provium_lua
// (or $PROVIUM_LUA) is one test, lua/LuaFile.<path>, run in a fresh Lua state; each failing
// test() block is one failure naming the block; a file of todo blocks only is skipped.
#include <provium/gtest.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <set>

#include "gtest/lua_tests.h"
#include "lua/runner.h"

namespace provium::testing {

namespace {

namespace fs = std::filesystem;

class LuaFile : public ::testing::Test {
 public:
  LuaFile(fs::path file, fs::path root) : file_(file.lexically_normal()), root_(std::move(root)) {}

  void TestBody() override {
    const auto result = lua::run_file(file_, {root_});
    const std::string consoles = result.passed() ? "" : "\n" + result.console_tail(20);
    for (const auto& block : result.blocks)
      if (block.status == lua::BlockResult::Status::failed)
        ADD_FAILURE_AT(block.file.c_str(), block.line)
            << "test(\"" << block.name << "\") failed:\n" << block.message << consoles;
    if (result.error)
      ADD_FAILURE_AT(file_.string().c_str(), 0) << "the script failed:\n" << *result.error << consoles;
    std::string todos;
    for (const auto& block : result.blocks)
      if (block.status == lua::BlockResult::Status::todo)
        todos += "\n  todo: " + block.name + (block.message.empty() ? "" : ": ") + block.message;
    if (result.skipped()) GTEST_SKIP() << "every block is todo:" << todos;
    if (!todos.empty()) std::cout << "provium: " << file_.string() << ":" << todos << "\n";
  }

 private:
  fs::path file_;
  fs::path root_;
};

class DiscoveryFailure : public ::testing::Test {
 public:
  explicit DiscoveryFailure(std::string why) : why_(std::move(why)) {}
  void TestBody() override { FAIL() << "--provium_lua: " << why_; }

 private:
  std::string why_;
};

// The file's path below the directory, as a test name: letters, digits and '_'.
std::string test_name(const fs::path& file, const fs::path& directory) {
  std::string name = file.lexically_relative(directory).replace_extension().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

}  // namespace

void RegisterLuaScripts(const std::filesystem::path& directory, const std::filesystem::path& root) {
  std::vector<fs::path> files;
  std::string failure;
  try {
    files = lua::discover(directory);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (!failure.empty() || files.empty()) {
    if (failure.empty()) failure = directory.string() + ": no *.lua files";
    ::testing::RegisterTest("lua/LuaFile", "discovery", nullptr, nullptr, __FILE__, __LINE__,
                            [failure]() -> ::testing::Test* { return new DiscoveryFailure(failure); });
  }
  std::set<std::string> names;
  const fs::path base = fs::is_directory(directory) ? directory : directory.parent_path();
  for (const auto& file : files) {
    std::string name = test_name(file, base);
    for (int n = 2; !names.insert(name).second; ++n) name = test_name(file, base) + "_" + std::to_string(n);
    ::testing::RegisterTest("lua/LuaFile", name.c_str(), nullptr, file.string().c_str(), file.string().c_str(), 1,
                            [file, root]() -> ::testing::Test* { return new LuaFile(file, root); });
  }
}

}  // namespace provium::testing
