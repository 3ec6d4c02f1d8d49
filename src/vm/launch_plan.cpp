#include "vm/launch_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/files.h"
#include "base/memory_size.h"

namespace provium::vm {

namespace {

// The disks as QEMU opens them: as given for a plain boot (a root disk with its writes
// discarded: the image is the profile's, shared by every VM) and for read-only disks; else the
// start's stand-in for each writable disk (a build's overlay, or a snapshot's, never written).
std::vector<qemu::Drive> drives(const config::Profile& profile, const std::vector<Disk>& disks, const Start& start) {
  std::vector<qemu::Drive> drives;
  for (std::size_t i = 0; i < disks.size(); ++i) {
    const Disk& disk = disks[i];
    if (disk.readonly || start.mode() == Start::Mode::boot) {
      const bool root = i == 0 && profile.rootfs;
      drives.push_back({disk.path, disk.format, disk.readonly, root});
      continue;
    }
    if (i >= start.disks().size() || start.disks()[i].empty())
      throw Error(fmt::format("disk {}: a VM that starts from or into a snapshot needs an overlay for it", disk.path));
    const bool builds = start.ram_shared();  // its RAM file, and so its disks, become a snapshot
    drives.push_back({start.disks()[i], "qcow2", false, !builds});
  }
  return drives;
}

}  // namespace

void check_boot_options(const config::Profile& profile, const BootOptions& options) {
  try {
    base::parse_memory_size(options.memory);
  } catch (const Error& error) {
    throw Error(fmt::format("BootOptions.memory: {}", error.what()));
  }
  if (options.cpus < 1 || options.cpus > 255)
    throw Error(fmt::format("BootOptions.cpus is {}; it must be 1..255", options.cpus));
  if (options.timeout <= std::chrono::milliseconds::zero())
    throw Error("BootOptions.timeout must be positive");
  if (options.max_workers < 0 || options.max_workers > kMaxWorkers)
    throw Error(fmt::format("BootOptions.max_workers is {}; it must be 0..{}", options.max_workers,
                            kMaxWorkers));
  for (const auto& [key, file] : {std::pair{"initrd", profile.initrd}, {"rootfs", profile.rootfs}})
    if (file && !std::filesystem::is_regular_file(*file))
      throw Error(fmt::format("{}: {} {} not found ({})", profile.origin.count(key) ? profile.origin.at(key) : "",
                              key, file->string(), profile.describe()));
}

std::string disk_format(const std::filesystem::path& image, std::string_view what) {
  return base::read_file(image, what, 4) == "QFI\xfb" ? "qcow2" : "raw";
}

std::vector<Share> vm_shares(const config::Profile& profile, const BootOptions& options) {
  std::vector<Share> shares = profile.shares;
  shares.insert(shares.end(), options.shares.begin(), options.shares.end());
  for (const Share& share : shares) {
    auto fail = [&](std::string_view what) {
      return Error(fmt::format("shares: host directory {} at guest path {}: {}", share.host, share.guest, what));
    };
    std::error_code error;
    if (!std::filesystem::is_directory(share.host, error)) throw fail("not a directory on this host");
    const std::filesystem::path guest(share.guest);
    if (!guest.is_absolute()) throw fail("the guest path must be absolute");
    if (std::find(guest.begin(), guest.end(), "..") != guest.end()) throw fail("the guest path contains \"..\"");
    if (guest.lexically_normal() == "/") throw fail("a share cannot be the guest's root");
  }
  return shares;
}

std::string share_tag(std::size_t index) { return fmt::format("provium{}", index); }

std::vector<Disk> vm_disks(const config::Profile& profile, const BootOptions& options) {
  std::vector<Disk> disks;
  if (profile.rootfs)
    disks.push_back(
        {profile.rootfs->string(), disk_format(*profile.rootfs, fmt::format("rootfs of {}", profile.describe())), false});
  disks.insert(disks.end(), options.disks.begin(), options.disks.end());
  return disks;
}

std::filesystem::path gdb_socket(const std::filesystem::path& run_dir) { return run_dir / "gdb.sock"; }

std::filesystem::path port_socket(const std::filesystem::path& run_dir, uint32_t port) {
  return run_dir / fmt::format("port{}.sock", port);
}

LaunchPlan plan_launch(const config::Profile& profile, const BootOptions& options, const Start& start,
                       const std::filesystem::path& run_dir, const HostChoices& host) {
  LaunchPlan plan;
  auto& spec = plan.spec;
  spec.qemu = profile.qemu;
  spec.machine = profile.machine;
  spec.accel = host.accel;
  spec.memory = options.memory;
  spec.cpus = options.cpus;
  spec.kernel = host.kernel_image;
  // A restored kernel has unpacked its initrd already: QEMU gets the one it booted with.
  plan.builds_initrd = start.initrd().empty();
  spec.initrd = plan.builds_initrd ? run_dir / "initrd" : start.initrd();
  spec.append = qemu::kernel_command_line(profile.init, host.transport, profile.append, options.max_workers,
                                          profile.rootfs ? "/dev/vda" : profile.host_root ? "host" : "",
                                          profile.host_root ? host.modules.string() : "");
  if (host.gdb) {
    // A debugger's breakpoints and symbols are vmlinux's addresses: no randomisation of them.
    spec.append += " nokaslr";
    spec.gdb_socket = gdb_socket(run_dir);
  }
  spec.console_log = run_dir / "console.log";
  spec.qmp_socket = run_dir / "qmp.sock";
  if (host.transport == transport::Kind::vsock) {
    spec.vsock_cid = host.vsock_cid;
  } else {
    plan.port_count = static_cast<uint32_t>(options.max_workers) + 1;
    for (uint32_t port = 0; port < plan.port_count; ++port) spec.port_sockets.push_back(port_socket(run_dir, port));
  }
  spec.drives = drives(profile, vm_disks(profile, options), start);
  const auto shares = vm_shares(profile, options);
  for (std::size_t i = 0; i < shares.size(); ++i)
    spec.exports.push_back({std::filesystem::absolute(shares[i].host), share_tag(i), shares[i].readonly});
  if (profile.host_root) spec.exports.push_back({"/", qemu::kHostRootTag, true});
  spec.ram_file = start.ram();
  spec.ram_shared = start.ram_shared();
  spec.incoming = start.restores();
  return plan;
}

}  // namespace provium::vm
