// The kernel reports of one VM's console that no check has seen yet, and the reports its test
// expects (Vm::expect_kernel_report, Vm::check_kernel_reports).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <provium/vm.h>

namespace provium::vm {

class KernelReportWatch {
 public:
  explicit KernelReportWatch(std::filesystem::path console_log) : console_log_(std::move(console_log)) {}

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
};

// Says once per process that PROVIUM_KERNEL_REPORTS=ignore is in force, then names each
// report it let pass.
void note_ignored(const std::vector<KernelReport>& reports);

}  // namespace provium::vm
