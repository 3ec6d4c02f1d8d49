// `provium run` end to end, as a user runs it: real VMs, the real provium executable. Its output
// is the command's, its exit status the command's, and what goes wrong in the VM (a panic, a
// deadline, a kernel report) is a non-zero status with the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/processes.h"
#include "support/kernel.h"
#include "support/temp_dir.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// `provium run ARGS` in `directory` (default: this process's).
provium_test::ChildRun provium_run(std::vector<std::string> args, const std::string& directory = ".") {
  args.insert(args.begin(), {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory, std::getenv("PROVIUM_CLI"), "run"});
  return provium_test::ChildProcess(args, {}).wait();
}

TEST(ProviumRun, PrintsTheCommandsOutputAndExitsWithItsStatus) {
  const auto ok = provium_run({"--", "echo out; echo err >&2; uname -s"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("out\n"));
  EXPECT_THAT(ok.output, HasSubstr("err\n"));
  EXPECT_THAT(ok.output, HasSubstr("Linux\n"));

  const auto failing = provium_run({"--memory", "256M", "sh", "-c", "exit 7"});
  EXPECT_EQ(failing.exit_code, 7) << failing.output;
  EXPECT_THAT(failing.output, Not(HasSubstr("provium run:")));
}

// Several words are a program and its arguments, each arriving as typed (spaces, quotes, `$`);
// a single word is a shell command line, pipes and all.
TEST(ProviumRun, RunsTheArgumentsExactlyAsTyped) {
  const auto words = provium_run({"--", "printf", "[%s]\\n", "a b", "it's", "$HOME", "x\"y", ""});
  EXPECT_EQ(words.exit_code, 0) << words.output;
  EXPECT_EQ(words.output, "[a b]\n[it's]\n[$HOME]\n[x\"y]\n[]\n");
  const auto two = provium_run({"--", "sh", "-c", "uname -s; echo second"});
  EXPECT_EQ(two.output, "Linux\nsecond\n") << "sh -c gets its script whole";
  const auto pipeline = provium_run({"--", "echo one two three | wc -w"});
  EXPECT_EQ(pipeline.exit_code, 0) << pipeline.output;
  EXPECT_THAT(pipeline.output, HasSubstr("3\n"));
}

TEST(ProviumRun, AKernelPanicExitsWithTheReason) {
  const auto panic = provium_run({"--", "echo c > /proc/sysrq-trigger"});
  EXPECT_EQ(panic.exit_code, 125) << panic.output;
  EXPECT_THAT(panic.output, HasSubstr("provium run:"));
  EXPECT_THAT(panic.output, HasSubstr("Kernel panic")) << panic.output;
}

TEST(ProviumRun, ADeadlineExitsWith124) {
  const auto late = provium_run({"--timeout", "2", "--", "sleep", "30"});
  EXPECT_EQ(late.exit_code, 124) << late.output;
  EXPECT_THAT(late.output, HasSubstr("not done within its deadline"));
}

TEST(ProviumRun, AKernelReportFailsACommandThatSucceeded) {
  const auto warned = provium_run({"--", "echo '<4>WARNING: CPU: 0 PID: 1 at drivers/provium/run.c:1 probe+0x1/0x2' > /dev/kmsg"});
  EXPECT_EQ(warned.exit_code, 125) << warned.output;
  EXPECT_THAT(warned.output, HasSubstr("drivers/provium/run.c:1"));
}

TEST(ProviumRun, KernelBootsAnImageWithoutAConfigFile) {
  const auto kernel = provium_test::newest_kernel();
  ASSERT_FALSE(kernel.empty()) << "no /boot/vmlinuz-* on this host";
  const auto run = provium_run({"--kernel", kernel.string(), "--", "cat", "/proc/version"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("Linux version"));
}

TEST(ProviumRun, FixtureResumesALuaFixtureOfTheWorkingDirectory) {
  provium::testing::TempDir project;
  project.write("tests/fixtures/warm.lua",
                "local vm = provium.create(\"default\")\nvm:boot()\nvm:write_file(\"/tmp/warm\", \"prepared\\n\")\n");
  const auto run = provium_run({"--fixture", "warm", "--", "cat", "/tmp/warm"}, project.path().string());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("prepared\n"));
  const auto missing = provium_run({"--fixture", "cold", "--", "true"}, project.path().string());
  EXPECT_EQ(missing.exit_code, 125) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("holds no snapshot of a fixture named 'cold': run the test program that "
                                        "defines PROVIUM_FIXTURE(cold) once to build it"));
}

// A C++ fixture is resumed without its program, as the program last built it: the body's work
// is there, in a VM booted as the fixture's entry records.
TEST(ProviumRun, FixtureResumesACppFixtureAsItsProgramBuiltIt) {
  const auto built = provium_test::ChildProcess(
                         {std::getenv("PROVIUM_FAILING_FIXTURE_PROGRAM"), "--gtest_filter=context.Passes"}, {})
                         .wait();
  ASSERT_EQ(built.exit_code, 0) << built.output;
  const auto run = provium_run({"--fixture", "context", "--", "cat", "/tmp/prepared-by-the-fixture"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "prepared\n");

  // One command, one VM: no spare QEMU is resumed beside it for a next VM that never comes.
  provium_test::ChildProcess sleeping({"/bin/sh", "-c", "exec \"$@\"", "sh", std::getenv("PROVIUM_CLI"), "run",
                                       "--fixture", "context", "--", "sleep 3; echo slept"},
                                      {});
  std::size_t most = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(std::chrono::milliseconds(50)))
    most = std::max(most, provium_test::child_processes(sleeping.pid()).size());
  const auto slept = sleeping.wait();
  EXPECT_EQ(slept.output, "slept\n");
  EXPECT_EQ(most, 1u) << "QEMU processes of provium run at once";
}

TEST(ProviumRun, FileAndDiskOptionsPutThemIntoTheVm) {
  provium::testing::TempDir dir;
  const auto file = dir.write("tool/data.txt", "from the host\n");
  const auto image = dir.write("ro.img", "read-only disk" + std::string(1 << 20, '\0'));
  const auto writable = dir.write("rw.img", std::string(1 << 20, '\0'));
  const auto run = provium_run({"--file", file.string() + ":/opt/data.txt", "--file", (dir.path() / "tool").string() + ":/opt/tool",
                                "--disk", image.string() + ":ro", "--disk", writable.string(), "--",
                                "cat /opt/data.txt /opt/tool/data.txt && head -c 14 /dev/vda && echo && "
                                "printf written > /dev/vdb && sync && ! printf x > /dev/vda"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("from the host\nfrom the host\nread-only disk\n"));
  std::ifstream in(writable, std::ios::binary);
  std::string head(7, '\0');
  in.read(head.data(), 7);
  EXPECT_EQ(head, "written") << "a writable --disk is the image itself";
}

TEST(ProviumRun, BadCommandLinesExitTwoWithTheUsage) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, {"--"}, {"--cpus", "0", "--", "true"}, {"--nope", "true"},
        {"--kernel", "/x", "--profile", "p", "--", "true"}, {"--fixture", "f", "--kernel", "/x", "--", "true"},
        {"--attach", "vm-x", "--", "true"}, {"--file", "no-guest-path", "--", "true"}, {"--file", "/etc/hosts:", "--", "true"},
        {"--disk", "/nonexistent.img", "--", "true"}, {"--fixture", "f", "--file", "/etc/hosts:/h", "--", "true"}}) {
    const auto run = provium_run(args);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr("usage: provium run"));
  }
}

}  // namespace
