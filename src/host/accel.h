// Choice of QEMU accelerator. KVM is used only where it can really run a standard guest: on
// some hosts /dev/kvm exists but is a backend (PVM) that hangs a normal kernel forever, so its
// presence alone proves nothing; the CPU must also offer hardware virtualisation (vmx/svm).
#pragma once

#include <string>
#include <string_view>

#include "config/profile.h"

namespace provium::host {

struct HostVirtualization {
  bool kvm_device_usable = false;  // /dev/kvm opens read-write
  bool cpu_has_vmx_or_svm = false; // /proc/cpuinfo flags
};

// /dev/kvm and the CPU flags, probed once per process.
HostVirtualization probe_host();

// "kvm" or "tcg" for a profile's `accel` ("auto", "kvm", "tcg"). Throws Error when "kvm" is
// asked for and the host cannot run it, saying why.
std::string choose_accel(std::string_view requested, const HostVirtualization& host);

// True when the cpuinfo text lists vmx or svm among its flags.
bool cpuinfo_has_virtualization(std::string_view cpuinfo);

// "kvm" or "tcg" for a profile: its accel, unless PROVIUM_ACCEL (--provium_accel) overrides it.
std::string effective_accel(const config::Profile& profile);

}  // namespace provium::host
