#include "vm/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <provium/error.h>

#include "base/files.h"
#include "protocol/messages.h"
#include "protocol/requests.h"
#include "wire.h"

namespace provium::vm {

namespace {

// The host's terminal in raw mode while it lives (every key goes to the guest's terminal, whose
// line discipline does the editing and the signals), restored after.
class RawMode {
 public:
  explicit RawMode(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSAFLUSH, &raw) == 0;
  }
  ~RawMode() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

TerminalSize window_size() {
  winsize size{};
  for (int fd : {STDIN_FILENO, STDOUT_FILENO})
    if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0) return {size.ws_row, size.ws_col};
  return {};
}

// SIGWINCH, as a byte on a pipe that the input thread polls.
int window_changed_fd = -1;
void on_window_change(int) {
  const char byte = 'w';
  [[maybe_unused]] const ssize_t ignored = ::write(window_changed_fd, &byte, 1);
}

// Carries the keys typed here, and the window's new sizes, to the guest's terminal until told
// to stop.
class Keyboard {
 public:
  explicit Keyboard(Terminal& terminal) : terminal_(terminal) {
    if (::pipe2(stop_, O_CLOEXEC) != 0 || ::pipe2(window_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw Error("cannot create a pipe for the terminal");
    window_changed_fd = window_[1];
    struct sigaction action {};
    action.sa_handler = on_window_change;
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGWINCH, &action, nullptr);
    thread_ = std::thread([this] { carry(); });
  }
  ~Keyboard() {
    const char byte = 's';
    [[maybe_unused]] const ssize_t ignored = ::write(stop_[1], &byte, 1);
    thread_.join();
    ::signal(SIGWINCH, SIG_DFL);
    for (int fd : {stop_[0], stop_[1], window_[0], window_[1]}) ::close(fd);
  }
  Keyboard(const Keyboard&) = delete;
  Keyboard& operator=(const Keyboard&) = delete;

 private:
  void carry() {
    bool input_open = true;
    for (;;) {
      pollfd fds[3] = {{stop_[0], POLLIN, 0}, {window_[0], POLLIN, 0}, {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) continue;  // EINTR
      if (fds[0].revents) return;
      if (fds[1].revents) {
        char drained[64];
        while (::read(window_[0], drained, sizeof drained) > 0) {
        }
        terminal_.resize(window_size());
      }
      if (fds[2].revents) {
        char keys[4096];
        const ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
        if (n > 0) {
          terminal_.type({keys, static_cast<std::size_t>(n)});
        } else if (n == 0 || errno != EINTR) {
          // Input that ends (not a terminal: a pipe, a file) ends like Ctrl-D at a prompt.
          terminal_.type("\x04");
          input_open = false;
        }
      }
    }
  }

  Terminal& terminal_;
  int stop_[2] = {-1, -1};
  int window_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace

int run_at_this_terminal(Terminal& terminal, std::string_view command) {
  RawMode raw(STDIN_FILENO);
  Keyboard keyboard(terminal);
  return terminal.run(command, window_size(), [](std::string_view bytes) { base::write_all(STDOUT_FILENO, bytes); });
}

int Terminal::run(std::string_view command, TerminalSize size, std::function<void(std::string_view)> output) {
  CallExpect expect{.interim = transport::Channel::Interim{
                        PROVIUM_EXEC_OUTPUT, [output = std::move(output)](protocol::Frame frame) {
                          output(protocol::decode_exec_output(frame.payload).bytes);
                        }}};
  // A session lasts as long as its user wants: no deadline but the VM's life.
  constexpr auto kNoDeadline = std::chrono::hours(24 * 365);
  const auto answer = protocol::decode_exec_result(
      session_
          .call(protocol::encode_pty(command, size.rows, size.cols), PROVIUM_EXEC_RESULT,
                describe_operation("terminal", command.empty() ? "login shell" : command), kNoDeadline,
                std::move(expect))
          .payload);
  return answer.result.exit_code;
}

void Terminal::type(std::string_view bytes) {
  // Frames of at most 64 KiB: what a paste brings in one read is split.
  constexpr std::size_t kPiece = 64 * 1024;
  for (std::size_t at = 0; at < bytes.size(); at += kPiece)
    session_.post({PROVIUM_PTY_INPUT, std::string(bytes.substr(at, kPiece))});
}

void Terminal::resize(TerminalSize size) { session_.post(protocol::encode_pty_resize(size.rows, size.cols)); }

}  // namespace provium::vm
