// cache/definitions.h: the fixtures a program defined, their roots and their cache keys. The
// host's part of a key (guest programs, the profile's files) is replaced by the profile's name:
// what is tested here is which inputs a key covers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <provium/error.h>

#include "cache/definitions.h"
#include "support/temp_dir.h"

namespace {

using provium::FixtureOptions;
using provium::cache::Definitions;
using provium::cache::KeyBuilder;
using provium::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Definitions make(int* host_parts = nullptr) {
  return Definitions([host_parts](KeyBuilder& key, const std::string& profile, const provium::BootOptions& boot) {
    if (host_parts) ++*host_parts;
    key.add("profile", profile);
    provium::cache::add_boot_options(key, boot, provium::config::Profile{});
  });
}

void define(Definitions& definitions, const std::string& name, FixtureOptions options = {},
            std::string identity = "code-1") {
  definitions.define(name, std::move(options), [](provium::Vm&) {}, std::move(identity));
}

// The key of `name` defined alone (with `parent` defined as given) in a fresh set.
std::string key_of(const FixtureOptions& options, const std::string& identity = "code-1",
                   const FixtureOptions& parent = {}) {
  Definitions definitions = make();
  define(definitions, "parent", parent);
  define(definitions, "f", options, identity);
  return definitions.key_of(*definitions.find("f"));
}

TEST(Definitions, AnUnknownFixtureNamesTheDefinedOnes) {
  Definitions definitions = make();
  EXPECT_THAT([&] { definitions.find("kacs"); }, ThrowsMessage<provium::Error>("unknown fixture 'kacs'; defined: none"));
  define(definitions, "b");
  define(definitions, "a");
  EXPECT_THAT([&] { definitions.find("kacs"); }, ThrowsMessage<provium::Error>("unknown fixture 'kacs'; defined: a, b"));
}

TEST(Definitions, ANameThatCannotNameAnEntryIsRefused) {
  Definitions definitions = make();
  for (const char* bad : {"", ".hidden", "a/b"})
    EXPECT_THAT([&] { define(definitions, bad); }, ThrowsMessage<provium::Error>(HasSubstr("fixture name"))) << bad;
  EXPECT_THAT([&] { definitions.find("a/b"); }, ThrowsMessage<provium::Error>(HasSubstr("defined: none")));
}

TEST(Definitions, TheRootIsTheAncestorThatBoots) {
  Definitions definitions = make();
  define(definitions, "base", {.profile = "disk"});
  define(definitions, "middle", {.parent = "base"});
  define(definitions, "leaf", {.parent = "middle"});
  EXPECT_EQ(definitions.root_of(*definitions.find("leaf")).name, "base");
  EXPECT_EQ(definitions.root_of(*definitions.find("base")).name, "base");
  define(definitions, "orphan", {.parent = "missing"});
  EXPECT_THAT([&] { definitions.root_of(*definitions.find("orphan")); },
              ThrowsMessage<provium::Error>(HasSubstr("unknown fixture 'missing'")));
  define(definitions, "x", {.parent = "y"});
  define(definitions, "y", {.parent = "x"});
  EXPECT_THAT([&] { definitions.root_of(*definitions.find("x")); },
              ThrowsMessage<provium::Error>("fixture 'x': its parents form a cycle"));
}

TEST(Definitions, TheKeyCoversEverythingThatShapesTheSnapshot) {
  const std::string plain = key_of({});
  EXPECT_EQ(key_of({}), plain);  // the same inputs, the same key
  EXPECT_NE(key_of({}, "code-2"), plain);
  EXPECT_NE(key_of({.profile = "disk"}), plain);
  EXPECT_NE(key_of({.boot = {.memory = "1G"}}), plain);
  EXPECT_NE(key_of({.boot = {.cpus = 2}}), plain);
  EXPECT_NE(key_of({.boot = {.max_workers = 9}}), plain);
  EXPECT_NE(key_of({.boot = {.disks = {{.path = "/d.img"}}}}), plain);
}

TEST(Definitions, TheKeyCoversTheContentsOfFiles) {
  TempDir dir;
  const auto file = dir.write("payload/VERSION", "1\n");
  const FixtureOptions options{.boot = {.files = {{"/opt/payload", dir.path() / "payload"}}}};
  const std::string first = key_of(options);
  std::ofstream(file) << "2\n";
  EXPECT_NE(key_of(options), first);
}

TEST(Definitions, TheKeyCoversADiskByItsIdentity) {
  TempDir dir;
  const auto image = dir.write("disk.img", std::string(4096, '\0'));
  const FixtureOptions options{.boot = {.disks = {{.path = image.string()}}}};
  const std::string first = key_of(options);
  EXPECT_EQ(key_of(options), first);
  std::ofstream(image, std::ios::app) << "more";  // another size and modification time
  EXPECT_NE(key_of(options), first);
}

TEST(Definitions, AChildRunsOnItsRootsBootAndItsKeyFollowsItsParent) {
  const FixtureOptions child{.parent = "parent"};
  const std::string with_plain_parent = key_of(child);
  EXPECT_NE(key_of(child, "code-1", {.boot = {.memory = "1G"}}), with_plain_parent);
  EXPECT_NE(key_of(child, "code-1", {.profile = "disk"}), with_plain_parent);
  // The child's own boot options are not its VM's: they change nothing.
  EXPECT_EQ(key_of({.boot = {.memory = "1G"}, .parent = "parent"}), with_plain_parent);
}

TEST(Definitions, AKeyIsComputedOnce) {
  int host_parts = 0;
  Definitions definitions = make(&host_parts);
  define(definitions, "f");
  auto f = definitions.find("f");
  const std::string key = definitions.key_of(*f);
  EXPECT_EQ(definitions.key_of(*f), key);
  EXPECT_EQ(host_parts, 1);
}

}  // namespace
