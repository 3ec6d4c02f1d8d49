// The loop thread's part of a Machine (machine.cpp, machine_snapshot.cpp): the QEMU process,
// its monitor and the agent's and workers' channels. Private to the Machine's sources.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "loop/completion.h"
#include "qemu/process.h"
#include "qemu/qmp.h"
#include "transport/channel.h"
#include "vm/death.h"
#include "vm/machine.h"

namespace provium::vm {

// Owned by the Machine, destroyed on the loop thread. The process's exit callback reaches it
// through a weak reference, so a Machine being destroyed can still await QEMU's exit.
struct Machine::Runtime {
  qemu::Process process;
  std::shared_ptr<qemu::QmpClient> qmp = qemu::QmpClient::create();
  std::shared_ptr<transport::Channel> agent = transport::Channel::create();
  std::vector<std::weak_ptr<transport::Channel>> workers;
  loop::Completion<bool> exited;
  qemu::QmpClient::Reply qmp_ready;  // greeting read and capabilities negotiated
  std::mutex mutex;
  std::optional<Death> death;  // set once QEMU has ended
  bool killed_by_host = false;  // Machine::kill sent the signal (loop thread only)
  bool death_told = false;           // Machine::death() gave it to a caller
  std::shared_ptr<Runtime> self_until_exit;  // see ~Machine
};

}  // namespace provium::vm
