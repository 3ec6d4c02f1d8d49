// The public Vm and Guest API: thin, synchronous wrappers over Machine and Session.
#include <provium/vm.h>

#include <fmt/format.h>

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
  if (session_) session_->close("the worker was killed");
}

Vm::Vm(std::string profile) : profile_(std::move(profile)) {}
Vm::~Vm() = default;
Vm::Vm(Vm&&) noexcept = default;
Vm& Vm::operator=(Vm&&) noexcept = default;

void shutdown_all() { loop::Loop::stop(); }

Vm create(std::string_view profile) {
  config::current().profile(profile);  // an unknown profile fails here, not at boot
  return Vm(std::string(profile));
}

void Vm::boot(const BootOptions& options) {
  if (machine_) throw Error("this VM was already booted (a Vm boots once; create another)");
  if (profile_.empty()) throw Error("an empty Vm handle cannot boot; use provium::create()");
  auto machine = std::make_shared<vm::Machine>(config::current().profile(profile_), options,
                                                   vm::Start::boot(), vm::HostShares::of_this_user());
  try {
    machine->boot();
  } catch (const Error&) {
    // Kept, dead, so that console_tail() still shows how far the boot got (a kept log of
    // provium test lists it whole).
    machine->kill();
    machine_ = std::move(machine);
    throw;
  }
  session_ = machine->agent();
  machine_ = std::move(machine);
}

Worker Vm::spawn(SpawnOptions options) {
  if (!machine_) throw Error("this VM is not booted");
  const auto operation = fmt::format("spawn({{.thread = {}}})", options.thread);
  auto request = protocol::encode_spawn_worker(options.thread);
  const auto started = protocol::decode_worker_started(
      session().call(request, PROVIUM_WORKER_STARTED, operation, timeout_).payload);
  Worker worker;
  worker.session_ = machine_->connect_worker(started.port, timeout_);
  worker.pid_ = started.pid;
  worker.timeout_ = timeout_;
  return worker;
}

void Vm::shutdown() {
  if (machine_) machine_->shutdown(std::chrono::seconds(10));
}

void Vm::kill() {
  if (machine_) machine_->kill();
}

bool Vm::running() const { return machine_ && machine_->running(); }

std::string Vm::console_tail(std::size_t lines) const {
  return machine_ ? machine_->console_tail(lines) : std::string();
}

}  // namespace provium
