// The shared libraries of the dynamically linked programs among a boot's files, found as the
// host's dynamic loader finds them, so that a program built with a plain `cc` runs in Provium's
// busybox guest, which has no C library of its own.
#pragma once

#include <map>
#include <string>

#include "config/profile.h"

namespace provium::initramfs {

// What a VM of `profile` gets for the boot option `files` (guest path -> host path): with
// Provium's busybox userspace, `files` and library_files(files); a disk root or the user's own
// initramfs has its own loader and libraries (the host's could break its programs), and gets
// `files` alone.
std::map<std::string, std::string> guest_files(const config::Profile& profile,
                                               const std::map<std::string, std::string>& files);

// What the dynamically linked executables among `files` (a file, or the files of a directory,
// recursively) need in the guest: their program interpreter at its path (PT_INTERP), and each
// library the host's loader loads for them (`INTERPRETER --list`: DT_NEEDED, RUNPATH and RPATH,
// its cache and default directories, in an empty environment). A library found through
// `$ORIGIN` goes where `$ORIGIN` points in the guest (nowhere new when `files` already puts it
// there); any other at its host path; the host's /etc/ld.so.cache too when a library lies where
// only the cache leads. Throws Error naming the executable and the library its loader does not
// find, or the interpreter this host lacks. Results are kept per executable and identity.
std::map<std::string, std::string> library_files(const std::map<std::string, std::string>& files);

}  // namespace provium::initramfs
