#include "vm/machine.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>

#include "base/files.h"
#include "base/settings.h"
#include "base/text.h"
#include "config/config.h"
#include "host/accel.h"
#include "host/programs.h"
#include "host/transport.h"
#include "initramfs/busybox.h"
#include "initramfs/modules.h"
#include "initramfs/libraries.h"
#include "initramfs/shim.h"
#include "kernel/direct_boot.h"
#include "kernel/kconfig.h"
#include "kernel/release.h"
#include "kernel/symbolize.h"
#include "loop/loop.h"
#include "qemu/command_line.h"
#include "qemu/process.h"
#include "transport/selection.h"
#include "vm/console.h"
#include "vm/machine_runtime.h"
#include "vm/shares.h"
#include "wire.h"

namespace provium::vm {

namespace {

constexpr std::size_t kContextLines = 20;

// Where a report's frames find their file:line: the profile's vmlinux when it is there (a build
// tree's, or the `vmlinux` key), the modules of the profile and of the boot files, and
// binutils; nullopt when any is missing.
std::optional<kernel::SymbolSources> symbol_sources(const config::Profile& profile, const BootOptions& options) {
  std::error_code error;
  if (!profile.vmlinux || !std::filesystem::is_regular_file(*profile.vmlinux, error)) return std::nullopt;
  kernel::SymbolSources sources{.vmlinux = *profile.vmlinux,
                                .modules = {},
                                .sources = {},
                                .objdump = host::find_executable("objdump"),
                                .addr2line = host::find_executable("addr2line")};
  if (sources.objdump.empty() || sources.addr2line.empty()) {
    static std::once_flag said;
    std::call_once(said, [&] {
      std::cerr << fmt::format("provium: kernel reports of {} show no file:line: objdump or addr2line not found in PATH "
                               "(Debian: binutils)\n",
                               profile.describe());
    });
    return std::nullopt;
  }
  if (profile.modules) sources.modules.push_back(*profile.modules);
  for (const auto& [guest, host] : options.files) sources.modules.emplace_back(host);
  if (profile.build_tree) {
    // An O= directory's `source` link names the source tree the paths start with.
    const auto source = std::filesystem::canonical(*profile.build_tree / "source", error);
    if (!error) sources.sources.push_back(source);
    sources.sources.push_back(std::filesystem::canonical(*profile.build_tree, error));
  }
  return sources;
}

}  // namespace

Machine::Machine(config::Profile profile, BootOptions options, Start start, HostResources resources)
    : profile_(std::move(profile)),
      options_(std::move(options)),
      start_(std::move(start)),
      resources_(std::move(resources)),
      symbols_(symbol_sources(profile_, options_)) {
  if (symbols_) kernel_reports_.symbolize_with(*symbols_);
}

Machine::~Machine() {
  if (runtime_) {
    kill();
    // Handles must be closed on the loop thread: the last reference goes there.
    loop::Loop::instance().post([runtime = std::move(runtime_)] {
      for (auto& worker : runtime->workers)
        if (auto channel = worker.lock()) channel->fail("the VM was destroyed");
      runtime->agent->fail("the VM was destroyed");
      runtime->qmp->fail("the VM was destroyed");
      // A QEMU that outlived kill()'s wait must still be reaped: closing its handle now would
      // leave a zombie. The runtime keeps itself until the exit callback lets it go.
      if (runtime->process.running()) runtime->self_until_exit = runtime;
    });
  }
}

std::filesystem::path Machine::modules_dir() const {
  std::string release;
  try {
    release = kernel::kernel_release(profile_.kernel);
  } catch (const Error&) {
    // Not a bzImage (an ELF vmlinux, say): without a release there is no default modules
    // directory, so only an explicit `modules` is used.
    if (!profile_.modules) throw;
  }
  return initramfs::modules_directory(profile_.modules, release);
}

std::string Machine::build_initrd() const {
  const std::filesystem::path modules_dir = this->modules_dir();
  std::vector<std::string> wanted = transport::guest_modules(transport_);
  if (!vm_disks(profile_, options_).empty()) wanted.push_back("virtio_blk");
  if (!vm_shares(profile_, options_).empty() || profile_.host_root) wanted.insert(wanted.end(), {"9pnet_virtio", "9p"});
  if (profile_.host_root) wanted.push_back("overlay");

  std::string initrd;
  if (profile_.busybox_userspace()) {
    initrd = initramfs::busybox_rootfs();
  } else if (profile_.initrd) {
    initrd = base::read_file(*profile_.initrd, fmt::format("initrd of {}", profile_.describe()));
    initrd.resize((initrd.size() + 3) & ~std::size_t{3}, '\0');  // archives start 4-aligned
  }
  initrd += initramfs::build_shim(
      {initramfs::resolve_modules(modules_dir, wanted), initramfs::guest_files(profile_, options_.files),
       profile_.rootfs.has_value() || profile_.host_root});
  return initrd;
}

void Machine::boot() {
  if (stage_ == Stage::spare_ready) {
    // Everything is done but letting the guest run.
    stage_ = Stage::started;
    qmp("cont", {}, std::chrono::steady_clock::now() + options_.timeout);
    mount_shares(*agent_, vm_shares(profile_, options_), options_.timeout);
    return;
  }
  if (stage_ == Stage::started) throw Error("this VM was already booted");
  if (stage_ == Stage::made) check_before_launch();

  // Waits until the VM fits the pool's budget (other processes' VMs may have to end first).
  // The boot's deadline starts after it: a queued test must not time out because others run.
  lease_ = pool::acquire_vm_budget(resources_.pool_dir, resources_.budget, base::parse_memory_size(options_.memory),
                                   options_.cpus, fmt::format("a VM of {}", profile_.describe()));
  bring_up();
  // After each start, a restore too: a snapshot never holds a mounted share (shares.h).
  mount_shares(*agent_, vm_shares(profile_, options_), options_.timeout);
}

bool Machine::ready_spare() {
  if (!start_.restores()) throw Error("only a VM restored from a snapshot can be a spare");
  if (stage_ != Stage::made && stage_ != Stage::spare_launched) throw Error("this VM was already started");
  if (stage_ == Stage::made) check_before_launch();
  auto lease = pool::try_acquire_spare_budget(resources_.pool_dir, resources_.budget,
                                              base::parse_memory_size(options_.memory), options_.cpus);
  if (!lease) return false;
  lease_ = std::move(*lease);
  bring_up();
  qmp("stop", {}, std::chrono::steady_clock::now() + options_.timeout);
  stage_ = Stage::spare_ready;
  return true;
}

void Machine::bring_up() {
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  if (stage_ != Stage::spare_launched) start_qemu();
  stage_ = Stage::started;
  if (cid_lease_.held()) {
    // A CID that another VM holds (one not leased through our files) makes QEMU exit at once.
    transport::retry_cid_collisions(*resources_.cids, cid_lease_,
                                    [&] { return vsock_cid_collided(deadline); }, [&] {
                                      loop::Loop::instance().post([dead = std::move(runtime_)] {});
                                      start_qemu();
                                    });
  }
  if (start_.restores()) restore(start_.state(), deadline);
  connect_agent(deadline);
}

void Machine::launch_spare() {
  if (stage_ != Stage::made) throw Error("this VM was already started");
  if (!start_.restores()) throw Error("only a VM restored from a snapshot can be a spare");
  check_before_launch();
  start_qemu();
  stage_ = Stage::spare_launched;
}

void Machine::start_qemu() {
  if (!spec_) spec_ = launch_spec();
  if (cid_lease_.held()) spec_->vsock_cid = cid_lease_.cid();  // a relaunch's new CID
  launch(qemu::qemu_argv(*spec_), *spec_);
}

void Machine::wait_for_debugger() {
  if (!spec_ || spec_->gdb_socket.empty())
    throw Error(fmt::format("VM {} has no gdbstub: it was started without PROVIUM_GDB=1", name()));
  // Far enough for a person at a debugger; the VM's death still ends the wait.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(24);
  qemu::QmpClient::Reply resumed;
  loop::Loop::instance().post([runtime = runtime_, resumed] {
    runtime->qmp->expect_event("RESUME", [](const nlohmann::json&) { return true; }, resumed);
  });
  qmp("stop", {}, deadline);
  const std::string gdb = gdb_command(spec_->gdb_socket);
  std::cerr << fmt::format("provium: VM {} waits for a debugger; attach with\n  {}\nit runs on when gdb continues "
                           "or detaches{}\n",
                           name(), gdb, profile_.vmlinux ? "" : " (give gdb the kernel's vmlinux for its symbols)")
            << std::flush;
  await_qmp(resumed, "a debugger to let the VM run (QMP event RESUME)", deadline);
}

std::string Machine::start_gdbstub() {
  const auto socket = gdb_socket(run_dir_.path());
  if (!spec_ || spec_->gdb_socket.empty())
    qmp("human-monitor-command", {{"command-line", fmt::format("gdbserver unix:{},server=on,wait=off", socket.string())}},
        std::chrono::steady_clock::now() + std::chrono::seconds(10));
  return gdb_command(socket);
}

std::string Machine::gdb_command(const std::filesystem::path& socket) const {
  std::string gdb = "gdb";
  if (profile_.vmlinux && std::filesystem::exists(*profile_.vmlinux)) {
    // The tree's vmlinux-gdb.py (CONFIG_GDB_SCRIPTS) loads with vmlinux once gdb trusts the tree.
    if (profile_.build_tree) gdb += fmt::format(" -iex 'add-auto-load-safe-path {}'", profile_.build_tree->string());
    gdb += " " + profile_.vmlinux->string();
  }
  return gdb + fmt::format(" -ex 'target remote {}'", socket.string());
}

std::filesystem::path Machine::kernel_image() const {
  if (profile_.kernel_boot == "bzimage") return profile_.kernel;
  std::string why;
  std::optional<std::filesystem::path> image;
  const auto found = kernel_config_of(profile_.kernel);
  if (const auto refusal = found ? kernel::pvh_refusal(found->config) : std::nullopt) {
    why = fmt::format("{} (its configuration {})", *refusal, found->where);
  } else {
    const auto dir = base::settings()->cache_root / "kernels";
    try {
      base::ensure_private_directory(dir.parent_path());
      base::ensure_private_directory(dir);
      image = kernel::pvh_image(profile_.kernel, dir, &why);
    } catch (const Error& error) {
      why = error.what();
    }
  }
  if (image) return *image;
  if (profile_.kernel_boot == "pvh")
    throw Error(fmt::format("{}: kernel_boot = \"pvh\", but {} cannot boot that way: {}", profile_.describe(),
                            profile_.kernel.string(), why));
  return profile_.kernel;  // the guest decompresses it: slower, but it boots
}

void Machine::check_before_launch() {
  // The root stays mounted over 9p, and QEMU refuses to migrate a VM with a mounted 9p export.
  if (profile_.host_root && start_.ram_shared())
    throw Error(fmt::format("{}: a VM on the host's root (userspace = \"host\") cannot be snapshotted, so it cannot "
                            "hold a fixture: QEMU refuses to save a VM whose 9p export is mounted. Boot it with "
                            "provium::create(\"{}\").boot() in a TEST, or use a busybox or disk-root profile with "
                            "shares for the fixture",
                            profile_.describe(), profile_.name));
  check_prerequisites(profile_);
  check_boot_options(profile_, options_);
  accel_ = host::effective_accel(profile_);
  transport_ = host::effective_transport(profile_);
  // A restored VM's kernel booted already, with what it had.
  if (!start_.restores())
    check_kernel_config(profile_, {.virtio_console = transport_ == transport::Kind::virtio_serial,
                                   .vsock = transport_ == transport::Kind::vsock,
                                   .disks = !vm_disks(profile_, options_).empty(),
                                   .shares = !vm_shares(profile_, options_).empty() || profile_.host_root,
                                   .host_root = profile_.host_root});
}

qemu::LaunchSpec Machine::launch_spec() {
  HostChoices host{.accel = accel_,
                   .transport = transport_,
                   .kernel_image = kernel_image(),
                   .vsock_cid = {},
                   .gdb = base::settings()->gdb};
  if (profile_.host_root) {
    // An installed modules directory is the guest kernel's /lib/modules/RELEASE (modprobe needs
    // its modules.dep); the guest sees it at the same path through the host's root.
    std::error_code error;
    const auto modules = modules_dir();
    if (std::filesystem::exists(modules / "modules.dep", error)) host.modules = modules;
  }
  if (transport_ == transport::Kind::vsock) {
    if (!cid_lease_.held()) cid_lease_ = resources_.cids->acquire();
    host.vsock_cid = cid_lease_.cid();
  }
  LaunchPlan plan = plan_launch(profile_, options_, start_, run_dir_.path(), host);
  if (plan.builds_initrd) {
    std::ofstream out(plan.spec.initrd, std::ios::binary);
    const std::string initrd = build_initrd();
    out.write(initrd.data(), static_cast<std::streamsize>(initrd.size()));
    if (!out) throw Error(fmt::format("cannot write {}", plan.spec.initrd.string()));
  }
  port_count_ = plan.port_count;
  return plan.spec;
}

void Machine::launch(const std::vector<std::string>& argv, const qemu::LaunchSpec& spec) {
  runtime_ = std::make_shared<Runtime>();
  loop::Completion<bool> started;
  const auto qmp_socket = transport::SocketAddress::unix_socket(spec.qmp_socket);
  loop::Loop::instance().post([runtime = runtime_, argv, spec, qmp_socket, started, symbols = symbols_] {
    std::weak_ptr<Runtime> weak = runtime;
    try {
      runtime->process.start(argv, [weak, console = spec.console_log, symbols](qemu::ProcessExit exit) {
        auto runtime = weak.lock();
        if (!runtime) return;
        Death death = describe_death(exit, runtime->killed_by_host, console, symbols);
        const std::string message = death.message;
        {
          std::lock_guard lock(runtime->mutex);
          runtime->death = std::move(death);
        }
        runtime->agent->fail(message);
        for (auto& worker : runtime->workers)
          if (auto channel = worker.lock()) channel->fail(message);
        runtime->qmp->fail(message);
        runtime->exited.resolve(true);
        // Released on a later turn of the loop: this callback runs inside the Process.
        if (runtime->self_until_exit)
          loop::Loop::instance().post([kept = std::move(runtime->self_until_exit)] {});
      });
    } catch (...) {
      started.fail(std::current_exception());
      return;
    }
    started.resolve(true);
    runtime->qmp->connect(qmp_socket, runtime->qmp_ready);
  });
  started.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(30));
  agent_ = std::make_shared<Session>(runtime_->agent, session_owner());
}

// QEMU sets the guest CID while it creates its devices, before its monitor answers.
bool Machine::vsock_cid_collided(std::chrono::steady_clock::time_point deadline) {
  try {
    qmp("query-status", {}, deadline);
    return false;
  } catch (const Error&) {
    if (death(std::chrono::seconds(2)) && death_cause() == Death::Cause::cid_taken) return true;
    throw;
  }
}

transport::SocketAddress Machine::agent_address(uint32_t port) const {
  if (transport_ == transport::Kind::vsock)
    return transport::SocketAddress::vsock(cid_lease_.cid(), port == 0 ? PROVIUM_VSOCK_PORT : port);
  return transport::SocketAddress::unix_socket(port_socket(run_dir_.path(), port));
}

void Machine::connect_agent(std::chrono::steady_clock::time_point deadline) {
  transport::Channel::Answer greeting;
  loop::Loop::instance().post([runtime = runtime_, address = agent_address(0), greeting] {
    runtime->agent->connect(address, greeting);
  });
  const std::string operation =
      fmt::format("boot of {}, waiting for the agent's READY", profile_.describe());
  try {
    await_answer(greeting, operation, loop::remaining(deadline), session_owner(), PROVIUM_READY);
  } catch (const TimeoutError&) {
    // Named by the boot's whole deadline, which is what the caller set.
    std::string message = fmt::format("{}: no answer within {} ", operation,
                                      std::chrono::duration<double>(options_.timeout));
    kill();
    throw TimeoutError(message + context());
  }
}

std::filesystem::path Machine::initrd() const {
  return start_.initrd().empty() ? run_dir_ / "initrd" : start_.initrd();
}

transport::SocketAddress Machine::worker_address(uint32_t port) const {
  // The port number comes from the guest: check it before it names a file. vsock: a port the
  // guest kernel picked (above the reserved 0..1023), never the agent's own.
  if (transport_ == transport::Kind::vsock) {
    if (port <= 1023 || port == PROVIUM_VSOCK_PORT || port == 0xFFFFFFFFu)
      throw Error(fmt::format("the agent reported worker port {}, which is no worker's vsock port", port));
  } else if (port == 0 || port >= port_count_) {
    throw Error(fmt::format("the agent reported worker port {}, outside 1..{}", port,
                            port_count_ - 1));
  }
  return agent_address(port);
}

std::shared_ptr<Session> Machine::connect_worker(uint32_t port, std::chrono::milliseconds timeout) {
  auto channel = transport::Channel::create();
  transport::Channel::Answer greeting;
  loop::Loop::instance().post([runtime = runtime_, channel, greeting, address = worker_address(port)] {
    std::lock_guard lock(runtime->mutex);
    if (runtime->death) {
      channel->fail(runtime->death->message);
      return;
    }
    std::erase_if(runtime->workers, [](auto& worker) { return worker.expired(); });
    runtime->workers.push_back(channel);
    channel->connect(address, greeting);
  });
  const auto operation = fmt::format("worker on port {}, waiting for its READY", port);
  await_answer(greeting, operation, timeout, session_owner(), PROVIUM_READY);
  return std::make_shared<Session>(channel, session_owner(fmt::format(" worker {}", port)));
}

bool Machine::wait_for_exit(std::chrono::milliseconds timeout) {
  return runtime_->exited.wait_until(std::chrono::steady_clock::now() + timeout).has_value();
}

std::optional<std::string> Machine::death(std::chrono::milliseconds grace) {
  wait_for_exit(grace);
  std::lock_guard lock(runtime_->mutex);
  if (!runtime_->death) return std::nullopt;
  runtime_->death_told = true;
  return runtime_->death->message;
}

std::optional<Death::Cause> Machine::death_cause() const {
  if (!runtime_) return std::nullopt;
  std::lock_guard lock(runtime_->mutex);
  if (!runtime_->death) return std::nullopt;
  return runtime_->death->cause;
}

bool Machine::death_told() const {
  if (!runtime_) return false;
  std::lock_guard lock(runtime_->mutex);
  return runtime_->death_told;
}

Session::Owner Machine::session_owner(std::string_view connection) {
  std::weak_ptr<Machine> weak = weak_from_this();
  return {
      .context = [weak] { auto self = weak.lock(); return self ? self->context() : std::string(); },
      .death = [weak](std::chrono::milliseconds grace) -> std::optional<std::string> {
        auto self = weak.lock();
        if (!self) return "the VM was destroyed";
        return self->death(grace);
      },
      .name = name() + std::string(connection),
  };
}

bool Machine::running() const {
  if (!runtime_) return false;
  std::lock_guard lock(runtime_->mutex);
  return !runtime_->death;
}

void Machine::shutdown(std::chrono::milliseconds grace) {
  if (!running()) return;
  try {
    agent_->call({PROVIUM_SHUTDOWN, {}}, PROVIUM_READY, "shutdown()", grace);
  } catch (const Error&) {
    // The agent cannot be reached: ask QEMU itself to quit.
    loop::Loop::instance().post([runtime = runtime_] {
      runtime->qmp->execute("quit", {}, qemu::QmpClient::Reply());
    });
  }
  if (!wait_for_exit(grace)) {
    kill();
  } else {
    lease_.release();
    cid_lease_.release();
  }
}

void Machine::kill() {
  if (stage_ == Stage::made) {
    lease_.release();  // a boot that failed before QEMU started may hold them
    cid_lease_.release();
    return;
  }
  loop::Loop::instance().post([runtime = runtime_] {
    runtime->killed_by_host = true;  // read by the exit callback, on this thread too
    runtime->process.kill(SIGKILL);
  });
  // Reaped by libuv once it is dead; SIGKILL leaves it no say, so this wait is short.
  if (wait_for_exit(std::chrono::seconds(10))) {
    lease_.release();
    cid_lease_.release();
  }
}

int Machine::qemu_pid() const { return runtime_ ? runtime_->process.pid() : 0; }

std::string Machine::console_tail(std::size_t lines) const {
  return vm::console_tail(run_dir_ / "console.log", lines);
}

std::string Machine::context() const {
  // The kernel boots with loglevel=5: only warnings and worse reach the console unless the
  // profile asks.
  return fmt::format(
      "(accelerator {}, machine {}{})\n--- console (last {} lines; add loglevel=7 to the "
      "profile's append for the whole kernel log) ---\n{}",
      accel_, profile_.machine,
      cid_lease_.held() ? fmt::format(", transport vsock, guest CID {}", cid_lease_.cid()) : "",
      kContextLines, console_tail(kContextLines));
}

}  // namespace provium::vm
