// The fixtures a program defined: found by name, each with its root (the ancestor whose
// profile and boot options it runs on) and its cache key, everything that shapes its snapshot.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <provium/fixture.h>

#include "cache/key.h"

namespace provium::cache {

struct Definition {
  std::string name;
  FixtureOptions options;
  FixtureSetup setup;
  std::string identity;  // the setup's code; empty: this program's executable
  std::string key;       // computed once, by Definitions::key_of
};

class Definitions {
 public:
  // What a key takes from the host for a root fixture's profile and boot options: the guest
  // programs, the profile's files and the boot options with what they bring (add_guest,
  // add_profile and add_boot_options of config::current()'s profile, in a program).
  using AddHost = std::function<void(KeyBuilder& key, const std::string& profile, const BootOptions& boot)>;

  explicit Definitions(AddHost add_host) : add_host_(std::move(add_host)) {}

  // Checks the name (cache::check_fixture_name); a second definition of a name replaces the first.
  void define(std::string name, FixtureOptions options, FixtureSetup setup, std::string identity);
  // Error naming the fixtures that are defined.
  std::shared_ptr<Definition> find(std::string_view name) const;
  // The ancestor without a parent; Error when the parents form a cycle or one is not defined.
  const Definition& root_of(const Definition& definition) const;
  // The key: the name, the identity, the host's part for the root's profile, the root's boot
  // options (with the contents of `files`) and the parent's key. Computed once.
  std::string key_of(Definition& definition) const;

  // This program's fixtures (define_fixture, PROVIUM_FIXTURE).
  static Definitions& of_this_program();

 private:
  AddHost add_host_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Definition>, std::less<>> definitions_;
  // Keys of parents are computed from their children's too: one lock for the whole chain.
  mutable std::recursive_mutex keys_mutex_;
};

}  // namespace provium::cache
