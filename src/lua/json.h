// vm:json(): JSON text as Lua values.
#pragma once

#include <string_view>

#include "lua/context.h"

namespace provium::lua {

// Pushes `text` decoded: objects as tables, arrays as sequences, null as nil. Throws Error
// naming `operation` when it is not JSON.
void push_json(lua_State* L, std::string_view text, std::string_view operation);

}  // namespace provium::lua
