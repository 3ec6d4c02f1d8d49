// base/: text helpers, memory sizes, the run's settings, and the owner lock that every lock
// file of Provium is.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <string>

#include <provium/error.h>

#include "base/capture_output.h"
#include "base/decompress.h"
#include "base/memory_size.h"
#include "base/owner_lock.h"
#include "base/settings.h"
#include "base/text.h"
#include "support/compress.h"
#include "support/temp_dir.h"

namespace {

using provium::base::last_lines;
using provium::base::parse_memory_size;
using provium::base::Settings;
using provium::base::OwnerLock;
using provium::base::plural;
using provium::testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// Settings read from this environment instead of the process's.
Settings read(std::map<std::string, std::string> variables) {
  return Settings::read([&](const char* name) -> const char* {
    auto it = variables.find(name);
    return it == variables.end() ? nullptr : it->second.c_str();
  });
}

TEST(Text, LastLines) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb\nc", 5), "a\nb\nc");
  EXPECT_EQ(last_lines("a\r\nb\r\n", 1), "b");  // a serial console's line ends
  EXPECT_EQ(last_lines("", 3), "");
}

TEST(Text, LineBufferGivesWholeLinesAsTheyCome) {
  provium::base::LineBuffer lines;
  EXPECT_THAT(lines.feed("one\ntw"), ElementsAre("one"));
  EXPECT_THAT(lines.feed("o\n\nthr"), ElementsAre("two", ""));
  EXPECT_EQ(lines.rest(), "thr");
  EXPECT_EQ(lines.rest(), "");
  // a line that never ends comes out in pieces
  EXPECT_THAT(lines.feed(std::string(5000, 'x')), ElementsAre(std::string(5000, 'x')));
  EXPECT_THAT(lines.feed("y"), ElementsAre());
}

// A word the shell would change is quoted so that /bin/sh gives it back as it was.
TEST(Text, ShellQuoteKeepsEveryWordAsItIs) {
  EXPECT_EQ(provium::base::shell_quote("/run/vm-1/state"), "/run/vm-1/state");
  EXPECT_EQ(provium::base::shell_quote("a b"), "'a b'");
  EXPECT_EQ(provium::base::shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(provium::base::shell_quote(""), "''");
  for (const std::string word : {"$HOME", "x\"y", "it's", "a\nb", "*", "; rm -rf /", "`id`"}) {
    const std::string echoed = provium::base::capture_output({"/bin/sh", "-c", "printf %s " + provium::base::shell_quote(word)});
    EXPECT_EQ(echoed, word);
  }
}

// Without environment: what it says depends on its arguments alone; a failure is a status.
TEST(CaptureOutput, RunForOutputHasAnEmptyEnvironmentAndGivesTheStatus) {
  ::setenv("PROVIUM_TEST_LEAK", "leaked", 1);
  const auto run = provium::base::run_for_output({"/bin/sh", "-c", "echo \"[$PROVIUM_TEST_LEAK]\"; echo err >&2; exit 3"});
  EXPECT_EQ(run.exit_status, 3);
  EXPECT_EQ(run.output, "[]\nerr\n");
}

TEST(Text, SizeText) {
  EXPECT_EQ(provium::base::size_text(512 * 1024), "512 KiB");
  EXPECT_EQ(provium::base::size_text(uint64_t{96} << 20), "96.0 MiB");
  EXPECT_EQ(provium::base::size_text(uint64_t{20} << 30), "20.0 GiB");
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

// A holder may remove its lock file (an evicted cache entry's): whoever waited for it then
// locks the file that the path names, never the removed one.
TEST(OwnerLock, AWaiterOfARemovedLockFileLocksTheNewFile) {
  TempDir dir;
  const auto path = dir.path() / "entry.lock";
  OwnerLock holder = OwnerLock::acquire(path);
  auto waiter = std::async(std::launch::async, [&] { return OwnerLock::acquire(path); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  std::filesystem::remove(path);
  holder.release();
  OwnerLock taken = waiter.get();
  ASSERT_TRUE(taken.held());
  struct stat locked {}, named {};
  ASSERT_EQ(::fstat(taken.fd(), &locked), 0);
  ASSERT_EQ(::stat(path.c_str(), &named), 0) << "the waiter made a new lock file";
  EXPECT_EQ(locked.st_ino, named.st_ino);
  EXPECT_FALSE(free_for_another_process(path));
}

TEST(OwnerLock, AnUnopenableFileIsAnErrorNamingIt) {
  EXPECT_THROW(OwnerLock::acquire("/nonexistent-dir/lock"), provium::Error);
}

TEST(ParseMemorySize, QemuSyntax) {
  constexpr uint64_t MiB = 1024 * 1024;
  EXPECT_EQ(parse_memory_size("512M"), 512 * MiB);
  EXPECT_EQ(parse_memory_size("512m"), 512 * MiB);
  EXPECT_EQ(parse_memory_size("2048"), 2048 * MiB);
  EXPECT_EQ(parse_memory_size("1G"), 1024 * MiB);
  EXPECT_EQ(parse_memory_size("2g"), 2048 * MiB);
  EXPECT_EQ(parse_memory_size("65536K"), 64 * MiB);
  EXPECT_EQ(parse_memory_size("1T"), 1024 * 1024 * MiB);
  EXPECT_EQ(parse_memory_size("16777215T"), uint64_t{16777215} << 40);
}

TEST(ParseMemorySize, RejectsGarbageZeroAndOverflow) {
  for (const char* bad : {"", "M", "abc", "12X", "512MB", "1.5G", "-1G", "+1G", " 512M", "512M ",
                          "0x10M"}) {
    EXPECT_THAT([&] { parse_memory_size(bad); }, ThrowsMessage<provium::Error>(HasSubstr("bad memory size"))) << bad;
  }
  EXPECT_THAT([] { parse_memory_size("0"); }, ThrowsMessage<provium::Error>(HasSubstr("is zero")));
  EXPECT_THAT([] { parse_memory_size("0G"); }, ThrowsMessage<provium::Error>(HasSubstr("is zero")));
  EXPECT_THAT([] { parse_memory_size("16777216T"); }, ThrowsMessage<provium::Error>(HasSubstr("too large")));
  EXPECT_THAT([] { parse_memory_size("18446744073709551616"); }, ThrowsMessage<provium::Error>(HasSubstr("too large")));
  EXPECT_THAT([] { parse_memory_size("17592186044416"); }, ThrowsMessage<provium::Error>(HasSubstr("too large")));
}


TEST(Settings, DefaultsWithoutAnyVariable) {
  const Settings settings = read({{"HOME", "/home/k"}, {"XDG_RUNTIME_DIR", "/run/user/7"}});
  EXPECT_EQ(settings.config, std::nullopt);
  EXPECT_EQ(settings.accel, "");
  EXPECT_EQ(settings.pool_memory, std::nullopt);
  EXPECT_EQ(settings.pool_cpus, std::nullopt);
  EXPECT_EQ(settings.operation_timeout, std::chrono::seconds(60));
  EXPECT_TRUE(settings.spares);
  EXPECT_FALSE(settings.require_prerequisites);
  EXPECT_FALSE(settings.stream_output);
  EXPECT_EQ(settings.run_root, "/run/user/7/provium");
  EXPECT_EQ(settings.cache_root, "/home/k/.cache/provium");
  EXPECT_EQ(settings.cid_dir, "/tmp/provium-cids");
  EXPECT_EQ(settings.environment(nullptr), std::vector<std::string>{});
}

TEST(Settings, EachVariableIsReadTyped) {
  const Settings settings = read({{"PROVIUM_POOL_MEM", "2G"}, {"PROVIUM_POOL_CPUS", "3"}, {"PROVIUM_TIMEOUT", "1.5"},
                                  {"PROVIUM_SPARES", "0"}, {"PROVIUM_REQUIRE", "1"}, {"PROVIUM_STREAM", "1"},
                                  {"PROVIUM_ACCEL", "tcg"},
                                  {"PROVIUM_RUN_DIR", "/r"}, {"PROVIUM_CACHE_DIR", "/c"}, {"PROVIUM_CID_DIR", "/cids"},
                                  {"XDG_CACHE_HOME", "/x"}});
  EXPECT_EQ(settings.pool_memory, uint64_t{2} << 30);
  EXPECT_EQ(settings.pool_cpus, 3);
  EXPECT_EQ(settings.operation_timeout, std::chrono::milliseconds(1500));
  EXPECT_FALSE(settings.spares);
  EXPECT_TRUE(settings.require_prerequisites);
  EXPECT_TRUE(settings.stream_output);
  EXPECT_TRUE(settings.check_kernel_reports);  // the default
  EXPECT_FALSE(read({{"PROVIUM_KERNEL_REPORTS", "ignore"}}).check_kernel_reports);
  EXPECT_EQ(settings.accel, "tcg");
  EXPECT_EQ(settings.run_root, "/r");
  EXPECT_EQ(settings.cache_root, "/c");
  EXPECT_EQ(settings.cid_dir, "/cids");
}

TEST(Settings, ARenamedVariableIsAnErrorNamingItsNewName) {
  EXPECT_THAT([] { read({{"PROVIUM_PRESTART", "0"}}); },
              ThrowsMessage<provium::Error>(HasSubstr("PROVIUM_PRESTART is now called PROVIUM_SPARES")));
  EXPECT_FALSE(read({{"PROVIUM_SPARES", "0"}}).spares);
}

TEST(Settings, AMalformedValueNamesWhereItCameFrom) {
  EXPECT_THAT([] { read({{"PROVIUM_POOL_CPUS", "two"}}); },
              ThrowsMessage<provium::Error>(HasSubstr("PROVIUM_POOL_CPUS is \"two\"")));
  EXPECT_THAT([] { read({{"PROVIUM_POOL_CPUS", "0"}}); }, ThrowsMessage<provium::Error>(HasSubstr("from 1 to 4096")));
  EXPECT_THAT([] { read({{"PROVIUM_POOL_MEM", "lots"}}); },
              ThrowsMessage<provium::Error>(HasSubstr("PROVIUM_POOL_MEM: bad memory size")));
  EXPECT_THAT([] { read({{"PROVIUM_TIMEOUT", "-3"}}); }, ThrowsMessage<provium::Error>(HasSubstr("number of seconds")));
  EXPECT_THAT([] { read({{"PROVIUM_SPARES", "no"}}); }, ThrowsMessage<provium::Error>(HasSubstr("1 or 0")));
  EXPECT_THAT([] { read({{"PROVIUM_KERNEL_REPORTS", "off"}}); },
              ThrowsMessage<provium::Error>("PROVIUM_KERNEL_REPORTS is \"off\"; it must be one of check, ignore"));
  Settings settings = read({});
  EXPECT_THAT([&] { settings.set("PROVIUM_ACCEL", "xen", "--provium_accel"); },
              ThrowsMessage<provium::Error>("--provium_accel is \"xen\"; it must be one of auto, kvm, tcg"));
  EXPECT_THAT([&] { settings.set("PROVIUM_NOPE", "1", "--provium_nope"); }, ThrowsMessage<provium::Error>(HasSubstr("no setting")));
}

TEST(Settings, ACacheSizeIsAMemorySize) {
  EXPECT_EQ(read({{"PROVIUM_CACHE_SIZE", "5G"}}).cache_size, uint64_t{5} << 30);
  EXPECT_EQ(read({}).cache_size, std::nullopt);
  EXPECT_THAT([] { read({{"PROVIUM_CACHE_SIZE", "big"}}); },
              ThrowsMessage<provium::Error>(HasSubstr("PROVIUM_CACHE_SIZE: bad memory size")));
}

TEST(Settings, AFlagReplacesTheVariableAndEmptyGivesTheDefaultBack) {
  Settings settings = read({{"PROVIUM_POOL_CPUS", "3"}, {"PROVIUM_RUN_DIR", "/r"}, {"XDG_RUNTIME_DIR", "/run/user/7"}});
  settings.set("PROVIUM_POOL_CPUS", "5", "--provium_pool_cpus");
  EXPECT_EQ(settings.pool_cpus, 5);
  settings.set("PROVIUM_RUN_DIR", "", "test");
  EXPECT_EQ(settings.run_root, "/run/user/7/provium");
}

TEST(Settings, AChildGetsTheSettingsInPlaceOfTheInheritedVariables) {
  Settings settings = read({{"PROVIUM_POOL_CPUS", "3"}});
  settings.set("PROVIUM_ACCEL", "tcg", "--accel");
  const char* inherited[] = {"HOME=/home/k", "PROVIUM_POOL_CPUS=3", "PROVIUM_ACCEL=kvm", "PROVIUM_TEST_DATA=/d", nullptr};
  EXPECT_THAT(settings.environment(inherited),
              ElementsAre("HOME=/home/k", "PROVIUM_TEST_DATA=/d", "PROVIUM_ACCEL=tcg", "PROVIUM_POOL_CPUS=3"));
}

TEST(RunProgram, AFailureCarriesWhatTheProgramSaid) {
  EXPECT_NO_THROW(provium::base::run_program({"/bin/sh", "-c", "echo fine"}));
  EXPECT_THAT([] { provium::base::run_program({"/bin/sh", "-c", "echo first; echo 'no such backing file' >&2; exit 3"}); },
              ThrowsMessage<provium::Error>(AllOf(HasSubstr("exited with status 3"), HasSubstr("no such backing file"))));
  EXPECT_THAT([] { provium::base::run_program({"/nonexistent/qemu-img"}); },
              ThrowsMessage<provium::Error>(HasSubstr("cannot start")));
}

TEST(Decompress, EachFormatWholeAndFoundByItsMagic) {
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>(i * 7 % 251);  // more than one chunk
  for (const auto& [format, compressed] : {std::pair{"gzip", provium::testing::gzip(data)},
                                           {"xz", provium::testing::xz(data)}, {"zstd", provium::testing::zstd(data)}}) {
    EXPECT_EQ(provium::base::compression_of(compressed), format);
    EXPECT_EQ(provium::base::decompress(format, compressed, 1 << 30), data) << format;
    EXPECT_THAT([&] { provium::base::decompress(format, compressed, 1000); },
                ThrowsMessage<provium::Error>(HasSubstr("more than 1000 bytes"))) << format;
    EXPECT_THROW(provium::base::decompress(format, compressed.substr(0, compressed.size() / 2), 1 << 30),
                 provium::Error) << format << " truncated";
  }
  EXPECT_EQ(provium::base::compression_of("\x7f" "ELF"), "");
  EXPECT_THAT([] { provium::base::decompress("bzip2", "BZh", 10); },
              ThrowsMessage<provium::Error>(HasSubstr("bzip2-compressed data cannot be decompressed here")));
}

}  // namespace
