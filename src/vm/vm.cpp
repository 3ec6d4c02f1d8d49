// The public Vm and Guest API: thin, synchronous wrappers over Machine and Session.
#include <provium/vm.h>

#include <fmt/format.h>

#include <iostream>
#include <mutex>
#include <utility>

#include "base/settings.h"

#include "config/config.h"
#include "loop/loop.h"
#include "protocol/messages.h"
#include "protocol/requests.h"
#include "vm/machine.h"
#include "vm/session.h"
#include "wire.h"

namespace provium {

Worker::~Worker() { kill(); }
Worker::Worker(Worker&&) noexcept = default;
Worker& Worker::operator=(Worker&& other) noexcept {
  if (this != &other) {
    kill();
    Guest::operator=(std::move(other));
    pid_ = other.pid_;
  }
  return *this;
}

void Worker::kill() {
  // The session stays until the Worker goes: a call on another thread may be inside it; it
  // fails with this reason instead.
  close("the worker was killed");
}

Vm::Vm(std::string profile) : profile_(std::move(profile)) {}
Vm::~Vm() { check_at_end(); }
Vm::Vm(Vm&&) noexcept = default;
Vm& Vm::operator=(Vm&& other) noexcept {
  if (this != &other) {
    check_at_end();
    Guest::operator=(std::move(other));
    profile_ = std::move(other.profile_);
    machine_ = std::move(other.machine_);
  }
  return *this;
}

namespace {

std::mutex handler_mutex;
KernelReportHandler& kernel_report_handler() {
  static KernelReportHandler handler = [](const std::string& failure) { std::cerr << "provium: " << failure; };
  return handler;
}

// The reports on the machine's console that no check has seen, as PROVIUM_KERNEL_REPORTS wants
// them: all, or none when they are ignored. A death already told to a caller is not told again.
KernelReportCheck unseen_reports(vm::Machine& machine) {
  auto check = machine.kernel_reports().check(!machine.death_told());
  if (base::settings()->check_kernel_reports) return check;
  vm::note_ignored(check.unexpected);
  return {};
}

}  // namespace

KernelReportHandler set_kernel_report_handler(KernelReportHandler handler) {
  std::lock_guard lock(handler_mutex);
  return std::exchange(kernel_report_handler(), std::move(handler));
}

void Vm::expect_kernel_report(std::string_view regex) {
  if (!machine_) throw Error("this VM is not booted; expect_kernel_report declares what its kernel will report");
  machine_->kernel_reports().expect(regex);
}

KernelReportCheck Vm::check_kernel_reports() {
  if (!machine_) return {};  // a kernel that never ran reported nothing
  if (machine_->running()) {
    // Writing to /dev/kmsg prints every record the kernel still holds back (another CPU's,
    // a deferred one) before it returns; a debug-level record is itself left off the console.
    try {
      write_file("/dev/kmsg", "<7>provium: kernel reports checked\n");
    } catch (const Error&) {
      // An agent that no longer answers: the console holds what it holds.
    }
  }
  return unseen_reports(*machine_);
}

void Vm::check_at_end() noexcept {
  if (!machine_) return;
  try {
    const auto check = unseen_reports(*machine_);
    if (check.ok()) return;
    std::lock_guard lock(handler_mutex);
    kernel_report_handler()(fmt::format("{} ended: {}", machine_->name(), check.describe()));
  } catch (const std::exception&) {
    // A console that cannot be read is no report.
  }
}

void shutdown_all() { loop::Loop::stop(); }

Vm create(std::string_view profile) {
  config::current().profile(profile);  // an unknown profile fails here, not at boot
  return Vm(std::string(profile));
}

void Vm::boot(const BootOptions& options) {
  if (machine_) throw Error("this VM was already booted (a Vm boots once; create another)");
  if (profile_.empty()) throw Error("an empty Vm handle cannot boot; use provium::create()");
  boot_machine(std::make_shared<vm::Machine>(config::current().profile(profile_), options, vm::Start::boot(),
                                             vm::HostResources::of_this_user()));
}

void Vm::boot_machine(std::shared_ptr<vm::Machine> machine) {
  try {
    machine->boot();
  } catch (const Error&) {
    // Kept, dead, so that console_tail() still shows how far the boot got (a kept log of
    // provium test lists it whole). The error has told what the console says: the check at
    // the VM's end does not tell it again.
    machine->kill();
    machine->kernel_reports().check(false);
    machine_ = std::move(machine);
    throw;
  }
  connect(machine->agent());
  machine_ = std::move(machine);
}

Worker Vm::spawn(SpawnOptions options) {
  if (!machine_) throw Error("this VM is not booted");
  const auto operation = fmt::format("spawn({{.thread = {}}})", options.thread);
  auto request = protocol::encode_spawn_worker(options.thread);
  const auto started = protocol::decode_worker_started(
      session().call(request, PROVIUM_WORKER_STARTED, operation, timeout()).payload);
  Worker worker;
  worker.connect(machine_->connect_worker(started.port, timeout()));
  worker.pid_ = started.pid;
  worker.set_timeout(timeout());
  return worker;
}

void Vm::shutdown() {
  if (!machine_) return;
  check_at_end();
  machine_->shutdown(std::chrono::seconds(10));
}

void Vm::kill() {
  if (!machine_) return;
  check_at_end();
  machine_->kill();
}

bool Vm::running() const { return machine_ && machine_->running(); }

std::string Vm::console_tail(std::size_t lines) const {
  return machine_ ? machine_->console_tail(lines) : std::string();
}

}  // namespace provium
