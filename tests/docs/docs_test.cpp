// Every code example of README.md and docs/ is checked, so that none can rot unseen. The build
// compiles the C++ examples (tools/doc_examples.py, meson.build here); this program checks the
// rest, from the blocks that script extracted ($PROVIUM_DOC_EXAMPLES):
//   lua    compiled by Lua 5.4; whole files (a first line `-- PATH.lua`) run with `provium test`
//          on a real VM, and the sample output that follows them matches the run's
//   toml   parsed by the provium.toml parser, which must accept it
//   sh     each `provium test` line accepted by its option parser; any other `provium` line run
//          against an empty cache in a scratch directory, where it must not be a usage error;
//          each script of this project that a line runs exists
//   yaml   CI workflows: parsed by PyYAML; their commands (`run:`, `script:`) checked as sh
//   meson  configured by meson in a project of its own, with provium and provium-gtest on PATH
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "config/config.h"
#include "support/child_process.h"
#include "support/lines.h"
#include "support/temp_dir.h"

namespace {

using provium_test::lines_of;

namespace fs = std::filesystem;
using provium::testing::TempDir;

struct Example {
  std::string file;  // relative to the source root
  int line = 0;      // of the block's first line
  std::string lang;
  std::string text;
  std::string where() const { return file + ":" + std::to_string(line); }
};

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) throw std::runtime_error(std::string(name) + " is not set (meson test sets it)");
  return value;
}

const nlohmann::json& extracted() {
  static const nlohmann::json json = [] {
    std::ifstream in(env("PROVIUM_DOC_EXAMPLES"));
    return nlohmann::json::parse(in);
  }();
  return json;
}

const std::vector<Example>& examples() {
  static const std::vector<Example> all = [] {
    std::vector<Example> result;
    for (const auto& block : extracted().at("blocks"))
      result.push_back({block.at("file"), block.at("line"), block.at("lang"), block.at("text")});
    return result;
  }();
  return all;
}

// The build lists the documents when meson configures: a page added since is not extracted.
TEST(DocExamples, EveryPageIsRead) {
  const fs::path root = env("PROVIUM_SOURCE_ROOT");
  std::set<std::string> read;
  for (const auto& page : extracted().at("pages")) read.insert(page.get<std::string>());
  std::set<std::string> pages = {"README.md"};
  for (const auto& page : fs::directory_iterator(root / "docs"))
    if (page.path().extension() == ".md") pages.insert("docs/" + page.path().filename().string());
  EXPECT_EQ(read, pages) << "the build has not read every page: meson setup --reconfigure BUILD_DIR";
}

std::vector<Example> examples_in(const std::string& lang) {
  std::vector<Example> result;
  for (const auto& example : examples())
    if (example.lang == lang) result.push_back(example);
  return result;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// The examples exist: an extraction that found nothing would make every check below pass.
TEST(DocExamples, EveryKindIsThere) {
  for (const std::string lang : {"cpp", "lua", "toml", "sh", "meson", "yaml"})
    EXPECT_FALSE(examples_in(lang).empty()) << "no " << lang << " example found";
}

TEST(DocExamples, LuaCompiles) {
  for (const auto& example : examples_in("lua")) {
    lua_State* L = luaL_newstate();
    // Blank lines before the block make Lua's line numbers the document's.
    const std::string chunk = std::string(example.line - 1, '\n') + example.text;
    const std::string name = "@" + example.file;
    if (luaL_loadbufferx(L, chunk.data(), chunk.size(), name.c_str(), "t") != LUA_OK)
      ADD_FAILURE() << example.where() << ": the Lua example does not compile: " << lua_tostring(L, -1);
    lua_close(L);
  }
}

TEST(DocExamples, TomlParses) {
  const fs::path root = env("PROVIUM_SOURCE_ROOT");
  for (const auto& example : examples_in("toml")) {
    try {
      provium::config::parse(example.text, root / example.file);
    } catch (const std::exception& error) {
      ADD_FAILURE() << example.where() << ": the provium.toml example is refused: " << error.what();
    }
  }
}

// A shell example's commands, one per entry: continuation lines joined, lists (`&&`, `;`) and
// pipes split, comments and the environment assignments and `sudo` before the program left out.
std::vector<std::vector<std::string>> shell_commands(const std::string& text) {
  std::vector<std::vector<std::string>> commands;
  std::string pending;
  for (std::string line : lines_of(text)) {
    const bool continues = !line.empty() && line.back() == '\\';
    if (continues) line.pop_back();
    pending += line + " ";
    if (continues) continue;
    const auto comment = pending.find('#');
    const auto words = words_of(comment == std::string::npos ? pending : pending.substr(0, comment));
    pending.clear();
    // `a && b`, `a; b`, `a | b`: each its own command.
    for (auto start = words.begin(); start != words.end();) {
      auto end = std::find_if(start, words.end(), [](const std::string& word) {
        return word == "&&" || word == "||" || word == ";" || word == "|";
      });
      auto program = start;
      while (program != end && (program->find('=') != std::string::npos || *program == "sudo")) ++program;
      if (program != end) commands.emplace_back(program, end);
      start = end == words.end() ? end : end + 1;
    }
  }
  return commands;
}

// Checks one shell command of `example`; counts the `provium` ones.
void check_command(const Example& example, const std::vector<std::string>& command, int& provium_lines) {
  const fs::path root = env("PROVIUM_SOURCE_ROOT");
  const std::string& program = command[0];
  if (program == "provium" || program.ends_with("/provium")) {
    ++provium_lines;
    if (command.size() >= 2 && command[1] == "test") {
      try {
        provium::cli::parse_test_options({command.begin() + 2, command.end()}, 2);
      } catch (const std::exception& error) {
        ADD_FAILURE() << example.where() << ": `provium test` refuses the documented command line: " << error.what();
      }
      return;
    }
    // The other commands are quick and touch only the cache: run for real, with an empty one.
    TempDir scratch;
    std::vector<std::string> argv = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", scratch.path().string(),
                                     env("PROVIUM_CLI")};
    argv.insert(argv.end(), command.begin() + 1, command.end());
    const auto run = provium_test::ChildProcess(argv, {{"PROVIUM_CACHE_DIR", (scratch.path() / "cache").string()}}).wait();
    EXPECT_NE(run.exit_code, 2) << example.where() << ": provium refuses the documented command line:\n" << run.output;
    return;
  }
  // A script of this project (what the build makes, build/..., depends on its options).
  if (program.find('/') != std::string::npos && !program.starts_with("build/") && !program.starts_with("$")) {
    EXPECT_TRUE(fs::exists(root / program)) << example.where() << ": " << program << " does not exist";
  }
}

TEST(DocExamples, ShellCommandsAreAccepted) {
  int provium_lines = 0;
  for (const auto& example : examples_in("sh"))
    for (const auto& command : shell_commands(example.text)) check_command(example, command, provium_lines);
  EXPECT_GT(provium_lines, 0) << "no `provium` command line found in the sh examples";
}

// The shell commands of a CI workflow (GitHub's `run:`, GitLab's `script:` lists), by PyYAML,
// which must parse the whole workflow.
constexpr const char* kWorkflowCommands = R"(
import json, sys, yaml
commands = []
def walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                commands.append(value)
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                commands.extend(str(item) for item in value)
            else:
                walk(value)
    elif isinstance(node, list):
        for item in node:
            walk(item)
walk(yaml.safe_load(sys.stdin))
print(json.dumps(commands))
)";

TEST(DocExamples, WorkflowsParseAndTheirCommandsAreAccepted) {
  int provium_lines = 0;
  for (const auto& example : examples_in("yaml")) {
    TempDir scratch;
    const auto workflow = scratch.write("workflow.yaml", example.text);
    const auto parsed = provium_test::ChildProcess(
        {"/bin/sh", "-c", "exec python3 -c \"$0\" < \"$1\"", kWorkflowCommands, workflow.string()}, {}).wait();
    ASSERT_EQ(parsed.exit_code, 0) << example.where() << ": the workflow does not parse:\n" << parsed.output;
    for (std::string text : nlohmann::json::parse(parsed.output)) {
      // What the CI puts into a job, as one job of a matrix of four would have it.
      for (const auto& [variable, sample] : std::map<std::string, std::string>{
               {"${{ matrix.shard }}", "2"}, {"$CI_NODE_INDEX", "2"}, {"$CI_NODE_TOTAL", "4"}})
        for (std::size_t at; (at = text.find(variable)) != std::string::npos;) text.replace(at, variable.size(), sample);
      for (const auto& command : shell_commands(text)) check_command(example, command, provium_lines);
    }
  }
  EXPECT_GT(provium_lines, 0) << "no `provium` command found in the workflows";
}

TEST(DocExamples, MesonConfigures) {
  const std::string path = fs::path(env("PROVIUM_CLI")).parent_path().string() + ":" +
                           fs::path(env("PROVIUM_GTEST")).parent_path().string() + ":" + env("PATH");
  for (const auto& example : examples_in("meson")) {
    TempDir project;
    project.write("meson.build", "project('doc_example')\n" + example.text);
    fs::create_directory(project.path() / "lua");
    const auto run = provium_test::ChildProcess(
                         {"/usr/bin/env", "meson", "setup", (project.path() / "build").string(),
                          project.path().string()},
                         {{"PATH", path}})
                         .wait();
    EXPECT_EQ(run.exit_code, 0) << example.where() << ": meson does not take the example:\n" << run.output;
  }
}

// The sample output block that follows `example` in its document, if it shows a `$ ` command.
const Example* sample_output_after(const Example& example) {
  const auto& all = examples();
  for (size_t i = 0; i + 1 < all.size(); ++i)
    if (&all[i] == &example || (all[i].file == example.file && all[i].line == example.line))
      return all[i + 1].file == example.file && all[i + 1].lang.empty() && all[i + 1].text.starts_with("$ ")
                 ? &all[i + 1]
                 : nullptr;
  return nullptr;
}

// The documented output as a pattern: durations (`3.4s`) stand for any.
std::regex output_pattern(const std::string& documented) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  const std::string escaped = std::regex_replace(documented, special, R"(\$&)");
  static const std::regex duration(R"(\d+\\\.\d+s)");
  return std::regex(std::regex_replace(escaped, duration, R"(\d+\.\d+s)"));
}

// Runs `command` (its program looked up in PATH) in `directory`.
provium_test::ChildRun run_in(const fs::path& directory, std::vector<std::string> command) {
  command.insert(command.begin(), {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.string()});
  return provium_test::ChildProcess(command, {}).wait();
}

// A Lua example whose first line names its file (`-- tests/lua/hello.lua`) is a whole file. All
// of them are written into a project at their paths, except those that need what a user builds.
// The sample output after one (`$ provium test tests/lua` and what it prints) is run there and
// must match, durations aside; a fixture script is used by a script that needs it.
TEST(DocExamples, WholeLuaFilesRun) {
  const std::map<std::string, std::string> needs_a_users_build = {
      {"fixtures/selftests.lua", "ships the kernel's selftests, which a user builds (docs/selftests.md)"}};
  TempDir project;
  std::vector<std::pair<Example, fs::path>> whole;
  static const std::regex named(R"(^-- ([\w./-]+\.lua)\b)");
  for (const auto& example : examples_in("lua")) {
    std::smatch match;
    if (!std::regex_search(example.text, match, named) || needs_a_users_build.contains(match[1])) continue;
    project.write(match[1].str(), example.text);
    whole.emplace_back(example, match[1].str());
  }
  ASSERT_FALSE(whole.empty()) << "no whole-file Lua example found";

  int documented_runs = 0;
  for (const auto& [example, path] : whole) {
    const Example* output = sample_output_after(example);
    if (!output) continue;
    ++documented_runs;
    const auto lines = lines_of(output->text);
    std::vector<std::string> command = words_of(lines[0].substr(2));
    ASSERT_EQ(command[0], "provium") << output->where();
    command[0] = env("PROVIUM_CLI");
    std::string documented;
    for (size_t i = 1; i < lines.size(); ++i) documented += lines[i] + "\n";
    const auto run = run_in(project.path(), command);
    EXPECT_EQ(run.exit_code, 0) << example.where() << ":\n" << run.output;
    EXPECT_TRUE(std::regex_match(run.output, output_pattern(documented)))
        << output->where() << ": the documented output\n" << documented << "is not what the run printed:\n"
        << run.output;
  }
  EXPECT_GT(documented_runs, 0) << "no whole-file Lua example is followed by its sample output";

  for (const auto& [example, path] : whole) {
    if (path.parent_path().filename() != "fixtures") continue;
    const std::string name = path.stem().string();
    const fs::path user = path.parent_path().parent_path() / ("uses_" + name + ".lua");
    project.write(user, "local vm = provium.fixture(\"" + name + "\")\n"
                        "test(\"the fixture runs\", function() assert_eq(0, vm:exec(\"true\").exit_code) end)\n");
    const auto run = run_in(project.path(), {env("PROVIUM_CLI"), "test", user.string()});
    EXPECT_EQ(run.exit_code, 0) << example.where() << ": the fixture script, used by " << user << ":\n"
                                << run.output;
  }
}

}  // namespace
