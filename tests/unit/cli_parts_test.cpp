// The pieces of `provium test` that need no VM: option parsing, the lines printed per file and
// in the summary, the result's JSON round trip and the --rerun-failed record. The whole command
// runs on real VMs in tests/cli.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "cli/junit.h"
#include "cli/options.h"
#include "cli/report.h"
#include "cli/rerun_record.h"
#include "cli/result_json.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace provium::cli;
using provium::lua::BlockResult;
using provium::lua::FileResult;
using provium::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

TestOptions parse(std::vector<std::string> args) { return parse_test_options(args, 3); }

std::string usage_error(std::vector<std::string> args) {
  try {
    parse(args);
  } catch (const UsageError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(CliOptions, DefaultsAndPath) {
  const auto options = parse({"tests/lua"});
  EXPECT_EQ(options.path, "tests/lua");
  EXPECT_EQ(options.parallel, 3);
  EXPECT_TRUE(options.patterns.empty());
  EXPECT_FALSE(options.fail_fast || options.rerun_failed || options.verbose || options.help);
  EXPECT_FALSE(options.mem || options.cpus || options.config || options.accel);
}

TEST(CliOptions, EveryOptionInBothSpellings) {
  const auto options = parse({"-p", "4", "-f", "exec", "--filter=ioctl", "-fsys", "--fail-fast",
                              "--rerun-failed", "--mem", "2G", "--cpus=3", "--accel", "tcg", "-v", "dir"});
  EXPECT_EQ(options.parallel, 4);
  EXPECT_THAT(options.patterns, ElementsAre("exec", "ioctl", "sys"));
  EXPECT_TRUE(options.fail_fast && options.rerun_failed && options.verbose);
  EXPECT_EQ(options.mem, "2G");
  EXPECT_EQ(options.cpus, "3");
  EXPECT_EQ(options.accel, "tcg");
  EXPECT_EQ(options.path, "dir");
  EXPECT_EQ(parse({"dir", "-p8"}).parallel, 8);  // options after PATH too
  EXPECT_EQ(parse({"--parallel=2", "dir"}).parallel, 2);
  EXPECT_EQ(parse({"--", "-odd-name.lua"}).path, "-odd-name.lua");
}

TEST(CliOptions, ConfigMustExistAndBecomesAbsolute) {
  TempDir dir;
  const auto file = dir.write("provium.toml", "");
  EXPECT_EQ(parse({"--config", file.string(), "x"}).config, file.string());
  EXPECT_THAT(usage_error({"--config", (dir.path() / "missing.toml").string(), "x"}),
              HasSubstr("missing.toml is not a file"));
}

TEST(CliOptions, HelpWinsOverEverythingElse) {
  EXPECT_TRUE(parse({"--bogus", "-h"}).help);
  EXPECT_TRUE(parse({"-p", "zero", "--help", "a", "b"}).help);
  EXPECT_TRUE(parse({"-h", "--bogus"}).help);
  EXPECT_TRUE(parse({"--help"}).help);
}

TEST(CliOptions, BadCommandLinesSayWhatIsWrong) {
  EXPECT_THAT(usage_error({}), HasSubstr("no PATH given"));
  EXPECT_THAT(usage_error({"a", "b"}), HasSubstr("one PATH only"));
  EXPECT_THAT(usage_error({"--bogus", "x"}), HasSubstr("unknown option '--bogus'"));
  EXPECT_THAT(usage_error({"-x", "x"}), HasSubstr("unknown option '-x'"));
  EXPECT_THAT(usage_error({"x", "-p"}), HasSubstr("-p needs a value"));
  EXPECT_THAT(usage_error({"-p", "0", "x"}), HasSubstr("-p wants a whole number from 1 to"));
  EXPECT_THAT(usage_error({"-p", "two", "x"}), HasSubstr("not 'two'"));
  EXPECT_THAT(usage_error({"-p", "2x", "x"}), HasSubstr("not '2x'"));
  EXPECT_THAT(usage_error({"--cpus", "-1", "x"}), HasSubstr("--cpus is \"-1\"; it must be a whole number of CPUs"));
  EXPECT_THAT(usage_error({"--mem", "lots", "x"}), HasSubstr("--mem:"));
  EXPECT_THAT(usage_error({"--accel", "xen", "x"}), HasSubstr("--accel is \"xen\"; it must be one of auto, kvm, tcg"));
  EXPECT_THAT(usage_error({"--kernel-reports", "maybe", "x"}),
              HasSubstr("--kernel-reports is \"maybe\"; it must be one of check, ignore"));
}

TEST(CliOptions, UsageNamesEveryOption) {
  for (const char* option : {"-p, --parallel N", "-f, --filter PATTERN", "--fail-fast", "--rerun-failed",
                             "--mem SIZE", "--cpus N", "--config FILE", "--accel ACCEL", "-v, --verbose", "--shard K/N",
                             "-h, --help", "Exit status"})
    EXPECT_THAT(std::string(kTestUsage), HasSubstr(option));
}

TEST(CliOptions, ShardIsOneBasedOnTheCommandLine) {
  const auto options = parse({"--shard", "2/3", "tests/lua"});
  ASSERT_TRUE(options.shard.has_value());
  EXPECT_EQ(options.shard->index, 1);
  EXPECT_EQ(options.shard->total, 3);
  EXPECT_EQ(parse({"--shard=1/1", "x"}).shard->index, 0);
  EXPECT_FALSE(parse({"x"}).shard.has_value());
  EXPECT_THAT(usage_error({"--shard", "0/3", "x"}), HasSubstr("--shard's K wants a whole number from 1 to 3, not '0'"));
  EXPECT_THAT(usage_error({"--shard", "4/3", "x"}), HasSubstr("from 1 to 3, not '4'"));
  EXPECT_THAT(usage_error({"--shard", "3", "x"}), HasSubstr("--shard wants K/N"));
  EXPECT_THAT(usage_error({"--shard", "1/0", "x"}), HasSubstr("--shard's N wants a whole number from 1"));
  EXPECT_THAT(usage_error({"--shard", "a/b", "x"}), HasSubstr("not 'b'"));
}

TEST(CliOptions, GoogleTestShardVariablesAreZeroBasedAndComeInPairs) {
  EXPECT_FALSE(shard_from_gtest_variables(nullptr, nullptr).has_value());
  const auto shard = shard_from_gtest_variables("4", "3");
  ASSERT_TRUE(shard.has_value());
  EXPECT_EQ(shard->index, 3);
  EXPECT_EQ(shard->total, 4);
  EXPECT_THAT([] { shard_from_gtest_variables("4", nullptr); },
              ::testing::ThrowsMessage<UsageError>(HasSubstr("GTEST_TOTAL_SHARDS is set but GTEST_SHARD_INDEX is not")));
  EXPECT_THAT([] { shard_from_gtest_variables(nullptr, "0"); },
              ::testing::ThrowsMessage<UsageError>(HasSubstr("GTEST_SHARD_INDEX is set but GTEST_TOTAL_SHARDS is not")));
  EXPECT_THROW(shard_from_gtest_variables("4", "4"), UsageError);
  EXPECT_THROW(shard_from_gtest_variables("0", "0"), UsageError);
  EXPECT_THROW(shard_from_gtest_variables("x", "0"), UsageError);
}

TEST(CliOptions, ShardsAreDisjointAndTogetherEveryPosition) {
  for (int total : {1, 2, 3, 7}) {
    for (std::size_t position = 0; position < 20; ++position) {
      int owners = 0;
      for (int index = 0; index < total; ++index) owners += Shard{index, total}.has(position);
      EXPECT_EQ(owners, 1) << "position " << position << " of " << total << " shards";
    }
  }
}

BlockResult block(std::string name, BlockResult::Status status, std::string message = "") {
  return {std::move(name), status, std::move(message), "t.lua", 3};
}

FileOutcome outcome(FileResult result, std::string name = "sub/t.lua") {
  FileOutcome out;
  out.file = "dir/" + name;
  out.name = std::move(name);
  out.result = std::move(result);
  return out;
}

TEST(CliReport, FileLines) {
  FileResult plain;
  plain.seconds = 2.14;
  EXPECT_EQ(format_outcome(outcome(plain), false), "  sub/t.lua ... ok (2.1s)\n");

  FileResult passing;
  passing.seconds = 4.26;
  passing.blocks = {block("a", BlockResult::Status::passed), block("b", BlockResult::Status::todo, "later")};
  EXPECT_EQ(format_outcome(outcome(passing), false),
            "  sub/t.lua ... ok (2 tests, 1 todo, 4.3s)\n"
            "    · a ... ok\n"
            "    · b ... todo: later\n");

  FileResult todo_only;
  todo_only.seconds = 0.5;
  todo_only.blocks = {block("a", BlockResult::Status::todo), block("b", BlockResult::Status::todo, "x")};
  EXPECT_EQ(format_outcome(outcome(todo_only), false),
            "  sub/t.lua ... skipped (2 todo, 0.5s)\n"
            "    · a ... todo\n"
            "    · b ... todo: x\n");
}

TEST(CliReport, FailedBlocksAndErrors) {
  FileResult failing;
  failing.seconds = 1;
  failing.blocks = {block("good", BlockResult::Status::passed),
                    block("bad", BlockResult::Status::failed, "t.lua:9: expected 0, got 1\nsecond line")};
  EXPECT_EQ(format_outcome(outcome(failing), false),
            "  sub/t.lua ... FAIL (1 of 2 tests failed, 1.0s)\n"
            "    · good ... ok\n"
            "    · bad ... FAIL: t.lua:9: expected 0, got 1\n"
            "        second line\n");

  FileResult broken;
  broken.seconds = 1.2;
  broken.error = "t.lua:1: boom\nstack traceback:\n\t[C]: in ?";
  EXPECT_EQ(format_outcome(outcome(broken), false),
            "  sub/t.lua ... FAIL (error, 1.2s)\n"
            "    error: t.lua:1: boom\n");
}

TEST(CliReport, TracebacksStayInTheLogAndConsolesAreShown) {
  FileResult failing;
  failing.blocks = {block("bad", BlockResult::Status::failed, "t.lua:9: no\nstack traceback:\n\t[C]: in ?")};
  std::string console;
  for (int i = 1; i <= 30; ++i) console += "console " + std::to_string(i) + "\r\n";
  failing.consoles = {{"vm 1 (default)", console}};
  const auto text = format_outcome(outcome(failing), false);
  EXPECT_THAT(text, HasSubstr("    · bad ... FAIL: t.lua:9: no\n    --- console of vm 1 (default)"));
  EXPECT_THAT(text, Not(HasSubstr("traceback")));
  EXPECT_THAT(text, HasSubstr("\n      console 11\n"));
  EXPECT_THAT(text, HasSubstr("\n      console 30\n"));
  EXPECT_THAT(text, Not(HasSubstr("console 10\n")));
}

TEST(CliReport, AProcessThatDiedShowsItsLastOutput) {
  FileResult result;
  result.error = "its process was killed by signal 11 (Segmentation fault)";
  auto died = outcome(result, "x.lua");
  died.result_missing = true;
  for (int i = 1; i <= 25; ++i) died.output += "line " + std::to_string(i) + "\n";
  const auto text = format_outcome(died, false);
  EXPECT_THAT(text, HasSubstr("  x.lua ... FAIL (error, 0.0s)\n"
                              "    error: its process was killed by signal 11 (Segmentation fault)\n"
                              "    its output (last 20 lines):\n"
                              "      line 6\n"));
  EXPECT_THAT(text, Not(HasSubstr("line 5\n")));
  EXPECT_THAT(text, HasSubstr("      line 25\n"));
}

TEST(CliReport, Summary) {
  EXPECT_EQ(format_summary({3, 0, 0, 0, {}}), "\nok: 3 passed\n");
  EXPECT_EQ(format_summary({3, 0, 1, 0, {}}), "\nok: 3 passed, 1 skipped\n");
  EXPECT_EQ(format_summary({1, 2, 1, 4, {{"a.lua", "/l/a.lua.log"}, {"sub/b.lua", "/l/sub/b.lua.log"}}}),
            "\n"
            "Failed test logs:\n"
            "  a.lua → /l/a.lua.log\n"
            "  sub/b.lua → /l/sub/b.lua.log\n"
            "\n"
            "FAIL: 1 passed, 2 failed, 1 skipped, 4 not run\n");
}

TEST(CliReport, TextHelpers) {
  EXPECT_EQ(indent("a\r\n\nb", "  "), "  a\n\n  b\n");
  EXPECT_EQ(without_traceback("e\nmore\nstack traceback:\n..."), "e\nmore");
}

TEST(CliResultJson, RoundTripKeepsEverything) {
  FileResult result;
  result.file = "dir/t.lua";
  result.blocks = {block("a", BlockResult::Status::passed), block("b", BlockResult::Status::failed, "m"),
                   block("c", BlockResult::Status::todo, "r")};
  result.error = "t.lua:1: boom";
  result.consoles = {{"vm 1 (default)", "console text\n"}};
  result.seconds = 1.5;
  const auto back = result_from_json(result_to_json(result));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->file, result.file);
  ASSERT_EQ(back->blocks.size(), 3u);
  EXPECT_EQ(back->blocks[1].status, BlockResult::Status::failed);
  EXPECT_EQ(back->blocks[1].message, "m");
  EXPECT_EQ(back->blocks[2].status, BlockResult::Status::todo);
  EXPECT_EQ(back->blocks[0].line, 3);
  EXPECT_EQ(back->error, result.error);
  ASSERT_EQ(back->consoles.size(), 1u);
  EXPECT_EQ(back->consoles[0].text, "console text\n");
  EXPECT_EQ(back->seconds, 1.5);
}

TEST(CliResultJson, BinaryConsoleBytesDoNotBreakIt) {
  FileResult result;
  result.consoles = {{"vm", std::string("a\xff\xfe" "b", 4)}};
  const auto back = result_from_json(result_to_json(result));
  ASSERT_TRUE(back);
  EXPECT_THAT(back->consoles[0].text, HasSubstr("a"));
  EXPECT_THAT(back->consoles[0].text, HasSubstr("b"));
}

TEST(CliResultJson, PartialOrForeignTextIsNoResult) {
  const auto text = result_to_json(FileResult{});
  EXPECT_FALSE(result_from_json(text.substr(0, text.size() / 2)));
  EXPECT_FALSE(result_from_json(""));
  EXPECT_FALSE(result_from_json("{\"file\": 1}"));
}

TEST(CliRerunRecord, KeepsTheLastOutcomeOfEachFile) {
  TempDir dir;
  const auto a = dir.write("a.lua", ""), b = dir.write("b.lua", ""), gone = dir.write("gone.lua", "");
  const RerunRecord record(dir.path() / "cache" / "last-failed.json");
  EXPECT_TRUE(record.failed().empty());  // no record yet
  record.update({{RerunRecord::key(a), RerunRecord::Outcome::failed},
                 {RerunRecord::key(b), RerunRecord::Outcome::failed},
                 {RerunRecord::key(gone), RerunRecord::Outcome::failed}});
  EXPECT_EQ(record.failed().size(), 3u);
  fs::remove(gone);
  record.update({{RerunRecord::key(a), RerunRecord::Outcome::passed}});  // only a ran
  EXPECT_THAT(record.failed(), ElementsAre(RerunRecord::key(b)));
}

TEST(CliRerunRecord, AForeignRecordIsIgnored) {
  TempDir dir;
  const auto path = dir.write("last-failed.json", "not json");
  EXPECT_TRUE(RerunRecord(path).failed().empty());
}

TEST(CliRerunRecord, KeysAreAbsoluteAndNormal) {
  TempDir dir;
  const auto a = dir.write("sub/a.lua", "");
  EXPECT_EQ(RerunRecord::key(dir.path() / "sub" / ".." / "sub" / "a.lua"), RerunRecord::key(a));
  EXPECT_TRUE(RerunRecord::key("relative.lua").is_absolute());
}

// --- --junit ----------------------------------------------------------------------------------

// The JUnit report of a run with a passing, a failing and a todo block, a file of todo blocks
// only and a file that ended with an error and kept its log, parsed by Python's xml.etree (a
// parser of its own, not ours) and checked element by element.
TEST(Junit, EveryBlockIsATestcaseThatJunitReadersParse) {
  FileResult a;
  a.blocks = {{"adds", BlockResult::Status::passed, "", "a.lua", 3, 0.25},
              {"compares <x> & \"y\"", BlockResult::Status::failed, "a.lua:9: expected 1, got 2\nstack traceback:\n\x01...", "a.lua", 8, 1.5},
              {"later", BlockResult::Status::todo, "not yet", "a.lua", 12, 0.0}};
  a.seconds = 2.0;
  FileResult b;
  b.blocks = {{"one", BlockResult::Status::todo, "", "b.lua", 1, 0.0}};
  FileResult c;
  c.error = "c.lua:1: boom\nstack traceback: ...";
  c.seconds = 0.5;
  const std::string xml = junit_xml({{"a.lua", a, std::nullopt}, {"b.lua", b, std::nullopt},
                                     {"sub/c.lua", c, fs::path("/logs/run-1/sub/c.lua.log")}});
  TempDir dir;
  const fs::path report = dir.write("report.xml", xml);
  const std::string script = R"(
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(root.tag, *(root.get(k) for k in ("tests", "failures", "errors", "skipped")))
for suite in root:
    print(" ", suite.tag, suite.get("name"), *(suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")))
    for child in suite:
        if child.tag == "properties":
            for p in child: print("   ", p.tag, p.get("name"), p.get("value"))
            continue
        print("   ", child.tag, child.get("classname"), repr(child.get("name")), child.get("time"))
        for result in child:
            print("     ", result.tag, repr(result.get("message")), repr(result.text))
)";
  const fs::path program = dir.write("read.py", script);
  const std::string command = "python3 '" + program.string() + "' '" + report.string() + "' > '" +
                              (dir.path() / "out").string() + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << std::ifstream(dir.path() / "out").rdbuf();
  std::ifstream in(dir.path() / "out");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_THAT(lines,
              ElementsAre("testsuites 5 1 1 2",
                          "  testsuite a.lua 3 1 0 1 2.000",
                          "    testcase a.lua 'adds' 0.250",
                          "    testcase a.lua 'compares <x> & \"y\"' 1.500",
                          "      failure 'a.lua:9: expected 1, got 2' 'a.lua:9: expected 1, got 2\\nstack traceback:\\n\xEF\xBF\xBD...'",
                          "    testcase a.lua 'later' 0.000",
                          "      skipped 'not yet' None",
                          "  testsuite b.lua 1 0 0 1 0.000",
                          "    testcase b.lua 'one' 0.000",
                          "      skipped '' None",
                          "  testsuite sub/c.lua 1 0 1 0 0.500",
                          "    property provium.log /logs/run-1/sub/c.lua.log",
                          "    testcase sub/c.lua '(file)' 0.000",
                          "      error 'c.lua:1: boom' 'c.lua:1: boom\\nstack traceback: ...'"));
}

TEST(Junit, TheOptionTakesAFileAndRefusesNone) {
  EXPECT_EQ(parse_test_options({"--junit", "out/report.xml", "tests"}, 2).junit, fs::absolute("out/report.xml"));
  EXPECT_EQ(parse_test_options({"--junit=r.xml", "tests"}, 2).junit, fs::absolute("r.xml"));
  EXPECT_FALSE(parse_test_options({"tests"}, 2).junit);
  EXPECT_THROW(parse_test_options({"--junit=", "tests"}, 2), UsageError);
}

// A block's time travels from the file's process with the rest of its result.
TEST(Junit, ABlocksTimeTravelsInTheResultJson) {
  FileResult result;
  result.blocks = {{"b", BlockResult::Status::passed, "", "f.lua", 1, 1.25}};
  const auto back = result_from_json(result_to_json(result));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->blocks.at(0).seconds, 1.25);
}

}  // namespace
