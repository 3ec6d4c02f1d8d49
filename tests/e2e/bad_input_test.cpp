// Malformed requests: the agent answers ERROR with what was wrong, and the connection serves
// the next request as if nothing happened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/pack.h>
#include <provium/provium.h>

#include "protocol/frame.h"
#include "vm/session.h"
#include "shared_vm.h"
#include "vm/guest_access.h"
#include "wire.h"

using provium::pack;
using ::testing::HasSubstr;

namespace {

class BadInputTest : public SharedVmTest {
 protected:
  // Sends raw frame bytes and returns the ERROR text the agent answers with.
  std::string error_for(std::string frame) {
    auto& session = provium::vm::GuestAccess::session(vm());
    try {
      auto answer = session.call_frame(std::move(frame), "raw frame", std::chrono::seconds(60));
      ADD_FAILURE() << "the agent answered " << provium::protocol::message_name(answer.type);
      return {};
    } catch (const provium::TimeoutError&) {
      throw;
    } catch (const provium::Error& error) {
      return error.what();  // "raw frame: the agent answered: <ERROR text>"
    }
  }
  std::string frame(uint8_t type, const std::string& payload) {
    return provium::protocol::encode_frame(type, payload);
  }
  void TearDown() override { EXPECT_EQ(vm().exec("echo still-here").out, "still-here\n"); }
};

TEST_F(BadInputTest, UnknownMessageType) {
  EXPECT_THAT(error_for(frame(0x7f, "")), HasSubstr("unknown message type 0x7F"));
}

TEST_F(BadInputTest, TruncatedPayloads) {
  EXPECT_THAT(error_for(frame(PROVIUM_SYSCALL, "abc")), HasSubstr("SYSCALL"));
  // WRITE_FILE whose path length runs past the payload.
  EXPECT_THAT(error_for(frame(PROVIUM_WRITE_FILE, pack<uint32_t>(100) + "/tmp/x")),
              HasSubstr("WRITE_FILE"));
}

// EXEC carries its deadline and flags before the command; JOB_WAIT and JOB_KILL the host's
// offsets into the job's output.
TEST_F(BadInputTest, ExecAndJobRequestsOfTheWrongShape) {
  EXPECT_THAT(error_for(frame(PROVIUM_EXEC, "ls")), HasSubstr("EXEC: payload of 2 bytes, expected at least 8"));
  EXPECT_THAT(error_for(frame(PROVIUM_EXEC, pack<uint32_t, uint32_t>(1000, 6) + "true")),
              HasSubstr("EXEC: unknown flags 0x6"));
  EXPECT_THAT(error_for(frame(PROVIUM_JOB_WAIT, pack<uint32_t, uint32_t>(1, 0))),
              HasSubstr("JOB_WAIT: payload of 8 bytes, expected 24"));
  EXPECT_THAT(error_for(frame(PROVIUM_JOB_KILL, pack<uint32_t>(1))), HasSubstr("JOB_KILL: payload of 4 bytes, expected 20"));
}

// PTY takes a size of neither 0 rows nor 0 columns; its input and resize frames belong to a
// running session.
TEST_F(BadInputTest, TerminalRequestsOfTheWrongShapeOrOutsideASession) {
  EXPECT_THAT(error_for(frame(PROVIUM_PTY, "ab")), HasSubstr("PTY takes [rows u16][cols u16][command line]"));
  EXPECT_THAT(error_for(frame(PROVIUM_PTY, pack<uint16_t, uint16_t>(0, 80) + "sh")),
              HasSubstr("rows and cols not 0"));
  EXPECT_THAT(error_for(frame(PROVIUM_PTY_INPUT, "ls\r")), HasSubstr("PTY_INPUT is only taken during a PTY session"));
  EXPECT_THAT(error_for(frame(PROVIUM_PTY_RESIZE, pack<uint16_t, uint16_t>(24, 80))),
              HasSubstr("PTY_RESIZE is only taken during a PTY session"));
}

TEST_F(BadInputTest, LengthOverTheLimit) {
  std::string header(PROVIUM_FRAME_HEADER_SIZE, '\0');
  header[0] = static_cast<char>(PROVIUM_EXEC);
  provium_put_u32(header.data() + 1, PROVIUM_MAX_PAYLOAD + 1);
  // The agent reads and discards the declared bytes, then answers.
  EXPECT_THAT(error_for(header + std::string(PROVIUM_MAX_PAYLOAD + 1, 'j')),
              HasSubstr("exceeds the 16777216-byte limit"));
}

TEST_F(BadInputTest, MoreThanSixArguments) {
  std::string payload = pack<uint32_t, uint32_t, uint32_t>(39, 7, 0) + std::string(7 * 8, '\0');
  EXPECT_THAT(error_for(frame(PROVIUM_SYSCALL, payload)), HasSubstr("nargs 7"));
}

TEST_F(BadInputTest, BufferArgumentIndexOutOfRange) {
  std::string payload = pack<uint32_t, uint32_t, uint32_t>(0, 1, 1) + pack<int32_t, uint32_t>(5, 4) +
                        pack<int64_t>(0) + "abcd";
  EXPECT_THAT(error_for(frame(PROVIUM_SYSCALL, payload)), HasSubstr("arg_idx 5"));
}

TEST_F(BadInputTest, PointerBufferIndexOutOfRange) {
  std::string payload = pack<uint32_t, uint32_t, uint32_t, uint32_t>(0, 1, 1, 1) +
                        pack<int32_t, uint32_t>(0, 16) +
                        pack<uint32_t, uint32_t, uint32_t, uint32_t>(3, 0, 4, 0) +  // buf_idx 3
                        pack<int64_t>(0) + std::string(16, '\0') + "wxyz";
  EXPECT_THAT(error_for(frame(PROVIUM_SYSCALL_PTR, payload)), HasSubstr("buf_idx 3"));
}

TEST_F(BadInputTest, ReadFileOfAMissingPath) {
  EXPECT_THAT(error_for(frame(PROVIUM_READ_FILE, "/no/such/path")),
              HasSubstr("No such file or directory"));
}

}  // namespace
