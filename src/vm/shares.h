// Shared directories in the guest: each share of vm_shares mounted at its guest path through the
// agent's syscalls (9p over virtio, by its tag), and unmounted again before a snapshot, which
// QEMU refuses while a 9p export is mounted ("Migration is disabled when VirtFS export path ...
// is mounted in the guest").
#pragma once

#include <chrono>
#include <vector>

#include <provium/vm.h>

#include "vm/session.h"

namespace provium::vm {

// Makes each guest path (and its missing parents) and mounts share i there by share_tag(i).
// Throws Error naming the share and the errno's text.
void mount_shares(Session& agent, const std::vector<Share>& shares, std::chrono::milliseconds timeout);

// Unmounts them, last first. Throws Error naming a share still in use (a process's working
// directory, an open file) and why the snapshot needs it gone.
void unmount_shares(Session& agent, const std::vector<Share>& shares, std::chrono::milliseconds timeout);

}  // namespace provium::vm
