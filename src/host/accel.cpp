#include "host/accel.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <provium/error.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/settings.h"

namespace provium::host {

bool cpuinfo_has_virtualization(std::string_view cpuinfo) {
  std::istringstream lines{std::string(cpuinfo)};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string flag; words >> flag;)
      if (flag == "vmx" || flag == "svm") return true;
  }
  return false;
}

HostVirtualization probe_host() {
  // What the host offers does not change while a process runs; every boot and resume asks.
  static const HostVirtualization probed = [] {
    HostVirtualization host;
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      host.kvm_device_usable = true;
      ::close(fd);
    }
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::stringstream text;
    text << cpuinfo.rdbuf();
    host.cpu_has_vmx_or_svm = cpuinfo_has_virtualization(text.str());
    return host;
  }();
  return probed;
}

std::string choose_accel(std::string_view requested, const HostVirtualization& host) {
  const bool kvm_works = host.kvm_device_usable && host.cpu_has_vmx_or_svm;
  if (requested == "tcg") return "tcg";
  if (requested == "kvm") {
    if (kvm_works) return "kvm";
    throw Error(fmt::format(
        "accel = \"kvm\" but this host cannot run KVM guests: {}; use accel = \"auto\" or \"tcg\"",
        !host.kvm_device_usable
            ? "/dev/kvm cannot be opened read-write (missing, or no permission: join group kvm)"
            : "the CPU shows no vmx/svm flag, so /dev/kvm is not hardware virtualisation"));
  }
  if (requested == "auto") return kvm_works ? "kvm" : "tcg";
  throw Error(fmt::format("unknown accelerator '{}' (auto, kvm, tcg)", requested));
}

std::string effective_accel(const config::Profile& profile) {
  const std::string& forced = base::settings()->accel;
  return choose_accel(forced.empty() ? profile.accel : forced, probe_host());
}

}  // namespace provium::host
