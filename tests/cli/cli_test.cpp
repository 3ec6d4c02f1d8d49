// `provium test` end to end: the real command on the scripts in tests/cli/scripts, with real
// VMs where a script boots one (two boots in all: suite/boot_exec.lua and suite/mixed.lua, run
// once for the whole WholeDirectory suite). Every other run picks VM-free files with -f.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/kernel.h"
#include "support/lines.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using provium_test::lines_of;

const fs::path kScripts = std::getenv("PROVIUM_CLI_SCRIPTS");

// A fresh directory for one run's logs and --rerun-failed record, removed at the end.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "provium-cli-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path logs() const { return path_ / "logs"; }
  fs::path cache() const { return path_ / "cache"; }

 private:
  fs::path path_;
};

provium_test::ChildRun provium_test_run(std::vector<std::string> args, const Scratch& scratch,
                                        std::map<std::string, std::string> environment = {}) {
  args.insert(args.begin(), {std::getenv("PROVIUM_CLI"), "test"});
  environment.emplace("PROVIUM_LOG_DIR", scratch.logs());
  environment.emplace("PROVIUM_CACHE_DIR", scratch.cache());
  environment.emplace("CLI_TEST_FAIL", "");  // removed unless a test sets it
  return provium_test::ChildProcess(args, environment).wait();
}

bool has_line(const std::string& output, const std::string& pattern) {
  const std::regex re(pattern);
  for (const auto& line : lines_of(output))
    if (std::regex_match(line, re)) return true;
  return false;
}

// The lines printed for one file: its "  name ... status" line and the indented lines under it.
std::vector<std::string> section(const std::string& output, const std::string& name) {
  std::vector<std::string> lines;
  bool inside = false;
  for (const auto& line : lines_of(output)) {
    if (line.rfind("  " + name + " ... ", 0) == 0) {
      inside = true;
    } else if (!inside || line.rfind("    ", 0) != 0) {
      if (inside) break;
      continue;
    }
    lines.push_back(line);
  }
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> files_below(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code error;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir, error))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

constexpr const char* kSeconds = R"(\d+\.\ds)";

// One run of the whole suite directory, two files at a time; the tests read its output.
class WholeDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new Scratch;
    run_ = new provium_test::ChildRun(provium_test_run(
        {"-p", "2", "--junit", (scratch_->path() / "junit.xml").string(), (kScripts / "suite").string()}, *scratch_));
  }
  static void TearDownTestSuite() {
    delete run_;
    delete scratch_;
  }
  const std::string& output() const { return run_->output; }

  static Scratch* scratch_;
  static provium_test::ChildRun* run_;
};
Scratch* WholeDirectory::scratch_ = nullptr;
provium_test::ChildRun* WholeDirectory::run_ = nullptr;

// --junit: the run's JUnit report, read by Python's xml.etree, has a testcase per block of each
// file in name order, with failures, skips, the error of a file that ended outside its blocks
// and the kept log of each failed file.
TEST_F(WholeDirectory, TheJunitReportHasATestcasePerBlock) {
  const fs::path report = scratch_->path() / "junit.xml";
  const std::string script =
      "import sys, xml.etree.ElementTree as ET\n"
      "root = ET.parse(sys.argv[1]).getroot()\n"
      "print(root.tag, root.get('tests'), root.get('failures'), root.get('errors'), root.get('skipped'))\n"
      "for suite in root:\n"
      "  logs = [p.get('value') for p in suite.iter('property') if p.get('name') == 'provium.log']\n"
      "  print(suite.get('name'), 'log' if logs and logs[0].endswith('.log') else '-')\n"
      "  for case in suite.iter('testcase'):\n"
      "    kinds = [r.tag for r in case]\n"
      "    print(' ', case.get('classname') == suite.get('name'), case.get('name'), *kinds,\n"
      "          *[r.get('message') for r in case], float(case.get('time')) >= 0)\n";
  const auto read = provium_test::ChildProcess({"/usr/bin/python3", "-c", script, report.string()}, {}).wait();
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const auto lines = lines_of(read.output);
  auto has = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); };
  EXPECT_TRUE(has("mixed.lua log")) << read.output;
  EXPECT_TRUE(has("  True passes True")) << read.output;
  EXPECT_TRUE(has("todo_only.lua -")) << read.output;
  EXPECT_TRUE(has("  True not written yet skipped waiting for the feature True")) << read.output;
  EXPECT_TRUE(has("top_error.lua log")) << read.output;
  const auto failure = std::find_if(lines.begin(), lines.end(),
                                    [](const std::string& line) { return line.starts_with("  True fails failure "); });
  ASSERT_NE(failure, lines.end()) << read.output;
  EXPECT_THAT(*failure, HasSubstr("the deliberate failure"));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.starts_with("  True (file) error ") && line.find("top-level boom") != std::string::npos;
  })) << read.output;
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.starts_with("  True (file) error ") && line.find("without a result") != std::string::npos;
  })) << "a file whose process died: " << read.output;
  EXPECT_THAT(lines.front(), ::testing::StartsWith("testsuites ")) << read.output;
}

TEST_F(WholeDirectory, ExitsOneAndCountsEveryOutcome) {
  EXPECT_EQ(run_->exit_code, 1) << output();
  EXPECT_EQ(lines_of(output()).back(), "FAIL: 5 passed, 5 failed, 1 skipped") << output();
}

// As documented: a "provium test" header line and a blank line before the files, a blank line
// before the summary.
TEST_F(WholeDirectory, BeginsWithItsHeaderAndABlankLine) {
  const auto lines = lines_of(output());
  ASSERT_GE(lines.size(), 3u) << output();
  EXPECT_EQ(lines[0], "provium test");
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2].rfind("  ", 0), 0u) << "the first file's line: " << lines[2];
  EXPECT_EQ(lines[lines.size() - 2], "");
}

TEST_F(WholeDirectory, PassingFilesAndTheirBlocks) {
  const auto boot = section(output(), "boot_exec.lua");
  ASSERT_EQ(boot.size(), 3u) << output();
  EXPECT_TRUE(std::regex_match(boot[0], std::regex(std::string(R"(  boot_exec\.lua \.\.\. ok \(2 tests, )") + kSeconds + "\\)")))
      << boot[0];
  EXPECT_EQ(boot[1], "    · uname ... ok");
  EXPECT_EQ(boot[2], "    · a file round trip ... ok");
  EXPECT_TRUE(has_line(output(), std::string(R"(  plain\.lua \.\.\. ok \()") + kSeconds + "\\)")) << output();
  EXPECT_TRUE(has_line(output(), std::string(R"(  flaky\.lua \.\.\. ok \(1 test, )") + kSeconds + "\\)")) << output();
  // Names are relative to the directory given.
  EXPECT_THAT(joined(section(output(), "sub/nested.lua")), HasSubstr("    · nested ... ok\n")) << output();
}

TEST_F(WholeDirectory, AFailedBlockShowsItsMessageAndTheConsole) {
  const auto mixed = section(output(), "mixed.lua");
  ASSERT_GE(mixed.size(), 4u) << output();
  EXPECT_TRUE(std::regex_match(mixed[0], std::regex(std::string(R"(  mixed\.lua \.\.\. FAIL \(1 of 2 tests failed, )") + kSeconds + "\\)")))
      << mixed[0];
  EXPECT_EQ(mixed[1], "    · passes ... ok");
  EXPECT_TRUE(std::regex_match(mixed[2], std::regex(R"(    · fails \.\.\. FAIL: .*mixed\.lua:\d+: .*)"))) << mixed[2];
  const std::string text = joined(mixed);
  EXPECT_THAT(text, HasSubstr("the deliberate failure"));
  const auto console = text.find("    --- console of vm 1 (default) (last 20 lines) ---\n");
  ASSERT_NE(console, std::string::npos) << text;
  EXPECT_NE(text.find("cli-console-marker-xyz", console), std::string::npos) << text;
  // The section is the file's own: the other VM file's blocks are not in it.
  EXPECT_THAT(text, Not(HasSubstr("uname")));
}

TEST_F(WholeDirectory, AFileWhoseBlocksAreAllTodoIsSkipped) {
  const auto todo = section(output(), "todo_only.lua");
  ASSERT_EQ(todo.size(), 3u) << output();
  EXPECT_TRUE(std::regex_match(todo[0], std::regex(std::string(R"(  todo_only\.lua \.\.\. skipped \(2 todo, )") + kSeconds + "\\)")))
      << todo[0];
  EXPECT_EQ(todo[1], "    · not written yet ... todo: waiting for the feature");
  EXPECT_EQ(todo[2], "    · neither ... todo");
}

TEST_F(WholeDirectory, AnErrorOutsideBlocksFailsTheFile) {
  const auto text = joined(section(output(), "top_error.lua"));
  EXPECT_TRUE(has_line(text, std::string(R"(  top_error\.lua \.\.\. FAIL \(error, )") + kSeconds + "\\)")) << text;
  EXPECT_TRUE(has_line(text, R"(    error: .*top_error\.lua:\d+: top-level boom)")) << text;
  EXPECT_THAT(text, Not(HasSubstr("stack traceback")));  // that is for the log
}

TEST_F(WholeDirectory, AProcessThatDiesFailsItsFileWithWhatHappened) {
  const auto exited = joined(section(output(), "crash_exit.lua"));
  EXPECT_TRUE(has_line(exited, std::string(R"(  crash_exit\.lua \.\.\. FAIL \(error, )") + kSeconds + "\\)")) << output();
  EXPECT_THAT(exited, HasSubstr("    error: its process exited with status 3 without a result\n"));
  EXPECT_THAT(exited, HasSubstr("    its output (last 20 lines):\n      crash_exit: leaving now\n"));

  const auto killed = joined(section(output(), "crash_signal.lua"));
  EXPECT_THAT(killed, HasSubstr("    error: its process was killed by signal 11 (Segmentation fault)\n")) << output();
  EXPECT_THAT(killed, HasSubstr("      crash_signal: about to crash\n"));
  EXPECT_THAT(output(), Not(HasSubstr("still alive")));
}

// kernel_reports.lua: each report fails the block (or, outside blocks, the file) during which
// the kernel printed it, with the report's text; expectations pass or fail as declared.
TEST_F(WholeDirectory, KernelReportsFailTheBlockDuringWhichTheyCame) {
  const auto lines = section(output(), "kernel_reports.lua");
  const std::string text = joined(lines);
  ASSERT_GE(lines.size(), 6u) << output();
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(std::string(R"(  kernel_reports\.lua \.\.\. FAIL \(error, 2 of 5 tests failed, )") + kSeconds + "\\)")))
      << lines[0];
  EXPECT_EQ(lines[1], "    · warns ... FAIL: vm 1 (default): the kernel reported a bug that no expect_kernel_report declared:");
  EXPECT_EQ(lines[2], "        --- kernel report: WARNING: CPU: 0 PID: 1 at lua/block.c:1 f+0x1/0x2 ---");
  EXPECT_TRUE(std::regex_match(lines[3], std::regex(R"(        \[ *\d+\.\d+\] WARNING: CPU: 0 PID: 1 at lua/block\.c:1 f\+0x1/0x2)")))
      << lines[3];
  EXPECT_TRUE(has_line(text, R"(    · passes after \.\.\. ok)")) << text;
  EXPECT_TRUE(has_line(text, R"(    · expects its warning \.\.\. ok)")) << text;
  EXPECT_TRUE(has_line(text, R"(    · expects in vain \.\.\. FAIL: vm 1 \(default\): expect_kernel_report\("BUG: KASAN"\): )"
                             R"(the kernel reported nothing that matches \(it reported nothing at all\))"))
      << text;
  EXPECT_TRUE(has_line(text, R"(    · a fixture whose script warned is not built \.\.\. ok)")) << text;
  // The warning between blocks is the file's.
  EXPECT_TRUE(has_line(text, R"(    error: vm 1 \(default\): the kernel reported a bug .*)")) << text;
  EXPECT_THAT(text, HasSubstr("--- kernel report: WARNING: CPU: 0 PID: 1 at lua/top.c:4 f+0x1/0x2 ---"));
}

TEST_F(WholeDirectory, FixtureScriptsAreNotTests) {
  EXPECT_THAT(output(), Not(HasSubstr("not_a_test")));
  EXPECT_THAT(output(), Not(HasSubstr("a fixture script was run")));
}

TEST_F(WholeDirectory, LogsAreKeptForFailedFilesOnly) {
  const auto lines = lines_of(output());
  const auto listed = std::find(lines.begin(), lines.end(), "Failed test logs:");
  ASSERT_NE(listed, lines.end()) << output();
  EXPECT_EQ(*(listed - 1), "") << "a blank line before the list";
  std::vector<fs::path> kept;
  auto it = listed + 1;
  for (; it != lines.end() && it->rfind("  ", 0) == 0; ++it) {
    // "  name → path": the file as its line shows it, then its log
    const auto arrow = it->find(" → ");
    ASSERT_NE(arrow, std::string::npos) << *it;
    EXPECT_EQ(fs::path(it->substr(arrow + 5)).filename().string(), it->substr(2, arrow - 2) + ".log");
    kept.push_back(it->substr(arrow + 5));
  }
  ASSERT_NE(it, lines.end());
  EXPECT_EQ(*it, "") << "a blank line before the summary";
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, files_below(scratch_->logs())) << output();
  ASSERT_EQ(kept.size(), 5u) << output();
  std::vector<std::string> names;
  for (const auto& log : kept) names.push_back(log.filename().string());
  EXPECT_THAT(names, ::testing::ElementsAre("crash_exit.lua.log", "crash_signal.lua.log", "kernel_reports.lua.log",
                                            "mixed.lua.log", "top_error.lua.log"));
  // One directory for the run, private, named after the time and the process.
  const fs::path run_dir = kept[0].parent_path();
  EXPECT_EQ(run_dir.parent_path(), scratch_->logs());
  EXPECT_TRUE(std::regex_match(run_dir.filename().string(), std::regex(R"(run-\d{8}-\d{6}-\d+)")));
  EXPECT_EQ(fs::status(run_dir).permissions() & fs::perms::all, fs::perms::owner_all);

  const std::string mixed = read(run_dir / "mixed.lua.log");
  EXPECT_THAT(mixed, HasSubstr("the deliberate failure"));
  EXPECT_THAT(mixed, HasSubstr("== console of "));
  EXPECT_THAT(mixed, HasSubstr("cli-console-marker-xyz"));
  EXPECT_THAT(mixed, HasSubstr("stack traceback"));  // the block's whole message
  EXPECT_THAT(read(run_dir / "top_error.lua.log"), HasSubstr("stack traceback"));
  EXPECT_THAT(read(run_dir / "crash_exit.lua.log"), HasSubstr("crash_exit: leaving now"));
  EXPECT_THAT(read(run_dir / "crash_signal.lua.log"), HasSubstr("signal 11"));
}

TEST_F(WholeDirectory, RecordsEveryOutcomeForRerunFailed) {
  const std::string record = read(scratch_->cache() / "last-failed.json");
  const std::string suite = fs::weakly_canonical(kScripts / "suite").string();
  EXPECT_THAT(record, HasSubstr("\"" + suite + "/mixed.lua\": \"failed\""));
  EXPECT_THAT(record, HasSubstr("\"" + suite + "/boot_exec.lua\": \"passed\""));
  EXPECT_THAT(record, HasSubstr("\"" + suite + "/todo_only.lua\": \"skipped\""));
}

// A VM that died while it booted: its error starts with the wrapper's reason, and the kept log
// has its whole console (once it showed "(empty: ...)" there).
TEST(ProviumTest, AVmThatDiedBootingKeepsItsConsoleInTheLog) {
  Scratch scratch;
  const std::string kernel = provium_test::newest_kernel().string();
  ASSERT_FALSE(kernel.empty()) << "no /boot/vmlinuz-*";
  std::ofstream(scratch.path() / "provium.toml") << "[profile.bad_init]\nkernel = \"" << kernel
                                                 << "\"\ninit = \"/nonexistent/init\"\n";
  std::ofstream(scratch.path() / "dies.lua") << "provium.create(\"bad_init\"):boot()\n";
  const auto run = provium_test_run({"--config", (scratch.path() / "provium.toml").string(),
                                     (scratch.path() / "dies.lua").string()},
                                    scratch);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("provium-wrapper: cannot exec init /nonexistent/init"));
  const auto logs = files_below(scratch.logs());
  ASSERT_EQ(logs.size(), 1u) << run.output;
  const std::string log = read(logs[0]);
  EXPECT_THAT(log, HasSubstr("== console of vm 1 (bad_init) =="));
  EXPECT_THAT(log, Not(HasSubstr("(empty:")));
  EXPECT_THAT(log, HasSubstr("Kernel panic"));
}

TEST(ProviumTest, FiltersKeepFilesWhoseNameContainsAPattern) {
  Scratch scratch;
  const auto run = provium_test_run({"-f", "plain", "-f", "sub/", (kScripts / "suite").string()}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::vector<std::string> files;
  for (const auto& line : lines_of(run.output))
    if (line.rfind("  ", 0) == 0 && line.rfind("    ", 0) != 0) files.push_back(line.substr(2, line.find(" ...") - 2));
  EXPECT_THAT(files, ::testing::UnorderedElementsAre("plain.lua", "sub/nested.lua")) << run.output;  // as they end
  EXPECT_EQ(lines_of(run.output).back(), "ok: 2 passed");
  EXPECT_THAT(run.output, Not(HasSubstr("Failed test logs")));
  EXPECT_TRUE(files_below(scratch.logs()).empty());  // nothing failed: no log directory
}

// Fixed resource mode: the pool says so once at the start, and gates the VMs, so every file
// starts at once unless -p says otherwise.
TEST(ProviumTest, AFixedPoolIsAnnouncedAndRunsEveryFileAtOnce) {
  Scratch scratch;
  const auto suite = (kScripts / "suite").string();
  const auto fixed = provium_test_run({"-v", "--mem", "2G", "--cpus", "3", "-f", "plain", "-f", "sub/", "-f", "todo_only", suite}, scratch);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
  const auto lines = lines_of(fixed.output);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "provium test");
  EXPECT_EQ(lines[1], "resource pool: 2048M memory, 3 CPUs");
  EXPECT_THAT(fixed.output, HasSubstr("running 3 files, 3 at a time"));
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "resource pool: 2048M memory, 3 CPUs"), 1);

  const auto explicit_p = provium_test_run({"-v", "-p", "1", "--mem", "2G", "-f", "plain", "-f", "sub/", "-f", "todo_only", suite}, scratch);
  EXPECT_THAT(explicit_p.output, HasSubstr("resource pool: 2048M memory\n"));
  EXPECT_THAT(explicit_p.output, HasSubstr("running 3 files, 1 at a time"));

  const auto automatic = provium_test_run({"-v", "-f", "plain", suite}, scratch);
  EXPECT_THAT(automatic.output, Not(HasSubstr("resource pool:")));
}

// A JUnit report that cannot be written fails the run, saying why: a CI job must not pass with
// its report missing.
TEST(ProviumTest, AJunitReportThatCannotBeWrittenFailsTheRun) {
  Scratch scratch;
  const auto run = provium_test_run({"--junit", "/nonexistent-provium-dir/report.xml",
                                     (kScripts / "suite" / "todo_only.lua").string()},
                                    scratch);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("provium test: cannot write the JUnit report /nonexistent-provium-dir/report.xml: "
                                    "No such file or directory"));
}

TEST(ProviumTest, ARunOfSkippedFilesPasses) {
  Scratch scratch;
  const auto run = provium_test_run({"-f", "todo_only", (kScripts / "suite").string()}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(lines_of(run.output).back(), "ok: 0 passed, 1 skipped");
}

TEST(ProviumTest, FailFastStartsNoFileAfterTheFirstFailure) {
  Scratch scratch;
  // In name order: crash_exit.lua fails, plain.lua and todo_only.lua would follow.
  const auto run = provium_test_run({"--fail-fast", "-p", "1", "-f", "crash_exit", "-f", "plain", "-f", "todo_only",
                                     (kScripts / "suite").string()},
                                    scratch);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("  crash_exit.lua ... FAIL"));
  EXPECT_THAT(run.output, Not(HasSubstr("plain.lua")));
  EXPECT_THAT(run.output, Not(HasSubstr("todo_only.lua")));
  EXPECT_EQ(lines_of(run.output).back(), "FAIL: 0 passed, 1 failed, 2 not run");
}

TEST(ProviumTest, FailFastLetsRunningFilesFinish) {
  Scratch scratch;
  // crash_exit.lua and slow.lua start together; slow.lua is still running when crash_exit.lua
  // fails, finishes and is reported; todo_only.lua is not started.
  const auto run = provium_test_run({"--fail-fast", "-p", "2", "-f", "crash_exit", "-f", "slow", "-f", "todo_only",
                                     (kScripts / "suite").string()},
                                    scratch);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("  crash_exit.lua ... FAIL"));
  EXPECT_THAT(run.output, HasSubstr("  slow.lua ... ok (1 test, "));
  EXPECT_THAT(run.output, Not(HasSubstr("todo_only.lua")));
  EXPECT_EQ(lines_of(run.output).back(), "FAIL: 1 passed, 1 failed, 1 not run");
}

TEST(ProviumTest, RerunFailedRunsOnlyWhatFailedLastTime) {
  Scratch scratch;
  const std::string suite = (kScripts / "suite").string();
  auto first = provium_test_run({"-f", "flaky", "-f", "plain", suite}, scratch, {{"CLI_TEST_FAIL", "flaky"}});
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_THAT(first.output, HasSubstr("flaky asked to fail"));
  EXPECT_EQ(lines_of(first.output).back(), "FAIL: 1 passed, 1 failed");

  // The whole directory this time, fixed: only flaky.lua failed last time.
  auto second = provium_test_run({"--rerun-failed", suite}, scratch);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("rerunning 1 file that failed last time\n"));
  EXPECT_TRUE(has_line(second.output, R"(  flaky\.lua \.\.\. ok \(1 test, .*)")) << second.output;
  EXPECT_THAT(second.output, Not(HasSubstr("plain.lua")));
  EXPECT_EQ(lines_of(second.output).back(), "ok: 1 passed");

  auto third = provium_test_run({"--rerun-failed", suite}, scratch);
  EXPECT_EQ(third.exit_code, 0) << third.output;
  EXPECT_THAT(third.output, HasSubstr("failed the last time it ran"));
  EXPECT_THAT(third.output, Not(HasSubstr(" ... ")));
}

TEST(ProviumTest, AFileAsPathVmOptionsAndVerboseOutput) {
  Scratch scratch;
  const fs::path config = scratch.path() / "provium.toml";
  std::ofstream(config) << "";
  const std::string file = (kScripts / "exports.lua").string();
  const auto run = provium_test_run({"-v", "--mem", "1G", "--cpus", "2", "--accel", "tcg", "--config",
                                     config.string(), file},
                                    scratch, {{"CLI_TEST_CONFIG", config.string()}});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("  " + file + " ... ok (1 test, "));  // the name as given
  EXPECT_THAT(run.output, HasSubstr("    output:\n      exports seen\n"));
}

// --stream: each exec's output live, and every line of the file's process as it comes, after the
// file's name.
TEST(ProviumTest, StreamShowsEachLineAfterTheFilesName) {
  Scratch scratch;
  const std::string file = (kScripts / "stream.lua").string();
  const auto run = provium_test_run({"--stream", file}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::ContainsRegex("  " + file + " \\| \\[vm-[A-Za-z0-9]+\\] streamed-line"));
  EXPECT_THAT(run.output, HasSubstr("  " + file + " | printed-line\n"));
}

TEST(ProviumTest, BadCommandLinesExitTwoWithTheUsage) {
  Scratch scratch;
  const std::string suite = (kScripts / "suite").string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const auto& [args, message] : std::vector<Case>{
           {{"--bogus", suite}, "provium test: unknown option '--bogus'"},
           {{}, "provium test: no PATH given"},
           {{"-p", "0", suite}, "provium test: -p wants a whole number from 1 to"},
           {{"--mem", "lots", suite}, "provium test: --mem:"},
           {{"--accel", "xen", suite}, "provium test: --accel is \"xen\"; it must be one of auto, kvm, tcg"},
       }) {
    const auto run = provium_test_run(args, scratch);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(message));
    EXPECT_THAT(run.output, HasSubstr("usage: provium test [OPTIONS] PATH"));
  }
  const auto missing = provium_test_run({(kScripts / "no-such-dir").string()}, scratch);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("no-such-dir: no such file or directory"));
}

TEST(ProviumTest, NoMatchingFileIsAFailureNotAPass) {
  Scratch scratch;
  const auto run = provium_test_run({"-f", "zzz", (kScripts / "suite").string()}, scratch);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("matches -f zzz"));
}

TEST(ProviumTest, HelpExplainsTheCommand) {
  Scratch scratch;
  const auto run = provium_test_run({"--help"}, scratch);
  EXPECT_EQ(run.exit_code, 0);
  for (const char* text : {"usage: provium test [OPTIONS] PATH", "--fail-fast", "--rerun-failed", "Exit status",
                           "docs/cli.md"})
    EXPECT_THAT(run.output, HasSubstr(text));
  const auto top = provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), "--help"}, {}).wait();
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.output, HasSubstr("test [OPTIONS] PATH"));
}

}  // namespace
