// Payloads of the agent's answers, decoded with every length checked: the guest is untrusted.
#pragma once

#include <cstdint>
#include <string_view>

#include <provium/types.h>

#include "protocol/frame.h"

namespace provium::protocol {

// Reads little-endian fields from a payload; any read past the end throws ProtocolError
// naming the message.
class PayloadReader {
 public:
  PayloadReader(std::string_view payload, std::string_view message)
      : data_(payload), message_(message) {}
  uint32_t u32();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64();
  std::string_view bytes(std::size_t n);
  // A u32 length followed by that many bytes.
  std::string_view sized_bytes() { return bytes(u32()); }
  // Throws unless the whole payload was read.
  void expect_end() const;

 private:
  std::string_view data_;
  std::string_view message_;
  std::size_t offset_ = 0;
};

// EXEC_RESULT: the command's result, and how it ended (PROVIUM_EXEC_ENDED, _KILLED, _KILL_FAILED).
struct ExecAnswer {
  ExecResult result;
  uint32_t ending = 0;
};
ExecAnswer decode_exec_result(std::string_view payload);

// EXEC_OUTPUT: a chunk of a streamed command's stdout (stream 1) or stderr (stream 2).
struct ExecOutput {
  int stream = 1;
  std::string_view bytes;
};
ExecOutput decode_exec_output(std::string_view payload);

}  // namespace provium::protocol
