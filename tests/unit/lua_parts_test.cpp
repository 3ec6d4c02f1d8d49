// The Lua adapter's pieces that need no VM: pack/unpack, the fixture dependency scanner, script
// discovery, and the prelude's globals (test, todo, asserts) in a real Lua state running a real
// script file. Everything that talks to a guest is tested on real VMs in tests/lua.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>

#include <provium/error.h>

#include "base/settings.h"
#include "lua/dependencies.h"
#include "lua/pack.h"
#include "lua/runner.h"

namespace provium::lua {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Pack, EveryTypeLittleEndian) {
  const std::array<int64_t, 7> values{0xab, 0x1234, -2, 0xdeadbeef, -3, -1, INT64_MIN};
  const std::string packed = pack_values("u8 u16 i16 u32 i32 u64 i64", values);
  EXPECT_EQ(packed.size(), 1u + 2 + 2 + 4 + 4 + 8 + 8);
  EXPECT_EQ(packed.substr(0, 5), std::string("\xab\x34\x12\xfe\xff", 5));
  EXPECT_THAT(unpack_values("u8 u16 i16 u32 i32 u64 i64", packed),
              ElementsAre(0xab, 0x1234, -2, 0xdeadbeef, -3, -1, INT64_MIN));
}

TEST(Pack, RangeCountAndSpecErrors) {
  const std::array<int64_t, 1> too_big{256}, negative{-1}, i16_low{-32769};
  EXPECT_THAT([&] { pack_values("u8", too_big); }, ::testing::ThrowsMessage<Error>(HasSubstr("does not fit u8")));
  EXPECT_THROW(pack_values("u32", negative), Error);
  EXPECT_THROW(pack_values("i16", i16_low), Error);
  EXPECT_THAT([&] { pack_values("u8 u8", too_big); }, ::testing::ThrowsMessage<Error>(HasSubstr("takes 2 values, 1 given")));
  EXPECT_THAT([&] { pack_values("u128", too_big); }, ::testing::ThrowsMessage<Error>(HasSubstr("unknown spec 'u128'")));
}

TEST(Unpack, ShortDataIsAnErrorAndExtraBytesAreIgnored) {
  EXPECT_THAT([] { unpack_values("u32 u32", std::string(7, '\0')); },
              ::testing::ThrowsMessage<Error>(HasSubstr("needs 8 bytes, 7 given")));
  EXPECT_THAT(unpack_values("u16", std::string("\x01\x02\x03", 3)), ElementsAre(0x0201));
  EXPECT_THAT(unpack_values("  i32  ", std::string("\xff\xff\xff\xff", 4)), ElementsAre(-1));
}

TEST(Dependencies, LiteralHelpersAndFixturesOutsideComments) {
  const auto uses = scan_dependencies(R"lua(
-- provium.fixture("in_a_comment")
--[==[ dofile("long_comment.lua") ]==]
dofile("tests/helpers.lua")
local vm = provium.fixture 'base'
local s = "-- not a comment: " .. [[ -- nor this ]]
dofile ( "second.lua" ) provium.fixture(name_in_a_variable)
)lua");
  EXPECT_THAT(uses.helpers, ElementsAre("tests/helpers.lua", "second.lua"));
  EXPECT_THAT(uses.fixtures, ElementsAre("base"));
}

class Scripts : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("provium-lua-parts-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub" / "fixtures");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  FileResult run(const std::string& name, const std::string& text) {
    return run_file(write(name, text), RunOptions{dir_});
  }
  fs::path dir_;
};

TEST_F(Scripts, DiscoverSkipsFixturesAndSortsByPath) {
  write("b.lua", "");
  write("a.lua", "");
  write("sub/c.lua", "");
  write("sub/fixtures/f.lua", "");
  write("notes.txt", "");
  EXPECT_THAT(discover(dir_), ElementsAre(dir_ / "a.lua", dir_ / "b.lua", dir_ / "sub/c.lua"));
  EXPECT_THAT(discover(dir_ / "b.lua"), ElementsAre(dir_ / "b.lua"));
  EXPECT_THROW(discover(dir_ / "missing"), Error);
}

TEST_F(Scripts, BlocksPassFailAndTodoInOrder) {
  const auto result = run("blocks.lua", R"lua(
test("passes", function() assert_eq(2, 1 + 1) end)
test("fails", function() assert_eq("want", "got", "what") end)
test("later", function() todo("not yet") end)
test("runs after a failure", function() end)
)lua");
  ASSERT_EQ(result.blocks.size(), 4u);
  EXPECT_EQ(result.blocks[0].status, BlockResult::Status::passed);
  EXPECT_EQ(result.blocks[1].status, BlockResult::Status::failed);
  EXPECT_THAT(result.blocks[1].message, HasSubstr("blocks.lua:3: what: expected \"want\", got \"got\""));
  EXPECT_EQ(result.blocks[1].line, 3);
  EXPECT_EQ(result.blocks[2].status, BlockResult::Status::todo);
  EXPECT_EQ(result.blocks[2].message, "not yet");
  EXPECT_EQ(result.blocks[3].status, BlockResult::Status::passed);
  EXPECT_FALSE(result.passed());
  EXPECT_EQ(result.failed_blocks(), 1u);
}

TEST_F(Scripts, TopLevelErrorCarriesFileAndLine) {
  const auto result = run("error.lua", "local x = 1\nerror('broken here')\n");
  ASSERT_TRUE(result.error);
  EXPECT_THAT(*result.error, HasSubstr("error.lua:2: broken here"));
  EXPECT_FALSE(result.passed());
}

TEST_F(Scripts, SyntaxErrorIsTheFilesError) {
  const auto result = run("syntax.lua", "test('x', function()\n");
  ASSERT_TRUE(result.error);
  EXPECT_THAT(*result.error, HasSubstr("syntax.lua:"));
}

TEST_F(Scripts, AllTodoIsSkippedAndTopLevelTodoSkipsTheRest) {
  EXPECT_TRUE(run("todo.lua", "test('a', function() todo('one') end)\ntest('b', function() todo() end)\n").skipped());
  const auto rest = run("rest.lua", "todo('whole file')\nerror('never reached')\n");
  EXPECT_TRUE(rest.skipped());
  EXPECT_FALSE(rest.error);
}

TEST_F(Scripts, AssertContainsAndDofileRelativeToTheStartDirectory) {
  write("sub/helper.lua", "return {answer = 42}\n");
  const auto result = run("helpers.lua", R"lua(
local helper = dofile("sub/helper.lua")
test("dofile", function() assert_eq(42, helper.answer) end)
test("contains", function()
  assert_contains("haystack", "st")
  assert_contains({"a", "b"}, "b")
  local ok, err = pcall(assert_contains, {"first"}, "third")
  assert(not ok and err:find('{"first"}', 1, true) and err:find('"third"', 1, true), err)
end)
test("unknown profile", function()
  local ok, err = pcall(provium.create, "no-such-profile")
  assert(not ok and err:find("no-such-profile", 1, true), err)
end)
)lua");
  for (const auto& block : result.blocks) EXPECT_EQ(block.status, BlockResult::Status::passed) << block.name << ": " << block.message;
  EXPECT_TRUE(result.passed()) << result.error.value_or("");
}

// Bad arguments are refused before anything reaches a guest, so an unbooted VM serves.
TEST_F(Scripts, BadArgumentsAreErrorsThatSayWhich) {
  const auto result = run("arguments.lua", R"lua(
local vm = provium.create()
local function fails(needle, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "no error for " .. needle)
  assert(tostring(err):find(needle, 1, true), "expected '" .. needle .. "' in: " .. tostring(err))
end
test("boot options", function()
  fails("unknown boot option key 'memroy'", vm.boot, vm, {memroy = "1G"})
  fails("field 'memory' must be an integer", vm.boot, vm, {memory = 1.5})
  fails("is not a duration in seconds", vm.boot, vm, {timeout = -1})
  fails("disk 1 has no path", vm.boot, vm, {disks = {{format = "raw"}}})
  fails("field 'files' must be a table", vm.boot, vm, {files = "x"})
end)
test("methods", function()
  fails("with a colon", vm.exec, "true")
  fails("at most 6 arguments", vm.syscall, vm, 1, 1, 2, 3, 4, 5, 6, 7)
  fails("0..5", vm.syscall_buf, vm, 1, 9, "x")
  fails("must map argument indexes", vm.syscall_bufs, vm, 1, {[7] = "x"})
  fails("buf_idx must name", vm.syscall_ptr, vm, 1, {[0] = "12345678"}, {{buf_idx = 3, ptr_offset = 0}})
  fails("data_len = 1 is smaller than its data", vm.syscall_ptr, vm, 1, {[0] = "12345678"},
        {{buf_idx = 0, ptr_offset = 0, data_len = 1, data = "abc"}})
  fails("buf_len = 0 is smaller than its data", vm.ioctl_buf, vm, 0, 0, "12345678",
        {{ptr_offset = 0, buf_len = 0, data = "x"}})
  fails("must be a job", vm.job_wait, vm, {})
  fails("must not be negative", vm.console, vm, -1)
end)
test("library and globals", function()
  fails("is not a duration in seconds", provium.sleep, -1)
  fails("must be an integer", provium.pack, "u8", "x")
  fails("must be non-empty", provium.fixture, "../x")
  fails("no fixture script for 'nope'", provium.fixture, "nope")
  fails("the block's name", test, 1, function() end)
  fails("the path must be a string", dofile, 5)
  fails("the needle must be a string", assert_contains, "abc", 5)
end)
)lua");
  EXPECT_EQ(result.blocks.size(), 3u);
  for (const auto& block : result.blocks)
    EXPECT_EQ(block.status, BlockResult::Status::passed) << block.name << ": " << block.message;
  EXPECT_TRUE(result.passed()) << result.error.value_or("");
}

// Fixture scripts that cannot make a snapshot fail before any VM boots.
TEST_F(Scripts, FixtureScriptsThatCannotBeSnapshottedSayWhy) {
  provium::base::ScopedSettings cache{{"PROVIUM_CACHE_DIR", (dir_ / "cache").string()}};
  write("sub/fixtures/no_vm.lua", "local x = 1\n");
  write("sub/fixtures/self.lua", "local vm = provium.fixture('self')\n");
  write("sub/fixtures/later.lua", "todo('not yet')\n");
  const auto result = run("sub/uses.lua", R"lua(
local function fails(needle, name)
  local ok, err = pcall(provium.fixture, name)
  assert(not ok and tostring(err):find(needle, 1, true), "expected '" .. needle .. "' in: " .. tostring(err))
end
test("no VM", function() fails("the fixture script created no VM", "no_vm") end)
test("itself", function() fails("fixture 'self' uses itself", "self") end)
test("todo", function() fails("the fixture script called todo()", "later") end)
)lua");
  EXPECT_EQ(result.blocks.size(), 3u);
  for (const auto& block : result.blocks)
    EXPECT_EQ(block.status, BlockResult::Status::passed) << block.name << ": " << block.message;
  EXPECT_TRUE(result.passed()) << result.error.value_or("");
}

}  // namespace
}  // namespace provium::lua
