// Requests are laid out as docs/protocol.md says, and answers are decoded only as far as the
// request's own layout allows: a guest cannot make the host read past what it sent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/pack.h>

#include "protocol/frame.h"
#include "protocol/requests.h"
#include "wire.h"

using namespace provium;
using protocol::encode_pty;
using protocol::encode_pty_resize;
using protocol::ProtocolError;
using ::testing::ElementsAre;

namespace {

TEST(PackTest, LittleEndianAtEachWidth) {
  EXPECT_EQ((pack<uint8_t, uint16_t, int32_t>(1, 0x0203, -1)),
            std::string("\x01\x03\x02\xff\xff\xff\xff", 7));
  auto [a, b, c] = unpack<uint8_t, uint16_t, int32_t>(pack<uint8_t, uint16_t, int32_t>(7, 513, -5));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, 513);
  EXPECT_EQ(c, -5);
  auto [big] = unpack<uint64_t>(pack<uint64_t>(0x0102030405060708ull));
  EXPECT_EQ(big, 0x0102030405060708ull);
}

TEST(PackTest, UnpackOfShortDataThrows) {
  EXPECT_THROW(unpack<uint32_t>(std::string(3, '\0')), Error);
  EXPECT_NO_THROW(unpack<uint16_t>(std::string(5, '\0')));  // a struct's tail may follow
}

TEST(SyscallRequestTest, IntegersOnly) {
  std::vector<Arg> args = {Arg(-1), Arg(2)};
  auto encoded = protocol::encode_syscall(3, args);
  EXPECT_EQ(encoded.request.type, PROVIUM_SYSCALL);
  EXPECT_EQ(encoded.request.payload,
            (pack<uint32_t, uint32_t, uint32_t, int64_t, int64_t>(3, 2, 0, -1, 2)));
}

TEST(SyscallRequestTest, BuffersCarryTheirBytesInSpecOrder) {
  std::vector<Arg> args = {Arg(1), in("abc"), out(4)};
  auto encoded = protocol::encode_syscall(1, args);
  EXPECT_EQ(encoded.request.type, PROVIUM_SYSCALL);
  std::string expected = pack<uint32_t, uint32_t, uint32_t>(1, 3, 2) +
                         pack<int32_t, uint32_t>(1, 3) + pack<int32_t, uint32_t>(2, 4) +
                         pack<int64_t, int64_t, int64_t>(1, 0, 0) + "abc" + std::string(4, '\0');
  EXPECT_EQ(encoded.request.payload, expected);
  // The answer: result, then both buffers; only the output buffer is the caller's.
  auto result = protocol::decode_syscall_result(pack<int64_t>(3) + "abc" + "wxyz", encoded.layout);
  EXPECT_EQ(result.ret, 3);
  EXPECT_THAT(result.out, ElementsAre("wxyz"));
}

TEST(SyscallRequestTest, PointersMakeASyscallPtr) {
  // readv(fd, iov, 1): iov = {iov_base -> 8-byte output buffer, iov_len = 8}.
  std::vector<Arg> args = {Arg(5), in(pack<uint64_t, uint64_t>(0, 8)).ptr(0, out(8)), Arg(1)};
  auto encoded = protocol::encode_syscall(19, args);
  EXPECT_EQ(encoded.request.type, PROVIUM_SYSCALL_PTR);
  std::string expected =
      pack<uint32_t, uint32_t, uint32_t, uint32_t>(19, 3, 1, 1) + pack<int32_t, uint32_t>(1, 16) +
      pack<uint32_t, uint32_t, uint32_t, uint8_t, uint8_t, uint8_t, uint8_t>(0, 0, 8, 1, 0, 0, 0) +
      pack<int64_t, int64_t, int64_t>(5, 0, 1) + pack<uint64_t, uint64_t>(0, 8) + std::string(8, '\0');
  EXPECT_EQ(encoded.request.payload, expected);
  auto result = protocol::decode_syscall_result(
      pack<int64_t>(8) + std::string(16, 'i') + "12345678", encoded.layout);
  EXPECT_THAT(result.out, ElementsAre("12345678"));
}

TEST(SyscallRequestTest, RejectsWhatTheAgentWouldRefuse) {
  std::vector<Arg> seven(7, Arg(0));
  EXPECT_THROW(protocol::encode_syscall(0, seven), Error);
  std::vector<Arg> pointer_past_end = {in("1234").ptr(0, out(8))};  // 8 bytes do not fit 4
  EXPECT_THROW(protocol::encode_syscall(0, pointer_past_end), Error);
  EXPECT_THROW(out(16).ptr(0, in("x").ptr(0, out(1))), Error);  // one level only
  EXPECT_THROW(Arg(5).ptr(0, out(1)), Error);
}

TEST(SyscallResultTest, GuestCannotSendMoreOrLessThanTheLayout) {
  std::vector<Arg> args = {out(4)};
  auto layout = protocol::encode_syscall(0, args).layout;
  EXPECT_THROW(protocol::decode_syscall_result(pack<int64_t>(0) + "abc", layout), ProtocolError);
  EXPECT_THROW(protocol::decode_syscall_result(pack<int64_t>(0) + "abcde", layout), ProtocolError);
  EXPECT_THROW(protocol::decode_syscall_result("", layout), ProtocolError);
}

TEST(IoctlRequestTest, IoctlAndIoctlBufLayouts) {
  auto plain = protocol::encode_ioctl(3, 0x541B, 0, "abcd");
  EXPECT_EQ(plain.type, PROVIUM_IOCTL);
  EXPECT_EQ(plain.payload, (pack<int32_t, uint32_t, uint64_t>(3, 0x541B, 0) + "abcd"));

  auto with_pointer = protocol::encode_ioctl_buf(4, 0xc0105000, inout(std::string(16, 's')).ptr(8, out(32)));
  EXPECT_EQ(with_pointer.request.type, PROVIUM_IOCTL_BUF);
  EXPECT_EQ(with_pointer.request.payload,
            (pack<int32_t, uint32_t, uint32_t, uint32_t>(4, 0xc0105000, 16, 1) +
             pack<uint32_t, uint32_t, uint8_t, uint8_t, uint8_t, uint8_t>(8, 32, 1, 0, 0, 0) +
             std::string(16, 's') + std::string(32, '\0')));
  auto result = protocol::decode_syscall_result(
      pack<int64_t>(0) + std::string(16, 'S') + std::string(32, 'p'), with_pointer.layout);
  EXPECT_THAT(result.out, ElementsAre(std::string(16, 'S'), std::string(32, 'p')));
}

TEST(JobMessagesTest, StartedAndResult) {
  auto job = protocol::decode_job_started(pack<uint32_t, int32_t>(7, 1234));
  EXPECT_EQ(job.id, 7u);
  EXPECT_EQ(job.pid, 1234);
  auto running = protocol::decode_job_result(pack<int32_t, uint32_t, uint32_t>(-1, 1, 2) + "so" +
                                             pack<uint32_t>(0));
  EXPECT_TRUE(running.result.running);
  EXPECT_FALSE(running.restarted);
  EXPECT_EQ(running.result.exit_code, -1);
  EXPECT_EQ(running.result.out, "so");
  auto restarted = protocol::decode_job_result(pack<int32_t, uint32_t, uint32_t, uint32_t>(0, 2, 0, 0));
  EXPECT_TRUE(restarted.restarted);
  EXPECT_FALSE(restarted.result.running);
  EXPECT_THROW(protocol::decode_job_result(pack<int32_t, uint32_t, uint32_t, uint32_t>(0, 4, 0, 0)),
               ProtocolError);
  EXPECT_EQ(protocol::encode_job_wait(7, 250, {3, 4}).payload, (pack<uint32_t, uint32_t, uint64_t, uint64_t>(7, 250, 3, 4)));
  EXPECT_EQ(protocol::encode_job_kill(7, {5, 0}).payload, (pack<uint32_t, uint64_t, uint64_t>(7, 5, 0)));
}

TEST(ExecMessagesTest, DeadlineAndFlagsBeforeTheCommand) {
  EXPECT_EQ(protocol::encode_exec("ls /", 60000, false).payload, (pack<uint32_t, uint32_t>(60000, 0)) + "ls /");
  EXPECT_EQ(protocol::encode_exec("ls /", 5, true).payload, (pack<uint32_t, uint32_t>(5, PROVIUM_EXEC_STREAM)) + "ls /");
}

TEST(WorkerMessagesTest, SpawnAndStarted) {
  EXPECT_EQ(protocol::encode_spawn_worker(true).payload, pack<uint32_t>(1));
  EXPECT_EQ(protocol::encode_spawn_worker(false).payload, pack<uint32_t>(0));
  auto started = protocol::decode_worker_started(pack<uint32_t, int32_t>(3, 99));
  EXPECT_EQ(started.port, 3u);
  EXPECT_EQ(started.pid, 99);
  EXPECT_THROW(protocol::decode_worker_started(pack<uint32_t>(3)), ProtocolError);
}

TEST(WriteFileRequestTest, PathLengthThenPathThenData) {
  auto request = protocol::encode_write_file("/a", std::string("x\0y", 3));
  EXPECT_EQ(request.payload, pack<uint32_t>(2) + "/a" + std::string("x\0y", 3));
}

}  // namespace

TEST(PtyRequestTest, SizeThenCommandLineAndResizeAlone) {
  const auto pty = encode_pty("top -d 1", 24, 300);
  EXPECT_EQ(pty.type, PROVIUM_PTY);
  EXPECT_EQ(pty.payload, std::string("\x18\x00\x2c\x01", 4) + "top -d 1");
  EXPECT_EQ(encode_pty("", 1, 1).payload, std::string("\x01\x00\x01\x00", 4));
  const auto resize = encode_pty_resize(50, 132);
  EXPECT_EQ(resize.type, PROVIUM_PTY_RESIZE);
  EXPECT_EQ(resize.payload, std::string("\x32\x00\x84\x00", 4));
  EXPECT_THROW(encode_pty("sh", 0, 80), provium::Error);
  EXPECT_THROW(encode_pty_resize(24, 0), provium::Error);
}
