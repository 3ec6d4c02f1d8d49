// The fixture cache without VMs: keys, entry checks, publishing, the build lock and fixture
// archives (made by hand where they must be damaged).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <type_traits>
#include <thread>

#include <provium/error.h>

#include "base/boot_fields.h"
#include "base/files.h"
#include "cache/archive.h"
#include "cache/cache.h"
#include "cache/key.h"
#include "cache/machine_record.h"
#include "config/config.h"
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
  EXPECT_THAT([&] { provium::cache::add_boot_options(key, boot, provium::config::Profile{}); },
              ::testing::ThrowsMessage<provium::Error>(
                  ::testing::StrEq("files: guest path /opt/tool from host path " + (dir.path() / "absent").string() +
                                   ": no such file or directory")));
}

// A boot option's value as text, to compare two BootOptions field by field.
std::string option_text(const std::string& value) { return value; }
std::string option_text(int value) { return std::to_string(value); }
std::string option_text(std::chrono::milliseconds value) { return std::to_string(value.count()); }
std::string option_text(const std::map<std::string, std::string>& files) {
  std::string text;
  for (const auto& [guest, host] : files) text += guest + "=" + host + ";";
  return text;
}
std::string option_text(const std::vector<provium::Disk>& disks) {
  std::string text;
  for (const auto& disk : disks) text += disk.path + ":" + disk.format + ":" + std::to_string(disk.readonly) + ";";
  return text;
}
std::string option_text(const std::vector<provium::Share>& shares) {
  std::string text;
  for (const auto& share : shares) text += share.host + ":" + share.guest + ":" + std::to_string(share.readonly) + ";";
  return text;
}

// Every boot option (base/boot_fields.h) reaches the key, but the boot's deadline, which shapes
// nothing in a snapshot; and every one comes back from the entry's machine record as it went in.
TEST(KeyTest, EveryBootOptionButTheDeadlineIsInTheKeyAndTheMachineRecord) {
  using namespace std::chrono_literals;
  TempDir dir;
  write(dir.path() / "f.txt", "a file");
  write(dir.path() / "d.img", std::string(4096, '\0'));
  const provium::BootOptions defaults;
  const provium::BootOptions changed{.memory = "1G",
                                     .cpus = 3,
                                     .max_workers = 4,
                                     .files = {{"/opt/f.txt", (dir.path() / "f.txt").string()}},
                                     .disks = {{(dir.path() / "d.img").string(), "raw", true}},
                                     .shares = {{dir.path().string(), "/mnt/s", true}},
                                     .timeout = 5s};
  const auto profile = provium::config::current().profile("default");
  auto key_of = [&](const provium::BootOptions& boot) {
    KeyBuilder key;
    provium::cache::add_boot_options(key, boot, profile);
    return key.hex();
  };
  int fields = 0;
  provium::base::each_boot_field(changed, [&](const char* name, const auto& value) {
    provium::BootOptions one = defaults;
    provium::base::each_boot_field(one, [&](const char* other, auto& field) {
      if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::decay_t<decltype(value)>>)
        if (std::string_view(other) == name) field = value;
    });
    if (std::string_view(name) == "timeout") EXPECT_EQ(key_of(one), key_of(defaults)) << name;
    else EXPECT_NE(key_of(one), key_of(defaults)) << name << " is not in the key";
    ++fields;
  });
  EXPECT_EQ(fields, 7);

  Cache cache(dir.path() / "cache");
  const auto entry = cache.begin_build("f", "k");
  provium::cache::write_machine_record(entry, "default", changed);
  const auto record = provium::cache::read_machine_record(entry);
  EXPECT_EQ(record.profile, "default");
  std::map<std::string, std::string> wrote, read;
  auto to_text = [](std::map<std::string, std::string>& texts) {
    return [&texts](const char* name, const auto& field) { texts[name] = option_text(field); };
  };
  provium::base::each_boot_field(changed, to_text(wrote));
  provium::base::each_boot_field(record.boot, to_text(read));
  EXPECT_EQ(read, wrote);
  EXPECT_EQ(provium::cache::stale_boot_inputs(entry), std::nullopt);
}

// An entry whose machine record is missing or malformed: reading it is an error naming the file,
// and for a Lua fixture the entry counts as stale (rebuilt), never resumed with guessed options.
TEST(MachineRecordTest, AMissingOrMalformedRecordIsAnErrorAndMakesTheEntryStale) {
  TempDir dir;
  Cache cache(dir.path());
  auto entry = cache.begin_build("f", "k");
  entry.id = "missing";
  EXPECT_THAT([&] { provium::cache::read_machine_record(entry); },
              ::testing::ThrowsMessage<provium::Error>(::testing::HasSubstr((entry.dir / "vm.json").string())));
  EXPECT_THAT(provium::cache::stale_boot_inputs(entry), ::testing::Optional(::testing::HasSubstr("cannot be read")));
  write(entry.dir / "vm.json", R"({"profile": "default", "inputs": "x", "boot": {"memory": 512}})");
  entry.id = "malformed";
  EXPECT_THAT([&] { provium::cache::read_machine_record(entry); },
              ::testing::ThrowsMessage<provium::Error>(::testing::HasSubstr("vm.json")));
  EXPECT_THAT(provium::cache::stale_boot_inputs(entry), ::testing::Optional(::testing::HasSubstr("cannot be read")));
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

// The decompressed kernels of direct boots (one per kernel build a developer boots) are the
// cache's too: pruned with the entries, least recently used first, and cleaned.
TEST(CacheTest, DecompressedKernelsArePrunedLeastRecentlyUsedFirstAndCleaned) {
  TempDir dir;
  Cache cache(dir.path());
  const std::string bytes(64 << 10, 'k');
  const auto now = std::filesystem::file_time_type::clock::now();
  const auto oldest = dir.write("kernels/oldest.elf", bytes), older = dir.write("kernels/older.elf", bytes),
             just_used = dir.write("kernels/just-used.elf", bytes);
  std::filesystem::last_write_time(oldest, now - std::chrono::hours(2));
  std::filesystem::last_write_time(older, now - std::chrono::hours(1));
  publish(cache, "f", "k1");
  const uint64_t entry_bytes = cache.prune(UINT64_MAX).left - 3 * (64 << 10);

  auto pruned = cache.prune(entry_bytes + 2 * (64 << 10) + 1024);
  EXPECT_EQ(pruned.kernels, 1u);
  EXPECT_FALSE(std::filesystem::exists(oldest));
  EXPECT_TRUE(std::filesystem::exists(older));
  // The entry was used after the kernels: the next goes first; a kernel used in the last minute
  // (a QEMU may be about to read it) stays.
  std::filesystem::last_write_time(cache.find("f", "k1")->dir, now);
  pruned = cache.prune(0);
  EXPECT_EQ(pruned.kernels, 1u);
  EXPECT_EQ(pruned.entries, 1u);
  EXPECT_FALSE(std::filesystem::exists(older));
  EXPECT_TRUE(std::filesystem::exists(just_used));
  EXPECT_EQ(cache.clean(), 0u);  // the entry went with the prune
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kernels"));
}

// provium run --fixture resumes a C++ fixture's newest entry, whatever its key.
TEST(CacheTest, NewestIsTheEntryOfTheFixtureUsedLast) {
  TempDir dir;
  Cache cache(dir.path());
  EXPECT_FALSE(cache.newest("f"));
  const auto old_entry = publish(cache, "f", "k1"), new_entry = publish(cache, "f", "k2");
  publish(cache, "other", "k3");
  const auto now = std::filesystem::file_time_type::clock::now();
  std::filesystem::last_write_time(old_entry.dir, now - std::chrono::hours(1));
  std::filesystem::last_write_time(new_entry.dir, now);
  ASSERT_TRUE(cache.newest("f"));
  EXPECT_EQ(cache.newest("f")->second.key, "k2");
  std::filesystem::last_write_time(old_entry.dir, now + std::chrono::seconds(1));
  EXPECT_EQ(cache.newest("f")->first.dir, old_entry.dir);
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

// ---- fixture archives (cache/archive.h) ----

namespace {

// A tar.zst of the given members, in order, made the way any tar tool would.
void write_tar_zst(const fs::path& file, const std::vector<std::pair<std::string, std::string>>& members) {
  archive* out = archive_write_new();
  archive_write_add_filter_zstd(out);
  archive_write_set_format_pax_restricted(out);
  ASSERT_EQ(archive_write_open_filename(out, file.c_str()), ARCHIVE_OK);
  for (const auto& [name, data] : members) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0600);
    archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
    archive_write_header(out, entry);
    archive_write_data(out, data.data(), data.size());
    archive_entry_free(entry);
  }
  archive_write_close(out);
  archive_write_free(out);
}

std::string import_error(Cache& cache, const fs::path& file) {
  try {
    provium::cache::import_entries(cache, file);
  } catch (const provium::Error& error) {
    return error.what();
  }
  return "(no error)";
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(FixtureArchiveTest, RoundTripKeepsEveryByteAndTheHoles) {
  TempDir dir;
  Cache source(dir.path() / "source");
  constexpr uint64_t kRam = 64u << 20;
  auto build = source.begin_build("f", "k");
  {
    std::ofstream ram(build.ram(), std::ios::binary);
    ram << std::string(4096, 'a');
    ram.seekp(32u << 20);
    ram << std::string(4096, 'b');
  }
  fs::resize_file(build.ram(), kRam);
  write(build.state(), std::string(100, 's'));
  write(build.initrd(), "initrd");
  write(build.dir / "disk0.qcow2", "an overlay");
  const auto entry = source.publish(build, EntryMeta{"f", "k", kRam, 100, "", 1.5, ""});
  publish(source, "g", "k2");

  const fs::path archive_file = dir.path() / "f.tar.zst";
  const auto exported = provium::cache::export_entries(source, {"f"}, archive_file);
  ASSERT_EQ(exported.size(), 1u);
  EXPECT_LT(fs::file_size(archive_file), 1u << 20) << "the RAM file's zeros are stored as they compress";

  Cache target(dir.path() / "target");
  const auto imported = provium::cache::import_entries(target, archive_file);
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_FALSE(imported[0].already_cached);
  const auto found = target.find("f", "k");
  ASSERT_TRUE(found);
  EXPECT_NE(found->id, entry.id) << "an import is a build of this cache";
  for (const char* name : {"ram", "state", "initrd", "disk0.qcow2"})
    EXPECT_EQ(read_all(found->dir / name), read_all(entry.dir / name)) << name;
  struct stat st {};
  ASSERT_EQ(::stat(found->ram().c_str(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20) << "the RAM file's zeros became holes again";
  EXPECT_FALSE(target.find("g", "k2")) << "only the fixture named was exported";

  const auto again = provium::cache::import_entries(target, archive_file);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].already_cached);
}

TEST(FixtureArchiveTest, ExportSaysWhatIsNotCached) {
  TempDir dir;
  Cache cache(dir.path() / "cache");
  EXPECT_THAT([&] { provium::cache::export_entries(cache, {}, dir.path() / "a.tar.zst"); },
              ::testing::ThrowsMessage<provium::Error>(::testing::HasSubstr("holds no snapshot to export")));
  publish(cache, "f", "k");
  EXPECT_THAT([&] { provium::cache::export_entries(cache, {"nope"}, dir.path() / "a.tar.zst"); },
              ::testing::ThrowsMessage<provium::Error>(
                  ::testing::HasSubstr("no cached snapshot of fixture 'nope' in " + cache.root().string() + " (it holds: f)")));
  EXPECT_FALSE(fs::exists(dir.path() / "a.tar.zst"));
}

TEST(FixtureArchiveTest, ForeignTamperedAndIncompleteArchivesAreRefusedAndLeaveNothing) {
  TempDir dir;
  Cache source(dir.path() / "source");
  publish(source, "f", "k");
  const fs::path good = dir.path() / "good.tar.zst";
  provium::cache::export_entries(source, {}, good);
  // The good archive's manifest, to build damaged ones around it.
  std::string manifest;
  {
    archive* in = archive_read_new();
    archive_read_support_filter_zstd(in);
    archive_read_support_format_tar(in);
    ASSERT_EQ(archive_read_open_filename(in, good.c_str(), 1 << 16), ARCHIVE_OK);
    archive_entry* entry = nullptr;
    while (archive_read_next_header(in, &entry) == ARCHIVE_OK)
      if (std::string(archive_entry_pathname(entry)) == "provium-fixtures/manifest.json") {
        manifest.resize(static_cast<std::size_t>(archive_entry_size(entry)));
        archive_read_data(in, manifest.data(), manifest.size());
      }
    archive_read_free(in);
  }
  ASSERT_FALSE(manifest.empty());
  const std::string dir_name = "provium-fixtures/f-k/";
  const std::vector<std::pair<std::string, std::string>> files = {
      {dir_name + "initrd", "initrd"}, {dir_name + "ram", std::string(4096, 'r')}, {dir_name + "state", std::string(100, 's')}};

  const std::map<std::string, std::pair<std::vector<std::pair<std::string, std::string>>, std::string>> cases = {
      {"escape", {{{"provium-fixtures/../evil", "x"}}, "its member 'provium-fixtures/../evil' is not a file of a fixture entry"}},
      {"foreign", {{{"etc/passwd", "root"}}, "is not a file of a fixture entry"}},
      {"no manifest", {files, "holds no manifest"}},
      {"tampered", {{files[0], files[1], {dir_name + "state", std::string(100, 't')}, {"provium-fixtures/manifest.json", manifest}},
                    "state of fixture 'f' has other contents than when it was exported"}},
      {"missing file", {{files[0], files[1], {"provium-fixtures/manifest.json", manifest}}, "state of fixture 'f' is missing"}},
      {"extra file", {{files[0], files[1], files[2], {dir_name + "more", "x"}, {"provium-fixtures/manifest.json", manifest}},
                      "its file 'f-k/more' is not in the manifest"}},
      {"not json", {{files[0], {"provium-fixtures/manifest.json", "{"}}, "its manifest is not a JSON object"}},
      {"after manifest", {{{"provium-fixtures/manifest.json", manifest}, files[0]}, "comes after the manifest"}},
  };
  for (const auto& [name, archive_case] : cases) {
    const fs::path file = dir.path() / (name + ".tar.zst");
    write_tar_zst(file, archive_case.first);
    Cache target(dir.path() / ("target-" + name));
    EXPECT_THAT(import_error(target, file), ::testing::HasSubstr(archive_case.second)) << name;
    EXPECT_TRUE(target.list().empty()) << name;
    for (const auto& item : fs::directory_iterator(target.root()))
      ADD_FAILURE() << name << ": left behind: " << item.path();
  }
  // The archive the cases were made from is good.
  Cache target(dir.path() / "target-good");
  EXPECT_EQ(provium::cache::import_entries(target, good).size(), 1u);
}
