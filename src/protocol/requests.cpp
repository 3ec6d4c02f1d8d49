#include "protocol/requests.h"

#include <fmt/format.h>

#include <provium/pack.h>

#include "protocol/messages.h"
#include "wire.h"

namespace provium::protocol {

namespace {

constexpr std::size_t kMaxArgs = 6;

uint32_t checked_size(std::size_t size, std::string_view what) {
  if (size > PROVIUM_MAX_PAYLOAD)
    throw Error(fmt::format("{} of {} bytes exceeds the {}-byte frame limit", what, size,
                            PROVIUM_MAX_PAYLOAD));
  return static_cast<uint32_t>(size);
}

void check_pointer_targets(const Arg& buffer) {
  for (const auto& pointer : buffer.pointers())
    if (pointer.offset + 8 > buffer.bytes().size())
      throw Error(fmt::format("ptr(offset {}): an 8-byte pointer does not fit a {}-byte buffer",
                              pointer.offset, buffer.bytes().size()));
}

// The pointer specs and their bytes, shared by SYSCALL_PTR and IOCTL_BUF.
struct PointerSpecs {
  std::string specs, bytes;
  uint32_t count = 0;

  void add(uint32_t buf_idx_or_none, const Arg::Pointer& pointer, bool with_buf_idx,
           ResultLayout& layout) {
    const uint32_t size = checked_size(pointer.bytes.size(), "a pointer buffer");
    if (with_buf_idx) specs += pack<uint32_t>(buf_idx_or_none);
    specs += pack<uint32_t, uint32_t, uint8_t, uint8_t, uint8_t, uint8_t>(
        static_cast<uint32_t>(pointer.offset), size, pointer.returned, 0, 0, 0);
    bytes += pointer.bytes;
    if (pointer.returned) layout.returned_pointers.push_back(size);
    ++count;
  }
};

}  // namespace

EncodedSyscall encode_syscall(long nr, std::span<const Arg> args) {
  if (args.size() > kMaxArgs)
    throw Error(fmt::format("syscall {}: {} arguments, at most {}", nr, args.size(), kMaxArgs));
  EncodedSyscall encoded;
  std::string buffer_specs, values, buffer_bytes;
  PointerSpecs pointers;
  uint32_t buffers = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const Arg& arg = args[i];
    values += pack<int64_t>(arg.kind() == Arg::Kind::integer ? arg.value() : 0);
    if (arg.kind() == Arg::Kind::integer) continue;
    check_pointer_targets(arg);
    const uint32_t size = checked_size(arg.bytes().size(), "a syscall buffer");
    buffer_specs += pack<int32_t, uint32_t>(static_cast<int32_t>(i), size);
    buffer_bytes += arg.bytes();
    encoded.layout.buffers.push_back({size, arg.returned()});
    for (const auto& pointer : arg.pointers()) pointers.add(buffers, pointer, true, encoded.layout);
    ++buffers;
  }
  auto& payload = encoded.request.payload;
  if (pointers.count == 0) {
    encoded.request.type = PROVIUM_SYSCALL;
    payload = pack<uint32_t, uint32_t, uint32_t>(static_cast<uint32_t>(nr),
                                                 static_cast<uint32_t>(args.size()), buffers);
    payload += buffer_specs + values + buffer_bytes;
  } else {
    encoded.request.type = PROVIUM_SYSCALL_PTR;
    payload = pack<uint32_t, uint32_t, uint32_t, uint32_t>(
        static_cast<uint32_t>(nr), static_cast<uint32_t>(args.size()), buffers, pointers.count);
    payload += buffer_specs + pointers.specs + values + buffer_bytes + pointers.bytes;
  }
  return encoded;
}

SyscallResult decode_syscall_result(std::string_view payload, const ResultLayout& layout) {
  PayloadReader reader(payload, "SYSCALL_RESULT");
  SyscallResult result;
  result.ret = reader.i64();
  for (const auto& buffer : layout.buffers) {
    auto bytes = reader.bytes(buffer.size);
    if (buffer.returned) result.out.emplace_back(bytes);
  }
  for (uint32_t size : layout.returned_pointers) result.out.emplace_back(reader.bytes(size));
  reader.expect_end();
  return result;
}

Request encode_write_file(std::string_view path, std::string_view data) {
  Request request{PROVIUM_WRITE_FILE, pack<uint32_t>(checked_size(path.size(), "a path"))};
  request.payload.append(path);
  request.payload.append(data);
  return request;
}

Request encode_ioctl(int fd, unsigned long cmd, uint64_t arg, std::string_view data) {
  Request request{PROVIUM_IOCTL,
                  pack<int32_t, uint32_t, uint64_t>(fd, static_cast<uint32_t>(cmd), arg)};
  request.payload.append(data);
  return request;
}

EncodedSyscall encode_ioctl_buf(int fd, unsigned long cmd, const Arg& structure) {
  check_pointer_targets(structure);
  EncodedSyscall encoded;
  PointerSpecs pointers;
  for (const auto& pointer : structure.pointers()) pointers.add(0, pointer, false, encoded.layout);
  const uint32_t size = checked_size(structure.bytes().size(), "an ioctl struct");
  encoded.layout.buffers.push_back({size, true});
  encoded.request.type = PROVIUM_IOCTL_BUF;
  encoded.request.payload = pack<int32_t, uint32_t, uint32_t, uint32_t>(
                                fd, static_cast<uint32_t>(cmd), size, pointers.count) +
                            pointers.specs + structure.bytes() + pointers.bytes;
  return encoded;
}

Request encode_exec(std::string_view command, uint32_t deadline_ms, bool stream) {
  Request request{PROVIUM_EXEC, pack<uint32_t, uint32_t>(deadline_ms, stream ? PROVIUM_EXEC_STREAM : 0u)};
  request.payload.append(command);
  return request;
}

Request encode_job_wait(uint32_t job_id, uint32_t timeout_ms, OutputOffsets from) {
  return {PROVIUM_JOB_WAIT, pack<uint32_t, uint32_t, uint64_t, uint64_t>(job_id, timeout_ms, from.out, from.err)};
}

Request encode_job_kill(uint32_t job_id, OutputOffsets from) {
  return {PROVIUM_JOB_KILL, pack<uint32_t, uint64_t, uint64_t>(job_id, from.out, from.err)};
}

Job decode_job_started(std::string_view payload) {
  PayloadReader reader(payload, "JOB_STARTED");
  Job job;
  job.id = reader.u32();
  job.pid = reader.i32();
  reader.expect_end();
  return job;
}

JobAnswer decode_job_result(std::string_view payload) {
  PayloadReader reader(payload, "JOB_RESULT");
  JobAnswer answer;
  answer.result.exit_code = reader.i32();
  const uint32_t flags = reader.u32();
  if (flags & ~(PROVIUM_JOB_RUNNING | PROVIUM_JOB_RESTARTED))
    throw ProtocolError(fmt::format("JOB_RESULT flags are {:#x}", flags));
  answer.result.running = (flags & PROVIUM_JOB_RUNNING) != 0;
  answer.restarted = (flags & PROVIUM_JOB_RESTARTED) != 0;
  answer.result.out = reader.sized_bytes();
  answer.result.err = reader.sized_bytes();
  reader.expect_end();
  return answer;
}

Request encode_spawn_worker(bool thread) {
  return {PROVIUM_SPAWN_WORKER, pack<uint32_t>(thread ? 1 : 0)};
}

WorkerStarted decode_worker_started(std::string_view payload) {
  PayloadReader reader(payload, "WORKER_STARTED");
  WorkerStarted started{reader.u32(), reader.i32()};
  reader.expect_end();
  return started;
}

namespace {

std::string terminal_size(uint16_t rows, uint16_t cols) {
  if (rows == 0 || cols == 0) throw Error(fmt::format("a terminal of {} rows and {} columns", rows, cols));
  return pack<uint16_t, uint16_t>(rows, cols);
}

}  // namespace

Request encode_pty(std::string_view command, uint16_t rows, uint16_t cols) {
  return {PROVIUM_PTY, terminal_size(rows, cols).append(command)};
}

Request encode_pty_resize(uint16_t rows, uint16_t cols) { return {PROVIUM_PTY_RESIZE, terminal_size(rows, cols)}; }

}  // namespace provium::protocol
