// What a VM resumed from a cache entry is booted with, recorded in the entry by every build,
// C++ and Lua alike (vm.json): the profile's name, the boot options, and the digest of what the
// host gave the boot (the contents of its files, its disks' identities) at the build. Whoever
// resumes an entry reads it there: a Lua fixture (whose script chooses the options as it runs)
// and `provium run/shell --fixture` (which resumes a C++ fixture without its program).
#pragma once

#include <optional>
#include <string>

#include <provium/types.h>

#include "cache/cache.h"

namespace provium::cache {

struct MachineRecord {
  std::string profile;
  BootOptions boot;
  std::string inputs;  // boot_inputs_digest at the build
};

// Writes `entry`'s vm.json.
void write_machine_record(const Entry& entry, const std::string& profile, const BootOptions& boot);
// Reads it; Error naming the file when it is missing or malformed.
MachineRecord read_machine_record(const Entry& entry);

// Why the entry no longer matches what its VM was booted with (its profile's kernel or QEMU, a
// file of `files` or a disk changed since the build), or nullopt. An entry that cannot say counts as stale. Checked once
// per entry and process (it reads every boot file).
std::optional<std::string> stale_boot_inputs(const Entry& entry);

}  // namespace provium::cache
