// Where Provium keeps its files on this host.
#pragma once

#include <filesystem>

namespace provium::base {

// Run directories of VMs, the resource pool's ledger, `provium test`'s logs:
// $PROVIUM_RUN_DIR, else $XDG_RUNTIME_DIR/provium, else /tmp/provium-UID.
std::filesystem::path run_root();

// Fixture snapshots, decompressed kernels, the rerun record: $PROVIUM_CACHE_DIR, else
// $XDG_CACHE_HOME/provium, else ~/.cache/provium (/tmp/provium-cache-UID without a home).
std::filesystem::path cache_root();

}  // namespace provium::base
