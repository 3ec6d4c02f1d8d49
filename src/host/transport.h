// The transport this host gives a profile's VMs.
#pragma once

#include "config/profile.h"
#include "transport/kind.h"

namespace provium::host {

// The profile's transport, unless PROVIUM_TRANSPORT
// (--provium_transport) overrides it; auto is vsock when /dev/vhost-vsock opens read-write.
// Throws PrerequisiteError when vsock is asked for and the host cannot provide it.
transport::Kind effective_transport(const config::Profile& profile);

}  // namespace provium::host
