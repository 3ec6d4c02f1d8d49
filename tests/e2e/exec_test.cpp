// vm.exec on a real VM: exit codes, stdout and stderr apart, binary and large output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/provium.h>

using ::testing::HasSubstr;

namespace {

// One VM for the whole suite: booting is the slow part, and these tests only read.
class ExecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vm_ = new provium::Vm(provium::create());
    vm_->boot();
  }
  static void TearDownTestSuite() {
    delete vm_;
    vm_ = nullptr;
  }
  provium::Vm& vm() { return *vm_; }
  static provium::Vm* vm_;
};
provium::Vm* ExecTest::vm_ = nullptr;

TEST_F(ExecTest, ExitCodes) {
  EXPECT_EQ(vm().exec("true").exit_code, 0);
  EXPECT_TRUE(vm().exec("true").ok());
  EXPECT_EQ(vm().exec("false").exit_code, 1);
  EXPECT_EQ(vm().exec("exit 42").exit_code, 42);
  EXPECT_FALSE(vm().exec("exit 42").ok());
}

TEST_F(ExecTest, KilledBySignalIs128PlusSignal) {
  EXPECT_EQ(vm().exec("kill -9 $$").exit_code, 128 + 9);
}

TEST_F(ExecTest, StdoutAndStderrStayApart) {
  auto result = vm().exec("echo to-out; echo to-err >&2; echo more-out");
  EXPECT_EQ(result.out, "to-out\nmore-out\n");
  EXPECT_EQ(result.err, "to-err\n");
}

TEST_F(ExecTest, BinaryOutputWithNulBytes) {
  auto result = vm().exec(R"(printf 'a\000b\377c'; printf '\000\001' >&2)");
  EXPECT_EQ(result.out, std::string("a\0b\xff" "c", 5));
  EXPECT_EQ(result.err, std::string("\0\1", 2));
}

TEST_F(ExecTest, OutputLargerThanOneMebibyte) {
  // 3 MiB of a known pattern: every byte must arrive, in order.
  auto result = vm().exec("yes 0123456789abcde | head -c 3145728");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(result.out.size(), 3u * 1024 * 1024);
  std::string expected;
  while (expected.size() < result.out.size()) expected += "0123456789abcde\n";
  expected.resize(result.out.size());
  EXPECT_TRUE(result.out == expected) << "the large output was corrupted";
}

TEST_F(ExecTest, CommandsSeeTheGuestKernel) {
  auto version = vm().exec("cat /proc/version");
  ASSERT_TRUE(version.ok()) << version.err;
  auto release = vm().exec("uname -r");
  ASSERT_TRUE(release.ok());
  ASSERT_FALSE(release.out.empty());
  EXPECT_THAT(version.out, HasSubstr(release.out.substr(0, release.out.size() - 1)));
}

TEST_F(ExecTest, MissingCommandIs127WithItsMessage) {
  auto result = vm().exec("no-such-command");
  EXPECT_EQ(result.exit_code, 127);
  EXPECT_THAT(result.err, HasSubstr("not found"));
}

}  // namespace

namespace {

// A call's own deadline wins over the VM's, both ways; a missed one says how to raise it.
// Its own VM: a missed deadline retires the connection.
TEST(ExecDeadlineTest, ACallsOwnDeadlineWinsOverTheVms) {
  auto vm = provium::create();
  vm.boot();
  vm.set_timeout(std::chrono::seconds(1));
  EXPECT_EQ(vm.exec("sleep 2; echo done", {.timeout = std::chrono::seconds(20)}).out, "done\n");
  vm.write_file("/tmp/f", "x", {.timeout = std::chrono::seconds(5)});
  EXPECT_EQ(vm.read_file("/tmp/f", {.timeout = std::chrono::seconds(5)}), "x");
  vm.set_timeout(std::chrono::seconds(60));
  EXPECT_THAT([&] { vm.exec("sleep 5", {.timeout = std::chrono::milliseconds(500)}); },
              ::testing::ThrowsMessage<provium::TimeoutError>(::testing::AllOf(
                  HasSubstr("no answer within 0.5s"), HasSubstr("ExecOptions{.timeout = ...}"),
                  HasSubstr("PROVIUM_TIMEOUT"))));
}

}  // namespace
