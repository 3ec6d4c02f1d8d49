// base/: text helpers and the owner lock that every lock file of Provium is.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <provium/error.h>

#include "base/owner_lock.h"
#include "base/text.h"
#include "support/temp_dir.h"

namespace {

using provium::base::last_lines;
using provium::base::OwnerLock;
using provium::base::plural;
using provium::testing::TempDir;

TEST(Text, LastLines) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb\nc", 5), "a\nb\nc");
  EXPECT_EQ(last_lines("a\r\nb\r\n", 1), "b");  // a serial console's line ends
  EXPECT_EQ(last_lines("", 3), "");
}

TEST(Text, Plural) {
  EXPECT_EQ(plural(1, "file", "files"), "1 file");
  EXPECT_EQ(plural(0, "file", "files"), "0 files");
  EXPECT_EQ(plural(3, "CPU", "CPUs"), "3 CPUs");
}

// Whether another process could take the lock of `path` now (flock locks belong to the open
// file, so a child's own open of the file contends with ours).
bool free_for_another_process(const std::filesystem::path& path) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(OwnerLock::try_acquire(path).held() ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(OwnerLock, HeldUntilReleasedAndExcludesOthers) {
  TempDir dir;
  const auto path = dir.path() / "lock";
  auto lock = OwnerLock::acquire(path);
  ASSERT_TRUE(lock.held());
  EXPECT_FALSE(free_for_another_process(path));
  EXPECT_FALSE(OwnerLock::try_acquire(path).held());  // a second open file, in this process
  EXPECT_FALSE(OwnerLock::try_acquire_existing(path).held());
  OwnerLock moved = std::move(lock);
  EXPECT_FALSE(lock.held());
  EXPECT_FALSE(free_for_another_process(path));
  moved.release();
  EXPECT_TRUE(free_for_another_process(path));
}

TEST(OwnerLock, ALockOfADeadOwnerCanBeTaken) {
  TempDir dir;
  const auto path = dir.path() / "lock";
  const pid_t child = ::fork();
  if (child == 0) {
    auto lock = OwnerLock::acquire(path);
    ::_exit(lock.held() ? 0 : 1);  // dies holding it
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(OwnerLock::try_acquire_existing(path).held());
}

TEST(OwnerLock, AMissingFileIsNeverTakenAsSomeoneElses) {
  TempDir dir;
  EXPECT_FALSE(OwnerLock::try_acquire_existing(dir.path() / "none").held());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "none"));
}

TEST(OwnerLock, AnOpenFileIsTakenOver) {
  TempDir dir;
  const auto path = dir.path() / "lock";
  auto first = OwnerLock::acquire(path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(OwnerLock::try_acquire(fd).held());  // and fd is closed
  first.release();
  const int again = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  auto second = OwnerLock::try_acquire(again);
  ASSERT_TRUE(second.held());
  EXPECT_EQ(second.fd(), again);
}

TEST(OwnerLock, AnUnopenableFileIsAnErrorNamingIt) {
  EXPECT_THROW(OwnerLock::acquire("/nonexistent-dir/lock"), provium::Error);
}

}  // namespace
