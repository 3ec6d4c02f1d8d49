// A VM handed to a person: a fork worker of its agent that waits for a host other than the
// test process, found by the VM's name (`provium shell --attach vm-x1Yz2Q`). What
// PROVIUM_KEEP_FAILED does with a failed test's VM. Not part of the public API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <provium/vm.h>

#include "vm/session.h"

namespace provium::vm {

struct HandOff {
  std::string vm_name;  // its run directory's name: what --attach takes
  int32_t worker_pid = 0;
};

// Starts the worker and writes where it waits into the VM's run directory (attach.json).
HandOff hand_off(Vm& vm);

// Whether the handed-off worker has ended (its host came and went): asked over `vm`'s own
// connection.
bool hand_off_ended(Vm& vm, const HandOff& hand_off);

// Connects to the worker of the VM named `name` under `run_root` and waits for its READY.
// Throws Error naming what is missing: no such VM, none handed off, the worker gone.
std::shared_ptr<Session> attach(const std::filesystem::path& run_root, std::string_view name);

}  // namespace provium::vm
