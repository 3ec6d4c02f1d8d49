// Arguments and results of raw syscalls and ioctls run in the guest.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium {

// One syscall argument: an integer, or a buffer that the agent copies into guest memory and
// passes by address. Buffers are made with in(), out() and inout(); .ptr(offset, buffer)
// writes the address of another buffer into this one (a struct holding a pointer).
class Arg {
 public:
  enum class Kind { integer, in, out, inout };

  template <std::integral T>
  Arg(T value) : kind_(Kind::integer), value_(static_cast<int64_t>(value)) {}  // NOLINT: implicit by design
  Arg(std::nullptr_t) : kind_(Kind::integer), value_(0) {}                     // NOLINT: a NULL pointer

  // This buffer with the address of `buffer` written at `offset` (8 bytes, little-endian).
  // The pointed-to buffer is one level deep: it cannot point further itself.
  Arg ptr(std::size_t offset, Arg buffer) const;

  Kind kind() const { return kind_; }
  int64_t value() const { return value_; }
  const std::string& bytes() const { return bytes_; }
  bool returned() const { return kind_ == Kind::out || kind_ == Kind::inout; }

  struct Pointer {
    std::size_t offset;
    std::string bytes;
    bool returned;
  };
  const std::vector<Pointer>& pointers() const { return pointers_; }

 private:
  friend Arg in(std::string bytes);
  friend Arg out(std::size_t size);
  friend Arg inout(std::string bytes);
  Arg(Kind kind, std::string bytes) : kind_(kind), bytes_(std::move(bytes)) {}

  Kind kind_;
  int64_t value_ = 0;
  std::string bytes_;
  std::vector<Pointer> pointers_;
};

Arg in(std::string bytes);     // input only: its contents after the call are not returned
Arg out(std::size_t size);     // output: `size` zero bytes, returned after the call
Arg inout(std::string bytes);  // input and output
// A C string argument: `text` and its terminating NUL, input only (a path, a name):
// vm.syscall(SYS_openat, {AT_FDCWD, provium::cstr("/proc/version"), O_RDONLY}).
Arg cstr(std::string_view text);

struct SyscallResult {
  int64_t ret = 0;               // the raw result; -errno on failure
  std::vector<std::string> out;  // out/inout buffers in argument order, then returned pointer
                                 // buffers in declaration order
};

struct IoctlResult {
  int64_t ret = 0;
  std::optional<std::string> out;  // the argument after the call, for commands that return one
  std::vector<std::string> buffers;  // returned pointer buffers (ioctl with .ptr), in order
};

struct Job {
  uint32_t id = 0;
  int pid = 0;
};

struct JobResult {
  int exit_code = -1;  // -1 while running; 128 + N when killed by signal N
  std::string out, err;
  bool running = false;
};

struct SpawnOptions {
  bool thread = false;  // clone(CLONE_THREAD) instead of fork: shares memory and fds
};

}  // namespace provium
