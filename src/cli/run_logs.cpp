#include "cli/run_logs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <system_error>

#include <provium/error.h>

#include "cli/report.h"
#include "base/files.h"
#include "base/settings.h"

namespace provium::cli {

namespace fs = std::filesystem;

std::string format_log(const FileOutcome& outcome) {
  const auto& result = outcome.result;
  std::string out = fmt::format("provium test: {}\nfile: {}\nresult: {}\n", outcome.name,
                                fs::absolute(outcome.file).lexically_normal().string(),
                                status_text(outcome));
  if (!result.blocks.empty()) {
    out += "\n== test blocks ==\n";
    for (const auto& block : result.blocks) {
      out += fmt::format("· {} ({}:{}) ... ", block.name, block.file, block.line);
      switch (block.status) {
        case lua::BlockResult::Status::passed: out += "ok\n"; break;
        case lua::BlockResult::Status::failed: out += "FAIL\n" + indent(block.message, "  "); break;
        case lua::BlockResult::Status::todo: out += "todo\n" + indent(block.message, "  "); break;
      }
    }
  }
  if (result.error) out += "\n== error ==\n" + *result.error + "\n";
  out += "\n== output of the file's process (stdout and stderr) ==\n" + outcome.output;
  if (!outcome.output.empty() && outcome.output.back() != '\n') out += '\n';
  for (const auto& console : result.consoles) {
    out += fmt::format("\n== console of {} ==\n", console.label) +
           (console.text.empty() ? "(empty: nothing written since it booted or was resumed)\n" : console.text);
    if (!console.text.empty() && console.text.back() != '\n') out += '\n';
  }
  if (result.consoles.empty()) out += "\n(no VM console was captured)\n";
  return out;
}

fs::path RunLogs::base() { return base::settings()->logs_root(); }

RunLogs::RunLogs() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  dir_ = base() / fmt::format("run-{}-{}", stamp, ::getpid());
}

fs::path RunLogs::keep(const FileOutcome& outcome, const fs::path& log_name) {
  if (!created_) {
    base::settings()->make_logs_root();
    base::ensure_private_directory(dir_);
    created_ = true;
  }
  const fs::path path = dir_ / (log_name.string() + ".log");
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << format_log(outcome);
  out.close();
  if (!out) throw Error(fmt::format("cannot write the log {}", path.string()));
  return path;
}

}  // namespace provium::cli
