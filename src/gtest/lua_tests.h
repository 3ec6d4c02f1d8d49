// Registers the Lua scripts of a directory as GoogleTest tests (src/gtest/lua_tests.cpp).
#pragma once

#include <filesystem>

namespace provium::testing {

void RegisterLuaScripts(const std::filesystem::path& directory);

}  // namespace provium::testing
