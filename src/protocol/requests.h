// Requests to the agent and the decoding of their answers (docs/protocol.md). Pure functions:
// no I/O. An answer is decoded against the layout of the request that asked for it, so every
// length the guest sends back is checked against what the host sent.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <provium/syscall.h>

#include "protocol/frame.h"

namespace provium::protocol {

// What comes back after the result of a SYSCALL, SYSCALL_PTR, IOCTL or IOCTL_BUF: every
// buffer in spec order (only some of which the caller wants), then the returned pointer
// buffers.
struct ResultLayout {
  struct Buffer {
    uint32_t size;
    bool returned;
  };
  std::vector<Buffer> buffers;
  std::vector<uint32_t> returned_pointers;
};

struct EncodedSyscall {
  Request request;
  ResultLayout layout;
};

// SYSCALL, or SYSCALL_PTR when a buffer holds pointers. Throws Error for more than six
// arguments or a nested pointer.
EncodedSyscall encode_syscall(long nr, std::span<const Arg> args);
// The result and the returned buffers of layout, in order (buffers, then pointers).
SyscallResult decode_syscall_result(std::string_view payload, const ResultLayout& layout);

Request encode_write_file(std::string_view path, std::string_view data);

// IOCTL: with data, the third argument is a pointer to a copy of it; without, `arg`.
Request encode_ioctl(int fd, unsigned long cmd, uint64_t arg, std::string_view data);
// IOCTL_BUF: a struct whose pointers (Arg::ptr) are patched in by the agent.
EncodedSyscall encode_ioctl_buf(int fd, unsigned long cmd, const Arg& structure);

// EXEC: the agent kills the command's process group after deadline_ms (0: never); with
// `stream` it also sends the output as it arrives.
Request encode_exec(std::string_view command, uint32_t deadline_ms, bool stream);
// PTY: `command` (empty: a login shell) on a new terminal of rows x cols; PTY_RESIZE. Throws
// Error for a size of 0.
Request encode_pty(std::string_view command, uint16_t rows, uint16_t cols);
Request encode_pty_resize(uint16_t rows, uint16_t cols);

// How much of a job's stdout and stderr the host has: a JOB_RESULT carries what follows.
struct OutputOffsets {
  uint64_t out = 0, err = 0;
};
Request encode_job_wait(uint32_t job_id, uint32_t timeout_ms, OutputOffsets from);
Request encode_job_kill(uint32_t job_id, OutputOffsets from);
Job decode_job_started(std::string_view payload);
// JOB_RESULT: the job's state and the output past the offsets asked for; `restarted` when the
// output is whole again from offset 0 (the job truncated it).
struct JobAnswer {
  JobResult result;
  bool restarted = false;
};
JobAnswer decode_job_result(std::string_view payload);

struct WorkerStarted {
  uint32_t port;
  int32_t pid;
};
Request encode_spawn_worker(bool thread);
WorkerStarted decode_worker_started(std::string_view payload);

}  // namespace provium::protocol
