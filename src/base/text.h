// Small text helpers shared by the library and the provium command.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace provium::base {

// The last `lines` lines of a text (trailing line ends dropped, a serial console's CR too).
std::string last_lines(std::string_view text, std::size_t lines);

// `text` as one word of a POSIX shell's command line: as it is when it holds only characters no
// shell treats specially, else in single quotes (a quote inside as '\'').
std::string shell_quote(std::string_view text);

// "1 file", "3 files".
std::string plural(long long n, std::string_view one, std::string_view many);

// A size in bytes the way a person reads it: "512 KiB", "96.4 MiB", "20.0 GiB".
std::string size_text(unsigned long long bytes);

// Cuts bytes that come in pieces (a command's output as it arrives) into whole lines.
class LineBuffer {
 public:
  // The lines `bytes` completes, without their '\n'. An unfinished line is held back until it
  // ends, or given out as it is once it holds kLongest bytes or more (a progress bar never ends
  // its line).
  std::vector<std::string> feed(std::string_view bytes);
  // What is held back (empty when nothing), and nothing is held any more.
  std::string rest();

 private:
  static constexpr std::size_t kLongest = 4096;
  std::string pending_;
};

}  // namespace provium::base
