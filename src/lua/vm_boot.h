// vm:boot() and provium.fixture(): how a script's VMs come up, including inside a fixture
// build, where each VM's RAM is a file in the build directory so that it can be snapshotted.
#pragma once

#include <string_view>

#include "lua/context.h"

namespace provium::lua {

// The options table of vm:boot() (absent: the defaults). Host paths resolve against the run's
// start directory. Unknown keys are an error that names them.
BootOptions boot_options(const Args& args, int n);

// Boots `entry` (created by provium.create) with `options`.
void boot_vm(FileContext& context, VmEntry& entry, const BootOptions& options);

// A new entry of `context`, labelled "vm N (what)".
VmEntry& add_vm(FileContext& context, std::string profile, std::string_view what);

// Whether fixture `name` has a script where provium.fixture(name) in `context`'s file looks.
bool has_fixture_script(const FileContext& context, std::string_view name);

// provium.fixture(name): a VM resumed from the fixture's snapshot, built first when needed.
VmEntry& resume_fixture(FileContext& context, std::string_view name);

}  // namespace provium::lua
