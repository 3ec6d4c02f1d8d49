// The two channels a VM's host and agent talk over.
#pragma once

#include <ostream>
#include <string_view>

namespace provium::transport {

enum class Kind {
  virtio_serial,  // ports backed by unix sockets in the run directory; needs nothing from the host
  vsock,          // AF_VSOCK through the host's vhost-vsock: a socket per connection
};

// "virtio-serial" or "vsock", as provium.toml and PROVIUM_TRANSPORT spell them.
constexpr std::string_view name(Kind kind) { return kind == Kind::vsock ? "vsock" : "virtio-serial"; }

inline std::ostream& operator<<(std::ostream& out, Kind kind) { return out << name(kind); }

}  // namespace provium::transport
