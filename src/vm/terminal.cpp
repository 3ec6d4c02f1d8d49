#include "vm/terminal.h"

#include <chrono>

#include "protocol/messages.h"
#include "protocol/requests.h"
#include "wire.h"

namespace provium::vm {

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
