// Placeholder while the Lua bindings are written (replaced in the next commit).
#include "lua/runner.h"

#include <provium/error.h>

namespace provium::lua {

bool FileResult::passed() const { return !error && failed_blocks() == 0; }
bool FileResult::skipped() const { return false; }
std::size_t FileResult::failed_blocks() const { return 0; }
std::string FileResult::console_tail(std::size_t) const { return {}; }
FileResult run_file(const std::filesystem::path&, const RunOptions&) { throw Error("not yet"); }

}  // namespace provium::lua
