// Fixtures: a VM prepared once, snapshotted, and resumed fresh for every test in milliseconds.
// With GoogleTest, use PROVIUM_FIXTURE (<provium/gtest.h>); these are the calls beneath it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <provium/vm.h>

namespace provium {

struct FixtureOptions {
  std::string profile = "default";
  BootOptions boot{};   // memory, cpus, files, ... of the VM the fixture is built in
  std::string parent{}; // start from this fixture's snapshot instead of booting; the profile
                        // and boot options are then the parent's
};

using FixtureSetup = std::function<void(Vm& vm)>;

// Defines a fixture: `setup` runs once on a freshly booted VM (or one resumed from the parent),
// and the VM is then snapshotted into the persistent cache. `identity` names the code of `setup`
// for the cache key; empty means this program's executable, so a rebuilt test binary builds
// its fixtures anew.
void define_fixture(std::string name, FixtureOptions options, FixtureSetup setup,
                    std::string identity = {});

// A fresh, running VM resumed from the fixture's snapshot, built first when the cache has no
// entry for it. What the VM changes stays its own: the snapshot is mapped copy-on-write.
// Workers and background jobs of the setup do not survive the snapshot.
Vm fixture(std::string_view name);

}  // namespace provium
