// Virtual machines and the guest agent's operations.
#pragma once

#include <chrono>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <provium/error.h>
#include <provium/syscall.h>
#include <provium/tap.h>
#include <provium/types.h>

namespace provium {

namespace vm {
class Machine;
class Session;
struct JobOutputs;
struct GuestAccess;  // the project's own protocol tests reach the connection through it
struct VmAccess;     // fixtures make Vms of machines they resume
}  // namespace vm

// The deadline every operation starts with: $PROVIUM_TIMEOUT seconds when set,
// else 60 s. Guest::set_timeout changes it for one VM or worker.
std::chrono::milliseconds default_operation_timeout();

// What a VM and a worker both offer: the agent's operations on one connection. Every call
// throws Error when the machinery fails (TimeoutError when its deadline passes); the guest's
// own failures are results (exit codes, -errno).
class Guest {
 public:
  // Runs `cmd` with /bin/sh -c in the guest and returns its exit status and whole output (at
  // most 16 MiB together; more is an Error). It returns when every process holding the
  // command's stdout or stderr has ended: a daemon it starts must redirect them
  // (`daemon >/dev/null 2>&1 &`), or the call waits for it.
  ExecResult exec(std::string_view cmd, const ExecOptions& options = {});

  // Files in the guest, binary-safe, of any size: one frame up to the frame's 16 MiB, larger
  // ones in 4 MiB pieces, each with the call's deadline (a slow transfer that moves on never times out). A
  // missing path or a permission error throws Error with the guest's errno text. A large
  // write_file goes to a temporary file beside `path`, renamed once complete: a failure leaves
  // no partial file at `path`.
  std::string read_file(std::string_view path, const CallOptions& options = {});
  void write_file(std::string_view path, std::string_view data, const CallOptions& options = {});

  // A host file into the guest (copy_to) or a guest file onto the host (copy_from), in 4 MiB
  // pieces: the memory they take is a piece's, whatever the file's size. The deadline applies to
  // each piece. The destination appears only once complete (a temporary file beside it,
  // renamed): a failure, the VM's death included, leaves no partial file there. copy_to gives
  // the guest file the host file's permission bits.
  void copy_to(const std::string& host_path, std::string_view guest_path, const CallOptions& options = {});
  void copy_from(std::string_view guest_path, const std::string& host_path, const CallOptions& options = {});

  // A raw syscall with integer arguments: the result, or -errno on failure.
  template <std::integral... I>
    requires(sizeof...(I) <= 6)
  int64_t syscall(long nr, I... args) {
    return syscall_integers(nr, {static_cast<int64_t>(args)...});
  }
  // A raw syscall with buffer arguments: in(), out(), inout(), integers, and .ptr() for
  // buffers that hold pointers: vm.syscall(SYS_read, {fd, provium::out(64), 64}).
  SyscallResult syscall(long nr, std::initializer_list<Arg> args);
  // The same with arguments assembled at run time (at most 6).
  SyscallResult syscall(long nr, std::span<const Arg> args);

  // ioctl(fd, cmd, ...). The direction bits of `cmd` decide: _IOW sends `data`; _IOR and _IOWR
  // return the argument as `out` (zero-filled to _IOC_SIZE(cmd) when no data is given). A
  // command without direction bits gets a pointer to a copy of `data` and returns it, or the
  // integer 0 without data.
  IoctlResult ioctl(int fd, unsigned long cmd, std::string data = {});
  // ioctl(fd, cmd, integer), or with a struct that holds pointers:
  // vm.ioctl(fd, cmd, provium::inout(head).ptr(8, provium::out(256))).
  IoctlResult ioctl(int fd, unsigned long cmd, const Arg& argument);

  // Background commands: started at once, their whole output kept in the guest (at most
  // 16 MiB together).
  Job background(std::string_view cmd);
  // Waits up to `timeout` (zero: just look) for the job to end; the result has its whole
  // output so far. Only what is new since the last look crosses from the guest.
  JobResult job_wait(const Job& job, std::chrono::milliseconds timeout = {});
  // The job's state now, with only the output that is new since the last job_output of this
  // job: for following a long job's output.
  JobResult job_output(const Job& job);
  // Kills the job's whole process group and reports how it ended (its whole output).
  JobResult job_kill(const Job& job);

  // The kernel log (read with syslog(2), no guest userspace needed), optionally only the lines
  // that match `pattern`, a basic regular expression as grep reads it ("usb [0-9]-1:"; a plain
  // string matches itself). A malformed pattern throws Error.
  std::string dmesg(std::string_view pattern = {});
  // Mounts what selftests expect at the usual places, each when not mounted yet (VfsMounts
  // says which) and when the kernel has it: a filesystem the kernel was built without is skipped.
  void mount_vfs(const VfsMounts& mounts = {});

  // Calls `condition` every `interval` until it returns true; throws TimeoutError naming
  // `description` when `timeout` passes first.
  static constexpr std::chrono::milliseconds kWaitTimeout{10000}, kWaitInterval{500};
  void wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kWaitTimeout,
                  std::chrono::milliseconds interval = kWaitInterval, std::string_view description = "condition");

  // Deadline of each following operation (default_operation_timeout()). A missed deadline
  // throws TimeoutError naming the operation. An exec is killed in the guest and the VM stays
  // usable; after any other operation, or a guest that no longer answers, the connection is
  // not used again.
  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const { return timeout_; }

 protected:
  Guest();
  ~Guest();
  Guest(Guest&&) noexcept;
  Guest& operator=(Guest&&) noexcept;

  // The connection the operations go through (Error when there is none yet).
  vm::Session& session() const;
  // Makes `session` the connection of the following operations.
  void connect(std::shared_ptr<vm::Session> session);
  // Ends the connection, if any, so that a call still inside it fails with `reason`; the object
  // stays (a call on another thread may be using it).
  void close(std::string_view reason);

 private:
  friend struct vm::GuestAccess;
  std::shared_ptr<vm::Session> session_;
  std::chrono::milliseconds timeout_ = default_operation_timeout();
  // What the host holds of each job's output (guest.cpp).
  std::shared_ptr<vm::JobOutputs> jobs_;

  int64_t syscall_integers(long nr, std::vector<int64_t> args);
  SyscallResult syscall_args(long nr, std::span<const Arg> args);
};

// A process (fork) or thread (clone with CLONE_THREAD) of the agent that serves requests on a
// connection of its own: for tests of credentials, file descriptors and concurrency.
class Worker : public Guest {
 public:
  Worker() = default;
  ~Worker();  // closes the connection; the worker exits
  Worker(Worker&&) noexcept;
  Worker& operator=(Worker&&) noexcept;

  // Its process id (fork) or thread id (thread), as the guest kernel sees it.
  int pid() const { return pid_; }
  // Closes its connection; the worker exits and its port is free again.
  void kill();

 private:
  friend class Vm;
  int pid_ = 0;
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

  // A new worker (SpawnOptions{.thread = true} for a thread of the agent).
  Worker spawn(SpawnOptions options = {});

  // Asks the agent to power the guest off, waits up to 10 s, then kills QEMU.
  void shutdown();
  // Kills QEMU at once. Also what the destructor does; neither leaves a process or a file.
  void kill();

  bool running() const;
  const std::string& profile() const { return profile_; }

  // Declares that the kernel will report a bug on purpose before the next check (the test's
  // end): a report whose title, or a WARN's message printed before it, matches `regex`
  // (ECMAScript, searched: "WARNING: .* at mm/") then passes, and the check fails when none
  // came. Throws Error for a malformed regex.
  void expect_kernel_report(std::string_view regex);
  // Flushes the kernel's log to the console, then sorts the reports it printed since the VM
  // started (or since the last check) by the expectations, which it then clears. A TEST_F does
  // this at its end; any VM does it when it ends (kill, shutdown, destructor; without the
  // flush) and hands a failed check to the kernel report handler. With
  // PROVIUM_KERNEL_REPORTS=ignore every check is ok (ignored reports are named on stderr).
  // A VM that was never booted has nothing to report.
  KernelReportCheck check_kernel_reports();

  // The last `lines` lines of the guest's serial console.
  std::string console_tail(std::size_t lines = 20) const;

 private:
  friend Vm create(std::string_view profile);
  friend struct vm::VmAccess;
  explicit Vm(std::string profile);

  // Boots `machine`, made for this Vm's profile (or a variant of it: provium run --host-root).
  void boot_machine(std::shared_ptr<vm::Machine> machine);

  // The check when the VM ends: a failure goes to the kernel report handler.
  void check_at_end() noexcept;

  std::string profile_;
  std::shared_ptr<vm::Machine> machine_;
};

// Where the failed kernel report check of a VM that ends goes (Vm::check_kernel_reports):
// `failure` says which VM and what the kernel reported. By default it is printed on stderr;
// provium::testing::Init makes it a failure of the running test. Returns the previous handler.
using KernelReportHandler = std::function<void(const std::string& failure)>;
KernelReportHandler set_kernel_report_handler(KernelReportHandler handler);

// Runs a TAP producer (a kselftest binary, run_kselftest.sh) like exec, with its stderr merged
// into its stdout so that a subtest's messages come before its result, and parses that
// (parse_tap). Check it with PROVIUM_EXPECT_TAP or TapPasses (provium/gtest.h).
TapResult run_tap(Guest& guest, std::string_view cmd, const ExecOptions& options = {});

// A VM of the given provium.toml profile, not booted yet. Throws Error for an unknown profile
// or a malformed provium.toml.
Vm create(std::string_view profile = "default");

// Throws PrerequisiteError when the host lacks what the profile needs to boot (QEMU, the
// built-in profile's kernel or busybox), or Error when its configured kernel is missing.
void check_prerequisites(std::string_view profile = "default");

// Kills every VM of this process (fixture spares included), waits until each QEMU is reaped,
// and joins Provium's loop thread. A Vm still held is then dead (running() is false); a later
// boot starts the thread again. GoogleTest programs need not call it: provium::testing::Init
// makes it run when RUN_ALL_TESTS ends. Any process that exits normally (returning from main,
// or exit()) runs it from an atexit handler too, registered when the first VM starts: before
// the destructors of statics made earlier, and before the libraries unload.
void shutdown_all();

}  // namespace provium
