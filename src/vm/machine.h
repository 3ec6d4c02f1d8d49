// One QEMU virtual machine: its run directory, its initrd, the QEMU process, the QMP monitor
// and the agent's connection. The caller's thread prepares files and waits; everything that
// touches a process or socket runs on the loop thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <provium/vm.h>

#include <nlohmann/json.hpp>

#include "config/profile.h"
#include "kernel/kconfig.h"
#include "qemu/command_line.h"
#include "qemu/qmp.h"
#include "transport/cid.h"
#include "transport/kind.h"
#include "vm/death.h"
#include "vm/host_resources.h"
#include "vm/kernel_reports.h"
#include "vm/launch_plan.h"
#include "vm/run_dir.h"
#include "vm/session.h"

namespace provium::vm {

// Throws PrerequisiteError (QEMU, a default kernel or busybox missing) or Error (a configured
// kernel missing).
void check_prerequisites(const config::Profile& profile);

// The configuration of the kernel `image`: beside it (kernel::config_of_image), else inside it
// (CONFIG_IKCONFIG, read once per image and process); nullopt when it has neither. `where` names
// it for messages.
struct KernelConfigFound {
  kernel::KernelConfig config;
  std::string where;
};
std::optional<KernelConfigFound> kernel_config_of(const std::filesystem::path& image);

// Throws Error naming each option the profile's kernel lacks of what the boot `needs`, when its
// configuration can be found: beside the image (kernel::config_of_image), else inside it
// (CONFIG_IKCONFIG, read once per image and process); says nothing when it cannot.
void check_kernel_config(const config::Profile& profile, const kernel::KernelNeeds& needs);

class Machine : public std::enable_shared_from_this<Machine> {
 public:
  // `resources`: where its pool share and guest CID come from (HostResources::of_this_user()).
  Machine(config::Profile profile, BootOptions options, Start start, HostResources resources);
  ~Machine();  // kills QEMU if it still runs and removes the run directory
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Starts QEMU and waits for the agent's READY. Throws Error (PrerequisiteError for a missing
  // QEMU or kernel) with what went wrong.
  void boot();
  // A spare (cache/spare.h) is a machine restored ahead of its test, in two steps.
  // launch_spare: starts QEMU for the restore, without waiting for it and without a share of
  // the pool (a QEMU waiting for its state is paused and small); a later boot() takes the share,
  // skips the process start (about 50 ms under TCG) and restores.
  void launch_spare();
  // ready_spare: the whole restore, when the pool has room for a spare now
  // (pool::try_acquire_spare_budget; false, and nothing done, when it has not): QEMU started
  // unless launch_spare() did, the state loaded, the guest continued until the agent's READY,
  // then stopped (QEMU freezes the guest's clocks while it is stopped). A later boot() only
  // continues it. Throws Error like boot().
  bool ready_spare();
  // Whether its pool budget is fixed (PROVIUM_POOL_MEM, PROVIUM_POOL_CPUS, [pool]): a ceiling
  // that no QEMU without a share may exceed, a launched spare's included.
  bool budget_is_fixed() const { return resources_.budget.fixed(); }

  std::shared_ptr<Session> agent() const { return agent_; }

  // Connects to the worker the agent reported on `port` and waits for its READY.
  std::shared_ptr<Session> connect_worker(uint32_t port, std::chrono::milliseconds timeout);
  // Where a worker that the agent reported on `port` waits for its host; the port comes from
  // the guest and is checked first (Error).
  transport::SocketAddress worker_address(uint32_t port) const;

  // Quiesces the agent, stops the guest, writes its device state to `state` (the RAM stays in
  // the shared RAM file; without one, the whole RAM goes into `state`) and kills QEMU.
  void save_snapshot(const std::filesystem::path& state);
  // The initrd this machine booted with.
  std::filesystem::path initrd() const;

  // Graceful: SHUTDOWN to the agent, QEMU's exit awaited `grace`, then killed.
  void shutdown(std::chrono::milliseconds grace);
  void kill();
  bool running() const;
  int qemu_pid() const;  // 0 before launch (for benchmarks' memory accounting)

  std::string console_tail(std::size_t lines) const;
  // With the gdbstub (PROVIUM_GDB): stops the guest, prints to stderr the gdb command that
  // attaches to it, and returns once the debugger lets it run again (gdb's `continue`, or
  // gdb detaching). Throws Error without the gdbstub, or when the VM dies meanwhile.
  void wait_for_debugger();
  // A gdbstub for a running VM that has none (QEMU's `gdbserver`, on the socket a PROVIUM_GDB
  // VM would have); the gdb command that attaches to it. Throws Error when QEMU refuses.
  std::string start_gdbstub();

  // The kernel reports of its console that no check has seen yet.
  KernelReportWatch& kernel_reports() { return kernel_reports_; }
  // QEMU ended and a caller was told why (the kernel's reports of its death included).
  bool death_told() const;
  // How QEMU ended; nullopt while it runs (or before it started).
  std::optional<Death::Cause> death_cause() const;
  // Its run directory's name, which messages and its sessions call it by.
  std::string name() const { return run_dir_.path().filename().string(); }
  const std::filesystem::path& run_directory() const { return run_dir_.path(); }
  // The file the guest's console goes to, as it comes.
  std::filesystem::path console_log() const { return run_dir_ / "console.log"; }
  // The accelerator and the console tail, for error messages.
  std::string context() const;

 private:
  struct Runtime;  // the loop thread's part

  void check_before_launch();  // checks, and the accelerator chosen
  // With the pool's share taken: starts QEMU (unless launch_spare() did), restores, connects the
  // agent.
  void bring_up();
  qemu::LaunchSpec launch_spec();  // writes the initrd when the plan asks for a new one
  // Starts QEMU with the launch spec, made once: a relaunch after a CID collision changes only
  // the CID, and does not write the initrd again.
  void start_qemu();
  // What QEMU's -kernel loads: the decompressed kernel for a PVH boot when the profile allows
  // and the kernel can (kernel/direct_boot.h), else the profile's kernel itself.
  std::filesystem::path kernel_image() const;
  // The kernel's modules: the profile's `modules`, else /lib/modules of the kernel's release.
  std::filesystem::path modules_dir() const;
  std::string build_initrd() const;
  void launch(const std::vector<std::string>& argv, const qemu::LaunchSpec& spec);
  void restore(const std::filesystem::path& state, std::chrono::steady_clock::time_point deadline);
  // Where the agent (port 0) or a worker listens: the virtio-serial port's socket, or the
  // guest's vsock port (the agent's own for port 0).
  transport::SocketAddress agent_address(uint32_t port) const;
  void connect_agent(std::chrono::steady_clock::time_point deadline);
  void set_migration_capabilities(std::chrono::steady_clock::time_point deadline);
  // Armed before the command that migrates: resolves with the MIGRATION event's data once the
  // migration completed, failed or was cancelled.
  qemu::QmpClient::Reply expect_migration_end();
  // The reply's value, or Error saying that the VM died, or TimeoutError; `what` names it.
  nlohmann::json await_qmp(qemu::QmpClient::Reply& reply, const std::string& what,
                           std::chrono::steady_clock::time_point deadline);
  nlohmann::json qmp(const std::string& command, nlohmann::json arguments,
                     std::chrono::steady_clock::time_point deadline);
  bool vsock_cid_collided(std::chrono::steady_clock::time_point deadline);
  bool wait_for_exit(std::chrono::milliseconds timeout);
  std::optional<std::string> death(std::chrono::milliseconds grace);
  // The gdb command line that attaches to the gdbstub at `socket`, with the kernel's vmlinux
  // (and its tree trusted for the kernel's gdb scripts) when the profile has them.
  std::string gdb_command(const std::filesystem::path& socket) const;
  // For the agent's connection, or with " worker N" for a worker's.
  Session::Owner session_owner(std::string_view connection = {});

  config::Profile profile_;
  BootOptions options_;
  Start start_;
  HostResources resources_;
  std::optional<kernel::SymbolSources> symbols_;  // where the reports' frames find their file:line
  std::string accel_;
  RunDir run_dir_;
  KernelReportWatch kernel_reports_{run_dir_ / "console.log"};
  // This VM's share of the resource pool: taken before QEMU starts, released once QEMU is dead
  // (kill(), shutdown(), the destructor).
  pool::Lease lease_;
  std::shared_ptr<Runtime> runtime_;
  std::shared_ptr<Session> agent_;
  // Where the machine is in its life. Whether a started QEMU still runs is the runtime's (its
  // exit callback); this says what the host did with it.
  enum class Stage {
    made,            // nothing started
    spare_launched,  // launch_spare(): QEMU started, paused, waiting for its state; no pool share
    spare_ready,     // ready_spare(): restored up to READY and stopped; boot() only continues it
    started,         // QEMU started by boot() (or by ready_spare(), on its way to spare_ready)
  };
  Stage stage_ = Stage::made;
  std::optional<qemu::LaunchSpec> spec_;  // made by the first start_qemu()
  uint32_t port_count_ = 0;  // virtio-serial ports: provium.0 (the agent) and one per worker
  transport::Kind transport_ = transport::Kind::virtio_serial;  // chosen before QEMU starts
  // The vsock transport: this VM's guest CID, held until QEMU is dead (like lease_).
  transport::CidLease cid_lease_;
};

}  // namespace provium::vm
