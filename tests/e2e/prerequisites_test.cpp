// A host without QEMU: a Provium test program skips everything with the reason and exits 77
// (meson's "skipped"), or fails when PROVIUM_REQUIRE=1 (what CI sets).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

using ::testing::HasSubstr;

extern char** environ;

namespace {

struct ProgramRun {
  int exit_code = -1;
  std::string output;
};

// Runs the example test program with PATH emptied, so that QEMU cannot be found.
ProgramRun run_example_without_qemu(bool require) {
  const char* program = std::getenv("PROVIUM_EXAMPLE_PROGRAM");
  EXPECT_NE(program, nullptr) << "meson passes PROVIUM_EXAMPLE_PROGRAM";
  std::vector<std::string> env = {"PATH=/nonexistent"};
  if (require) env.push_back("PROVIUM_REQUIRE=1");
  for (char** var = environ; *var; ++var) {
    std::string entry = *var;
    if (entry.rfind("PATH=", 0) != 0 && entry.rfind("PROVIUM_REQUIRE=", 0) != 0) env.push_back(entry);
  }
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  char* argv[] = {const_cast<char*>(program), nullptr};
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, program, &actions, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  ProgramRun run;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) run.output.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(PrerequisitesTest, MissingQemuSkipsEverythingWithTheReasonAndExits77) {
  ProgramRun run = run_example_without_qemu(false);
  EXPECT_EQ(run.exit_code, 77) << run.output;
  EXPECT_THAT(run.output, HasSubstr("QEMU not found"));
  EXPECT_THAT(run.output, HasSubstr("every test was skipped"));
}

TEST(PrerequisitesTest, RequireTurnsTheSkipIntoAFailure) {
  ProgramRun run = run_example_without_qemu(true);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("QEMU not found"));
  EXPECT_THAT(run.output, HasSubstr("PROVIUM_REQUIRE=1"));
}

}  // namespace
