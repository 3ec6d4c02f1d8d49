// Test helper: a listening unix socket, for the fakes that play a peer of Provium's (an agent, a
// QEMU monitor, a stream's other end).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace provium::testing {

// The socket's descriptor, listening at `path`; throws std::runtime_error when it cannot.
inline int unix_listener(const std::filesystem::path& path, int backlog = 4) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, backlog) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot listen on " + path.string());
  }
  return fd;
}

}  // namespace provium::testing
