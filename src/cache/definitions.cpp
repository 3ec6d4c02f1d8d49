#include "cache/definitions.h"

#include <fmt/format.h>

#include "cache/resume.h"
#include "config/config.h"

namespace provium::cache {

void Definitions::define(std::string name, FixtureOptions options, FixtureSetup setup, std::string identity) {
  check_fixture_name(name);
  auto definition = std::make_shared<Definition>();
  definition->name = name;
  definition->options = std::move(options);
  definition->setup = std::move(setup);
  definition->identity = std::move(identity);
  std::lock_guard lock(mutex_);
  definitions_[std::move(name)] = std::move(definition);
}

std::shared_ptr<Definition> Definitions::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = definitions_.find(name);
  if (it != definitions_.end()) return it->second;
  std::string known;
  for (const auto& [defined, _] : definitions_) known += (known.empty() ? "" : ", ") + defined;
  throw Error(fmt::format("unknown fixture '{}'; defined: {}", name, known.empty() ? "none" : known));
}

const Definition& Definitions::root_of(const Definition& definition) const {
  const Definition* current = &definition;
  for (int depth = 0; !current->options.parent.empty(); ++depth) {
    if (depth > 64) throw Error(fmt::format("fixture '{}': its parents form a cycle", definition.name));
    current = find(current->options.parent).get();
  }
  return *current;
}

std::string Definitions::key_of(Definition& definition) const {
  std::lock_guard lock(keys_mutex_);
  if (!definition.key.empty()) return definition.key;
  const Definition& root = root_of(definition);
  KeyBuilder key;
  key.add("fixture", definition.name)
      .add("identity", definition.identity.empty() ? program_identity() : definition.identity);
  add_host_(key, root.options.profile, root.options.boot);
  if (!definition.options.parent.empty()) key.add("parent", key_of(*find(definition.options.parent)));
  definition.key = key.hex();
  return definition.key;
}

Definitions& Definitions::of_this_program() {
  static Definitions instance([](KeyBuilder& key, const std::string& name, const BootOptions& boot) {
    const config::Profile& profile = config::current().profile(name);
    add_guest(key);
    add_profile(key, profile);
    add_boot_options(key, boot, profile);
  });
  return instance;
}

}  // namespace provium::cache
