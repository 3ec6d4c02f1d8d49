// Files between host and guest (Guest::read_file, write_file, copy_to, copy_from): one frame for
// a file that fits one, else pieces moved with the agent's syscalls (openat, pread64, pwrite64,
// renameat), so that no frame limit applies; copy_to and copy_from always go in pieces, so that
// memory is bounded by a piece.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include <provium/error.h>
#include <provium/vm.h>

#include "protocol/requests.h"
#include "vm/agent_syscall.h"
#include "vm/session.h"
#include "wire.h"

namespace provium {

namespace {
// A piece of a transfer that goes through the agent's syscalls. Each one is copied several times
// in the guest (the syscall's buffer, the answer), so a whole file that fits one frame goes in
// the agent's own READ_FILE or WRITE_FILE, about three times as fast under TCG.
constexpr std::size_t kPiece = 4u << 20;
// WRITE_FILE's payload: [path length u32][path][data].
bool fits_a_frame(std::string_view path, std::size_t data) {
  return 4 + path.size() + data <= PROVIUM_MAX_PAYLOAD;
}

std::string c_string(std::string_view text) { return std::string(text) + '\0'; }

// One syscall of a transfer, with the call's deadline: its result (-errno on failure) and its
// output buffers.
using Call = std::function<SyscallResult(long nr, std::initializer_list<Arg> args)>;

// The Call of a transfer on `session`, each syscall with `timeout`.
Call call_on(vm::Session& session, std::chrono::milliseconds timeout) {
  return [&session, timeout](long nr, std::initializer_list<Arg> args) {
    return vm::agent_syscall(session, nr, std::span<const Arg>(args.begin(), args.size()), timeout);
  };
}

// A name beside `path` for the file that becomes it: unique per process and transfer.
std::string partial_name(std::string_view path) {
  static std::atomic<unsigned> counter{0};
  return fmt::format("{}.provium-partial-{}-{}", path, ::getpid(), counter++);
}

// Writes the pieces `next` gives (an empty one ends) into a new guest file at `path` (mode
// `mode`) through a temporary file beside it, renamed at the end; the temporary file is
// removed when anything fails.
void write_guest_pieces(const Call& call, std::string_view path, uint32_t mode,
                        const std::function<std::string()>& next, std::string_view operation) {
  const std::string partial = partial_name(path);
  auto fail = [&](std::string_view what, int64_t ret) {
    return Error(fmt::format("{}: {} {}: {}", operation, what, partial, std::strerror(static_cast<int>(-ret))));
  };
  const int64_t fd = call(SYS_openat, {AT_FDCWD, in(c_string(partial)), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode}).ret;
  if (fd < 0) throw fail("cannot create", fd);
  try {
    uint64_t offset = 0;
    for (std::string piece = next(); !piece.empty(); piece = next()) {
      for (std::size_t done = 0; done < piece.size();) {
        const std::string_view rest = std::string_view(piece).substr(done);
        const int64_t wrote = call(SYS_pwrite64, {fd, in(std::string(rest)), rest.size(), offset}).ret;
        if (wrote <= 0) throw fail("cannot write", wrote < 0 ? wrote : -EIO);
        done += static_cast<std::size_t>(wrote);
        offset += static_cast<uint64_t>(wrote);
      }
    }
    const int64_t closed = call(SYS_close, {fd}).ret;
    if (closed < 0) throw fail("cannot close", closed);
    const int64_t renamed = call(SYS_renameat, {AT_FDCWD, in(c_string(partial)), AT_FDCWD, in(c_string(path))}).ret;
    if (renamed < 0)
      throw Error(fmt::format("{}: cannot rename {} to {}: {}", operation, partial, path,
                              std::strerror(static_cast<int>(-renamed))));
  } catch (...) {
    // Best effort: a dead VM takes its files with it.
    try {
      call(SYS_close, {fd});
      call(SYS_unlinkat, {AT_FDCWD, in(c_string(partial)), 0});
    } catch (const std::exception&) {
    }
    throw;
  }
}

// Reads the guest file at `path` piece by piece into `take`, which sees each piece once.
void read_guest_pieces(const Call& call, std::string_view path, const std::function<void(std::string_view)>& take,
                       std::string_view operation) {
  const int64_t fd = call(SYS_openat, {AT_FDCWD, in(c_string(path)), O_RDONLY | O_CLOEXEC, 0}).ret;
  if (fd < 0) throw Error(fmt::format("{}: {}", operation, std::strerror(static_cast<int>(-fd))));
  try {
    for (uint64_t offset = 0;;) {
      const auto got = call(SYS_pread64, {fd, out(kPiece), kPiece, offset});
      if (got.ret < 0) throw Error(fmt::format("{}: {}", operation, std::strerror(static_cast<int>(-got.ret))));
      if (got.ret == 0) break;
      if (static_cast<uint64_t>(got.ret) > kPiece || got.out.empty())
        throw Error(fmt::format("{}: the agent answered a read of {} bytes with {}", operation, kPiece, got.ret));
      take(std::string_view(got.out.front()).substr(0, static_cast<std::size_t>(got.ret)));
      offset += static_cast<uint64_t>(got.ret);
    }
  } catch (...) {
    try {
      call(SYS_close, {fd});
    } catch (const std::exception&) {
    }
    throw;
  }
  call(SYS_close, {fd});
}

// The size of the guest file at `path` (statx's stx_size), or -errno.
int64_t guest_file_size(const Call& call, std::string_view path) {
  constexpr std::size_t kStatxSize = 256, kSizeOffset = 40;
  const auto got = call(SYS_statx, {AT_FDCWD, in(c_string(path)), 0, 0x200u /* STATX_SIZE */, out(kStatxSize)});
  if (got.ret < 0) return got.ret;
  uint64_t size = 0;
  std::memcpy(&size, got.out.front().data() + kSizeOffset, sizeof size);
  return static_cast<int64_t>(size);
}
}  // namespace

std::string Guest::read_file(std::string_view path, const CallOptions& options) {
  const auto operation = vm::describe_operation("read_file", path);
  const auto timeout = options.timeout.value_or(timeout_);
  const Call call = call_on(session(), timeout);
  // A file that says it fits a frame (/proc's say 0) comes in one, as it always did.
  if (guest_file_size(call, path) <= static_cast<int64_t>(PROVIUM_MAX_PAYLOAD))
    return session().call({PROVIUM_READ_FILE, std::string(path)}, PROVIUM_FILE_DATA, operation, timeout).payload;
  std::string data;
  read_guest_pieces(call, path, [&](std::string_view piece) { data.append(piece); }, operation);
  return data;
}

void Guest::write_file(std::string_view path, std::string_view data, const CallOptions& options) {
  const auto operation = vm::describe_operation("write_file", path);
  const auto timeout = options.timeout.value_or(timeout_);
  if (fits_a_frame(path, data.size())) {
    auto answer = session().call(protocol::encode_write_file(path, data), PROVIUM_FILE_DATA, operation, timeout);
    if (!answer.payload.empty())
      throw Error(fmt::format("{}: the agent acknowledged with {} unexpected bytes", operation, answer.payload.size()));
    return;
  }
  const Call call = call_on(session(), timeout);
  std::size_t sent = 0;
  write_guest_pieces(call, path, 0644, [&] {
    const auto piece = data.substr(sent, kPiece);
    sent += piece.size();
    return std::string(piece);
  }, operation);
}

void Guest::copy_to(const std::string& host_path, std::string_view guest_path, const CallOptions& options) {
  const auto operation = vm::describe_operation("copy_to", guest_path);
  const auto timeout = options.timeout.value_or(timeout_);
  const int host = ::open(host_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (host < 0) throw Error(fmt::format("{}: {}: {}", operation, host_path, std::strerror(errno)));
  struct stat status {};
  ::fstat(host, &status);
  const Call call = call_on(session(), timeout);
  try {
    write_guest_pieces(call, guest_path, status.st_mode & 07777, [&] {
      std::string piece(kPiece, '\0');
      ssize_t got;
      while ((got = ::read(host, piece.data(), piece.size())) < 0 && errno == EINTR) {
      }
      if (got < 0) throw Error(fmt::format("{}: reading {}: {}", operation, host_path, std::strerror(errno)));
      piece.resize(static_cast<std::size_t>(got));
      return piece;
    }, operation);
  } catch (...) {
    ::close(host);
    throw;
  }
  ::close(host);
}

void Guest::copy_from(std::string_view guest_path, const std::string& host_path, const CallOptions& options) {
  const auto operation = vm::describe_operation("copy_from", guest_path);
  const auto timeout = options.timeout.value_or(timeout_);
  const std::string partial = partial_name(host_path);
  int host = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (host < 0) throw Error(fmt::format("{}: cannot create {}: {}", operation, partial, std::strerror(errno)));
  const Call call = call_on(session(), timeout);
  try {
    read_guest_pieces(call, guest_path, [&](std::string_view piece) {
      for (std::size_t done = 0; done < piece.size();) {
        const ssize_t wrote = ::write(host, piece.data() + done, piece.size() - done);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0) throw Error(fmt::format("{}: writing {}: {}", operation, partial, std::strerror(errno)));
        done += static_cast<std::size_t>(wrote);
      }
    }, operation);
    const int closed = ::close(host);
    host = -1;
    if (closed != 0) throw Error(fmt::format("{}: writing {}: {}", operation, partial, std::strerror(errno)));
  } catch (...) {
    if (host >= 0) ::close(host);
    std::filesystem::remove(partial);
    throw;
  }
  std::error_code error;
  std::filesystem::rename(partial, host_path, error);
  if (error) {
    std::filesystem::remove(partial);
    throw Error(fmt::format("{}: cannot rename {} to {}: {}", operation, partial, host_path, error.message()));
  }
}

}  // namespace provium
