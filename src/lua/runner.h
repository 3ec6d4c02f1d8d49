// The Lua adapter: runs one documented Provium Lua script (docs/lua.md) in a fresh Lua 5.4
// state and reports what its test() blocks did. Used by provium_gtest_main (one GoogleTest test
// per file) and by `provium test` (one child process per file).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace provium::lua {

struct BlockResult {
  enum class Status { passed, failed, todo };
  std::string name;
  Status status = Status::passed;
  std::string message;  // failed: the error, "file:line: ..." first; todo: the reason (may be empty)
  std::string file;     // where the block was declared, for GoogleTest's failure locations
  int line = 0;
  double seconds = 0;   // how long it ran
};

// The console of one VM the file created, captured before the VM was cleaned up.
struct Console {
  std::string label;  // "vm 1 (default)", "vm 2 (fixture base)", ...
  std::string text;   // the whole serial console log
};

struct FileResult {
  std::filesystem::path file;
  std::vector<BlockResult> blocks;  // in the order the blocks ran; empty for a file without test()
  // A Lua error outside any block (it ends the file), or a failure of the cleanup; with
  // "file:line: " and a traceback.
  std::optional<std::string> error;
  std::vector<Console> consoles;
  double seconds = 0;

  bool passed() const;   // no error and no failed block
  bool skipped() const;  // no error, at least one block, and every block todo
  std::size_t failed_blocks() const;
  // The last `lines` console lines of every VM, labelled, for a failure report.
  std::string console_tail(std::size_t lines = 20) const;
};

struct RunOptions {
  // dofile() paths and script paths resolve against it: the directory the run started in. The
  // process's working directory is this one while the file runs (then restored), so that Lua's
  // io.open and os.execute agree.
  std::filesystem::path start_dir = std::filesystem::current_path();
};

// Runs `file` to the end: every Lua error is caught and reported in the result; VMs and workers
// the file left running are killed. Throws only when the file cannot be read at all.
FileResult run_file(const std::filesystem::path& file, const RunOptions& options = {});

// `path` itself when it is a file; else every *.lua below it, recursively, except those under a
// directory named fixtures/, sorted by path. Throws provium::Error when `path` does not exist.
std::vector<std::filesystem::path> discover(const std::filesystem::path& path);

}  // namespace provium::lua
