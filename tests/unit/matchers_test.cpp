// The matchers and printers of provium/gtest.h, each shown failing with its message: what a
// developer reads when a syscall or a command in the guest did not do what the test says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include <provium/gtest.h>

namespace {

using provium::ExecExitsWith;
using provium::ExecOutputIs;
using provium::ExecResult;
using provium::ExecSucceeds;
using provium::SyscallFails;
using provium::SyscallFailsWithErrno;
using provium::SyscallResult;
using provium::SyscallSucceeds;
using provium::SyscallSucceedsWithValue;
using ::testing::AnyOf;
using ::testing::Gt;
using ::testing::HasSubstr;

// What EXPECT_THAT would say: the matcher's description, and its explanation of `value`.
template <class M, class T>
std::string failure(const M& matcher, const T& value) {
  const ::testing::Matcher<const T&> m = matcher;
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(m.MatchAndExplain(value, &listener)) << "expected to fail on " << ::testing::PrintToString(value);
  return ::testing::DescribeMatcher<const T&>(m) + " | " + listener.str();
}

TEST(SyscallMatchers, EachFailsNamingTheErrno) {
  const int64_t eacces = -EACCES;
  EXPECT_EQ(failure(SyscallSucceeds(), eacces), "succeeds | returned -13, EACCES (Permission denied)");
  EXPECT_EQ(failure(SyscallSucceedsWithValue(3), int64_t{2}), "succeeds with a value that is equal to 3 | returned 2");
  EXPECT_EQ(failure(SyscallSucceedsWithValue(Gt(0)), int64_t{0}), "succeeds with a value that is > 0 | returned 0");
  EXPECT_EQ(failure(SyscallSucceedsWithValue(Gt(-20)), eacces), "succeeds with a value that is > -20 | returned -13, EACCES (Permission denied)");
  EXPECT_EQ(failure(SyscallFails(), int64_t{4}), "fails | returned 4");
  EXPECT_EQ(failure(SyscallFailsWithErrno(EBADF), eacces),
            "fails with EBADF (Bad file descriptor) | returned -13, EACCES (Permission denied)");
  EXPECT_EQ(failure(SyscallFailsWithErrno(AnyOf(EPERM, ENOENT)), eacces),
            "fails with an errno that (is equal to 1) or (is equal to 2) | returned -13, EACCES (Permission denied)");
  EXPECT_EQ(failure(SyscallFailsWithErrno(EBADF), SyscallResult{0, {}}), "fails with EBADF (Bad file descriptor) | returned 0");
}

TEST(SyscallMatchers, EachPassesWhatItSays) {
  EXPECT_THAT(int64_t{5}, SyscallSucceeds());
  EXPECT_THAT(int64_t{5}, SyscallSucceedsWithValue(5));
  EXPECT_THAT((SyscallResult{7, {"x"}}), SyscallSucceedsWithValue(Gt(6)));
  EXPECT_THAT(int64_t{-EPERM}, SyscallFails());
  EXPECT_THAT(int64_t{-EPERM}, SyscallFailsWithErrno(AnyOf(EACCES, EPERM)));
  EXPECT_THAT((provium::IoctlResult{-ENOTTY, std::nullopt, {}}), SyscallFailsWithErrno(ENOTTY));
}

TEST(ExecMatchers, EachFailsShowingTheCommandsResult) {
  const ExecResult failed{2, "partial\n", "cat: /nope: No such file or directory\n"};
  EXPECT_EQ(failure(ExecSucceeds(), failed), "exits with 0 | ");
  EXPECT_EQ(failure(ExecExitsWith(0), failed), "exits with a code that is equal to 0 | ");
  EXPECT_EQ(failure(ExecExitsWith(Gt(5)), failed), "exits with a code that is > 5 | ");
  EXPECT_EQ(failure(ExecOutputIs("whole\n"), failed), "writes a stdout that is equal to \"whole\\n\" | ");
  EXPECT_EQ(failure(ExecOutputIs(HasSubstr("done")), failed), "writes a stdout that has substring \"done\" | ");
  EXPECT_THAT((ExecResult{0, "Linux\n", ""}), ::testing::AllOf(ExecSucceeds(), ExecExitsWith(0), ExecOutputIs("Linux\n")));
}

// EXPECT_THAT prints the value itself with these: the exit code and both outputs, or the errno.
TEST(Printers, ShowWhatTheGuestReturned) {
  EXPECT_EQ(::testing::PrintToString(ExecResult{2, "partial\n", "no such\n"}),
            "exit code 2, stdout \"partial\\n\", stderr \"no such\\n\"");
  EXPECT_EQ(::testing::PrintToString(provium::JobResult{-1, "so far", "", true}),
            "running, stdout \"so far\", stderr \"\"");
  EXPECT_EQ(::testing::PrintToString(provium::JobResult{137, "", "", false}), "exit code 137, stdout \"\", stderr \"\"");
  EXPECT_EQ(::testing::PrintToString(SyscallResult{-EFAULT, {"ab"}}), "-14, EFAULT (Bad address), \"ab\"");
  EXPECT_EQ(::testing::PrintToString(provium::IoctlResult{0, std::string("lo"), {}}), "0, out \"lo\"");
  const std::string long_output(3000, 'x');
  EXPECT_THAT(::testing::PrintToString(ExecResult{0, long_output, ""}), HasSubstr("stdout (1000 bytes before) \"xxx"));
}

}  // namespace
