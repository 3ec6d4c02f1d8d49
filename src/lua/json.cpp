// vm:json(): nlohmann-json parses, this file builds the Lua values.
#include "lua/json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <provium/error.h>

namespace provium::lua {

namespace {

void push_value(lua_State* L, const nlohmann::json& value) {
  if (!lua_checkstack(L, 3)) throw Error("json: nested too deeply");
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      lua_createtable(L, 0, static_cast<int>(value.size()));
      for (const auto& [key, member] : value.items()) {
        if (member.is_null()) continue;
        push(L, key);
        push_value(L, member);
        lua_rawset(L, -3);
      }
      break;
    case nlohmann::json::value_t::array: {
      lua_createtable(L, static_cast<int>(value.size()), 0);
      lua_Integer index = 0;
      for (const auto& element : value) {
        ++index;
        if (element.is_null()) continue;  // a hole, as nil leaves one
        push_value(L, element);
        lua_rawseti(L, -2, index);
      }
      break;
    }
    case nlohmann::json::value_t::string:
      push(L, value.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::boolean:
      lua_pushboolean(L, value.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
      lua_pushinteger(L, value.get<int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      if (value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX))
        lua_pushinteger(L, static_cast<lua_Integer>(value.get<uint64_t>()));
      else
        lua_pushnumber(L, static_cast<lua_Number>(value.get<uint64_t>()));
      break;
    case nlohmann::json::value_t::number_float:
      lua_pushnumber(L, value.get<double>());
      break;
    default:
      lua_pushnil(L);
  }
}

}  // namespace

void push_json(lua_State* L, std::string_view text, std::string_view operation) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    throw Error(fmt::format("{}: stdout is not JSON: {}\nstdout: {}", operation, error.what(), text.substr(0, 400)));
  }
  push_value(L, value);
}

}  // namespace provium::lua
