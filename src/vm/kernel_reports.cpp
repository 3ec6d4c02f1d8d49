#include "vm/kernel_reports.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "kernel/report.h"

namespace provium::vm {

namespace {

kernel::Report internal(const KernelReport& report) {
  return {.title = report.title, .header = {}, .text = report.text, .lines = report.lines};
}

}  // namespace

void KernelReportWatch::expect(std::string_view regex) {
  std::regex compiled;
  try {
    compiled = std::regex(regex.begin(), regex.end(), std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    throw Error(fmt::format("expect_kernel_report(\"{}\"): not a regular expression: {}", regex, error.what()));
  }
  std::lock_guard lock(mutex_);
  expected_.push_back({std::string(regex), std::move(compiled)});
}

KernelReportCheck KernelReportWatch::check(bool count) {
  std::lock_guard lock(mutex_);
  std::ifstream in(console_log_, std::ios::binary);
  std::string text;
  if (in) {
    in.seekg(static_cast<std::streamoff>(checked_));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  // A line still being printed is left for the next check.
  text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  checked_ += text.size();

  KernelReportCheck result;
  std::vector<Expectation> expected = std::move(expected_);
  expected_.clear();
  if (!count) return result;
  std::vector<bool> met(expected.size(), false);
  for (auto& report : kernel::find_reports(text)) {
    bool matched = false;
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (std::regex_search(report.header, expected[i].regex)) {
        met[i] = true;
        matched = true;
      }
    if (symbols_) report.text = kernel::symbolize_frames(report.text, *symbols_);
    KernelReport found{.title = std::move(report.title), .text = std::move(report.text), .lines = report.lines};
    (matched ? result.expected : result.unexpected).push_back(std::move(found));
  }
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!met[i]) result.missing.push_back(expected[i].pattern);
  return result;
}

void note_ignored(const std::vector<KernelReport>& reports) {
  static std::once_flag said;
  std::call_once(said, [] {
    std::cerr << "provium: PROVIUM_KERNEL_REPORTS=ignore: the kernel's reports (WARNING, BUG, KASAN, ...) do not "
                 "fail tests in this run\n";
  });
  for (const auto& report : reports) std::cerr << "provium: kernel report ignored: " << report.title << "\n";
}

}  // namespace provium::vm

namespace provium {

std::string KernelReportCheck::describe() const {
  std::string text;
  if (!unexpected.empty()) {
    std::vector<kernel::Report> reports;
    std::transform(unexpected.begin(), unexpected.end(), std::back_inserter(reports), vm::internal);
    text += fmt::format("the kernel reported {} that no expect_kernel_report declared:\n{}",
                        unexpected.size() == 1 ? "a bug" : fmt::format("{} bugs", unexpected.size()),
                        kernel::describe_reports(reports));
  }
  for (const auto& pattern : missing)
    text += fmt::format("expect_kernel_report(\"{}\"): the kernel reported nothing that matches{}\n", pattern,
                        expected.empty() && unexpected.empty() ? " (it reported nothing at all)" : "");
  return text;
}

}  // namespace provium
