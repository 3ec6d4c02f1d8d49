#include "transport/selection.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <provium/error.h>

#include "base/settings.h"

namespace provium::transport {

namespace {

std::string access_advice(const std::filesystem::path& device) {
  return fmt::format(
      "Debian's udev gives {0} group kvm and mode 0660 (`ls -l {0}` shows them): join that group "
      "(`sudo usermod -aG kvm $USER`, then log in again) or grant access with an ACL (`sudo "
      "setfacl -m u:$USER:rw {0}`)",
      device.string());
}

}  // namespace

std::string vsock_problem(const std::filesystem::path& device, int error) {
  const std::string path = device.string();
  switch (error) {
    case ENOENT:
      return fmt::format(
          "{} does not exist: the host's vhost_vsock kernel module is not loaded. Load it with "
          "`sudo modprobe vhost_vsock` (at every boot: `echo vhost_vsock | sudo tee "
          "/etc/modules-load.d/vhost_vsock.conf`); this user then needs read-write access to it: {}",
          path, access_advice(device));
    case EACCES:
    case EPERM:
      return fmt::format("this user cannot open {} read-write ({}): {}. Should the module not be "
                         "loaded yet, `sudo modprobe vhost_vsock` too",
                         path, std::strerror(error), access_advice(device));
    case ENODEV:
    case ENXIO:
      return fmt::format(
          "{} has no driver ({}): the host's vhost_vsock kernel module is not loaded and could "
          "not be loaded on demand. Load it with `sudo modprobe vhost_vsock` (the host kernel "
          "needs CONFIG_VHOST_VSOCK)",
          path, std::strerror(error));
    default:
      return fmt::format("cannot open {} read-write ({}); vsock needs the host's vhost_vsock "
                         "kernel module (`sudo modprobe vhost_vsock`) and read-write access to "
                         "the device for this user: {}",
                         path, std::strerror(error), access_advice(device));
  }
}

std::optional<std::string> vsock_unavailable(const std::filesystem::path& device) {
  const int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return vsock_problem(device, errno);
  ::close(fd);
  return std::nullopt;
}

Kind choose_transport(const Request& requested, const std::filesystem::path& device) {
  if (requested.value == "auto") return vsock_unavailable(device) ? Kind::virtio_serial : Kind::vsock;
  if (requested.value == kVirtioSerial) return Kind::virtio_serial;
  if (requested.value == kVsock) {
    if (auto problem = vsock_unavailable(device))
      throw PrerequisiteError(fmt::format(
          "{}: transport \"vsock\" cannot be used on this host: {}. (transport \"auto\" uses "
          "vsock where the host has it and virtio-serial elsewhere; \"virtio-serial\" needs "
          "nothing from the host.)",
          requested.origin, *problem));
    return Kind::vsock;
  }
  throw Error(fmt::format("{}: transport must be auto, vsock or virtio-serial, not '{}'",
                          requested.origin, requested.value));
}

std::optional<Request> transport_override() {
  std::string value = base::settings()->transport;
  if (value.empty()) return std::nullopt;
  return Request{std::move(value), "PROVIUM_TRANSPORT (--provium_transport)"};
}

std::optional<std::string> override_unavailable(const std::filesystem::path& device) {
  auto requested = transport_override();
  if (!requested || requested->value != kVsock) return std::nullopt;
  auto problem = vsock_unavailable(device);
  if (!problem) return std::nullopt;
  return fmt::format(
      "{} asks for transport vsock, which this host cannot provide: {}. Every test is skipped, "
      "also with PROVIUM_REQUIRE=1: the override names an optional transport (a profile's "
      "transport = \"vsock\" is a prerequisite instead)",
      requested->origin, *problem);
}

std::vector<std::string> guest_modules(Kind transport) {
  if (transport == Kind::vsock)
    return {"virtio_pci", "vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport"};
  return {"virtio_pci", "virtio_console"};
}

}  // namespace provium::transport
