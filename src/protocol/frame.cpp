#include "protocol/frame.h"

#include <fmt/format.h>

#include "wire.h"

namespace provium::protocol {

std::string encode_frame(uint8_t type, std::string_view payload) {
  if (payload.size() > PROVIUM_MAX_PAYLOAD)
    throw ProtocolError(fmt::format("{} payload of {} bytes exceeds the {}-byte frame limit",
                                    message_name(type), payload.size(), PROVIUM_MAX_PAYLOAD));
  std::string frame(PROVIUM_FRAME_HEADER_SIZE, '\0');
  frame[0] = static_cast<char>(type);
  provium_put_u32(frame.data() + 1, static_cast<uint32_t>(payload.size()));
  frame.append(payload);
  return frame;
}

void FrameDecoder::feed(std::string_view bytes) {
  // Drop what was consumed before growing, so the buffer holds at most one frame and a piece.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> FrameDecoder::next() {
  std::string_view rest(buffer_.data() + consumed_, buffer_.size() - consumed_);
  if (rest.size() < PROVIUM_FRAME_HEADER_SIZE) return std::nullopt;
  const uint32_t length = provium_get_u32(rest.data() + 1);
  if (length > PROVIUM_MAX_PAYLOAD)
    throw ProtocolError(fmt::format("the agent sent a {} frame of {} bytes, over the {}-byte limit",
                                    message_name(static_cast<uint8_t>(rest[0])), length,
                                    PROVIUM_MAX_PAYLOAD));
  if (rest.size() - PROVIUM_FRAME_HEADER_SIZE < length) return std::nullopt;
  Frame frame{static_cast<uint8_t>(rest[0]),
              std::string(rest.substr(PROVIUM_FRAME_HEADER_SIZE, length))};
  consumed_ += PROVIUM_FRAME_HEADER_SIZE + length;
  return frame;
}

std::string message_name(uint8_t type) {
  if (const char* name = provium_request_name(type)) return name;
  if (const char* name = provium_response_name(type)) return name;
  return fmt::format("0x{:02x}", type);
}

}  // namespace provium::protocol
