// `provium shell` driven through a real pseudo-terminal, as a person at a terminal drives it:
// the test is the terminal emulator (forkpty), provium shell its program, on real VMs.
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace {

using ::testing::HasSubstr;

// provium shell on the slave side of a new pseudo-terminal of rows x cols.
class TerminalWindow {
 public:
  // `provium shell ARGS`, or with `program` that program and ARGS.
  TerminalWindow(unsigned short rows, unsigned short cols, std::vector<std::string> args = {},
                 std::string program = std::getenv("PROVIUM_CLI")) {
    if (program == std::getenv("PROVIUM_CLI")) args.insert(args.begin(), {"provium", "shell"});
    else args.insert(args.begin(), program);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    winsize size{rows, cols, 0, 0};
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~TerminalWindow() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }

  bool started() const { return pid_ > 0; }
  void type(const std::string& keys) { ASSERT_EQ(::write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size())); }
  void resize(unsigned short rows, unsigned short cols) {
    winsize size{rows, cols, 0, 0};
    ::ioctl(master_, TIOCSWINSZ, &size);  // the kernel tells provium shell with SIGWINCH
  }

  // Reads what the screen shows until `text` appears (true), the program ends or `patience`
  // passes (false: the screen's text is in screen()). What was read before `text` is dropped
  // from the next wait.
  bool wait_for(const std::string& text, std::chrono::milliseconds patience = std::chrono::minutes(1)) {
    const auto end = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < end) {
      if (const auto at = screen_.find(text, seen_); at != std::string::npos) {
        seen_ = at + text.size();
        return true;
      }
      fd_set readable;
      FD_ZERO(&readable);
      FD_SET(master_, &readable);
      timeval step{0, 200000};
      if (::select(master_ + 1, &readable, nullptr, nullptr, &step) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(master_, buffer, sizeof buffer);
      if (n <= 0) {  // EIO: the program closed the terminal
        closed_ = true;
        return false;
      }
      screen_.append(buffer, static_cast<std::size_t>(n));
    }
    return false;
  }

  // Its exit status once it ends (-1 when a signal ended it).
  int exit_status() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Whether the program has closed the terminal (it is ending).
  bool closed() const { return closed_; }

  const std::string& screen() const { return screen_; }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  bool closed_ = false;
  std::string screen_;
  std::size_t seen_ = 0;
};

// busybox's prompt. Markers below are what the shell prints only when it runs the line (the
// typed line, which the terminal echoes, holds $(...) instead).
constexpr const char* kPrompt = "# ";

TEST(ProviumShell, TypedCommandsRunOnTheGuestsTerminalWhoseSizeFollowsTheWindow) {
  TerminalWindow window(40, 100);
  ASSERT_TRUE(window.started());
  ASSERT_TRUE(window.wait_for("its console: ")) << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("echo mark-$((6*7)); tty\r");
  EXPECT_TRUE(window.wait_for("mark-42")) << window.screen();
  EXPECT_TRUE(window.wait_for("/dev/pts/")) << "the shell's stdin is not a terminal:\n" << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("echo size-$(stty size | tr ' ' x)\r");
  EXPECT_TRUE(window.wait_for("size-40x100")) << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  // The kernel signals provium shell at once, so the new size goes out before the next keys.
  window.resize(30, 90);
  window.type("echo resized-$(stty size | tr ' ' x)\r");
  EXPECT_TRUE(window.wait_for("resized-30x90")) << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("exit 3\r");
  EXPECT_EQ(window.exit_status(), 3) << window.screen();
}

TEST(ProviumShell, CtrlCInterruptsTheForegroundJobAndCtrlDEndsTheShell) {
  TerminalWindow window(24, 80);
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  // The marker comes from the job itself: the shell has left its line editing (where Ctrl-C is
  // a key, as on any terminal) and the job is in the foreground.
  window.type("sh -c 'echo sleeping-$((6*7)); exec sleep 600'\r");
  ASSERT_TRUE(window.wait_for("sleeping-42")) << window.screen();
  window.type("\x03");  // Ctrl-C: the guest's terminal sends SIGINT to its foreground job
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("echo status-$?\r");
  EXPECT_TRUE(window.wait_for("status-130")) << "sleep did not end by SIGINT:\n" << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  // Ctrl-D at the prompt: end of input, the shell exits. A Ctrl-D that comes while the shell
  // switches its terminal into line editing is lost, on any terminal: press it again, as a
  // person would.
  for (int press = 0; press < 50 && !window.closed(); ++press) {
    window.type("\x04");
    window.wait_for("(the end)", std::chrono::milliseconds(500));  // a moment, or until it ends
  }
  EXPECT_TRUE(window.closed()) << window.screen();
  EXPECT_EQ(window.exit_status(), 0) << window.screen();
}

// --provium_keep_failed: the failed test's VM stays for `provium shell --attach`, and the
// program goes on, and ends the VM, once that shell ends.
TEST(ProviumShell, AttachOpensAShellInTheVmThatAFailedTestKept) {
  const std::string command =
      std::string(std::getenv("PROVIUM_FAILING_FIXTURE_PROGRAM")) +
      " --gtest_filter=context.FailsAfterTheGuestSpoke --provium_keep_failed 2>&1";
  FILE* program = ::popen(command.c_str(), "r");
  ASSERT_NE(program, nullptr);
  std::string output, name;
  static const std::regex attach(R"(provium shell --attach (vm-\S+))");
  char line[4096];
  while (name.empty() && std::fgets(line, sizeof line, program)) {
    output += line;
    std::smatch match;
    const std::string text = line;
    if (std::regex_search(text, match, attach)) name = match[1];
  }
  ASSERT_FALSE(name.empty()) << "the program did not offer its VM:\n" << output;
  // The offer's next lines: a debugger for the same VM (a gdbstub started for it), which gdb
  // reaches; detaching lets the VM run on for the shell.
  while (output.find("target remote") == std::string::npos && std::fgets(line, sizeof line, program)) output += line;
  std::smatch socket;
  ASSERT_TRUE(std::regex_search(output, socket, std::regex("-ex 'target remote (\\S+)'"))) << output;
  const auto gdb = provium_test::ChildProcess({"/usr/bin/gdb", "-batch", "-nx", "-ex", "target remote " + socket[1].str(),
                                               "-ex", "info registers rip"},
                                              {})
                       .wait();
  EXPECT_THAT(gdb.output, ::testing::ContainsRegex("rip +0x[0-9a-f]+")) << gdb.output;

  const std::filesystem::path run_dir = std::filesystem::path(std::getenv("PROVIUM_RUN_DIR")) / name;
  EXPECT_TRUE(std::filesystem::exists(run_dir));

  TerminalWindow window(24, 80, {"--attach", name});
  ASSERT_TRUE(window.wait_for("attached to VM " + name)) << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  // What the failed test left is there: its VM, not a fresh one.
  window.type("echo kept-$((6*7)); cat /tmp/left-by-the-failed-test\r");
  EXPECT_TRUE(window.wait_for("kept-42")) << window.screen();
  EXPECT_TRUE(window.wait_for("left-here")) << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("exit\r");
  EXPECT_EQ(window.exit_status(), 0) << window.screen();

  while (std::fgets(line, sizeof line, program)) output += line;
  const int status = ::pclose(program);
  EXPECT_EQ(WEXITSTATUS(status), 1) << "its test failed:\n" << output;
  EXPECT_THAT(output, HasSubstr("[  FAILED  ] context.FailsAfterTheGuestSpoke"));
  EXPECT_FALSE(std::filesystem::exists(run_dir)) << "the kept VM outlived its program";
}

TEST(ProviumShell, AttachSaysWhatIsMissing) {
  TerminalWindow nobody(24, 80, {"--attach", "vm-nosuch"});
  EXPECT_TRUE(nobody.wait_for("no VM vm-nosuch runs here")) << nobody.screen();
  EXPECT_EQ(nobody.exit_status(), 125);
}

// A test program's --provium_shell=NAME: a shell in a fresh VM of its fixture NAME.
TEST(ProviumShell, ATestProgramOpensAShellInItsFixture) {
  TerminalWindow window(24, 80, {"--provium_shell=context"}, std::getenv("PROVIUM_FAILING_FIXTURE_PROGRAM"));
  ASSERT_TRUE(window.wait_for("a shell in a fresh VM of fixture 'context'")) << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("echo fixture-$((6*7)); test -e /tmp/left-by-the-failed-test || echo fresh-$((6*7))\r");
  EXPECT_TRUE(window.wait_for("fixture-42")) << window.screen();
  EXPECT_TRUE(window.wait_for("fresh-42")) << "not a fresh VM of the fixture:\n" << window.screen();
  ASSERT_TRUE(window.wait_for(kPrompt)) << window.screen();
  window.type("exit 4\r");
  EXPECT_EQ(window.exit_status(), 4) << window.screen();

  TerminalWindow unknown(24, 80, {"--provium_shell=nosuch"}, std::getenv("PROVIUM_FAILING_FIXTURE_PROGRAM"));
  EXPECT_TRUE(unknown.wait_for("--provium_shell=nosuch: ")) << unknown.screen();
  EXPECT_EQ(unknown.exit_status(), 125) << unknown.screen();
}

}  // namespace
