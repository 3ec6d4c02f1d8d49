// The kernel reports of one VM's console that no check has seen yet, and the reports its test
// expects (Vm::expect_kernel_report, Vm::check_kernel_reports).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <provium/vm.h>

#include "kernel/symbolize.h"

namespace provium::vm {

class KernelReportWatch {
 public:
  explicit KernelReportWatch(std::filesystem::path console_log) : console_log_(std::move(console_log)) {}

  // The reports' frames are shown with their file:line from then on (kernel/symbolize.h).
  void symbolize_with(kernel::SymbolSources sources) { symbols_ = std::move(sources); }

  // Throws Error for a malformed regular expression.
  void expect(std::string_view regex);
  // The reports in what the console gained since the last check (complete lines only), sorted
  // by the expectations, which are then cleared. `count` false consumes the text unchecked.
  KernelReportCheck check(bool count = true);

 private:
  struct Expectation {
    std::string pattern;
    std::regex regex;
  };

  std::filesystem::path console_log_;
  std::mutex mutex_;
  std::uintmax_t checked_ = 0;  // bytes of the console already checked
  std::vector<Expectation> expected_;
  std::optional<kernel::SymbolSources> symbols_;
};

// Says once per process that PROVIUM_KERNEL_REPORTS=ignore is in force, then names each
// report it let pass.
void note_ignored(const std::vector<KernelReport>& reports);

}  // namespace provium::vm
