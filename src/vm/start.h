// How a machine starts: the five ways there are, each with the files it needs. A fixture's
// build boots into a RAM file (or, nested, restores its parent into one), so that the RAM file
// is the snapshot; a test's VM restores the snapshot with its RAM mapped copy-on-write. A
// snapshot of a VM without a RAM file holds the whole RAM in its state (the benchmark compares
// that way with ours).
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

namespace provium::vm {

class Start {
 public:
  enum class Mode {
    boot,                   // a fresh boot in ordinary memory
    boot_into_ram_file,     // a fresh boot whose RAM is the file `ram`
    restore,                // `state` loaded; the RAM is `ram` mapped copy-on-write (never written)
    restore_into_ram_file,  // `state` loaded; the RAM is the file `ram` itself, written to
    restore_whole_state,    // `state` holds the RAM too, loaded into ordinary memory
  };

  static Start boot() { return Start(Mode::boot, {}, {}, {}); }
  static Start boot_into_ram_file(std::filesystem::path ram) { return Start(Mode::boot_into_ram_file, std::move(ram), {}, {}); }
  // `initrd`: the one the snapshot's VM booted with (the restored kernel has unpacked it).
  static Start restore(std::filesystem::path ram, std::filesystem::path state, std::filesystem::path initrd) {
    return Start(Mode::restore, std::move(ram), std::move(state), std::move(initrd));
  }
  static Start restore_into_ram_file(std::filesystem::path ram, std::filesystem::path state,
                                     std::filesystem::path initrd) {
    return Start(Mode::restore_into_ram_file, std::move(ram), std::move(state), std::move(initrd));
  }

  static Start restore_whole_state(std::filesystem::path state, std::filesystem::path initrd) {
    return Start(Mode::restore_whole_state, {}, std::move(state), std::move(initrd));
  }

  // The files that stand in for the writable disks (parallel to BootOptions::disks; an empty
  // path for a read-only disk, which is used as it is): a build's own qcow2 overlays, written
  // to, which become the snapshot's disks; or a snapshot's, which a restore never writes (its
  // writes go to a temporary overlay of QEMU's, gone with the VM). Not for a plain boot, which
  // writes its disks as given.
  Start with_disks(std::vector<std::filesystem::path> disks) && {
    disks_ = std::move(disks);
    return std::move(*this);
  }

  // Kept as long as the machine: what keeps its files in place (a cache entry's hold).
  Start with_hold(std::shared_ptr<const void> hold) && {
    hold_ = std::move(hold);
    return std::move(*this);
  }

  Mode mode() const { return mode_; }
  bool restores() const { return mode_ != Mode::boot && mode_ != Mode::boot_into_ram_file; }
  bool has_ram_file() const { return !ram_.empty(); }
  // The RAM file is the RAM (a snapshot of this VM needs only its device state).
  bool ram_shared() const { return mode_ == Mode::boot_into_ram_file || mode_ == Mode::restore_into_ram_file; }
  const std::filesystem::path& ram() const { return ram_; }
  const std::filesystem::path& state() const { return state_; }
  const std::filesystem::path& initrd() const { return initrd_; }  // empty: a new one is built
  const std::vector<std::filesystem::path>& disks() const { return disks_; }

 private:
  Start(Mode mode, std::filesystem::path ram, std::filesystem::path state, std::filesystem::path initrd)
      : mode_(mode), ram_(std::move(ram)), state_(std::move(state)), initrd_(std::move(initrd)) {}

  Mode mode_;
  std::filesystem::path ram_, state_, initrd_;
  std::vector<std::filesystem::path> disks_;
  std::shared_ptr<const void> hold_;
};

}  // namespace provium::vm
