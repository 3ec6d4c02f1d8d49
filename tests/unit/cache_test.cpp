// The fixture cache without VMs: keys, entry checks, publishing and the build lock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include <provium/error.h>

#include "base/files.h"
#include "cache/cache.h"
#include "cache/key.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using provium::cache::Cache;
using provium::cache::EntryMeta;
using provium::cache::KeyBuilder;
using provium::testing::TempDir;

namespace {

void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

TEST(KeyTest, SameInputsSameKeyAndEveryInputCounts) {
  auto key = [](std::string a, std::string b) { return KeyBuilder().add("a", a).add("b", b).hex(); };
  EXPECT_EQ(key("x", "y"), key("x", "y"));
  EXPECT_EQ(key("x", "y").size(), 32u);
  EXPECT_NE(key("x", "y"), key("x", "z"));
  EXPECT_NE(key("xy", ""), key("x", "y"));  // lengths are part of the key: no concatenation clash
  EXPECT_NE(KeyBuilder().add("a", "1").hex(), KeyBuilder().add("b", "1").hex());
}

TEST(KeyTest, FilesAndTreesByContent) {
  TempDir dir;
  write(dir.path() / "f", "one");
  const auto first = KeyBuilder().add_file("f", dir.path() / "f").hex();
  write(dir.path() / "f", "two");
  EXPECT_NE(KeyBuilder().add_file("f", dir.path() / "f").hex(), first);
  fs::create_directories(dir.path() / "tree/sub");
  write(dir.path() / "tree/sub/a", "a");
  const auto tree = KeyBuilder().add_tree("t", dir.path() / "tree").hex();
  write(dir.path() / "tree/b", "b");
  EXPECT_NE(KeyBuilder().add_tree("t", dir.path() / "tree").hex(), tree);
  EXPECT_THROW(KeyBuilder().add_file("f", dir.path() / "missing"), provium::Error);
}

// A fixture's boot `files` with a host path that is not there: the error speaks of the option.
TEST(KeyTest, AMissingBootFileIsNamedByTheOptionAndBothPaths) {
  TempDir dir;
  provium::BootOptions boot;
  boot.files = {{"/opt/tool", (dir.path() / "absent").string()}};
  KeyBuilder key;
  EXPECT_THAT([&] { provium::cache::add_boot_options(key, boot); },
              ::testing::ThrowsMessage<provium::Error>(
                  ::testing::StrEq("files: guest path /opt/tool from host path " + (dir.path() / "absent").string() +
                                   ": no such file or directory")));
}

// A complete entry built the way the registry builds one.
provium::cache::Entry publish(Cache& cache, const std::string& name, const std::string& key) {
  auto build = cache.begin_build(name, key);
  write(build.ram(), std::string(4096, 'r'));
  write(build.state(), std::string(100, 's'));
  write(build.initrd(), "initrd");
  return cache.publish(build, EntryMeta{name, key, 4096, 100, "", 1.5, ""});
}

TEST(CacheTest, PublishedEntryIsFoundAndListed) {
  TempDir dir;
  Cache cache(dir.path());
  EXPECT_FALSE(cache.find("f", "k1"));
  auto entry = publish(cache, "f", "k1");
  auto found = cache.find("f", "k1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->dir, entry.dir);
  EXPECT_FALSE(cache.find("f", "k2"));
  ASSERT_EQ(cache.list().size(), 1u);
  EXPECT_EQ(cache.list()[0].fixture, "f");
  EXPECT_EQ(cache.clean(), 1u);
  EXPECT_FALSE(cache.find("f", "k1"));
}

TEST(CacheTest, DamagedEntriesAreRemoved) {
  TempDir dir;
  Cache cache(dir.path());
  auto truncated = publish(cache, "f", "truncated");
  fs::resize_file(truncated.state(), 50);
  EXPECT_FALSE(cache.find("f", "truncated"));
  EXPECT_TRUE(fs::exists(truncated.dir));  // only removed by one holding the build lock
  EXPECT_FALSE(cache.find("f", "truncated", /*remove_damaged=*/true));
  EXPECT_FALSE(fs::exists(truncated.dir));

  auto no_ram = publish(cache, "f", "no_ram");
  fs::remove(no_ram.ram());
  EXPECT_FALSE(cache.find("f", "no_ram"));

  auto bad_meta = publish(cache, "f", "bad_meta");
  write(bad_meta.meta(), "{ not json");
  EXPECT_FALSE(cache.find("f", "bad_meta"));
}

TEST(CacheTest, DiscardRemovesOnlyTheSameBuild) {
  TempDir dir;
  Cache cache(dir.path());
  publish(cache, "f", "k");
  auto old_entry = cache.find("f", "k");
  ASSERT_TRUE(old_entry);
  publish(cache, "f", "k");  // rebuilt by another process meanwhile
  cache.discard("f", "k", *old_entry, "it failed to restore");
  EXPECT_TRUE(cache.find("f", "k"));  // the new build stays
  auto current = *cache.find("f", "k");
  cache.discard("f", "k", current, "it failed to restore");
  EXPECT_FALSE(cache.find("f", "k"));
}

TEST(CacheTest, BuildDirectoriesAreNotEntriesAndADeadBuildersAreSwept) {
  TempDir dir;
  Cache cache(dir.path());
  auto abandoned = cache.begin_build("f", "k");  // its builder "died"
  auto other_key = cache.begin_build("f", "other");
  EXPECT_TRUE(cache.list().empty());
  auto next = cache.begin_build("f", "k");
  EXPECT_FALSE(fs::exists(abandoned.dir));
  EXPECT_TRUE(fs::exists(other_key.dir));  // another key: maybe being built right now
  EXPECT_TRUE(fs::exists(next.dir));
}

TEST(CacheTest, BuildLockIsExclusiveUntilReleased) {
  TempDir dir;
  Cache cache(dir.path());
  std::atomic<bool> second_has_it = false;
  std::thread second;
  {
    auto held = cache.lock("f", "k");
    second = std::thread([&] {
      Cache other(dir.path());
      auto lock = other.lock("f", "k");  // a lock file opened anew: flock excludes it
      second_has_it = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(second_has_it);
  }
  second.join();
  EXPECT_TRUE(second_has_it);
}

TEST(PrivateDirectoryTest, CreatedPrivateAndLooseModesTightened) {
  TempDir dir;
  const auto made = dir.path() / "a/b";
  provium::base::ensure_private_directory(made);
  EXPECT_EQ(fs::status(made).permissions() & fs::perms::all, fs::perms::owner_all);
  fs::permissions(made, fs::perms::all);
  provium::base::ensure_private_directory(made);
  EXPECT_EQ(fs::status(made).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(PrivateDirectoryTest, SymlinkOrFileInItsPlaceIsRefused) {
  TempDir dir;
  fs::create_directories(dir.path() / "real");
  fs::create_directory_symlink(dir.path() / "real", dir.path() / "link");
  EXPECT_THROW(provium::base::ensure_private_directory(dir.path() / "link"), provium::Error);
  write(dir.path() / "file", "x");
  EXPECT_THAT([&] { provium::base::ensure_private_directory(dir.path() / "file"); },
              ::testing::ThrowsMessage<provium::Error>(
                  ::testing::HasSubstr((dir.path() / "file").string())));
}

}  // namespace
