// What a machine takes of the host, handed in by whoever makes the machine: its place in a
// resource pool (memory and CPUs, held while its QEMU lives) and, with the vsock transport, where
// its guest CID comes from. The machine takes them when its QEMU starts and gives them back when
// QEMU is dead.
#pragma once

#include <filesystem>

#include "pool/pool.h"
#include "transport/cid.h"

namespace provium::vm {

struct HostResources {
  std::filesystem::path pool_dir;
  pool::Budget budget;
  transport::CidAllocator* cids = nullptr;

  // This user's pool (run_root/pool; the budget from the run's settings, else provium.toml's
  // [pool]) and the machine-wide CID leases: what every VM of a test program uses.
  static HostResources of_this_user();
};

}  // namespace provium::vm
