// The QEMU command line of one VM, built from plain data so that it can be checked in unit
// tests. Always an argv array: no string of the user or the guest ever meets a shell.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "transport/kind.h"

namespace provium::qemu {

// A disk as QEMU opens it.
struct Drive {
  std::filesystem::path path;
  std::string format = "raw";  // raw | qcow2
  bool readonly = false;
  // Writes go to a temporary overlay of QEMU's own (snapshot=on), gone when QEMU ends: the
  // file at `path` is never written.
  bool discard_writes = false;
};

// A host directory QEMU exports over virtio-9p under a tag, which the guest mounts by.
struct Export {
  std::filesystem::path path;
  std::string tag;
  bool readonly = false;
};

struct LaunchSpec {
  std::string qemu = "qemu-system-x86_64";
  std::string machine = "q35";      // q35 | pc
  std::string accel = "tcg";        // kvm | tcg (already chosen, see accel.h)
  std::string memory = "512M";
  int cpus = 1;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string append;               // the whole kernel command line
  std::filesystem::path console_log;
  std::filesystem::path qmp_socket;
  std::vector<std::filesystem::path> port_sockets;  // virtio-serial ports provium.0, provium.1, ...
  std::optional<uint32_t> vsock_cid;  // the vsock transport: a vhost-vsock device with this guest CID
  std::vector<Drive> drives;
  std::vector<Export> exports;
  // Guest RAM in a file (for snapshots): shared, the file is the RAM and a snapshot needs only
  // the device state; private, the file is mapped copy-on-write and never changes.
  std::filesystem::path ram_file;
  bool ram_shared = false;
  bool incoming = false;  // wait for a device state (migrate-incoming) instead of booting
  std::filesystem::path gdb_socket;  // QEMU's gdbstub listens here (a unix socket); empty: none
};

std::vector<std::string> qemu_argv(const LaunchSpec& spec);

// The -cpu of an accelerator: the host's CPU under KVM; under TCG QEMU's "max" without ERMS and
// FSRM: with them advertised the 6.1 kernel clears pages and copies memory with `rep stosb` and
// `rep movsb`, of which TCG runs one iteration per translation block (docs/performance.md). It
// changes what the guest runs, so it is part of a fixture's key.
std::string cpu_model(const std::string& accel);

// The kernel command line: console and panic behaviour, the wrapper as rdinit, the real init,
// the transport (and for vsock how many workers the agent may run at once: that transport has
// no port count to tell it), the root the wrapper mounts and switches to (`root`: a disk's
// device, "host" for the host's root over 9p, empty for none) and on the host's root the
// modules directory it binds at /lib/modules/RELEASE (empty: none; one with whitespace cannot be
// said on a command line and is left out), then the profile's own `append` (last, so that it
// can override).
std::string kernel_command_line(const std::string& init, transport::Kind transport, const std::string& append,
                                int max_workers, const std::string& root = "", const std::string& modules = "");

// The 9p tag of the host's root export (userspace = "host"), which the wrapper mounts.
inline constexpr const char* kHostRootTag = "provium-root";

}  // namespace provium::qemu
