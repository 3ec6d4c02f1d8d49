// Registers the Lua scripts of a directory as GoogleTest tests (src/gtest/lua_tests.cpp).
#pragma once

#include <filesystem>

namespace provium::testing {

// `root` is where the scripts' relative paths start (RunOptions::start_dir).
void RegisterLuaScripts(const std::filesystem::path& directory, const std::filesystem::path& root);

}  // namespace provium::testing
