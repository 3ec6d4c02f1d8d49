// provium::Error: every failure of the machinery (VM died, deadline passed, agent ERROR, bad
// configuration). Its message says what happened and, when a VM is involved, ends with the
// tail of the guest's console.
#pragma once

#include <stdexcept>
#include <string>

namespace provium {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Something the host lacks (QEMU, a kernel, busybox). The GoogleTest environment turns it into
// a skip, or into a failure when PROVIUM_REQUIRE=1.
class PrerequisiteError : public Error {
 public:
  using Error::Error;
};

// An operation's deadline passed without an answer; the message names the operation, the
// deadline and the console tail.
class TimeoutError : public Error {
 public:
  using Error::Error;
};

}  // namespace provium
