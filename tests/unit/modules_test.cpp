// Resolving kernel modules and their load order from modules.dep and modules.builtin.
#include "initramfs/modules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <provium/error.h>

#include "base/files.h"
#include "initramfs/modinfo.h"
#include "support/compress.h"
#include "support/prerequisite.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using provium::initramfs::Module;
using provium::initramfs::module_extension;
using provium::initramfs::resolve_modules;
using provium::testing::TempDir;
using ::testing::HasSubstr;

std::vector<std::string> names(const std::vector<Module>& modules) {
  std::vector<std::string> result;
  for (const Module& module : modules) result.push_back(module.name);
  return result;
}

std::string name_of(const std::string& path) {
  std::string file = fs::path(path).filename().string();
  file.erase(file.find(".ko"));
  std::replace(file.begin(), file.end(), '-', '_');
  return file;
}

// Module name -> the names of the modules it depends on.
using Dependencies = std::map<std::string, std::vector<std::string>>;

// modules.dep read independently of the code under test.
Dependencies read_dependencies(const fs::path& modules_dep) {
  Dependencies dependencies;
  std::ifstream in(modules_dep);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string module;
    words >> module;
    module.pop_back();  // the ':'
    auto& list = dependencies[name_of(module)];
    for (std::string dependency; words >> dependency;) list.push_back(name_of(dependency));
  }
  return dependencies;
}

// Every module comes after all of the modules it depends on, and only once.
void expect_dependencies_first(const std::vector<Module>& modules,
                               const Dependencies& dependencies) {
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    EXPECT_TRUE(position.emplace(modules[i].name, i).second) << modules[i].name << " twice";
  }
  for (const Module& module : modules) {
    for (const std::string& dependency : dependencies.at(module.name)) {
      ASSERT_TRUE(position.contains(dependency)) << module.name << " needs " << dependency;
      EXPECT_LT(position[dependency], position[module.name])
          << dependency << " must be loaded before " << module.name;
    }
  }
}

// The modules directory of the newest installed kernel that has a modules.dep.
std::optional<fs::path> installed_modules_dir() {
  std::optional<fs::path> newest;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/lib/modules", error)) {
    fs::path modules_dep = entry.path() / "modules.dep";
    if (!fs::exists(modules_dep)) continue;
    bool newer = !newest || fs::last_write_time(modules_dep) >
                                fs::last_write_time(*newest / "modules.dep");
    if (newer) newest = entry.path();
  }
  return newest;
}

TEST(ResolveModules, VirtioTransportOfTheInstalledKernel) {
  std::optional<fs::path> dir = installed_modules_dir();
  PROVIUM_TEST_NEEDS(dir, "a kernel's modules, /lib/modules/*/modules.dep (Debian: linux-image-cloud-amd64)");
  auto dependencies = read_dependencies(*dir / "modules.dep");
  if (!dependencies.contains("virtio_pci") || !dependencies.contains("virtio_console")) {
    GTEST_SKIP() << "the kernel of " << *dir << " has virtio built in";
  }

  std::vector<Module> modules = resolve_modules(*dir, {"virtio_pci", "virtio_console"});

  expect_dependencies_first(modules, dependencies);
  std::vector<std::string> order = names(modules);
  auto at = [&](const std::string& name) {
    return std::find(order.begin(), order.end(), name) - order.begin();
  };
  ASSERT_THAT(order, ::testing::IsSupersetOf({"virtio_pci", "virtio_console"}));
  if (dependencies.contains("virtio")) {
    EXPECT_LT(at("virtio"), at("virtio_pci"));
    EXPECT_LT(at("virtio"), at("virtio_console"));
  }
  if (dependencies.contains("virtio_ring") && dependencies.contains("virtio")) {
    EXPECT_LT(at("virtio_ring"), at("virtio"));
  }
  // Exactly the closure of what was asked: nothing unrelated.
  std::set<std::string> closure;
  std::vector<std::string> pending = {"virtio_pci", "virtio_console"};
  while (!pending.empty()) {
    std::string name = pending.back();
    pending.pop_back();
    if (closure.insert(name).second) {
      for (const auto& dependency : dependencies.at(name)) pending.push_back(dependency);
    }
  }
  EXPECT_EQ(std::set<std::string>(order.begin(), order.end()), closure);
  for (const Module& module : modules) {
    EXPECT_TRUE(fs::is_regular_file(module.path)) << module.path;
    EXPECT_TRUE(module.path.string().starts_with(dir->string() + "/")) << module.path;
  }
}

// A modules directory made up for one test: modules.dep, modules.builtin and the module files
// modules.dep names (empty; resolve_modules does not read them).
class FakeModules : public ::testing::Test {
 protected:
  void write_modules_dep(const std::string& text, bool create_module_files = true) {
    dir_.write("modules.dep", text);
    if (!create_module_files) return;
    std::istringstream words(text);
    for (std::string word; words >> word;) {
      if (word.ends_with(':')) word.pop_back();
      dir_.write(word, "");
    }
  }
  void write_modules_builtin(const std::string& text) { dir_.write("modules.builtin", text); }

  // resolve_modules throws an Error whose message contains every one of `parts`.
  void expect_error(const std::vector<std::string>& wanted,
                    const std::vector<std::string>& parts) {
    try {
      std::vector<Module> modules = resolve_modules(dir_.path(), wanted);
      ADD_FAILURE() << "no error; resolved " << ::testing::PrintToString(names(modules));
    } catch (const provium::Error& error) {
      for (const std::string& part : parts) EXPECT_THAT(error.what(), HasSubstr(part));
    }
  }

  TempDir dir_;
};

TEST_F(FakeModules, LoadsEveryDependencyBeforeItsUser) {
  std::string text =
      "kernel/a.ko: kernel/b.ko kernel/c.ko kernel/d.ko\n"
      "kernel/b.ko: kernel/d.ko\n"
      "kernel/c.ko: kernel/d.ko\n"
      "kernel/d.ko:\n"
      "kernel/unrelated.ko: kernel/d.ko\n";
  write_modules_dep(text);

  std::vector<Module> modules = resolve_modules(dir_.path(), {"a"});

  EXPECT_EQ(names(modules), (std::vector<std::string>{"d", "b", "c", "a"}));
  expect_dependencies_first(modules, read_dependencies(dir_.path() / "modules.dep"));
  EXPECT_EQ(modules.back().path, dir_.path() / "kernel/a.ko");
}

TEST_F(FakeModules, ListsAModuleWantedTwiceOrAlsoNeededOnce) {
  write_modules_dep("kernel/a.ko: kernel/b.ko\nkernel/b.ko:\n");
  EXPECT_EQ(names(resolve_modules(dir_.path(), {"b", "a", "b", "a"})),
            (std::vector<std::string>{"b", "a"}));
}

TEST_F(FakeModules, KeepsCompressedModuleFiles) {
  write_modules_dep(
      "kernel/x.ko.xz: kernel/y.ko.zst kernel/z.ko.gz\nkernel/y.ko.zst:\nkernel/z.ko.gz:\n");

  std::vector<Module> modules = resolve_modules(dir_.path(), {"x"});

  ASSERT_EQ(names(modules), (std::vector<std::string>{"y", "z", "x"}));
  EXPECT_EQ(modules[0].path, dir_.path() / "kernel/y.ko.zst");
  EXPECT_EQ(modules[1].path, dir_.path() / "kernel/z.ko.gz");
  EXPECT_EQ(modules[2].path, dir_.path() / "kernel/x.ko.xz");
}

TEST_F(FakeModules, LeavesOutBuiltinModules) {
  write_modules_dep("kernel/drivers/virtio/virtio_pci.ko:\n");
  write_modules_builtin("kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n");

  EXPECT_EQ(names(resolve_modules(dir_.path(), {"virtio_ring", "virtio", "virtio_pci"})),
            std::vector<std::string>{"virtio_pci"});
  EXPECT_TRUE(resolve_modules(dir_.path(), {"virtio"}).empty());
}

TEST_F(FakeModules, TreatsDashAndUnderscoreAsEqual) {
  write_modules_dep("kernel/char/virtio-rng.ko: kernel/virtio_ring.ko\nkernel/virtio_ring.ko:\n");
  write_modules_builtin("kernel/net/vmw-vsock.ko\n");

  std::vector<Module> modules =
      resolve_modules(dir_.path(), {"virtio_rng", "virtio-ring", "vmw_vsock"});

  EXPECT_EQ(names(modules), (std::vector<std::string>{"virtio_ring", "virtio_rng"}));
  EXPECT_EQ(modules[1].path, dir_.path() / "kernel/char/virtio-rng.ko");
}

TEST_F(FakeModules, ModulesBuiltinMayBeAbsent) {
  write_modules_dep("kernel/a.ko:\n");
  EXPECT_EQ(names(resolve_modules(dir_.path(), {"a"})), std::vector<std::string>{"a"});
}

TEST_F(FakeModules, UnknownModuleNamesTheModuleAndTheDirectory) {
  write_modules_dep("kernel/a.ko:\n");
  write_modules_builtin("kernel/b.ko\n");
  expect_error({"a", "no_such_module"}, {"\"no_such_module\"", dir_.path().string()});
}

TEST_F(FakeModules, DependencyCycle) {
  write_modules_dep(
      "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko: kernel/b.ko\n");
  expect_error({"a"}, {"cycle", "b -> c -> b", "modules.dep"});
}

TEST_F(FakeModules, ModuleDependingOnItself) {
  write_modules_dep("kernel/a.ko: kernel/a.ko\n");
  expect_error({"a"}, {"cycle", "a -> a"});
}

TEST_F(FakeModules, MissingModuleFile) {
  write_modules_dep("kernel/a.ko: kernel/b.ko\nkernel/b.ko:\n", false);
  dir_.write("kernel/a.ko", "");
  expect_error({"a"}, {(dir_.path() / "kernel/b.ko").string(), "does not exist"});
}

TEST_F(FakeModules, DependencyWithoutItsOwnLine) {
  write_modules_dep("kernel/a.ko: kernel/b.ko\n");
  expect_error({"a"}, {"a needs b", "no line"});
}

TEST_F(FakeModules, MalformedModulesDep) {
  write_modules_dep("kernel/a.ko:\nkernel/b.ko kernel/c.ko\n", false);
  expect_error({"a"}, {(dir_.path() / "modules.dep").string() + ":2"});
  write_modules_dep("kernel/a.ko: kernel/readme.txt\n", false);
  expect_error({"a"}, {"readme.txt", "not a module file"});
}

TEST_F(FakeModules, WithoutModulesDepAMissingModuleNamesTheTree) {
  write_modules_builtin("kernel/b.ko\n");
  expect_error({"a"}, {"kernel module \"a\" is neither built in nor in " + dir_.path().string()});
}

TEST_F(FakeModules, WithoutModulesDepAModuleThatIsNoElfIsNamed) {
  dir_.write("kernel/a.ko", "not an ELF");
  expect_error({"a"}, {"kernel/a.ko", "not a 64-bit little-endian ELF file"});
}

// The installed kernel's modules copied into a tree of their own without modules.dep (as
// `dpkg -x` or a build tree leaves them), recompressed with xz, zstd and gzip: the same modules
// as modules.dep gives, in an order it allows, found by name, their dependencies from their .modinfo.
TEST(ResolveModules, ATreeWithoutModulesDepOfRecompressedModules) {
  std::optional<fs::path> dir = installed_modules_dir();
  PROVIUM_TEST_NEEDS(dir, "a kernel's modules, /lib/modules/*/modules.dep (Debian: linux-image-cloud-amd64)");
  auto dependencies = read_dependencies(*dir / "modules.dep");
  if (!dependencies.contains("virtio_pci")) GTEST_SKIP() << "the kernel of " << *dir << " has virtio built in";
  const std::vector<std::string> wanted = {"virtio_pci", "virtio_console", "virtio_blk"};
  const auto expected = resolve_modules(*dir, wanted);

  TempDir tree;
  int n = 0;
  for (const Module& module : expected) {
    const std::string plain = provium::base::read_file(module.path, "module");
    const auto relative = module.path.lexically_relative(*dir).string();
    switch (n++ % 3) {
      case 0: tree.write(relative + ".xz", provium::testing::xz(plain)); break;
      case 1: tree.write(relative + ".zst", provium::testing::zstd(plain)); break;
      default: tree.write(relative + ".gz", provium::testing::gzip(plain)); break;
    }
  }
  tree.write("kernel/unrelated/readme.txt", "not a module");
  const auto found = resolve_modules(tree.path(), wanted);
  const auto found_names = names(found), expected_names = names(expected);
  EXPECT_EQ(std::set<std::string>(found_names.begin(), found_names.end()),
            std::set<std::string>(expected_names.begin(), expected_names.end()));
  EXPECT_EQ(found.size(), expected.size());
  expect_dependencies_first(found, dependencies);  // in an order modules.dep allows
}

TEST(Modinfo, DependsOfTheInstalledKernelsModulesMatchModulesDep) {
  std::optional<fs::path> dir = installed_modules_dir();
  PROVIUM_TEST_NEEDS(dir, "a kernel's modules, /lib/modules/*/modules.dep (Debian: linux-image-cloud-amd64)");
  auto dependencies = read_dependencies(*dir / "modules.dep");
  if (!dependencies.contains("virtio_pci")) GTEST_SKIP() << "the kernel of " << *dir << " has virtio built in";
  for (const Module& module : resolve_modules(*dir, {"virtio_pci"})) {
    const auto depends = provium::initramfs::modinfo_depends(module.path);
    EXPECT_EQ(std::set<std::string>(depends.begin(), depends.end()),
              std::set<std::string>(dependencies.at(module.name).begin(), dependencies.at(module.name).end()))
        << module.name;
  }
  EXPECT_THAT([] { provium::initramfs::modinfo_values(std::string("\x7f" "ELF\x02\x01", 6), "depends"); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("runs past the end")));
}

TEST(ModulesDirectory, AnInstallModPathRootOrATreeOrTheInstalledOnes) {
  TempDir root;
  root.write("lib/modules/6.1.0-x/kernel/a.ko", "");
  EXPECT_EQ(provium::initramfs::modules_directory(root.path(), "6.1.0-x"), root.path() / "lib/modules/6.1.0-x");
  EXPECT_EQ(provium::initramfs::modules_directory(root.path(), "6.9.0-other"), root.path());
  EXPECT_EQ(provium::initramfs::modules_directory(std::nullopt, "6.1.0-x"), "/lib/modules/6.1.0-x");
}

TEST(ResolveModules, MissingModulesDirectoryMeansEverythingBuiltIn) {
  TempDir dir;
  EXPECT_TRUE(
      resolve_modules(dir.path() / "6.9.0-custom", {"virtio_pci", "virtio_console"}).empty());
}

TEST(ResolveModules, ModulesDirectoryThatIsAFile) {
  TempDir dir;
  fs::path file = dir.write("6.9.0-custom", "");
  EXPECT_THROW(resolve_modules(file, {"virtio_pci"}), provium::Error);
}

TEST(ModuleExtension, OfEveryCompression) {
  EXPECT_EQ(module_extension("virtio.ko"), ".ko");
  EXPECT_EQ(module_extension("virtio.ko.xz"), ".ko.xz");
  EXPECT_EQ(module_extension("virtio.ko.gz"), ".ko.gz");
  EXPECT_EQ(module_extension("virtio.ko.zst"), ".ko.zst");
  EXPECT_EQ(module_extension("virtio.o"), "");
  EXPECT_EQ(module_extension("readme.txt"), "");
}

}  // namespace
