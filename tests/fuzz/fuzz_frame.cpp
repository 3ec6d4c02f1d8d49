// libFuzzer target: the host's FrameDecoder (src/protocol/frame.cpp) on streams from a hostile
// guest, cut into pieces at points the fuzzer chooses, against a reference reading of the
// whole stream; and encode_frame then FrameDecoder giving back the frames encoded.
//
// Input: [mode u8] then, for FuzzedDataProvider,
//   mode even (stream): the stream from the front, piece lengths (u8 each, 0 feeds nothing)
//                       from the back, alternating;
//   mode odd (round trip): from the back, the number of piece lengths (1 + b % 4) and the
//                       lengths (1 + b % 256 each), then frames until the input ends: a type
//                       (u8, back) and a payload (length u16 % 1024 from the back, bytes from
//                       the front).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "check.h"
#include "protocol/frame.h"
#include "wire.h"

namespace {

using provium::protocol::encode_frame;
using provium::protocol::Frame;
using provium::protocol::FrameDecoder;
using provium::protocol::ProtocolError;

bool same(const Frame& a, const Frame& b) { return a.type == b.type && a.payload == b.payload; }

// What the stream holds, read in one go: its complete frames, and whether they are followed by
// a header over the limit (where the connection ends).
struct Reference {
  std::vector<Frame> frames;
  std::size_t consumed = 0;  // the bytes of those frames
  bool over_limit = false;
};

Reference read_whole(std::string_view stream) {
  Reference ref;
  while (stream.size() - ref.consumed >= PROVIUM_FRAME_HEADER_SIZE) {
    const char* header = stream.data() + ref.consumed;
    const uint32_t length = provium_get_u32(header + 1);
    if (length > PROVIUM_MAX_PAYLOAD) {
      ref.over_limit = true;
      break;
    }
    if (stream.size() - ref.consumed - PROVIUM_FRAME_HEADER_SIZE < length) break;
    ref.frames.push_back({static_cast<uint8_t>(header[0]),
                          std::string(header + PROVIUM_FRAME_HEADER_SIZE, length)});
    ref.consumed += PROVIUM_FRAME_HEADER_SIZE + length;
  }
  return ref;
}

// Feeds the pieces one by one, taking every complete frame after each, and checks the frames,
// pending() and where a ProtocolError comes against the reference.
void decode_pieces(const std::vector<std::string>& pieces) {
  std::string stream;
  for (const auto& piece : pieces) stream += piece;
  const Reference ref = read_whole(stream);

  FrameDecoder decoder;
  std::vector<Frame> frames;
  std::size_t fed = 0, taken = 0;  // bytes fed, bytes of the frames taken
  for (const auto& piece : pieces) {
    decoder.feed(piece);
    fed += piece.size();
    try {
      while (std::optional<Frame> frame = decoder.next()) {
        FUZZ_CHECK(frames.size() < ref.frames.size());
        FUZZ_CHECK(same(*frame, ref.frames[frames.size()]));
        taken += PROVIUM_FRAME_HEADER_SIZE + frame->payload.size();
        frames.push_back(std::move(*frame));
      }
    } catch (const ProtocolError&) {
      // Only for the over-limit header after the last complete frame, once it has arrived.
      FUZZ_CHECK(ref.over_limit);
      FUZZ_CHECK(frames.size() == ref.frames.size());
      FUZZ_CHECK(fed >= ref.consumed + PROVIUM_FRAME_HEADER_SIZE);
      return;
    }
    FUZZ_CHECK(decoder.pending() == fed - taken);
    // Nothing more without more bytes.
    FUZZ_CHECK(!decoder.next().has_value());
  }
  FUZZ_CHECK(!ref.over_limit);
  FUZZ_CHECK(frames.size() == ref.frames.size());
  FUZZ_CHECK(taken == ref.consumed);
  FUZZ_CHECK(decoder.pending() == stream.size() - ref.consumed);
}

void stream_mode(FuzzedDataProvider& fdp) {
  std::vector<std::string> pieces;
  while (fdp.remaining_bytes() > 0) {
    const auto length = fdp.ConsumeIntegralInRange<std::size_t>(0, 255);
    pieces.push_back(fdp.ConsumeBytesAsString(length));
  }
  decode_pieces(pieces);
}

void round_trip_mode(FuzzedDataProvider& fdp) {
  std::vector<std::size_t> lengths(fdp.ConsumeIntegralInRange<std::size_t>(1, 4));
  for (auto& length : lengths) length = fdp.ConsumeIntegralInRange<std::size_t>(1, 256);

  std::vector<Frame> sent;
  std::string stream;
  while (fdp.remaining_bytes() > 0) {
    Frame frame;
    frame.type = fdp.ConsumeIntegral<uint8_t>();
    frame.payload = fdp.ConsumeBytesAsString(fdp.ConsumeIntegralInRange<std::size_t>(0, 1023));
    const std::string encoded = encode_frame(frame.type, frame.payload);
    FUZZ_CHECK(encoded.size() == PROVIUM_FRAME_HEADER_SIZE + frame.payload.size());
    FUZZ_CHECK(static_cast<uint8_t>(encoded[0]) == frame.type);
    FUZZ_CHECK(provium_get_u32(encoded.data() + 1) == frame.payload.size());
    FUZZ_CHECK(std::string_view(encoded).substr(PROVIUM_FRAME_HEADER_SIZE) == frame.payload);
    stream += encoded;
    sent.push_back(std::move(frame));
  }

  // The stream cut into pieces of the chosen lengths, in turn.
  std::vector<std::string> pieces;
  for (std::size_t at = 0, i = 0; at < stream.size(); i = (i + 1) % lengths.size()) {
    pieces.push_back(stream.substr(at, lengths[i]));
    at += pieces.back().size();
  }
  FrameDecoder decoder;
  std::vector<Frame> received;
  for (const auto& piece : pieces) {
    decoder.feed(piece);
    while (std::optional<Frame> frame = decoder.next()) received.push_back(std::move(*frame));
  }
  FUZZ_CHECK(received.size() == sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) FUZZ_CHECK(same(received[i], sent[i]));
  FUZZ_CHECK(decoder.pending() == 0);
  FUZZ_CHECK(!decoder.next().has_value());
  // The same stream, cut as the stream mode would, against the reference too.
  decode_pieces(pieces);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzedDataProvider fdp(data + 1, size - 1);
  if (data[0] % 2 == 0)
    stream_mode(fdp);
  else
    round_trip_mode(fdp);
  return 0;
}
