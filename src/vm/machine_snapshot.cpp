// Snapshots of a Machine through QEMU's monitor: restoring a fixture's device state into a
// new QEMU, and saving one. Both wait for QEMU's MIGRATION event, never poll.
#include "vm/machine.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "base/text.h"
#include "loop/loop.h"
#include "vm/machine_runtime.h"
#include "vm/shares.h"
#include "wire.h"

namespace provium::vm {

namespace {

// The child processes of process `pid` (of all its threads), from /proc.
std::vector<int> qemu_children(int pid) {
  std::vector<int> children;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), error)) {
    std::ifstream list(task.path() / "children");
    for (int child; list >> child;) children.push_back(child);
  }
  return children;
}

// The "status" of a MIGRATION event's data ("setup", "active", "completed", ...).
std::string migration_status(const nlohmann::json& data) {
  const bool has = data.is_object() && data.contains("status") && data["status"].is_string();
  return has ? data["status"].get<std::string>() : std::string();
}

}  // namespace

void Machine::restore(const std::filesystem::path& state, std::chrono::steady_clock::time_point deadline) {
  set_migration_capabilities(deadline);
  auto ended = expect_migration_end();
  // QEMU runs an exec: URI with /bin/sh -c; the path is one of our own directories'.
  qmp("migrate-incoming", {{"uri", "exec:cat " + base::shell_quote(state.string())}}, deadline);
  const auto status = migration_status(await_qmp(ended, "QMP event MIGRATION", deadline));
  // A state that cannot be loaded usually ends QEMU itself, and then the wait says so.
  if (status != "completed")
    throw Error(fmt::format("restoring {}: the migration {} {}", state.string(), status, context()));
  // The snapshot was taken of a stopped guest, so the loaded VM is paused: start it.
  qmp("cont", {}, deadline);
}

nlohmann::json Machine::qmp(const std::string& command, nlohmann::json arguments,
                            std::chrono::steady_clock::time_point deadline) {
  const std::string what = "QMP " + command;
  await_qmp(runtime_->qmp_ready, what, deadline);
  qemu::QmpClient::Reply reply;
  loop::Loop::instance().post([runtime = runtime_, command, arguments = std::move(arguments), reply] {
    runtime->qmp->execute(command, arguments, reply);
  });
  return await_qmp(reply, what, deadline);
}

void Machine::set_migration_capabilities(std::chrono::steady_clock::time_point deadline) {
  // Events say when a migration ends; with a RAM file only the device state travels.
  nlohmann::json capabilities = {{{"capability", "events"}, {"state", true}}};
  if (start_.has_ram_file())
    capabilities.push_back({{"capability", "x-ignore-shared"}, {"state", true}});
  qmp("migrate-set-capabilities", {{"capabilities", capabilities}}, deadline);
}

qemu::QmpClient::Reply Machine::expect_migration_end() {
  qemu::QmpClient::Reply ended;
  loop::Loop::instance().post([runtime = runtime_, ended] {
    runtime->qmp->expect_event("MIGRATION", [](const nlohmann::json& data) {
      const auto status = migration_status(data);
      return status == "completed" || status == "failed" || status == "cancelled";
    }, ended);
  });
  return ended;
}

nlohmann::json Machine::await_qmp(qemu::QmpClient::Reply& reply, const std::string& what,
                                  std::chrono::steady_clock::time_point deadline) {
  std::optional<nlohmann::json> result;
  try {
    result = reply.wait_until(deadline);
  } catch (const Error& error) {
    if (auto death = this->death(std::chrono::seconds(2)))
      throw Error(fmt::format("{}: the VM died: {}", what, *death));
    throw;
  }
  if (!result) throw TimeoutError(fmt::format("{}: no answer before the deadline {}", what, context()));
  return *result;
}

void Machine::save_snapshot(const std::filesystem::path& state) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  unmount_shares(*agent_, vm_shares(profile_, options_), loop::remaining(deadline));
  // The agent stops using its connection and waits for a new one: the state it is saved in is
  // the one every resumed VM starts from.
  agent_->call({PROVIUM_QUIESCE, {}}, PROVIUM_READY, "quiesce before the snapshot",
               loop::remaining(deadline));
  qmp("stop", {}, deadline);
  set_migration_capabilities(deadline);
  auto ended = expect_migration_end();
  qmp("migrate", {{"uri", "exec:cat > " + base::shell_quote(state.string())}}, deadline);
  const auto status = migration_status(await_qmp(ended, "QMP event MIGRATION", deadline));
  if (status != "completed") {
    const auto info = qmp("query-migrate", {}, deadline);
    throw Error(fmt::format("saving the snapshot to {} {}: {}", state.string(), status,
                            info.value("error-desc", std::string("no reason given"))));
  }
  // QEMU announces the end before it closes the channel and reaps its `sh -c 'cat > state'`,
  // which may still be writing the file: killing QEMU now would leave it running on its own.
  const auto helper_ended = [pid = qemu_pid()] { return qemu_children(pid).empty(); };
  while (!helper_ended() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!helper_ended())
    throw TimeoutError(fmt::format("saving the snapshot to {}: QEMU's migration helper did not end within 60 s", state.string()));
  kill();
}

}  // namespace provium::vm
