// A kernel report's stack frames resolved to the source lines they stand for, as the kernel's
// scripts/decode_stacktrace.sh does it: through binutils' objdump and addr2line, on a vmlinux
// with debug info and the modules' .ko files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace provium::kernel {

struct SymbolSources {
  std::filesystem::path vmlinux;                // the kernel, with debug info
  std::vector<std::filesystem::path> modules;   // .ko files, or directories searched for them
  std::vector<std::filesystem::path> sources;   // source roots cut from the paths shown
  std::filesystem::path objdump;                // binutils' programs
  std::filesystem::path addr2line;
};

// `text` (a report as the console shows it) with each frame `func+0x1c/0x80 [module]` followed
// by its place, `(kernel/panic.c:671)`, and the functions inlined at that place on lines of
// their own after it (`  inlined: __warn_printk (kernel/panic.c:700)`, innermost first). A
// call trace's frame is a return address and shows the line of its call; a `RIP:` line's and a
// `WARNING:`/`BUG:` headline's frame is where the CPU was. A
// frame whose object or symbol cannot be found stays as it was; a failing objdump or addr2line
// leaves the whole text as it was.
std::string symbolize_frames(std::string_view text, const SymbolSources& sources);

}  // namespace provium::kernel
