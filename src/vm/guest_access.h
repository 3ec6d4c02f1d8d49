// The connection behind a Guest, for the project's own protocol tests (malformed frames).
// Not part of the public API.
#pragma once

#include <provium/vm.h>

#include "vm/session.h"

namespace provium::vm {

struct GuestAccess {
  static Session& session(const Guest& guest) { return guest.session(); }
};

}  // namespace provium::vm
