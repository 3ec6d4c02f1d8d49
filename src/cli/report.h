// What `provium test` prints: a block of lines per file as it ends, and the summary.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cli/file_outcome.h"

namespace provium::cli {

// "ok (3 tests, 4.3s)", "FAIL (1 of 3 tests failed, 4.3s)", "FAIL (error, 1.2s)",
// "skipped (2 todo, 0.5s)", "ok (2.1s)" for a file without blocks.
std::string status_text(const FileOutcome& outcome);

// The lines for one file, ending in a newline; printed in one write so that files finishing
// together do not mix their lines. `verbose` adds what the file's process wrote.
std::string format_outcome(const FileOutcome& outcome, bool verbose);

struct Summary {
  std::size_t passed = 0;
  std::size_t failed = 0;
  std::size_t skipped = 0;
  std::size_t not_run = 0;  // left out by --fail-fast
  // Each failed file's name (as its line shows it) and its kept log.
  std::vector<std::pair<std::string, std::filesystem::path>> kept_logs;
};

// A blank line, the "Failed test logs:" list ("  name → path") and a blank line when there is
// one, and "ok: ..." or "FAIL: ...".
std::string format_summary(const Summary& summary);

// Text helpers shared with the logs.
std::string indent(std::string_view text, std::string_view prefix);  // every line, prefixed
// An error without its "stack traceback:" part, which the kept log has.
std::string_view without_traceback(std::string_view error);

}  // namespace provium::cli
