// The public Vm and Guest API: thin, synchronous wrappers over Machine and Session.
#include <provium/vm.h>

#include <fmt/format.h>

#include "config/config.h"
#include "protocol/messages.h"
#include "vm/machine.h"
#include "vm/session.h"
#include "wire.h"

namespace provium {

Guest::~Guest() = default;
Guest::Guest(Guest&&) noexcept = default;
Guest& Guest::operator=(Guest&&) noexcept = default;

detail::Session& Guest::session() const {
  if (!session_) throw Error("this VM is not booted");
  return *session_;
}

void Guest::set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

ExecResult Guest::exec(std::string_view cmd) {
  const auto operation = detail::describe_operation("exec", cmd);
  auto answer = session().call(PROVIUM_EXEC, cmd, operation, timeout_);
  if (answer.type != PROVIUM_EXEC_RESULT)
    throw Error(fmt::format("{}: the agent answered {} instead of EXEC_RESULT", operation,
                            protocol::message_name(answer.type)));
  return protocol::decode_exec_result(answer.payload);
}

Vm::Vm(std::string profile) : profile_(std::move(profile)) {}
Vm::~Vm() = default;
Vm::Vm(Vm&&) noexcept = default;
Vm& Vm::operator=(Vm&&) noexcept = default;

Vm create(std::string_view profile) {
  config::current().profile(profile);  // an unknown profile fails here, not at boot
  return Vm(std::string(profile));
}

void Vm::boot(const BootOptions& options) {
  if (machine_) throw Error("this VM was already booted");
  if (profile_.empty()) throw Error("an empty Vm handle cannot boot; use provium::create()");
  auto machine = std::make_shared<detail::Machine>(config::current().profile(profile_), options);
  machine->boot();
  session_ = machine->agent();
  machine_ = std::move(machine);
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
