// The options and results of a VM's operations: plain values, no behaviour, so that every part of
// Provium can take them without depending on the VM itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium {

struct Disk {
  std::string path{};
  std::string format = "raw";  // "raw" or "qcow2"
  bool readonly = false;
};

// A host directory shared with the guest over virtio-9p (no daemon on the host, no root): Provium
// mounts it at `guest` once the VM is up, and again in each VM resumed from a fixture's snapshot.
// Writes on either side are seen on the other. Files the guest creates belong to the host user
// that runs QEMU.
struct Share {
  std::string host{};   // a directory
  std::string guest{};  // absolute; made when missing
  bool readonly = false;
};

struct BootOptions {
  std::string memory = "512M";                // QEMU -m syntax: 512M, 1G, ...
  int cpus = 1;
  int max_workers = 15;                       // workers alive at once (one serial port each)
  std::map<std::string, std::string> files{};  // guest path -> host path, put into the initramfs
  std::vector<Disk> disks{};
  std::vector<Share> shares{};
  std::chrono::milliseconds timeout{30000};   // from QEMU start to the agent's READY
};

// The filesystems mount_vfs() provides; false skips one.
struct VfsMounts {
  bool proc = true;        // /proc
  bool sys = true;         // /sys
  bool securityfs = true;  // /sys/kernel/security
  bool dev = true;         // /dev (devtmpfs)
  bool devpts = true;      // /dev/pts
  bool shm = true;         // /dev/shm (tmpfs, mode 1777)
  bool run = true;         // /run (tmpfs)
  bool tmp = true;         // /tmp (tmpfs, mode 1777), unless the root itself is in memory (an initramfs)
};

struct ExecResult {
  int exit_code = -1;  // the command's exit status; 128 + N when killed by signal N
  std::string out;     // stdout, binary-safe
  std::string err;     // stderr, binary-safe
  bool ok() const { return exit_code == 0; }
};

// A report the kernel printed on the console about a bug of its own: a WARNING, a BUG, an Oops,
// a KASAN, KFENCE, UBSAN or lockdep report, a hung task, an RCU stall, a panic.
struct KernelReport {
  // Its headline in the kernel's words: "WARNING: CPU: 0 PID: 42 at mm/slub.c:4321 kfree+0x1c/0x80".
  std::string title;
  std::string text;        // the report as the console shows it (at most 400 lines)
  std::size_t lines = 0;   // how many lines it had
};

// What a check of a VM's console for kernel reports found.
struct KernelReportCheck {
  std::vector<KernelReport> unexpected;  // reports that no expect_kernel_report declared
  std::vector<KernelReport> expected;    // reports that one did
  std::vector<std::string> missing;      // declared patterns that no report matched
  bool ok() const { return unexpected.empty() && missing.empty(); }
  // A failure message: each unexpected report (trimmed), each missing one.
  std::string describe() const;
};

// Options of one exec.
struct ExecOptions {
  // This call's deadline instead of the VM's (set_timeout(), else $PROVIUM_TIMEOUT, else 60 s):
  // vm.exec("./pidfd_test", {.timeout = std::chrono::minutes(10)}). At the deadline the guest
  // kills the command's process group and exec throws TimeoutError with its output so far;
  // the VM stays usable.
  std::optional<std::chrono::milliseconds> timeout{};
  // Also show the output live, line by line, on this process's stdout, each line prefixed with
  // the VM's name ("[vm-x1Yz2Q] ..."); PROVIUM_STREAM=1 does it for every exec of a run.
  bool stream = false;
  // Called with each piece of output as it arrives (stream 1: stdout, 2: stderr), on Provium's
  // own thread, for output that goes somewhere of the caller's choosing (`provium run` writes it
  // to its own stdout and stderr as it is). exec still returns the whole output.
  std::function<void(int stream, std::string_view bytes)> on_output{};
};

// Options of the other calls that can take long (read_file, write_file).
struct CallOptions {
  // This call's deadline instead of the VM's; a missed one retires the connection.
  std::optional<std::chrono::milliseconds> timeout{};
};

}  // namespace provium
