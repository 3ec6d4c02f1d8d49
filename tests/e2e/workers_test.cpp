// Workers: fork workers are processes of their own; thread workers share the agent's memory
// and file descriptors but keep their own credentials.
#include <fcntl.h>
#include <sys/syscall.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "shared_vm.h"

using provium::in;
using provium::out;
using provium::SyscallFailsWithErrno;
using provium::SyscallSucceeds;
using provium::SyscallSucceedsWithValue;
using ::testing::HasSubstr;

namespace {

using WorkerTest = SharedVmTest;

int64_t open_version(provium::Guest& guest) {
  return guest.syscall(SYS_openat, {AT_FDCWD, in(std::string("/proc/version") + '\0'), O_RDONLY, 0}).ret;
}

TEST_F(WorkerTest, ForkWorkersAreProcessesOfTheirOwn) {
  auto first = vm().spawn();
  auto second = vm().spawn();
  const int64_t agent = vm().syscall(SYS_getpid);
  EXPECT_EQ(first.syscall(SYS_getpid), first.pid());
  EXPECT_EQ(second.syscall(SYS_getpid), second.pid());
  EXPECT_NE(first.pid(), second.pid());
  EXPECT_NE(first.pid(), agent);
  EXPECT_EQ(first.exec("echo from-a-worker").out, "from-a-worker\n");
}

TEST_F(WorkerTest, ThreadWorkerSharesThePidButHasItsOwnTid) {
  auto thread = vm().spawn({.thread = true});
  const int64_t agent = vm().syscall(SYS_getpid);
  EXPECT_EQ(thread.syscall(SYS_getpid), agent);
  EXPECT_EQ(thread.syscall(SYS_gettid), thread.pid());
  EXPECT_NE(thread.syscall(SYS_gettid), vm().syscall(SYS_gettid));
}

TEST_F(WorkerTest, ThreadWorkerCredentialsAreItsOwn) {
  auto thread = vm().spawn({.thread = true});
  // Raw setresuid changes only the calling thread (libc's wrapper would change them all).
  EXPECT_THAT(thread.syscall(SYS_setresuid, 1000, 1000, 1000), SyscallSucceeds());
  EXPECT_THAT(thread.syscall(SYS_getuid), SyscallSucceedsWithValue(1000));
  EXPECT_THAT(vm().syscall(SYS_getuid), SyscallSucceedsWithValue(0));
}

TEST_F(WorkerTest, ThreadWorkerSharesFileDescriptorsAForkWorkerDoesNot) {
  auto thread = vm().spawn({.thread = true});
  const int64_t shared = open_version(thread);
  ASSERT_THAT(shared, SyscallSucceeds());
  EXPECT_THAT(vm().syscall(SYS_read, {shared, out(7), 7}), SyscallSucceedsWithValue(7));
  vm().syscall(SYS_close, shared);

  auto fork = vm().spawn();
  const int64_t own = open_version(fork);
  ASSERT_THAT(own, SyscallSucceeds());
  EXPECT_THAT(fork.syscall(SYS_fcntl, own, F_GETFD), SyscallSucceeds());
  // In the agent that number is free, or another file's (the agent's own descriptors, which
  // the worker closed, free low numbers in the worker only).
  const auto link = vm().syscall(
      SYS_readlinkat, {AT_FDCWD, provium::cstr("/proc/self/fd/" + std::to_string(own)), out(256), 256});
  if (link.ret >= 0) EXPECT_NE(link.out.front().substr(0, static_cast<std::size_t>(link.ret)), "/proc/version");
  else EXPECT_THAT(link, SyscallFailsWithErrno(ENOENT));
}

// A fork worker is a copy of the agent at fork time: what a test opened before the fork, with
// O_CLOEXEC too, is open in it under the same number; the agent's own descriptors are not.
TEST_F(WorkerTest, AForkWorkerKeepsTheDescriptorsATestOpenedBeforeIt) {
  const int64_t fd = vm().syscall(SYS_openat, {AT_FDCWD, provium::cstr("/proc/version"), O_RDONLY | O_CLOEXEC}).ret;
  ASSERT_THAT(fd, SyscallSucceeds());
  auto fork = vm().spawn();
  const auto read = fork.syscall(SYS_read, {fd, out(6), 6});
  EXPECT_THAT(read, SyscallSucceedsWithValue(6));
  EXPECT_EQ(read.out.front(), "Linux ");
  // the agent's own are not: of the ports, the worker holds only its own (not provium.0's)
  const auto ports = fork.exec("ls -l /proc/$PPID/fd | grep -c vport");
  EXPECT_EQ(ports.out, "1\n") << fork.exec("ls -l /proc/$PPID/fd").out;
  vm().syscall(SYS_close, fd);
}

// Jobs are the agent's: a fork worker asked about one says so; its own jobs are numbered after
// the agent's and are its own.
TEST_F(WorkerTest, AForkWorkerTellsTheAgentsJobsFromItsOwn) {
  auto job = vm().background("sleep 100");
  auto fork = vm().spawn();
  EXPECT_THAT([&] { fork.job_wait(job); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("is the agent's, started before this fork worker")));
  auto own = fork.background("echo mine");
  EXPECT_GT(own.id, job.id);
  const auto result = fork.job_wait(own, std::chrono::seconds(10));
  EXPECT_EQ(result.out, "mine\n");
  EXPECT_TRUE(vm().job_wait(job).running);  // still the agent's, untouched
  vm().job_kill(job);
}

TEST_F(WorkerTest, FifteenWorkersAtOnceAndNoSixteenth) {
  std::vector<provium::Worker> workers;
  std::set<int> pids;
  for (int i = 0; i < 15; ++i) {
    workers.push_back(vm().spawn({.thread = i % 2 == 1}));
    pids.insert(workers.back().pid());
  }
  EXPECT_EQ(pids.size(), 15u);
  for (std::size_t i = 0; i < workers.size(); ++i)
    EXPECT_EQ(workers[i].exec("echo " + std::to_string(i)).out, std::to_string(i) + "\n");
  EXPECT_THAT([&] { vm().spawn(); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("no free worker port")));
  workers.pop_back();  // its port is free again
  auto again = vm().spawn();
  EXPECT_THAT(again.exec("true"), ::provium::ExecSucceeds());
}

TEST_F(WorkerTest, WorkerKilledWhileItsJobRuns) {
  auto worker = vm().spawn();
  auto job = worker.background("sleep 100");
  EXPECT_TRUE(worker.job_wait(job).running);
  const int pid = worker.pid();
  worker.kill();
  EXPECT_THROW(worker.exec("true"), provium::Error);
  // The worker process exits (a zombie until the agent reaps it at its next spawn); the agent
  // and new workers are unaffected.
  const std::string proc = "/proc/" + std::to_string(pid);
  vm().wait_until([&] { return vm().exec("! test -d " + proc + " || grep -q 'State:.*Z' " + proc + "/status").ok(); },
                  std::chrono::seconds(10), std::chrono::milliseconds(50), "the worker to exit");
  EXPECT_THAT(vm().exec("true"), ::provium::ExecSucceeds());
  EXPECT_THAT(vm().spawn().exec("true"), ::provium::ExecSucceeds());
}

}  // namespace
