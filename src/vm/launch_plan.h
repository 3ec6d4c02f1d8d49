// What a machine's QEMU starts with, worked out from plain data: the boot options checked,
// the initrd, the kernel command line, the sockets and the ports. No file is touched, so a
// unit test reaches every start mode without a VM; the Machine writes the initrd the plan asks
// for and starts QEMU with the plan's spec.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <provium/vm.h>

#include "config/profile.h"
#include "qemu/command_line.h"
#include "transport/kind.h"
#include "vm/start.h"

namespace provium::vm {

// virtio-serial offers 31 ports besides its console: the agent's and 30 workers'.
inline constexpr int kMaxWorkers = 30;

// Throws Error naming the option that cannot work (memory, cpus, timeout, max_workers, a
// profile's missing initrd).
void check_boot_options(const config::Profile& profile, const BootOptions& options);

// The socket of virtio-serial port `port` (0: the agent's) of the run directory `run_dir`.
std::filesystem::path port_socket(const std::filesystem::path& run_dir, uint32_t port);

// What the host decided for this machine (host/ and kernel/).
struct HostChoices {
  std::string accel;                   // "kvm" or "tcg"
  transport::Kind transport = transport::Kind::virtio_serial;
  std::filesystem::path kernel_image;  // what -kernel loads: the bzImage or its PVH kernel
  std::optional<uint32_t> vsock_cid;   // the leased CID, with vsock
  bool gdb = false;                    // QEMU's gdbstub, and a kernel without address randomisation
  // On the host's root: the profile's installed modules directory (one with modules.dep), which
  // the wrapper binds at /lib/modules/RELEASE; empty for none.
  std::filesystem::path modules{};
};

struct LaunchPlan {
  qemu::LaunchSpec spec;
  bool builds_initrd = false;  // spec.initrd is to be written first (the VM does not restore)
  uint32_t port_count = 0;     // virtio-serial ports: the agent's and one per worker; 0 with vsock
};

// A disk image's format by its magic: "qcow2", else "raw". `what` names the file in an error.
std::string disk_format(const std::filesystem::path& image, std::string_view what);

// The shares a VM of `profile` gets: the profile's, then the boot options', checked: a host path that is no
// directory, a guest path that is not absolute or holds "..", is an Error naming the share.
std::vector<Share> vm_shares(const config::Profile& profile, const BootOptions& options);

// The 9p tag of the share at `index` of vm_shares: what QEMU exports it as and the guest mounts.
std::string share_tag(std::size_t index);

// The disks a VM of `profile` gets: the profile's root disk (rootfs) first, as /dev/vda, then
// the boot options' own.
std::vector<Disk> vm_disks(const config::Profile& profile, const BootOptions& options);

// Where QEMU's gdbstub of a VM listens (HostChoices::gdb).
std::filesystem::path gdb_socket(const std::filesystem::path& run_dir);

LaunchPlan plan_launch(const config::Profile& profile, const BootOptions& options, const Start& start,
                       const std::filesystem::path& run_dir, const HostChoices& host);

}  // namespace provium::vm
