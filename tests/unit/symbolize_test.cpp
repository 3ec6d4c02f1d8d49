// Kernel report frames resolved to file:line (src/kernel/symbolize.h), on objects gcc builds here
// with debug info: a relocatable object named like a module (.ko), and an executable standing
// for vmlinux. binutils' objdump and addr2line do the work, as in the kernel's decode_stacktrace.sh.
#include "kernel/symbolize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "host/programs.h"
#include "support/temp_dir.h"

namespace {

using ::testing::HasSubstr;

// Line 3 holds helper's body, inlined into probe at line 6; init_probe (line 10) is in a section
// of its own, as a module's init function is, where it starts at 0 as probe does in .text.
constexpr const char* kSource = R"(volatile int sink;
static inline __attribute__((always_inline)) void helper(int v) {
  sink = v * 3;
}
__attribute__((noinline)) void probe(int v) {
  helper(v);
  sink += 1;
}
__attribute__((noinline, section(".init.text"))) void init_probe(void) {
  probe(2);
}
int main(void) { init_probe(); return 0; }
)";

class Symbolize : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto gcc = provium::host::find_executable("gcc");
    sources_.objdump = provium::host::find_executable("objdump");
    sources_.addr2line = provium::host::find_executable("addr2line");
    ASSERT_FALSE(gcc.empty() || sources_.objdump.empty() || sources_.addr2line.empty()) << "gcc and binutils are needed";
    const auto source = dir_.write("src/tiny.c", kSource);
    compile({"-c", "-o", (dir_.path() / "mod/tiny-mod.ko").string(), source.string()});
    compile({"-o", (dir_.path() / "vmlinux").string(), source.string()});
    sources_.vmlinux = dir_.path() / "vmlinux";
    sources_.modules = {dir_.path() / "mod"};
    sources_.sources = {dir_.path()};
  }

  void compile(const std::vector<std::string>& args) {
    std::string command = "gcc -g -O2 -fno-pie -no-pie";
    for (const auto& arg : args) command += " '" + arg + "'";
    std::filesystem::create_directories(dir_.path() / "mod");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  provium::testing::TempDir dir_;
  provium::kernel::SymbolSources sources_;
};

TEST_F(Symbolize, AKernelFrameShowsItsFileAndLine) {
  const std::string text = "[    5.100000] Call Trace:\n[    5.100001]  probe+0x0/0x20\n[    5.100002] ---[ end trace ]---\n";
  const std::string out = provium::kernel::symbolize_frames(text, sources_);
  EXPECT_THAT(out, HasSubstr("[    5.100001]  probe+0x0/0x20 (src/tiny.c:")) << out;
  EXPECT_THAT(out, HasSubstr("[    5.100000] Call Trace:\n")) << "lines without frames stay";
}

// A module's frame ("[tiny_mod]": the kernel prints '-' of the file name as '_') resolves in its
// .ko, and the function inlined at the place is shown under the frame.
TEST_F(Symbolize, AModulesFrameResolvesInItsKoWithTheInlinedFunction) {
  const std::string text = " RIP: 0010:probe+0x6/0x20 [tiny_mod]\n";
  const std::string out = provium::kernel::symbolize_frames(text, sources_);
  EXPECT_THAT(out, HasSubstr("probe+0x6/0x20 [tiny_mod] (src/tiny.c:")) << out;
  EXPECT_THAT(out, HasSubstr("inlined: helper (src/tiny.c:3)")) << out;
}

// In a relocatable object every section starts at 0: a frame resolves within its symbol's
// section, not at the same offset of another (as a module's init function and its .text would).
TEST_F(Symbolize, AModulesFrameResolvesWithinItsSymbolsSection) {
  const std::string out = provium::kernel::symbolize_frames(" init_probe+0x4/0x10 [tiny_mod]\n", sources_);
  EXPECT_THAT(out, HasSubstr("init_probe+0x4/0x10 [tiny_mod] (src/tiny.c:10)")) << out;
}

TEST_F(Symbolize, WhatCannotBeFoundStaysAsPrinted) {
  const std::string text = " nowhere+0x1/0x2\n other+0x1/0x2 [absent]\n";
  EXPECT_EQ(provium::kernel::symbolize_frames(text, sources_), text);
  sources_.addr2line = dir_.path() / "no-addr2line";
  const std::string frame = " probe+0x0/0x20\n";
  EXPECT_EQ(provium::kernel::symbolize_frames(frame, sources_), frame);
}

}  // namespace
