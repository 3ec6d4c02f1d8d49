// The agent's operations, shared by Vm and Worker: each encodes a request, sends it through
// the connection's Session with the deadline, and decodes the answer.
#include <provium/vm.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <optional>
#include <regex.h>

#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <provium/pack.h>

#include "base/settings.h"
#include "base/text.h"
#include "protocol/messages.h"
#include "protocol/requests.h"
#include "vm/session.h"
#include "vm/agent_syscall.h"
#include "wire.h"

namespace provium {

namespace vm {

// What the host holds of each job's output, and how much of it job_output has handed out.
// Calls on one Guest may come from several threads.
struct JobOutputs {
  struct Held {
    JobResult whole;
    std::size_t out_shown = 0, err_shown = 0;
  };
  std::mutex mutex;
  std::map<uint32_t, Held> jobs;
};

}  // namespace vm

namespace {

enum class JobAsk { wait, kill };
enum class JobGive { whole, news };

// JOB_WAIT (up to `wait`) or JOB_KILL, asking only for the output past what `outputs` holds of
// the job, which it adds there; then the job's whole output, or what is new since the last
// JobGive::news. The lock is held throughout: two threads never add one piece twice.
JobResult update_job(vm::Session& session, vm::JobOutputs& outputs, const Job& job, JobAsk ask,
                     std::chrono::milliseconds wait, std::chrono::milliseconds timeout, JobGive give) {
  std::lock_guard lock(outputs.mutex);
  const auto known = outputs.jobs.find(job.id);
  const protocol::OutputOffsets from = known == outputs.jobs.end()
                                           ? protocol::OutputOffsets{}
                                           : protocol::OutputOffsets{known->second.whole.out.size(), known->second.whole.err.size()};
  const bool kill = ask == JobAsk::kill;
  const auto operation = kill ? fmt::format("job_kill(job {})", job.id) : fmt::format("job_wait(job {}, {})", job.id, wait);
  auto request = kill ? protocol::encode_job_kill(job.id, from)
                      : protocol::encode_job_wait(job.id, static_cast<uint32_t>(wait.count()), from);
  // The agent itself waits `wait`; the deadline covers that and the usual answer time.
  auto answer = protocol::decode_job_result(session.call(request, PROVIUM_JOB_RESULT, operation, timeout + wait).payload);
  auto& held = outputs.jobs[job.id];  // known to the agent: only now is it kept
  if (answer.restarted) held = {};
  held.whole.exit_code = answer.result.exit_code;
  held.whole.running = answer.result.running;
  held.whole.out += answer.result.out;
  held.whole.err += answer.result.err;
  if (give == JobGive::whole) return held.whole;
  JobResult news{held.whole.exit_code, held.whole.out.substr(held.out_shown), held.whole.err.substr(held.err_shown),
                 held.whole.running};
  held.out_shown = held.whole.out.size();
  held.err_shown = held.whole.err.size();
  return news;
}

// How long after an exec's deadline the host waits for the agent's answer: the agent kills
// the command at the deadline and answers within about two seconds (docs/protocol.md, EXEC).
constexpr std::chrono::seconds kKillMargin{10};

// Shows a streamed command's output as it arrives, on the loop thread: whole lines, each
// prefixed with the connection's name (and "stderr" for the command's stderr). The caller's
// thread finishes it, which can overlap the last frames when the call timed out.
class LivePrinter {
 public:
  explicit LivePrinter(std::string name) : name_(std::move(name)) {}

  void add(int stream, std::string_view bytes) {
    std::lock_guard lock(mutex_);
    print(stream, lines_[stream - 1].feed(bytes));
  }

  // What is left: the last line of each stream when it had no newline.
  void finish() {
    std::lock_guard lock(mutex_);
    for (int stream : {1, 2})
      if (auto rest = lines_[stream - 1].rest(); !rest.empty()) print(stream, {std::move(rest)});
  }

 private:
  void print(int stream, const std::vector<std::string>& lines) const {
    std::string text;
    for (const auto& line : lines) text += fmt::format("[{}{}] {}\n", name_, stream == 2 ? " stderr" : "", line);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }

  std::string name_;
  std::mutex mutex_;
  base::LineBuffer lines_[2];
};

// "\nIts stdout until then (last 20 lines):\n..." for a killed command's error (TimeoutError::out()
// and err() have it all); empty when it wrote nothing there.
std::string output_tail(std::string_view stream, std::string_view text) {
  constexpr std::size_t kLines = 20;
  if (text.empty()) return {};
  return fmt::format("\nIts {} until then (last {} lines):\n{}", stream, kLines, base::last_lines(text, kLines));
}

// ioctl direction bits (asm-generic/ioctl.h, which x86 uses).
constexpr unsigned kIocWrite = 1, kIocRead = 2;
unsigned ioc_dir(unsigned long cmd) { return (cmd >> 30) & 3; }
std::size_t ioc_size(unsigned long cmd) { return (cmd >> 16) & 0x3fff; }

}  // namespace

std::chrono::milliseconds default_operation_timeout() { return base::settings()->operation_timeout; }

Guest::Guest() : jobs_(std::make_shared<vm::JobOutputs>()) {}
Guest::~Guest() = default;
Guest::Guest(Guest&&) noexcept = default;
Guest& Guest::operator=(Guest&&) noexcept = default;

vm::Session& Guest::session() const {
  if (!session_) throw Error("this VM is not booted (or this worker is not started)");
  return *session_;
}

void Guest::connect(std::shared_ptr<vm::Session> session) { session_ = std::move(session); }

void Guest::close(std::string_view reason) {
  if (session_) session_->close(std::string(reason));
}

void Guest::set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

ExecResult Guest::exec(std::string_view cmd, const ExecOptions& options) {
  using std::chrono::milliseconds;
  const auto operation = vm::describe_operation("exec", cmd);
  const milliseconds deadline = std::clamp(options.timeout.value_or(timeout_), milliseconds(1),
                                           milliseconds(std::numeric_limits<uint32_t>::max()));
  const bool show = options.stream || base::settings()->stream_output;
  const bool stream = show || options.on_output;
  auto& connection = session();
  vm::CallExpect expect{
      .missed_deadline = fmt::format(
          "the agent did not answer {} after the command's deadline of {}, by which it kills the "
          "command: the guest no longer answers, and this connection is not used again.",
          kKillMargin, std::chrono::duration<double>(deadline))};
  std::shared_ptr<LivePrinter> printer;
  if (show) printer = std::make_shared<LivePrinter>(connection.name());
  if (stream) {
    expect.interim = transport::Channel::Interim{
        PROVIUM_EXEC_OUTPUT, [printer, on_output = options.on_output](protocol::Frame frame) {
          const auto chunk = protocol::decode_exec_output(frame.payload);
          if (printer) printer->add(chunk.stream, chunk.bytes);
          if (on_output) on_output(chunk.stream, chunk.bytes);
        }};
  }
  // The answer comes before the last printed line: what the printer still holds ends the show.
  struct Flush {
    LivePrinter* printer;
    ~Flush() { if (printer) printer->finish(); }
  } flush{printer.get()};
  auto answer = protocol::decode_exec_result(
      connection
          .call(protocol::encode_exec(cmd, static_cast<uint32_t>(deadline.count()), stream), PROVIUM_EXEC_RESULT,
                operation, deadline + kKillMargin, std::move(expect))
          .payload);
  if (answer.ending == PROVIUM_EXEC_ENDED) return std::move(answer.result);
  const std::string how =
      answer.ending == PROVIUM_EXEC_KILLED
          ? "killed with its process group"
          : "killed, but a process of it was still there a second later: it is stuck in the kernel "
            "(uninterruptible sleep; `cat /proc/*/stack` shows where, dmesg() may say why)";
  auto message = fmt::format("{}: not done within its deadline of {}, {} (a longer deadline: for this call "
                  "ExecOptions{{.timeout = ...}}, in Lua {{timeout = seconds}}; for the VM set_timeout(); for "
                  "the run PROVIUM_TIMEOUT). The VM is still usable.{}{}\n{}",
                  operation, std::chrono::duration<double>(deadline), how,
                  output_tail("stdout", answer.result.out), output_tail("stderr", answer.result.err),
                  connection.context());
  throw TimeoutError(message, std::move(answer.result.out), std::move(answer.result.err));
}

TapResult run_tap(Guest& guest, std::string_view cmd, const ExecOptions& options) {
  const auto run = guest.exec(fmt::format("{{ {}\n}} 2>&1", cmd), options);
  return parse_tap(run.out, run.exit_code);
}

SyscallResult Guest::syscall_args(long nr, std::span<const Arg> args) {
  return vm::agent_syscall(session(), nr, args, timeout_);
}

int64_t Guest::syscall_integers(long nr, std::vector<int64_t> args) {
  const std::vector<Arg> arguments(args.begin(), args.end());
  return syscall_args(nr, arguments).ret;
}

SyscallResult Guest::syscall(long nr, std::initializer_list<Arg> args) {
  return syscall_args(nr, std::span<const Arg>(args.begin(), args.size()));
}

SyscallResult Guest::syscall(long nr, std::span<const Arg> args) { return syscall_args(nr, args); }

IoctlResult Guest::ioctl(int fd, unsigned long cmd, std::string data) {
  const unsigned dir = ioc_dir(cmd);
  if (dir != 0 && data.empty()) data.assign(ioc_size(cmd), '\0');
  const bool returned = dir == 0 ? !data.empty() : (dir & kIocRead) != 0;
  const auto operation = fmt::format("ioctl({}, {:#x})", fd, cmd);
  auto request = protocol::encode_ioctl(fd, cmd, 0, data);
  auto answer = session().call(request, PROVIUM_SYSCALL_RESULT, operation, timeout_);
  protocol::ResultLayout layout;
  layout.buffers.push_back({static_cast<uint32_t>(data.size()), true});
  auto result = protocol::decode_syscall_result(answer.payload, layout);
  IoctlResult ioctl_result{result.ret, std::nullopt, {}};
  if (returned) ioctl_result.out = std::move(result.out.front());
  return ioctl_result;
}

IoctlResult Guest::ioctl(int fd, unsigned long cmd, const Arg& argument) {
  const auto operation = fmt::format("ioctl({}, {:#x})", fd, cmd);
  if (argument.kind() == Arg::Kind::integer) {
    auto request = protocol::encode_ioctl(fd, cmd, static_cast<uint64_t>(argument.value()), {});
    auto answer = session().call(request, PROVIUM_SYSCALL_RESULT, operation, timeout_);
    return {protocol::decode_syscall_result(answer.payload, {}).ret, std::nullopt, {}};
  }
  auto encoded = protocol::encode_ioctl_buf(fd, cmd, argument);
  auto answer = session().call(encoded.request, PROVIUM_SYSCALL_RESULT, operation, timeout_);
  auto result = protocol::decode_syscall_result(answer.payload, encoded.layout);
  IoctlResult ioctl_result{result.ret, std::nullopt, {}};
  auto returned = std::make_move_iterator(result.out.begin());
  if (argument.returned()) ioctl_result.out = *returned;
  ioctl_result.buffers.assign(returned + 1, std::make_move_iterator(result.out.end()));
  return ioctl_result;
}

Job Guest::background(std::string_view cmd) {
  const auto operation = vm::describe_operation("background", cmd);
  return protocol::decode_job_started(
      session().call({PROVIUM_EXEC_ASYNC, std::string(cmd)}, PROVIUM_JOB_STARTED, operation, timeout_)
          .payload);
}

JobResult Guest::job_wait(const Job& job, std::chrono::milliseconds timeout) {
  return update_job(session(), *jobs_, job, JobAsk::wait, timeout, timeout_, JobGive::whole);
}

JobResult Guest::job_output(const Job& job) {
  return update_job(session(), *jobs_, job, JobAsk::wait, {}, timeout_, JobGive::news);
}

JobResult Guest::job_kill(const Job& job) {
  return update_job(session(), *jobs_, job, JobAsk::kill, {}, timeout_, JobGive::whole);
}

std::string Guest::dmesg(std::string_view pattern) {
  // syslog(2): SYSLOG_ACTION_SIZE_BUFFER (10), then SYSLOG_ACTION_READ_ALL (3).
  constexpr int kReadAll = 3, kSizeBuffer = 10;
  const int64_t size = syscall(SYS_syslog, kSizeBuffer, 0, 0);
  if (size < 0) throw Error(fmt::format("dmesg: syslog size: {}", vm::errno_text(size)));
  if (size > PROVIUM_MAX_PAYLOAD - 64)
    throw Error(fmt::format("dmesg: the guest reports a log buffer of {} bytes", size));
  auto result = syscall(SYS_syslog, {kReadAll, out(static_cast<std::size_t>(size)), size});
  if (result.ret < 0) throw Error(fmt::format("dmesg: syslog read: {}", vm::errno_text(result.ret)));
  if (result.ret > size)
    throw Error(fmt::format("dmesg: the guest claims {} bytes read into {}", result.ret, size));
  std::string_view log(result.out.front().data(), static_cast<std::size_t>(result.ret));
  // A basic regular expression as grep reads it: glibc's regcomp without REG_EXTENDED is the
  // same GNU dialect (`\|`, `\+`, `\?`, `\w`, `\<`, ...); a plain string matches itself.
  struct Filter {
    regex_t compiled;
    bool ok = false;
    ~Filter() {
      if (ok) regfree(&compiled);
    }
  } filter;
  if (!pattern.empty()) {
    const std::string text(pattern);
    if (int error = regcomp(&filter.compiled, text.c_str(), REG_NOSUB)) {
      char message[256];
      regerror(error, &filter.compiled, message, sizeof message);
      throw Error(fmt::format("dmesg(\"{}\"): not a basic regular expression (grep's): {}", pattern, message));
    }
    filter.ok = true;
  }
  std::string lines;
  while (!log.empty()) {
    auto end = log.find('\n');
    std::string_view line = log.substr(0, end);
    log = end == std::string_view::npos ? std::string_view{} : log.substr(end + 1);
    // Records start with their level, "<6>"; what a reader wants starts after it.
    if (line.size() > 2 && line[0] == '<') {
      auto close = line.find('>');
      if (close != std::string_view::npos) line.remove_prefix(close + 1);
    }
    if (!filter.ok || regexec(&filter.compiled, std::string(line).c_str(), 0, nullptr, 0) == 0) {
      lines.append(line);
      lines.push_back('\n');
    }
  }
  return lines;
}

void Guest::mount_vfs(const VfsMounts& wanted) {
  struct Mount {
    bool wanted;
    const char* target;
    const char* parent;
    const char* fstype;
    const char* data;
    unsigned mode;  // of a directory it makes
  };
  const Mount mounts[] = {{wanted.proc, "/proc", "/", "proc", "", 0555},
                          {wanted.sys, "/sys", "/", "sysfs", "", 0555},
                          {wanted.sys && wanted.securityfs, "/sys/kernel/security", "/sys/kernel", "securityfs", "", 0755},
                          {wanted.dev, "/dev", "/", "devtmpfs", "", 0755},
                          {wanted.dev && wanted.devpts, "/dev/pts", "/dev", "devpts", "gid=5,mode=620,ptmxmode=666", 0755},
                          {wanted.dev && wanted.shm, "/dev/shm", "/dev", "tmpfs", "mode=1777", 01777},
                          {wanted.run, "/run", "/", "tmpfs", "mode=755", 0755},
                          {wanted.tmp, "/tmp", "/", "tmpfs", "mode=1777", 01777}};
  auto path = [](const char* text) { return std::string(text) + '\0'; };
  // st_dev is stat(2)'s first field: a mount point's differs from its parent's.
  auto device_of = [&](const char* file) -> std::optional<uint64_t> {
    auto result = syscall(SYS_stat, {in(path(file)), out(144)});
    if (result.ret < 0) return std::nullopt;
    return std::get<0>(unpack<uint64_t>(result.out.front()));
  };
  // statfs(2)'s f_type, its first field: an initramfs root is already in memory (tmpfs or ramfs),
  // and a tmpfs over its /tmp would only hide what is there.
  constexpr uint64_t kTmpfsMagic = 0x01021994, kRamfsMagic = 0x858458f6;
  const auto root = syscall(SYS_statfs, {in(path("/")), out(120)});
  const uint64_t root_type = root.ret < 0 ? 0 : std::get<0>(unpack<uint64_t>(root.out.front()));
  const bool root_in_memory = root_type == kTmpfsMagic || root_type == kRamfsMagic;
  // A filesystem the kernel was built without (a minimal kernel has no securityfs, and with it
  // no /sys/kernel/security to mount on) is skipped: a test that needs it fails on its own path.
  // /proc/filesystems says, once /proc is there; before that, mount's ENODEV does.
  std::optional<std::string> filesystems;
  auto kernel_lacks = [&](std::string_view fstype) {
    if (!filesystems) {
      try {
        filesystems = read_file("/proc/filesystems");
      } catch (const TimeoutError&) {
        throw;
      } catch (const Error&) {
        return false;  // no /proc (yet)
      }
    }
    return filesystems->find(fmt::format("\t{}\n", fstype)) == std::string::npos;
  };
  for (const auto& mount : mounts) {
    if (!mount.wanted) continue;
    if (std::string_view(mount.target) == "/tmp" && root_in_memory) continue;
    if (kernel_lacks(mount.fstype)) continue;
    if (!device_of(mount.target)) {
      int64_t made = syscall(SYS_mkdir, {in(path(mount.target)), mount.mode}).ret;
      if (made < 0 && made != -EEXIST)
        throw Error(fmt::format("mount_vfs: mkdir {}: {}", mount.target, vm::errno_text(made)));
    }
    const auto device = device_of(mount.target);
    if (device && device != device_of(mount.parent)) continue;  // already mounted
    int64_t mounted = syscall(SYS_mount, {in(path(mount.fstype)), in(path(mount.target)), in(path(mount.fstype)), 0,
                                          in(path(mount.data))}).ret;
    if (mounted < 0 && mounted != -EBUSY && mounted != -ENODEV)
      throw Error(fmt::format("mount_vfs: mount {} on {}: {}", mount.fstype, mount.target,
                              vm::errno_text(mounted)));
  }
}

void Guest::wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds interval, std::string_view description) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      throw TimeoutError(fmt::format("wait_until({}): not true within {}", description, timeout));
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(interval, deadline - now));
  }
}

}  // namespace provium
