#include "vm/death.h"

#include <fmt/format.h>

#include "base/text.h"
#include "kernel/kconfig.h"
#include "kernel/report.h"
#include "transport/cid.h"
#include "vm/console.h"

namespace provium::vm {

namespace {
constexpr std::size_t kContextLines = 20;
}  // namespace

Death describe_death(const qemu::ProcessExit& exit, bool killed_by_host, const std::filesystem::path& console_log,
                     const std::optional<kernel::SymbolSources>& symbols) {
  Death death;
  std::string console = console_tail(console_log, 400);
  // The wrapper's own reasons (an init that cannot run, say) explain the panic that follows.
  std::string text = wrapper_complaints(console);
  auto reports = kernel::find_reports(console);
  if (!reports.empty()) {
    if (symbols)
      for (auto& report : reports) report.text = kernel::symbolize_frames(report.text, *symbols);
    text += fmt::format("the guest kernel crashed (QEMU {})\n{}", exit.describe(), kernel::describe_reports(reports));
  } else {
    text += fmt::format("QEMU {}\n--- console (last {} lines) ---\n{}", exit.describe(), kContextLines,
                        base::last_lines(console, kContextLines));
  }
  if (const std::string lacks = kernel::diagnose_console(console); !lacks.empty()) text += "\n" + lacks;
  std::string_view stderr_text = exit.stderr_tail;
  while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.remove_suffix(1);
  if (!stderr_text.empty()) text += fmt::format("\n--- QEMU stderr ---\n{}", stderr_text);
  death.message = std::move(text);
  if (killed_by_host) death.cause = Death::Cause::killed;
  else if (transport::is_cid_collision(exit.stderr_tail)) death.cause = Death::Cause::cid_taken;
  else if (!reports.empty()) death.cause = Death::Cause::kernel_crashed;
  else if (exit.signal != 0) death.cause = Death::Cause::signalled;
  else death.cause = Death::Cause::exited;
  return death;
}

bool damages_entry(std::optional<Death::Cause> cause) {
  if (!cause) return true;
  switch (*cause) {
    case Death::Cause::exited:
    case Death::Cause::kernel_crashed:
      return true;
    case Death::Cause::killed:
    case Death::Cause::signalled:
    case Death::Cause::cid_taken:
      return false;
  }
  return true;
}

}  // namespace provium::vm
