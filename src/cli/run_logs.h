// The logs `provium test` keeps: one per failed file, in one directory per run, so that a
// failure can be read in full after the terminal has scrolled away. Passing files keep none.
#pragma once

#include <filesystem>
#include <string>

#include "cli/file_outcome.h"

namespace provium::cli {

// Everything known about the file: each block with its whole message, the error with its
// traceback, what its process wrote, and every VM's whole console.
std::string format_log(const FileOutcome& outcome);

class RunLogs {
 public:
  // $PROVIUM_LOG_DIR, else the run-directory base's logs/ (base::settings()->run_root / "logs").
  static std::filesystem::path base();

  // Names this run's directory, base()/run-YYYYMMDD-HHMMSS-PID; nothing is created until a
  // log is kept, so a run without failures leaves nothing behind.
  RunLogs();

  // Writes the log of `outcome` as dir()/`log_name`.log (log_name may hold '/': the layout of
  // the scripts is kept) and returns its path. Throws provium::Error when it cannot.
  std::filesystem::path keep(const FileOutcome& outcome, const std::filesystem::path& log_name);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  bool created_ = false;
};

}  // namespace provium::cli
