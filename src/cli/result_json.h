// A file's result as it travels from the process that ran the file to `provium test`: one JSON
// document written to a pipe when the file has ended.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lua/runner.h"

namespace provium::cli {

// Bytes that are not UTF-8 (a console's binary noise) become U+FFFD: the text is for reading.
std::string result_to_json(const lua::FileResult& result);

// nullopt when `text` is not a whole result (the process died while writing it, say).
std::optional<lua::FileResult> result_from_json(std::string_view text);

}  // namespace provium::cli
