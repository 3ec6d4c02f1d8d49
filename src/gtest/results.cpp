// How the matchers and printers of include/provium/gtest.h show the guest's results: an errno
// by its name, a command by its exit code and output. GoogleTest and the standard library only
// (provium_gtest_main needs nothing else).
#include <provium/gtest.h>

#include <cstring>
#include <ostream>

namespace provium {

namespace {

// A guest's output in a failure message: quoted and escaped by GoogleTest, its end when long.
std::string shown(const std::string& text) {
  constexpr std::size_t kShown = 2000;
  if (text.size() <= kShown) return ::testing::PrintToString(text);
  return "(" + std::to_string(text.size() - kShown) + " bytes before) " +
         ::testing::PrintToString(text.substr(text.size() - kShown));
}

void print_buffers(const std::vector<std::string>& buffers, std::ostream* os) {
  for (const auto& buffer : buffers) *os << ", " << shown(buffer);
}

}  // namespace

void PrintTo(const ExecResult& result, std::ostream* os) {
  *os << "exit code " << result.exit_code << ", stdout " << shown(result.out) << ", stderr " << shown(result.err);
}

void PrintTo(const JobResult& result, std::ostream* os) {
  if (result.running) *os << "running";
  else *os << "exit code " << result.exit_code;
  *os << ", stdout " << shown(result.out) << ", stderr " << shown(result.err);
}

void PrintTo(const SyscallResult& result, std::ostream* os) {
  *os << testing::matcher_detail::describe_result(result.ret);
  print_buffers(result.out, os);
}

void PrintTo(const IoctlResult& result, std::ostream* os) {
  *os << testing::matcher_detail::describe_result(result.ret);
  if (result.out) *os << ", out " << shown(*result.out);
  print_buffers(result.buffers, os);
}

namespace testing::matcher_detail {

std::string errno_name(int error) {
  const char* name = strerrordesc_np(error) ? strerrorname_np(error) : nullptr;
  return name ? std::string(name) + " (" + strerrordesc_np(error) + ")"
              : "errno " + std::to_string(error);
}

std::string describe_result(int64_t ret) {
  if (ret >= 0 || ret < -4095) return std::to_string(ret);
  return std::to_string(ret) + ", " + errno_name(static_cast<int>(-ret));
}

}  // namespace testing::matcher_detail

}  // namespace provium
