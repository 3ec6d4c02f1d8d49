// What a Lua fixture's cache key must cover beyond the script itself: the helpers it loads and
// the fixtures it uses, read from the script's text (calls with a literal argument only).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace provium::lua {

struct ScriptDependencies {
  std::vector<std::string> helpers;   // dofile("path") arguments, in order of appearance
  std::vector<std::string> fixtures;  // provium.fixture("name") arguments
};

// Comments are skipped (a call named in a comment is not a dependency); a call whose argument
// is computed is not seen.
ScriptDependencies scan_dependencies(std::string_view script);

}  // namespace provium::lua
