// Which channel a VM's host and agent talk over: "vsock" (AF_VSOCK through vhost-vsock, the
// documented channel) or "virtio-serial" (ports backed by unix sockets, needs nothing from the
// host). A profile asks for one of them or for "auto"; PROVIUM_TRANSPORT (--provium_transport)
// overrides every profile.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/kind.h"

namespace provium::transport {

inline constexpr std::string_view kVsock = "vsock";
inline constexpr std::string_view kVirtioSerial = "virtio-serial";
inline constexpr const char* kVhostVsockDevice = "/dev/vhost-vsock";

// A requested transport: "auto", "vsock" or "virtio-serial", and where it was asked for
// ("provium.toml:3:13", "PROVIUM_TRANSPORT"), for messages.
struct Request {
  std::string value;
  std::string origin;
};

// Why vsock cannot be used when opening `device` read-write fails with `error` (an errno):
// what is missing and how to get it (modprobe vhost_vsock; the device's group or an ACL).
std::string vsock_problem(const std::filesystem::path& device, int error);

// nullopt when `device` opens read-write (QEMU opens it so), else vsock_problem(). Opening the
// static node of a module not loaded yet loads it on demand, as QEMU's open would.
std::optional<std::string> vsock_unavailable(const std::filesystem::path& device = kVhostVsockDevice);

// The transport for a request. auto: vsock when `device` opens read-write, else
// virtio-serial. Throws PrerequisiteError when vsock is asked for and `device` does not open
// (the host lacks it: skipped in GoogleTest, a failure with PROVIUM_REQUIRE=1), Error for a
// value that is none of the three.
Kind choose_transport(const Request& requested,
                             const std::filesystem::path& device = kVhostVsockDevice);

// The run's override (PROVIUM_TRANSPORT, --provium_transport); nullopt when it has none.
std::optional<Request> transport_override();

// When the override asks for vsock and `device` does not open: why, in a sentence that also
// says that this is a skip (vsock is an optional transport), for GoogleTest's environment.
std::optional<std::string> override_unavailable(const std::filesystem::path& device = kVhostVsockDevice);

// The kernel modules a guest needs for `transport` (resolved with their dependencies against
// the kernel's modules.dep; left out when built in).
std::vector<std::string> guest_modules(Kind transport);

}  // namespace provium::transport
