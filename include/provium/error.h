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

// An operation's deadline passed; the message names the operation, the deadline and the
// console tail. For an exec killed at its deadline the VM stays usable, and out() and err()
// hold what the command had written until then.
class TimeoutError : public Error {
 public:
  using Error::Error;
  TimeoutError(const std::string& message, std::string out, std::string err)
      : Error(message), out_(std::move(out)), err_(std::move(err)) {}

  const std::string& out() const noexcept { return out_; }
  const std::string& err() const noexcept { return err_; }

 private:
  std::string out_, err_;
};

}  // namespace provium
