// The test process that clean_exit_test.cpp runs over a hundred times: a VM resumed from a
// fixture (so a spare QEMU starts behind it), two workers and a background job, ended by the
// test returning or by exit() in the middle of the test. Built twice: with provium_gtest_main,
// and with a main() of its own that never calls provium::testing::ExitCode (PROVIUM_OWN_MAIN).
// The process checks itself that Provium left no thread and no child process behind, when
// RUN_ALL_TESTS returns (own main) and at exit, and exits with status 99 saying what it found.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "../e2e/support/processes.h"

PROVIUM_FIXTURE(exiting) { vm.exec("echo prepared > /tmp/prepared"); }

namespace {

constexpr int kLeftoverStatus = 99;

// What runs besides the main thread: threads of this process, and its child processes.
std::string leftovers() {
  std::string found;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task"))
    if (task.path().filename() != std::to_string(::getpid()))
      found += " thread " + task.path().filename().string();
  for (int child : provium_test::child_processes()) found += " child process " + std::to_string(child);
  return found;
}

void check_nothing_left(const char* when) {
  const std::string found = leftovers();
  if (found.empty()) return;
  std::fprintf(stderr, "clean exit broken %s:%s\n", when, found.c_str());
  std::fflush(stderr);
  ::_exit(kLeftoverStatus);
}

// Registered at static initialization, before Provium starts its loop, so it runs after
// Provium's own atexit handler, whichever way the process exits.
[[maybe_unused]] const bool checked_at_exit =
    (std::atexit([] { check_nothing_left("at exit"); }), true);

// Leaves the VM busy: two workers and a job still running.
void use(provium::Vm& vm, provium::Worker& thread_worker, provium::Worker& fork_worker) {
  thread_worker = vm.spawn({.thread = true});
  fork_worker = vm.spawn();
  EXPECT_EQ(thread_worker.read_file("/tmp/prepared"), "prepared\n");
  EXPECT_EQ(fork_worker.exec("cat /tmp/prepared").out, "prepared\n");
  vm.background("sleep 600");
}

TEST_F(exiting, DISABLED_Returns) {
  provium::Worker thread_worker, fork_worker;
  use(vm, thread_worker, fork_worker);
}

TEST_F(exiting, DISABLED_CallsExitMidTest) {
  provium::Worker thread_worker, fork_worker;
  use(vm, thread_worker, fork_worker);
  std::fflush(stdout);
  std::exit(0);  // the VM, its workers and the spare are all still there
}

}  // namespace

#ifdef PROVIUM_OWN_MAIN
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  provium::testing::Init(&argc, argv);
  const int result = RUN_ALL_TESTS();
  check_nothing_left("when RUN_ALL_TESTS returned");
  return result;
}
#endif
