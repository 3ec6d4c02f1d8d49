// Making a Vm of a machine that something other than Vm::boot started (fixtures).
#pragma once

#include <provium/vm.h>

#include "vm/machine.h"

namespace provium::vm {

struct VmAccess {
  static Vm wrap(std::string profile, std::shared_ptr<Machine> machine) {
    Vm vm(std::move(profile));
    vm.connect(machine->agent());
    vm.machine_ = std::move(machine);
    return vm;
  }
  // Boots a fresh Vm of `profile` as provium::create(profile.name).boot(options) does, on this
  // variant of its profile.
  static Vm boot_on(const config::Profile& profile, const BootOptions& options) {
    Vm vm(profile.name);
    vm.boot_machine(std::make_shared<Machine>(profile, options, Start::boot(), HostResources::of_this_user()));
    return vm;
  }
  static Machine& machine(const Vm& vm) {
    if (!vm.machine_) throw Error("this VM is not booted");
    return *vm.machine_;
  }
};

}  // namespace provium::vm
