// The frame codec and the decoding of answers: what the guest sends is untrusted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/frame.h"
#include "protocol/messages.h"
#include "wire.h"

using provium::protocol::decode_exec_result;
using provium::protocol::encode_frame;
using provium::protocol::FrameDecoder;
using provium::protocol::ProtocolError;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

std::string exec_result(int32_t code, std::string_view out, std::string_view err, uint32_t ending = PROVIUM_EXEC_ENDED) {
  std::string payload(8, '\0');
  provium_put_u32(payload.data(), static_cast<uint32_t>(code));
  provium_put_u32(payload.data() + 4, ending);
  for (auto part : {out, err}) {
    std::string length(4, '\0');
    provium_put_u32(length.data(), static_cast<uint32_t>(part.size()));
    payload += length;
    payload += part;
  }
  return payload;
}

TEST(FrameTest, EncodesHeaderLittleEndian) {
  std::string frame = encode_frame(PROVIUM_EXEC, "true");
  ASSERT_EQ(frame.size(), 9u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), PROVIUM_EXEC);
  EXPECT_EQ(frame.substr(1, 4), std::string("\x04\x00\x00\x00", 4));
  EXPECT_EQ(frame.substr(5), "true");
}

TEST(FrameTest, RejectsOversizedPayloadBeforeSending) {
  std::string big(PROVIUM_MAX_PAYLOAD + 1, 'x');
  EXPECT_THROW(encode_frame(PROVIUM_WRITE_FILE, big), ProtocolError);
  EXPECT_NO_THROW(encode_frame(PROVIUM_WRITE_FILE, std::string_view(big).substr(1)));
}

TEST(FrameTest, DecodesFramesSplitAtEveryByte) {
  std::string stream = encode_frame(PROVIUM_READY, "") + encode_frame(PROVIUM_ERROR, "boom") +
                       encode_frame(PROVIUM_FILE_DATA, std::string("a\0b", 3));
  FrameDecoder decoder;
  std::vector<provium::protocol::Frame> frames;
  for (char byte : stream) {
    decoder.feed(std::string_view(&byte, 1));
    while (auto frame = decoder.next()) frames.push_back(*frame);
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].type, PROVIUM_READY);
  EXPECT_EQ(frames[0].payload, "");
  EXPECT_EQ(frames[1].payload, "boom");
  EXPECT_EQ(frames[2].payload, std::string("a\0b", 3));
  EXPECT_EQ(decoder.pending(), 0u);
}

TEST(FrameTest, TruncatedFrameWaitsForTheRest) {
  std::string frame = encode_frame(PROVIUM_EXEC_RESULT, "0123456789");
  FrameDecoder decoder;
  decoder.feed(std::string_view(frame).substr(0, 3));  // inside the header
  EXPECT_FALSE(decoder.next());
  decoder.feed(std::string_view(frame).substr(3, 5));  // inside the payload
  EXPECT_FALSE(decoder.next());
  EXPECT_EQ(decoder.pending(), 8u);
  decoder.feed(std::string_view(frame).substr(8));
  auto decoded = decoder.next();
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->payload, "0123456789");
}

TEST(FrameTest, OversizedLengthFromThePeerIsAProtocolError) {
  std::string header(5, '\0');
  header[0] = static_cast<char>(PROVIUM_FILE_DATA);
  provium_put_u32(header.data() + 1, PROVIUM_MAX_PAYLOAD + 1);
  FrameDecoder decoder;
  decoder.feed(header);
  EXPECT_THAT([&] { decoder.next(); },
              ThrowsMessage<ProtocolError>(HasSubstr("FILE_DATA frame of 16777217 bytes")));
}

TEST(ExecResultTest, DecodesBinaryOutputs) {
  auto answer = decode_exec_result(exec_result(42, std::string("o\0ut", 4), "err"));
  EXPECT_EQ(answer.result.exit_code, 42);
  EXPECT_EQ(answer.result.out, std::string("o\0ut", 4));
  EXPECT_EQ(answer.result.err, "err");
  EXPECT_FALSE(answer.result.ok());
  EXPECT_EQ(answer.ending, PROVIUM_EXEC_ENDED);
}

TEST(ExecResultTest, SaysHowTheCommandEnded) {
  EXPECT_EQ(decode_exec_result(exec_result(137, "so far", "", PROVIUM_EXEC_KILLED)).ending, PROVIUM_EXEC_KILLED);
  EXPECT_EQ(decode_exec_result(exec_result(-1, "", "", PROVIUM_EXEC_KILL_FAILED)).ending, PROVIUM_EXEC_KILL_FAILED);
  EXPECT_THAT([] { decode_exec_result(exec_result(0, "", "", 3)); },
              ThrowsMessage<ProtocolError>(HasSubstr("EXEC_RESULT ending is 3")));
}

TEST(ExecOutputTest, AChunkOfStdoutOrStderr) {
  auto chunk = provium::protocol::decode_exec_output(std::string("\2\0\0\0line\n", 9));
  EXPECT_EQ(chunk.stream, 2);
  EXPECT_EQ(chunk.bytes, "line\n");
  EXPECT_THAT([] { provium::protocol::decode_exec_output(std::string("\3\0\0\0x", 5)); },
              ThrowsMessage<ProtocolError>(HasSubstr("EXEC_OUTPUT stream is 3")));
  EXPECT_THROW(provium::protocol::decode_exec_output("\1\0"), ProtocolError);
}

TEST(ExecResultTest, RejectsLengthsPastThePayload) {
  std::string payload = exec_result(0, "abc", "");
  provium_put_u32(payload.data() + 8, 1000);  // stdout_len beyond the end
  EXPECT_THROW(decode_exec_result(payload), ProtocolError);
  EXPECT_THROW(decode_exec_result(payload.substr(0, 3)), ProtocolError);
  EXPECT_THROW(decode_exec_result(exec_result(0, "a", "b") + "junk"), ProtocolError);
}

TEST(FrameTest, NamesMessages) {
  EXPECT_EQ(provium::protocol::message_name(PROVIUM_EXEC_RESULT), "EXEC_RESULT");
  EXPECT_EQ(provium::protocol::message_name(0x9f), "0x9f");
}

}  // namespace
