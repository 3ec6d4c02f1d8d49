// Every field of BootOptions, listed once. The cache key (cache/key.cpp), the entry's machine
// record (cache/machine_record.cpp) and the keys vm:boot{} takes (lua/vm_boot.cpp) are made by
// visiting this list: a new field added here reaches each of them, and a field of a new type
// fails to compile in each until it says what the type means there.
#pragma once

#include <provium/types.h>

namespace provium::base {

// Calls `visit(name, field)` for each field of `options` (BootOptions, const or not), in the
// order the cache key has always hashed them.
template <class Options, class Visit>
void each_boot_field(Options& options, Visit&& visit) {
  visit("memory", options.memory);
  visit("cpus", options.cpus);
  visit("max_workers", options.max_workers);
  visit("files", options.files);
  visit("shares", options.shares);
  visit("disks", options.disks);
  visit("timeout", options.timeout);
}

}  // namespace provium::base
