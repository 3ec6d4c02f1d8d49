// How a VM's QEMU ended, as the host saw it: a cause that retries and the cache's decisions
// branch on, and the message that tells a person, in QEMU's and the kernel's own words.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "kernel/symbolize.h"
#include "qemu/process.h"

namespace provium::vm {

struct Death {
  enum class Cause {
    killed,          // Provium ended it: kill(), a missed deadline, the machine's end
    signalled,       // a signal from outside Provium: the OOM killer, a person
    kernel_crashed,  // the console holds a kernel report: the guest's kernel died first
    cid_taken,       // vsock: QEMU could not have its guest CID, which another VM holds
    exited,          // QEMU ended by itself: a state or an option it refused, its own bug
  };
  Cause cause = Cause::exited;
  std::string message;
};

// The death of a QEMU that ended with `exit`, its console in `console_log`; `killed_by_host`
// when Provium sent the signal. With `symbols`, the reports' frames show their file:line
// (objdump and addr2line run here: once per death).
Death describe_death(const qemu::ProcessExit& exit, bool killed_by_host, const std::filesystem::path& console_log,
                     const std::optional<kernel::SymbolSources>& symbols);

// Whether a failed resume of a cache entry is evidence against the entry itself, given how its
// QEMU ended (nullopt: it runs on). QEMU ending by itself (a state it refused) or the restored
// guest crashing are; a QEMU killed by Provium or from outside, or a CID another VM holds, say
// nothing about the entry. A QEMU that runs on but failed the restore (a migration that did not
// complete, an agent that never greeted) is evidence too.
bool damages_entry(std::optional<Death::Cause> cause);

}  // namespace provium::vm
