// Fixtures: a VM prepared once and resumed fresh, copy-on-write, for every test; a persistent
// cache that is built once across processes, checked, and rebuilt when stale or damaged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>

#include <nlohmann/json.hpp>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/settings.h"
#include "support/child_process.h"
#include "support/kernel.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

PROVIUM_FIXTURE(prepared) {
  vm.exec("echo prepared > /tmp/prepared");
  vm.exec("echo 1 > /proc/sys/kernel/sysrq");
}

PROVIUM_FIXTURE_WITH(prepared_child, {.parent = "prepared"}) {
  vm.exec("echo child > /tmp/child");
}

// A name with a digit 0 (once refused by a wrong character set).
PROVIUM_FIXTURE_WITH(prepared_v10, {.parent = "prepared"}) { vm.exec("touch /tmp/v10"); }

// Fails an assertion in its body: run only by FailedAssertionInTheBodyIsNotSnapshotted.
PROVIUM_FIXTURE(asserts) { ASSERT_THAT(vm.exec("false"), ::provium::ExecSucceeds()) << "the body's own check"; }

namespace {

TEST_F(prepared_v10, AnyFixtureNameWorks) { EXPECT_THAT(vm.exec("test -e /tmp/v10"), ::provium::ExecSucceeds()); }

TEST_F(asserts, DISABLED_UsesTheFailingFixture) {}

// docs/fixtures.md's form, with commas inside the options' braces.
PROVIUM_FIXTURE_WITH(with_options, {.profile = "default", .boot = {.memory = "640M", .files = {{"/etc/provium-doc", "/etc/os-release"}}}}) {}

TEST_F(with_options, TheOptionsWithCommasAllApply) {
  EXPECT_THAT(vm.read_file("/etc/provium-doc"), ::testing::HasSubstr("ID="));
  const auto total = vm.exec("awk '/MemTotal/ {print $2}' /proc/meminfo");
  EXPECT_GT(std::stol(total.out), 500 * 1024) << "640M of memory: " << total.out;  // 512M gives less
  EXPECT_LT(std::stol(total.out), 640 * 1024) << total.out;
}

// Any test of the fixture, in any order or alone, starts from the snapshot.
TEST_F(prepared, SeesOnlyTheSnapshot) {
  EXPECT_EQ(vm.read_file("/tmp/prepared"), "prepared\n");
  EXPECT_THAT(vm.exec("test -e /tmp/scribble"), ::provium::ExecExitsWith(::testing::Ne(0)));
  EXPECT_EQ(vm.read_file("/proc/sys/kernel/sysrq"), "1\n");
}

// One VM's changes (files, kernel settings) never reach the next VM of the fixture, which is
// also the spare that started while the first one ran.
TEST(FixtureTest, ChangesInOneVmNeverReachTheNext) {
  {
    auto changed = provium::fixture("prepared");
    changed.write_file("/tmp/scribble", "mine");
    ASSERT_THAT(changed.exec("echo 0 > /proc/sys/kernel/sysrq"), ::provium::ExecSucceeds());
    ASSERT_EQ(changed.read_file("/proc/sys/kernel/sysrq"), "0\n");
  }
  auto next = provium::fixture("prepared");
  EXPECT_EQ(next.read_file("/tmp/prepared"), "prepared\n");
  EXPECT_THAT(next.exec("test -e /tmp/scribble"), ::provium::ExecExitsWith(::testing::Ne(0)));
  EXPECT_EQ(next.read_file("/proc/sys/kernel/sysrq"), "1\n");
}

TEST_F(prepared_child, NestedFixtureStartsFromItsParent) {
  EXPECT_EQ(vm.read_file("/tmp/prepared"), "prepared\n");
  EXPECT_EQ(vm.read_file("/tmp/child"), "child\n");
}

TEST_F(prepared, ParentDoesNotSeeItsChildsChanges) {
  EXPECT_THAT(vm.exec("test -e /tmp/child"), ::provium::ExecExitsWith(::testing::Ne(0)));
}

TEST(FixtureTest, ThreeVmsFromOneSnapshotAtOnce) {
  std::vector<std::future<provium::Vm>> resuming;
  for (int i = 0; i < 3; ++i)
    resuming.push_back(std::async(std::launch::async, [] { return provium::fixture("prepared"); }));
  std::vector<provium::Vm> vms;
  for (auto& vm : resuming) vms.push_back(vm.get());
  for (std::size_t i = 0; i < vms.size(); ++i) vms[i].write_file("/tmp/who", std::to_string(i));
  for (std::size_t i = 0; i < vms.size(); ++i) {
    EXPECT_EQ(vms[i].read_file("/tmp/who"), std::to_string(i));
    EXPECT_EQ(vms[i].read_file("/tmp/prepared"), "prepared\n");
  }
}

// The cache of this test binary (meson sets PROVIUM_CACHE_DIR).
fs::path cache_dir() { return fs::path(std::getenv("PROVIUM_CACHE_DIR")) / "fixtures"; }

std::vector<fs::path> entries_of(const std::string& fixture) {
  std::vector<fs::path> found;
  const std::regex name(fixture + "-[0-9a-f]{32}");
  for (const auto& entry : fs::directory_iterator(cache_dir()))
    if (entry.is_directory() && std::regex_match(entry.path().filename().string(), name))
      found.push_back(entry.path());
  return found;
}

// For the tests that damage an entry on purpose: no spare QEMU starts behind a resume. A spare
// starting up can recreate a RAM file deleted under it (QEMU creates a missing mem-path).
class NoSpares {
  provium::base::ScopedSettings no_spares_{{"PROVIUM_SPARES", "0"}};
};

void define_probe(const std::string& identity, const std::string& memory = "512M") {
  provium::define_fixture("probe", {.boot = {.memory = memory}},
                          [](provium::Vm& vm) { vm.exec("touch /tmp/probe"); }, identity);
}

TEST(FixtureCacheTest, ChangedBodyOrBootOptionsBuildANewEntry) {
  for (const auto& entry : fs::directory_iterator(cache_dir()))
    if (entry.path().filename().string().rfind("probe-", 0) == 0) fs::remove_all(entry.path());
  define_probe("body version 1");
  provium::fixture("probe");
  ASSERT_EQ(entries_of("probe").size(), 1u);
  define_probe("body version 2");
  provium::fixture("probe");
  EXPECT_EQ(entries_of("probe").size(), 2u);
  define_probe("body version 2", "384M");
  auto vm = provium::fixture("probe");
  EXPECT_EQ(entries_of("probe").size(), 3u);
  EXPECT_THAT(vm.exec("test -e /tmp/probe"), ::provium::ExecSucceeds());
}

// The contents of boot `files` shape the snapshot: a changed file builds the fixture anew (in a
// later process the definition is the same; here it is made again so that its key is recomputed).
TEST(FixtureCacheTest, AChangedBootFileBuildsANewEntry) {
  const fs::path payload = fs::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() / "payload-cxx";
  fs::create_directories(payload);
  auto define = [&] {
    provium::define_fixture("payload", {.boot = {.files = {{"/opt/payload", payload.string()}}}},
                            [](provium::Vm&) {});
  };
  std::ofstream(payload / "VERSION") << "1\n";
  define();
  EXPECT_EQ(provium::fixture("payload").read_file("/opt/payload/VERSION"), "1\n");
  std::ofstream(payload / "VERSION") << "2\n";
  define();
  EXPECT_EQ(provium::fixture("payload").read_file("/opt/payload/VERSION"), "2\n");
}

// The same for a Lua fixture, whose key cannot know its files before the script runs: the entry
// records what its VM booted with, and a changed file makes it stale. Two runs of provium test.
TEST(FixtureCacheTest, AChangedBootFileRebuildsALuaFixture) {
  const fs::path project = fs::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() / "payload-lua";
  fs::remove_all(project);
  fs::create_directories(project / "fixtures");
  fs::create_directories(project / "payload");
  std::ofstream(project / "fixtures/payload.lua") << R"lua(
local vm = provium.create("default")
vm:boot({files = {["/opt/payload"] = os.getenv("PAYLOAD")}})
)lua";
  std::ofstream(project / "uses.lua") << R"lua(
test("sees the current payload", function()
  assert_eq(os.getenv("EXPECTED"), provium.fixture("payload"):read_file("/opt/payload/VERSION"))
end)
)lua";
  auto run = [&](const std::string& version) {
    std::ofstream(project / "payload/VERSION") << version;
    return provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), "test", project.string()},
                                      {{"PAYLOAD", (project / "payload").string()}, {"EXPECTED", version}})
        .wait();
  };
  const auto first = run("1\n");
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("1 passed"));
  const auto second = run("2\n");
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("1 passed"));
}

// A Lua fixture's key cannot know which profile its script boots: the entry records the one it
// booted, and only a change to that profile makes it stale, not an edit of another profile.
TEST(FixtureCacheTest, ALuaFixtureIsRebuiltForAChangeOfItsProfileOnly) {
  const fs::path project = fs::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() / "profile-lua";
  const fs::path cache = fs::path(std::getenv("PROVIUM_CACHE_DIR")).parent_path() / "cache-profile-lua";
  fs::remove_all(project);
  fs::remove_all(cache);
  fs::create_directories(project / "fixtures");
  const auto kernel = provium_test::newest_kernel();
  ASSERT_FALSE(kernel.empty()) << "no /boot/vmlinuz-* on this host";
  std::ofstream(project / "fixtures/booted.lua") << "local vm = provium.create(\"used\")\nvm:boot()\n";
  std::ofstream(project / "uses.lua") << "test(\"resumes\", function() assert(provium.fixture(\"booted\"):running()) end)\n";
  // The entry's build id, which a rebuild changes.
  auto build_id = [&] {
    std::string id;
    for (const auto& entry : fs::directory_iterator(cache / "fixtures"))
      if (entry.is_directory() && entry.path().filename().string().starts_with("lua-booted-"))
        id = nlohmann::json::parse(std::ifstream(entry.path() / "meta.json")).at("id").get<std::string>();
    return id;
  };
  auto run = [&](const std::string& used_append, const std::string& other_append) {
    std::ofstream(project / "provium.toml") << "[profile.used]\nkernel = \"" << kernel.string() << "\"\nappend = \""
                                            << used_append << "\"\n\n[profile.other]\nkernel = \"" << kernel.string()
                                            << "\"\nappend = \"" << other_append << "\"\n";
    const auto result = provium_test::ChildProcess({"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", project.string(),
                                                    std::getenv("PROVIUM_CLI"), "test", "."},
                                                   {{"PROVIUM_CACHE_DIR", cache.string()}})
                            .wait();
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return build_id();
  };
  const std::string first = run("provium.used=1", "provium.other=1");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(run("provium.used=1", "provium.other=2"), first) << "an edit of another profile rebuilt it";
  EXPECT_NE(run("provium.used=2", "provium.other=2"), first) << "a change of its own profile did not";
}

// The cache stays under its limit: a build removes the least recently used entries that no VM
// runs from, each with its lock file; an entry a VM runs from stays; `provium fixture prune`
// does the same on demand.
TEST(FixtureCacheTest, TheCacheStaysUnderItsLimit) {
  const fs::path cache = fs::path(std::getenv("PROVIUM_CACHE_DIR")).parent_path() / "cache-bounded";
  fs::remove_all(cache);
  provium::base::ScopedSettings bounded{
      {"PROVIUM_CACHE_DIR", cache.string()}, {"PROVIUM_CACHE_SIZE", "1M"}, {"PROVIUM_SPARES", "0"}};
  auto files_of = [&](const std::string& fixture) {
    std::vector<std::string> found;
    for (const auto& file : fs::directory_iterator(cache / "fixtures"))
      if (file.path().filename().string().rfind(fixture + "-", 0) == 0) found.push_back(file.path().filename());
    return found.size();  // the entry and its lock file
  };
  for (const char* name : {"bounded_a", "bounded_b", "bounded_c"})
    provium::define_fixture(name, {}, [](provium::Vm& vm) { vm.exec("true"); }, "bounded");
  { auto a = provium::fixture("bounded_a"); }  // built; no VM runs from it after this
  ASSERT_EQ(files_of("bounded_a"), 2u);
  auto b = provium::fixture("bounded_b");  // built: the cache is over 1M, so a goes
  EXPECT_EQ(files_of("bounded_a"), 0u) << "the least recently used entry stayed";
  EXPECT_EQ(files_of("bounded_b"), 2u) << "the entry just built was removed";
  { auto c = provium::fixture("bounded_c"); }  // built: b stays, a VM runs from it
  EXPECT_EQ(files_of("bounded_b"), 2u) << "an entry a VM runs from was removed";
  EXPECT_EQ(b.exec("echo alive").out, "alive\n");
  b = provium::Vm();  // no VM runs from b now
  const auto pruned = provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), "fixture", "prune", "0"},
                                                 {{"PROVIUM_CACHE_DIR", cache.string()}})
                          .wait();
  EXPECT_EQ(pruned.exit_code, 0) << pruned.output;
  EXPECT_THAT(pruned.output, HasSubstr("removed 2 fixture snapshot(s)"));
  EXPECT_EQ(files_of("bounded_b") + files_of("bounded_c"), 0u);
  const auto bad = provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), "fixture", "prune", "lots"},
                                              {{"PROVIUM_CACHE_DIR", cache.string()}})
                       .wait();
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("provium fixture prune: bad memory size"));
}

TEST(FixtureCacheTest, TruncatedStateIsDetectedAndRebuilt) {
  NoSpares no_spares;
  define_probe("truncated state");
  provium::fixture("probe");
  auto before = entries_of("probe");
  auto entry = *std::max_element(before.begin(), before.end(), [](auto& a, auto& b) {
    return fs::last_write_time(a) < fs::last_write_time(b);
  });
  fs::resize_file(entry / "state", fs::file_size(entry / "state") / 2);
  ::testing::internal::CaptureStderr();
  auto vm = provium::fixture("probe");
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(vm.exec("test -e /tmp/probe"), ::provium::ExecSucceeds());
  // The entry's check found it (not a failed restore), and the fixture was built again.
  EXPECT_THAT(said, HasSubstr("removing cached fixture"));
  EXPECT_THAT(said, HasSubstr("bytes, "));
  EXPECT_THAT(said, HasSubstr("expected; it will be rebuilt"));
  EXPECT_THAT(said, HasSubstr("building fixture 'probe'"));
}

TEST(FixtureCacheTest, DeletedRamFileIsDetectedAndRebuilt) {
  NoSpares no_spares;
  define_probe("deleted ram");
  provium::fixture("probe");
  for (const auto& entry : entries_of("probe")) fs::remove(entry / "ram");
  ::testing::internal::CaptureStderr();
  auto vm = provium::fixture("probe");
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(vm.exec("test -e /tmp/probe"), ::provium::ExecSucceeds());
  EXPECT_THAT(said, HasSubstr("ram is missing; it will be rebuilt"));
  EXPECT_THAT(said, HasSubstr("building fixture 'probe'"));
}

TEST(FixtureCacheTest, CorruptStateThatPassesTheChecksIsRebuiltWhenItFailsToRestore) {
  NoSpares no_spares;
  define_probe("corrupt state");
  provium::fixture("probe");
  for (const auto& entry : entries_of("probe")) {
    auto size = fs::file_size(entry / "state");
    std::ofstream(entry / "state", std::ios::binary | std::ios::trunc) << std::string(size, 'x');
  }
  ::testing::internal::CaptureStderr();
  auto vm = provium::fixture("probe");
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(vm.exec("test -e /tmp/probe"), ::provium::ExecSucceeds());
  // It passed the entry's checks; restoring it failed, and that discarded it.
  EXPECT_THAT(said, HasSubstr("resuming it failed"));
  EXPECT_THAT(said, HasSubstr("building fixture 'probe'"));
}

TEST(FixtureCacheTest, UnknownFixtureListsTheDefinedOnes) {
  EXPECT_THAT([] { provium::fixture("no_such_fixture"); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("prepared")));
}

// This test binary, running only the given tests with the given cache.
provium_test::ChildProcess run_self(const std::string& filter, const std::string& cache) {
  return provium_test::ChildProcess({fs::read_symlink("/proc/self/exe").string(),
                                     "--gtest_filter=" + filter},
                                    {{"PROVIUM_CACHE_DIR", cache}});
}

TEST(FixtureCacheTest, ASecondProcessResumesWithoutBuilding) {
  provium::fixture("prepared");  // built by now, in this process or an earlier one
  auto run = run_self("prepared.SeesOnlyTheSnapshot", std::getenv("PROVIUM_CACHE_DIR")).wait();
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, Not(HasSubstr("building fixture")));
}

TEST(FixtureCacheTest, FailedAssertionInTheBodyIsNotSnapshotted) {
  auto run = provium_test::ChildProcess(
                 {fs::read_symlink("/proc/self/exe").string(), "--gtest_also_run_disabled_tests",
                  "--gtest_filter=asserts.DISABLED_UsesTheFailingFixture"},
                 {})
                 .wait();
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("the body's own check"));
  EXPECT_THAT(run.output, HasSubstr("failed an assertion; it is not snapshotted"));
  EXPECT_TRUE(entries_of("asserts").empty());
}

TEST(FixtureCacheTest, FourProcessesRacingOnAnEmptyCacheBuildOnce) {
  const fs::path cache = fs::path(std::getenv("PROVIUM_CACHE_DIR")).parent_path() / "cache-race";
  fs::remove_all(cache);
  std::vector<provium_test::ChildProcess> children;
  for (int i = 0; i < 4; ++i) children.push_back(run_self("prepared.SeesOnlyTheSnapshot", cache));
  int builds = 0;
  for (auto& child : children) {
    auto run = child.wait();
    EXPECT_EQ(run.exit_code, 0) << run.output;
    for (auto at = run.output.find("building fixture 'prepared'"); at != std::string::npos;
         at = run.output.find("building fixture 'prepared'", at + 1))
      ++builds;
  }
  EXPECT_EQ(builds, 1);
  fs::remove_all(cache);
}

TEST(FixtureCacheTest, CommandLineListsAndCleansTheCache) {
  const fs::path cache = fs::path(std::getenv("PROVIUM_CACHE_DIR")).parent_path() / "cache-cli";
  fs::remove_all(cache);
  ASSERT_EQ(run_self("prepared.SeesOnlyTheSnapshot", cache).wait().exit_code, 0);
  auto provium = [&](const std::string& command, const std::string& sub) {
    return provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), command, sub},
                                      {{"PROVIUM_CACHE_DIR", cache}})
        .wait();
  };
  auto listed = provium("fixture", "list");
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_THAT(listed.output, HasSubstr("1 fixture snapshot(s)"));
  EXPECT_THAT(listed.output, HasSubstr("prepared"));
  auto cleaned = provium("fixture", "clean");
  EXPECT_THAT(cleaned.output, HasSubstr("removed 1 fixture snapshot(s)"));
  EXPECT_THAT(provium("fixture", "list").output, HasSubstr("0 fixture snapshot(s)"));
  auto unknown = provium("fixture", "frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown command 'fixture frobnicate'"));
  fs::remove_all(cache);
}

}  // namespace

namespace {

// A failed TEST_F ends with its VM's console since the test started, and keeps the whole console
// in a log of its own; a passing test keeps nothing.
TEST(FixtureFailureTest, AFailedTestEndsWithItsVmsConsoleAndKeepsItsLog) {
  const std::filesystem::path logs =
      std::filesystem::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() / "failure-context-logs";
  std::filesystem::remove_all(logs);
  const auto run = provium_test::ChildProcess({std::getenv("PROVIUM_FAILING_FIXTURE_PROGRAM")},
                                              {{"PROVIUM_LOG_DIR", logs.string()}})
                       .wait();
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const auto failure = run.output.find("failing on purpose");
  const auto context = run.output.find("--- console of this test's VM since it started (last 40 lines; whole: ");
  ASSERT_NE(failure, std::string::npos) << run.output;
  ASSERT_NE(context, std::string::npos) << run.output;
  EXPECT_LT(failure, context);
  EXPECT_NE(run.output.find("guest-said-this", context), std::string::npos) << run.output;
  std::vector<std::filesystem::path> kept;
  for (const auto& entry : std::filesystem::directory_iterator(logs)) kept.push_back(entry.path());
  ASSERT_EQ(kept.size(), 1u) << "logs are kept for failed tests only";
  EXPECT_TRUE(kept[0].filename().string().starts_with("context.FailsAfterTheGuestSpoke-"));
  EXPECT_NE(run.output.find(kept[0].string(), context), std::string::npos) << "the log's path is printed";
  std::ifstream in(kept[0]);
  EXPECT_THAT(std::string(std::istreambuf_iterator<char>(in), {}), ::testing::HasSubstr("guest-said-this"));
}

}  // namespace
