// A suite split across three machines of a CI job matrix, fed by one fixture archive (docs/ci.md):
// each "machine" is a cache directory and a run directory of its own, and every program runs as
// a separate process, as on separate machines. The C++ suite (shards/suite.cpp) is sharded by
// GoogleTest's variables, the Lua suite (shards/lua) by `provium test --shard K/N` and through
// provium-gtest by the same variables. Every test runs exactly once, no shard builds a fixture
// that was exported, and the shards' union is the unsharded run. Damaged, truncated and foreign
// archives are refused, and an archive made for another kernel is ignored: the tests still pass,
// by building.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/kernel.h"
#include "support/lines.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using provium::testing::TempDir;
using provium_test::ChildRun;
using provium_test::lines_of;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kShards = 3;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) throw std::runtime_error(std::string(name) + " is not set (meson test sets it)");
  return value;
}

// A machine of the matrix: its own fixture cache and run directory.
class Machine {
 public:
  Machine(const TempDir& root, const std::string& name)
      : cache_(root.path() / name / "cache"), run_(root.path() / name / "run") {}

  ChildRun run(std::vector<std::string> argv, std::map<std::string, std::string> extra = {}) const {
    extra["PROVIUM_CACHE_DIR"] = cache_.string();
    extra["PROVIUM_RUN_DIR"] = run_.string();
    const auto start = std::chrono::steady_clock::now();
    auto result = provium_test::ChildProcess(std::move(argv), extra).wait();
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }
  ChildRun provium(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) const {
    args.insert(args.begin(), env("PROVIUM_CLI"));
    return run(std::move(args), std::move(extra));
  }
  // The seconds the last run took.
  double seconds() const { return seconds_; }

 private:
  fs::path cache_, run_;
  mutable double seconds_ = 0;
};

// "Suite.Name" of every test that ran, from GoogleTest's JSON report.
std::multiset<std::string> tests_run(const fs::path& report) {
  std::ifstream in(report);
  if (!in) throw std::runtime_error("no JSON report at " + report.string());
  std::multiset<std::string> names;
  const auto json = nlohmann::json::parse(in);
  for (const auto& suite : json.at("testsuites"))
    for (const auto& test : suite.at("testsuite"))
      if (test.value("result", "") == "COMPLETED")
        names.insert(suite.at("name").get<std::string>() + "." + test.at("name").get<std::string>());
  return names;
}

// The files `provium test` reported as passed: "  NAME ... ok".
std::multiset<std::string> files_passed(const std::string& output) {
  static const std::regex passed(R"(^  (\S+\.lua) \.\.\. ok\b.*)");
  std::multiset<std::string> names;
  for (const auto& line : lines_of(output)) {
    std::smatch match;
    if (std::regex_match(line, match, passed)) names.insert(match[1]);
  }
  return names;
}

std::map<std::string, std::string> shard_variables(int index) {
  return {{"GTEST_TOTAL_SHARDS", std::to_string(kShards)}, {"GTEST_SHARD_INDEX", std::to_string(index)}};
}

const std::string kBuilding = "building fixture";

// Each test's machines live in a directory of their own; the builder is the one that builds and
// exports the fixtures.
class Shards : public ::testing::Test {
 protected:
  TempDir root;
  const Machine builder{root, "builder"};
};

std::string fmt_shard(int index) {
  return "shard " + std::to_string(index + 1) + " of " + std::to_string(kShards) + ":";
}

// The timings, for the record (a test never asserts on time): each shard ran after the other
// here; on a matrix they run at once, and the slowest one is the wall time.
std::string fmt_seconds(const char* what, double unsharded, double slowest, double total) {
  char line[200];
  std::snprintf(line, sizeof line, "timing: %s unsharded %.1f s (fixtures built); %d shards from the export: "
                "slowest %.1f s, all %.1f s\n", what, unsharded, kShards, slowest, total);
  return line;
}

TEST_F(Shards, CppSuiteOnThreeMachinesFromOneExport) {
  const std::string suite = env("PROVIUM_SHARDS_SUITE");
  const auto whole = builder.run({suite, "--gtest_output=json:" + (root.path() / "whole.json").string()});
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const double unsharded = builder.seconds();
  const auto all = tests_run(root.path() / "whole.json");
  ASSERT_EQ(all.size(), 7u) << whole.output;
  const fs::path archive = root.path() / "fixtures.tar.zst";
  const auto exported = builder.provium({"fixture", "export", "-o", archive.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output, HasSubstr("exported 2 fixture snapshots")) << exported.output;

  std::multiset<std::string> union_of_shards;
  double slowest = 0, total = 0;
  for (int index = 0; index < kShards; ++index) {
    const Machine machine(root, "machine" + std::to_string(index));
    const auto imported = machine.provium({"fixture", "import", archive.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
    const fs::path report = root.path() / ("shard" + std::to_string(index) + ".json");
    const auto shard = machine.run({suite, "--gtest_output=json:" + report.string()}, shard_variables(index));
    EXPECT_EQ(shard.exit_code, 0) << shard.output;
    EXPECT_THAT(shard.output, Not(HasSubstr(kBuilding))) << "shard " << index << " built a fixture that was exported";
    const auto ran = tests_run(report);
    EXPECT_FALSE(ran.empty()) << "shard " << index << " ran nothing";
    union_of_shards.insert(ran.begin(), ran.end());
    slowest = std::max(slowest, machine.seconds());
    total += machine.seconds();
  }
  EXPECT_EQ(union_of_shards, all) << "the shards together must run every test exactly once";
  std::cout << fmt_seconds("C++ suite", unsharded, slowest, total);
}

TEST_F(Shards, LuaSuiteOnThreeMachinesFromOneExport) {
  const std::string suite = env("PROVIUM_SHARDS_LUA");
  const auto whole = builder.provium({"test", suite});
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const double unsharded = builder.seconds();
  const auto all = files_passed(whole.output);
  ASSERT_EQ(all.size(), 5u) << whole.output;
  // A Lua fixture's key holds the program that runs it (cache/key.h): provium-gtest's shards
  // need the fixture as provium-gtest builds it.
  const auto whole_gtest = builder.run({env("PROVIUM_GTEST"), "--provium_lua=" + suite,
                                        "--gtest_output=json:" + (root.path() / "lua-whole.json").string()});
  ASSERT_EQ(whole_gtest.exit_code, 0) << whole_gtest.output;
  const auto all_gtest = tests_run(root.path() / "lua-whole.json");
  ASSERT_EQ(all_gtest.size(), 5u) << whole_gtest.output;
  const fs::path archive = root.path() / "fixtures.tar.zst";
  ASSERT_EQ(builder.provium({"fixture", "export", "lua-alpha", "-o", archive.string()}).exit_code, 0);

  std::multiset<std::string> by_option, by_variables;
  double slowest = 0, total = 0;
  for (int index = 0; index < kShards; ++index) {
    const Machine machine(root, "machine" + std::to_string(index));
    ASSERT_EQ(machine.provium({"fixture", "import", archive.string()}).exit_code, 0);
    // -v shows what each file's process said, a fixture build among it.
    const auto shard = machine.provium(
        {"test", "-v", "--shard", std::to_string(index + 1) + "/" + std::to_string(kShards), suite});
    EXPECT_EQ(shard.exit_code, 0) << shard.output;
    EXPECT_THAT(shard.output, Not(HasSubstr(kBuilding))) << shard.output;
    EXPECT_THAT(shard.output, HasSubstr(fmt_shard(index)));
    const auto files = files_passed(shard.output);
    by_option.insert(files.begin(), files.end());
    slowest = std::max(slowest, machine.seconds());
    total += machine.seconds();

    // The same slice through GoogleTest's variables, which provium test reads too.
    const auto same = machine.provium({"test", suite}, shard_variables(index));
    EXPECT_EQ(files_passed(same.output), files) << same.output;

    // provium-gtest: each file is one test, and GoogleTest shards them.
    const fs::path report = root.path() / ("lua-shard" + std::to_string(index) + ".json");
    const auto gtest = machine.run({env("PROVIUM_GTEST"), "--provium_lua=" + suite,
                                    "--gtest_output=json:" + report.string()},
                                   shard_variables(index));
    EXPECT_EQ(gtest.exit_code, 0) << gtest.output;
    EXPECT_THAT(gtest.output, Not(HasSubstr(kBuilding))) << gtest.output;
    const auto ran = tests_run(report);
    by_variables.insert(ran.begin(), ran.end());
  }
  EXPECT_EQ(by_option, all) << "the shards together must run every file exactly once";
  EXPECT_EQ(by_variables, all_gtest) << "provium-gtest's shards together must run every file exactly once";
  std::cout << fmt_seconds("Lua suite", unsharded, slowest, total);
}

TEST_F(Shards, DamagedTruncatedAndForeignArchivesAreRefusedAndTheTestsStillPass) {
  const std::string suite = env("PROVIUM_SHARDS_SUITE");
  ASSERT_EQ(builder.run({suite, "--gtest_filter=alpha.One"}).exit_code, 0);
  const fs::path archive = root.path() / "fixtures.tar.zst";
  ASSERT_EQ(builder.provium({"fixture", "export", "-o", archive.string()}).exit_code, 0);
  const auto size = fs::file_size(archive);

  const fs::path truncated = root.path() / "truncated.tar.zst";
  fs::copy_file(archive, truncated);
  fs::resize_file(truncated, size / 2);
  const fs::path corrupted = root.path() / "corrupted.tar.zst";
  fs::copy_file(archive, corrupted);
  {
    std::fstream bytes(corrupted, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekp(static_cast<std::streamoff>(size / 2));
    bytes.write("\x55\xaa\x55\xaa\x55\xaa\x55\xaa", 8);
  }
  const fs::path foreign = root.path() / "foreign.tar.zst";
  std::ofstream(foreign) << "a text file, no archive\n";

  const std::map<fs::path, std::string> refusals = {{truncated, "is damaged or truncated"},
                                                     {corrupted, "is damaged"},
                                                     {foreign, "is not a Provium fixture archive"}};
  int index = 0;
  for (const auto& [file, why] : refusals) {
    const Machine machine(root, "machine" + std::to_string(index++));
    const auto imported = machine.provium({"fixture", "import", file.string()});
    EXPECT_EQ(imported.exit_code, 1) << imported.output;
    EXPECT_THAT(imported.output, HasSubstr(why)) << imported.output;
    const auto listed = machine.provium({"fixture", "list"});
    EXPECT_THAT(listed.output, HasSubstr("0 fixture snapshot(s)")) << "something of " << file << " was left behind";
    const auto shard = machine.run({suite, "--gtest_filter=alpha.One"});
    EXPECT_EQ(shard.exit_code, 0) << shard.output;
    EXPECT_THAT(shard.output, HasSubstr(kBuilding));
  }
}

TEST_F(Shards, AnArchiveMadeForAnotherKernelIsIgnoredAndSaidSo) {
  const std::string suite = env("PROVIUM_SHARDS_SUITE");
  // Another kernel, as far as a key can tell: the same image with one byte more.
  const fs::path kernel = root.path() / "vmlinuz-other";
  fs::copy_file(provium_test::newest_kernel(), kernel);
  std::ofstream(kernel, std::ios::app | std::ios::binary).put('\0');
  const fs::path config = root.path() / "provium.toml";
  std::ofstream(config) << "[profile.default]\nkernel = \"" << kernel.string() << "\"\n";

  const auto built = builder.run({suite, "--gtest_filter=alpha.One"}, {{"PROVIUM_CONFIG", config.string()}});
  ASSERT_EQ(built.exit_code, 0) << built.output;
  const fs::path archive = root.path() / "fixtures.tar.zst";
  ASSERT_EQ(builder.provium({"fixture", "export", "-o", archive.string()}).exit_code, 0);

  const Machine machine(root, "machine");
  ASSERT_EQ(machine.provium({"fixture", "import", archive.string()}).exit_code, 0);
  const auto run = machine.run({suite, "--gtest_filter=alpha.One"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("the cache holds it only for other keys")) << run.output;
}

TEST_F(Shards, BadFixtureCommandLinesExitTwoAndSayWhy) {
  const std::map<std::vector<std::string>, std::string> refusals = {
      {{"fixture", "export"}, "say where the archive goes: -o FILE"},
      {{"fixture", "export", "-o"}, "-o needs a file"},
      {{"fixture", "export", "--nope", "-o", "x"}, "unknown option '--nope'"},
      {{"fixture", "import"}, "name one archive"},
      {{"fixture", "import", "a", "b"}, "name one archive"},
  };
  for (const auto& [args, why] : refusals) {
    const auto run = builder.provium(args);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(why));
  }
  const auto missing = builder.provium({"fixture", "import", (root.path() / "none.tar.zst").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("is not a Provium fixture archive"));
}

}  // namespace
