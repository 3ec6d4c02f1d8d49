// One QEMU virtual machine: its run directory, its initrd, the QEMU process, the QMP monitor
// and the agent's connection. The caller's thread prepares files and waits; everything that
// touches a process or socket runs on the loop thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <provium/vm.h>

#include "config/profile.h"
#include "vm/run_dir.h"
#include "vm/session.h"

namespace provium::detail {

// Throws PrerequisiteError (QEMU, a default kernel or busybox missing) or Error (a configured
// kernel missing).
void check_prerequisites(const config::Profile& profile);

class Machine : public std::enable_shared_from_this<Machine> {
 public:
  Machine(config::Profile profile, BootOptions options);
  ~Machine();  // kills QEMU if it still runs and removes the run directory
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Starts QEMU and waits for the agent's READY. Throws Error (PrerequisiteError for a missing
  // QEMU or kernel) with what went wrong.
  void boot();

  std::shared_ptr<Session> agent() const { return agent_; }

  // Connects to the worker the agent reported on `port` and waits for its READY.
  std::shared_ptr<Session> connect_worker(uint32_t port, std::chrono::milliseconds timeout);

  // Graceful: SHUTDOWN to the agent, QEMU's exit awaited `grace`, then killed.
  void shutdown(std::chrono::milliseconds grace);
  void kill();
  bool running() const;

  std::string console_tail(std::size_t lines) const;
  // The accelerator and the console tail, for error messages.
  std::string context() const;

 private:
  struct Runtime;  // the loop thread's part

  std::string build_initrd() const;
  std::filesystem::path port_socket(uint32_t port) const;
  bool wait_for_exit(std::chrono::milliseconds timeout);
  std::optional<std::string> death(std::chrono::milliseconds grace);
  Session::Owner session_owner();

  config::Profile profile_;
  BootOptions options_;
  std::string accel_;
  RunDir run_dir_;
  std::shared_ptr<Runtime> runtime_;
  std::shared_ptr<Session> agent_;
  bool launched_ = false;  // QEMU was started
  uint32_t port_count_ = 0;  // virtio-serial ports: provium.0 (the agent) and one per worker
};

}  // namespace provium::detail
