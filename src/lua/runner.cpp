// run_file(): one script in one fresh Lua state, its VMs cleaned up at the end, whatever it did.
#include "lua/runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include <provium/error.h>

#include "lua/context.h"

namespace provium::lua {

namespace fs = std::filesystem;

bool FileResult::passed() const { return !error && failed_blocks() == 0; }

bool FileResult::skipped() const {
  return !error && !blocks.empty() &&
         std::all_of(blocks.begin(), blocks.end(),
                     [](const BlockResult& block) { return block.status == BlockResult::Status::todo; });
}

std::size_t FileResult::failed_blocks() const {
  return std::count_if(blocks.begin(), blocks.end(),
                       [](const BlockResult& block) { return block.status == BlockResult::Status::failed; });
}

std::string FileResult::console_tail(std::size_t lines) const {
  std::string text;
  for (const auto& console : consoles) {
    std::string_view log = console.text;
    while (!log.empty() && log.back() == '\n') log.remove_suffix(1);
    std::size_t start = log.size(), found = 0;
    while (start > 0 && !(log[start - 1] == '\n' && ++found == lines)) --start;
    text += fmt::format("--- console of {} (last {} lines) ---\n{}\n", console.label, lines, log.substr(start));
  }
  return text;
}

namespace {

// The process's working directory is the start directory while a file runs, so that Lua's own
// io.open and os.execute see relative paths as provium test does; restored after.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) {
    std::error_code error;
    previous_ = fs::current_path(error);
    if (error || fs::equivalent(previous_, dir, error)) return;
    fs::current_path(dir, error);
    if (error) throw Error(fmt::format("cannot enter the start directory {}: {}", dir.string(), error.message()));
    changed_ = true;
  }
  ~WorkingDirectory() {
    std::error_code ignored;
    if (changed_) fs::current_path(previous_, ignored);
  }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  fs::path previous_;
  bool changed_ = false;
};

}  // namespace

FileResult run_file(const fs::path& file, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  FileResult result;
  result.file = file;
  FileContext context;
  context.locate(file, options.start_dir);
  if (!fs::is_regular_file(context.file)) throw Error(fmt::format("{}: no such file", file.string()));
  WorkingDirectory in_start_dir(context.start_dir);

  lua_State* L = new_state(context);
  try {
    result.error = run_chunk(L);
  } catch (const std::exception& error) {
    result.error = fmt::format("{}: {}", context.chunk_name, error.what());
  }
  // The kernel's reports outside any test() block fail the file.
  try {
    if (const auto reports = context.file_reports + context.check_kernel_reports(); !reports.empty())
      result.error = (result.error ? *result.error + "\n" : std::string()) + reports;
  } catch (const std::exception& error) {
    if (!result.error) result.error = fmt::format("checking the kernel's reports failed: {}", error.what());
  }
  try {
    context.cleanup(&result.consoles);
  } catch (const std::exception& error) {
    if (!result.error) result.error = fmt::format("cleaning up the file's VMs failed: {}", error.what());
  }
  lua_close(L);
  result.blocks = std::move(context.blocks);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace provium::lua
