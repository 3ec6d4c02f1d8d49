// Virtual machines and the guest agent's operations.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <provium/error.h>

namespace provium {

namespace detail {
class Machine;
class Session;
}  // namespace detail

struct Disk {
  std::string path;
  std::string format = "raw";  // "raw" or "qcow2"
  bool readonly = false;
};

struct BootOptions {
  std::string memory = "512M";                // QEMU -m syntax: 512M, 1G, ...
  int cpus = 1;
  std::map<std::string, std::string> files;   // guest path -> host path, put into the initramfs
  std::vector<Disk> disks;
  std::chrono::milliseconds timeout{30000};   // from QEMU start to the agent's READY
};

struct ExecResult {
  int exit_code = -1;  // the command's exit status; 128 + N when killed by signal N
  std::string out;     // stdout, binary-safe
  std::string err;     // stderr, binary-safe
  bool ok() const { return exit_code == 0; }
};

// What a VM and a worker both offer: the agent's operations on one connection.
class Guest {
 public:
  // Runs `cmd` with /bin/sh -c in the guest and returns its exit status and whole output.
  ExecResult exec(std::string_view cmd);

  // Deadline of each following operation (default 60 s). A missed deadline throws Error naming
  // the operation, and the connection is not used again.
  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const { return timeout_; }

 protected:
  Guest() = default;
  ~Guest();
  Guest(Guest&&) noexcept;
  Guest& operator=(Guest&&) noexcept;

  detail::Session& session() const;
  std::shared_ptr<detail::Session> session_;
  std::chrono::milliseconds timeout_{60000};
};

class Vm : public Guest {
 public:
  Vm() = default;  // an empty handle; use provium::create()
  ~Vm();
  Vm(Vm&&) noexcept;
  Vm& operator=(Vm&&) noexcept;

  // Starts QEMU and waits for the agent's READY (options.timeout). Throws Error on a missing
  // kernel, an early QEMU exit (with QEMU's stderr and the console, a panic included) or a
  // missed deadline (with the accelerator and the console).
  void boot(const BootOptions& options = {});

  // Asks the agent to power the guest off, waits up to 10 s, then kills QEMU.
  void shutdown();
  // Kills QEMU at once. Also what the destructor does; neither leaves a process or a file.
  void kill();

  bool running() const;
  const std::string& profile() const { return profile_; }

  // The last `lines` lines of the guest's serial console.
  std::string console_tail(std::size_t lines = 20) const;

 private:
  friend Vm create(std::string_view profile);
  explicit Vm(std::string profile);

  std::string profile_;
  std::shared_ptr<detail::Machine> machine_;
};

// A VM of the given provium.toml profile, not booted yet. Throws Error for an unknown profile
// or a malformed provium.toml.
Vm create(std::string_view profile = "default");

// Throws PrerequisiteError when the host lacks what the profile needs to boot (QEMU, the
// built-in profile's kernel or busybox), or Error when its configured kernel is missing.
void check_prerequisites(std::string_view profile = "default");

}  // namespace provium
