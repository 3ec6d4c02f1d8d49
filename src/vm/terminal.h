// A command on a pseudo-terminal of the guest, driven live over one connection (PTY,
// docs/protocol.md), and this process's own terminal joined to it: what `provium shell` runs.
// Not part of the public API.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "vm/session.h"

namespace provium::vm {

struct TerminalSize {
  uint16_t rows = 24;
  uint16_t cols = 80;
};

class Terminal {
 public:
  // `session` is the connection's, a worker's: the command holds it until it exits.
  explicit Terminal(Session& session) : session_(session) {}

  // Runs `command` (empty: a login shell) until it exits and returns its exit status; the
  // terminal's output goes to `output` as it comes, on Provium's loop thread. Throws Error when
  // the VM dies or the agent refuses.
  int run(std::string_view command, TerminalSize size, std::function<void(std::string_view)> output);

  // While run() runs, from any thread: keys typed into the terminal, and its new size.
  void type(std::string_view bytes);
  void resize(TerminalSize size);

 private:
  Session& session_;
};

// Joins this process's terminal to `terminal` while `command` runs there: the keys typed here go
// to the guest (this terminal in raw mode, restored after), the window's size follows, the
// output shows here. Its exit status. `provium shell` and a test program's --provium_shell.
int run_at_this_terminal(Terminal& terminal, std::string_view command);

}  // namespace provium::vm
