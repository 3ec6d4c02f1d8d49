// Frames of the wire protocol: [type u8][length u32 LE][payload] (agent/wire.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <provium/error.h>

namespace provium::protocol {

struct Frame {
  uint8_t type = 0;
  std::string payload;
};

// A request to the agent: its type and payload, not framed yet.
struct Request {
  uint8_t type = 0;
  std::string payload;
};

// The peer broke the protocol: the connection cannot be trusted any more.
class ProtocolError : public Error {
 public:
  using Error::Error;
};

// Header and payload of one frame. Throws ProtocolError when the payload is over the limit.
std::string encode_frame(uint8_t type, std::string_view payload);

// Reassembles frames from a byte stream that arrives in arbitrary pieces.
class FrameDecoder {
 public:
  void feed(std::string_view bytes);

  // The next complete frame, or nullopt until more bytes arrive. Throws ProtocolError when a
  // header declares a payload over the limit (checked before any of it is buffered).
  std::optional<Frame> next();

  // Bytes received that do not make a complete frame yet.
  std::size_t pending() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
};

// A readable name for a message code ("EXEC_RESULT", "0x9f").
std::string message_name(uint8_t type);

}  // namespace provium::protocol
