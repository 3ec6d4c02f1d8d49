#include "vm/handoff.h"

#include <sys/socket.h>
#include <sys/un.h>
// After sys/socket.h, which it needs.
#include <linux/vm_sockets.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "base/files.h"
#include "protocol/requests.h"
#include "transport/stream.h"
#include "vm/guest_access.h"
#include "vm/vm_access.h"
#include "wire.h"

namespace provium::vm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kAttachFile = "attach.json";

nlohmann::json describe(const transport::SocketAddress& address) {
  if (address.family() == AF_UNIX)
    return {{"unix", reinterpret_cast<const sockaddr_un*>(&address.storage)->sun_path}};
  const auto* vsock = reinterpret_cast<const sockaddr_vm*>(&address.storage);
  return {{"vsock_cid", vsock->svm_cid}, {"vsock_port", vsock->svm_port}};
}

}  // namespace

HandOff hand_off(Vm& vm) {
  Machine& machine = VmAccess::machine(vm);
  const auto started = protocol::decode_worker_started(
      GuestAccess::session(vm)
          .call(protocol::encode_spawn_worker(false), PROVIUM_WORKER_STARTED, "spawn a worker to hand off",
                default_operation_timeout())
          .payload);
  nlohmann::json where = describe(machine.worker_address(started.port));
  where["worker_pid"] = started.pid;
  std::ofstream(machine.run_directory() / kAttachFile) << where.dump() << "\n";
  return {machine.name(), started.pid};
}

bool hand_off_ended(Vm& vm, const HandOff& hand_off) {
  // A fork worker that ended is a zombie until the agent reaps it: state Z, or no such process.
  try {
    const std::string stat = vm.read_file(fmt::format("/proc/{}/stat", hand_off.worker_pid));
    const auto close = stat.rfind(')');
    return close == std::string::npos || stat.compare(close, 3, ") Z") == 0;
  } catch (const TimeoutError&) {
    throw;
  } catch (const Error&) {
    return true;
  }
}

std::shared_ptr<Session> attach(const fs::path& run_root, std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos || name[0] == '.')
    throw Error(fmt::format("'{}' is no VM's name (they look like vm-x1Yz2Q)", name));
  const fs::path dir = run_root / name;
  if (!fs::is_directory(dir)) throw Error(fmt::format("no VM {} runs here (no {})", name, dir.string()));
  std::ifstream in(dir / kAttachFile);
  if (!in)
    throw Error(fmt::format("VM {} is not handed off for a look (its test did not fail, or runs without "
                            "PROVIUM_KEEP_FAILED=1)", name));
  const auto where = nlohmann::json::parse(in, nullptr, false);
  transport::SocketAddress address;
  try {
    address = where.contains("unix")
                  ? transport::SocketAddress::unix_socket(where.at("unix").get<std::string>())
                  : transport::SocketAddress::vsock(where.at("vsock_cid").get<uint32_t>(), where.at("vsock_port").get<uint32_t>());
  } catch (const nlohmann::json::exception&) {
    throw Error(fmt::format("{} is unreadable", (dir / kAttachFile).string()));
  }
  auto channel = transport::Channel::create();
  transport::Channel::Answer greeting;
  loop::Loop::instance().post([channel, greeting, address] { channel->connect(address, greeting); });
  Session::Owner owner{.context = [] { return std::string(); },
                       .death = [](std::chrono::milliseconds) { return std::optional<std::string>(); },
                       .name = std::string(name)};
  await_answer(greeting, fmt::format("attach to {}", name), default_operation_timeout(), owner, PROVIUM_READY);
  return std::make_shared<Session>(channel, owner);
}

}  // namespace provium::vm
