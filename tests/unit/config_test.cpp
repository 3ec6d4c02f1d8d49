// provium.toml: parsing, error positions, where the file is found, the built-in default profile
// and memory sizes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/settings.h"
#include "config/config.h"
#include "provium/error.h"

namespace provium::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::StartsWith;

fs::path data(const fs::path& name) {
  const char* root = std::getenv("PROVIUM_TEST_DATA");
  return fs::absolute(fs::path(root ? root : "../data") / "config" / name).lexically_normal();
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no provium::Error thrown";
  return {};
}

void write(const fs::path& file, std::string_view text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "provium-config-test-XXXXXX").string();
    path_ = fs::canonical(mkdtemp(pattern.data()));
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(ConfigParse, FullProfileHasEveryKey) {
  const fs::path file = data("full.toml");
  const Config config = load_file(file);
  EXPECT_EQ(config.file, file);
  ASSERT_THAT(config.profiles, ElementsAre(Key("full")));
  const Profile& p = config.profile("full");
  EXPECT_EQ(p.name, "full");
  EXPECT_EQ(p.kernel, "/srv/kernels/bzImage");
  EXPECT_EQ(p.initrd, fs::path("/srv/kernels/initrd.img"));
  EXPECT_EQ(p.rootfs, fs::path("/srv/images/root.ext4"));
  EXPECT_EQ(p.init, "/usr/lib/systemd/systemd");
  EXPECT_EQ(p.append, "quiet lsm=landlock");
  EXPECT_EQ(p.accel, "tcg");
  EXPECT_EQ(p.machine, "microvm");
  EXPECT_EQ(p.transport, "virtio-serial");
  EXPECT_EQ(p.kernel_boot, "bzimage");
  EXPECT_EQ(p.modules, fs::path("/srv/kernels/modules"));
  EXPECT_EQ(p.qemu, "/opt/qemu/bin/qemu-system-x86_64");
  EXPECT_FALSE(p.builtin);
  EXPECT_EQ(p.origin.size(), 11u);
  EXPECT_EQ(p.origin.at("kernel"), file.string() + ":3:10");
  EXPECT_EQ(p.origin.at("qemu"), file.string() + ":13:8");
  EXPECT_EQ(p.kernel_origin(), file.string() + ":3:10");
  EXPECT_EQ(p.describe(), "profile 'full' (" + file.string() + ":2)");
}

TEST(ConfigParse, RelativePathsResolveAgainstTheFilesDirectory) {
  const fs::path dir = data("relative.toml").parent_path();
  const Config config = load_file(data("relative.toml"));
  const Profile& local = config.profile("local");
  EXPECT_EQ(local.kernel, dir / "build/arch/x86/boot/bzImage");
  EXPECT_EQ(local.initrd, dir.parent_path() / "images/initrd.img");
  EXPECT_EQ(local.rootfs, dir / "images/root.ext4");
  EXPECT_EQ(local.modules, dir / "build/modules");
  EXPECT_EQ(local.qemu, (dir / "tools/qemu").string());
  // Without a '/' it is a command name, found in PATH when QEMU starts.
  EXPECT_EQ(config.profile("bare-qemu").qemu, "qemu-system-x86_64");
}

TEST(ConfigParse, ReadsNoFileAndResolvesAgainstTheNamedFilesDirectory) {
  const Config config = parse("[profile.p]\nkernel = 'bzImage'\n", "/nowhere/sub/provium.toml");
  EXPECT_EQ(config.profile("p").kernel, "/nowhere/sub/bzImage");
  EXPECT_EQ(config.file, fs::path("/nowhere/sub/provium.toml"));
}

// `kernel` may name a build tree (any directory with a Makefile): its bzImage, its modules and
// its vmlinux; keys given explicitly win.
TEST(ConfigParse, AKernelBuildTreeGivesItsImageModulesAndVmlinux) {
  TempDir dir;
  write(dir.path() / "linux/Makefile", "# the kernel's\n");
  const Config config =
      parse("[profile.tree]\nkernel = 'linux'\n\n[profile.own]\nkernel = 'linux'\nmodules = 'mods'\nvmlinux = 'vml'\n\n"
            "[profile.image]\nkernel = 'linux/arch/x86/boot/bzImage'\n",
            dir.path() / "provium.toml");
  const Profile& tree = config.profile("tree");
  EXPECT_EQ(tree.kernel, dir.path() / "linux/arch/x86/boot/bzImage");
  EXPECT_EQ(tree.build_tree, dir.path() / "linux");
  EXPECT_EQ(tree.modules, dir.path() / "linux");
  EXPECT_EQ(tree.vmlinux, dir.path() / "linux/vmlinux");
  const Profile& own = config.profile("own");
  EXPECT_EQ(own.modules, dir.path() / "mods");
  EXPECT_EQ(own.vmlinux, dir.path() / "vml");
  const Profile& image = config.profile("image");
  EXPECT_EQ(image.build_tree, std::nullopt);
  EXPECT_EQ(image.modules, std::nullopt);
  EXPECT_EQ(image.vmlinux, std::nullopt);
}

TEST(ConfigParse, TwoProfilesWithDefaults) {
  const Config config = load_file(data("two_profiles.toml"));
  ASSERT_THAT(config.profiles, ElementsAre(Key("disk"), Key("minimal")));
  EXPECT_EQ(config.profile("disk").rootfs, fs::path("/srv/root.ext4"));
  EXPECT_EQ(config.profile("disk").init, "/sbin/init");  // the root's own init
  EXPECT_FALSE(config.profile("disk").busybox_userspace());

  // A kernel alone gets the built-in busybox userspace and its init.
  const Profile& p = config.profile("minimal");
  EXPECT_EQ(p.kernel, "/boot/vmlinuz-6.1.0-18-amd64");
  EXPECT_EQ(p.initrd, std::nullopt);
  EXPECT_EQ(p.rootfs, std::nullopt);
  EXPECT_EQ(p.modules, std::nullopt);
  EXPECT_EQ(p.init, "/provium-init");
  EXPECT_TRUE(p.busybox_userspace());
  EXPECT_EQ(p.append, "");
  EXPECT_EQ(p.accel, "auto");
  EXPECT_EQ(p.machine, "q35");
  EXPECT_EQ(p.transport, "auto");
  EXPECT_EQ(p.qemu, "qemu-system-x86_64");
  EXPECT_FALSE(p.builtin);
  EXPECT_THAT(p.origin, ElementsAre(Key("kernel")));
}

TEST(ConfigParse, EmptyFileHasNoProfiles) {
  EXPECT_TRUE(parse("# nothing yet\n", "/x/provium.toml").profiles.empty());
}

TEST(ConfigParse, UnknownProfileListsTheKnownOnes) {
  const Config config = load_file(data("two_profiles.toml"));
  EXPECT_EQ(error_of([&] { config.profile("nope"); }),
            "unknown profile 'nope'; " + data("two_profiles.toml").string() +
                " defines: disk, minimal");
}

struct BadFile {
  const char* file;
  int line;
  int column;
  const char* message;  // after "FILE:LINE:COLUMN: "
};

void PrintTo(const BadFile& bad, std::ostream* out) { *out << bad.file; }

class ConfigBadFile : public ::testing::TestWithParam<BadFile> {};

TEST_P(ConfigBadFile, ErrorNamesFileLineColumnAndKey) {
  const BadFile& bad = GetParam();
  const fs::path file = data(fs::path("bad") / bad.file);
  const std::string where = fmt::format("{}:{}:{}: ", file.string(), bad.line, bad.column);
  const std::string message = error_of([&] { load_file(file); });
  EXPECT_THAT(message, StartsWith(where));
  EXPECT_THAT(message, HasSubstr(bad.message));
}

INSTANTIATE_TEST_SUITE_P(
    Files, ConfigBadFile,
    ::testing::Values(
        BadFile{"syntax.toml", 3, 16, "string"},
        BadFile{"wrong_type.toml", 3, 10,
                "profile 'x': key 'kernel' must be a string, not an integer"},
        BadFile{"unknown_key.toml", 3, 1,
                "profile 'x': unknown key 'memory' (memory and cpus are boot options); "
                "allowed keys: kernel, initrd, rootfs, init, "
                "append, accel, machine, transport, kernel_boot, userspace, shares, modules, vmlinux, qemu"},
        BadFile{"top_level.toml", 4, 2, "unknown top-level table 'network'"},
        BadFile{"no_kernel.toml", 4, 1, "profile 'x' has no 'kernel'"},
        BadFile{"accel.toml", 3, 9,
                "profile 'x': key 'accel' must be one of auto, kvm, tcg, not 'hvf'"},
        BadFile{"transport.toml", 3, 13,
                "key 'transport' must be one of auto, virtio-serial, vsock, not 'tcp'"},
        BadFile{"kernel_boot.toml", 3, 15,
                "key 'kernel_boot' must be one of auto, pvh, bzimage, not 'elf'"},
        BadFile{"machine.toml", 3, 11, "key 'machine' must be one of q35, microvm, pc, not 'virt'"},
        BadFile{"not_table.toml", 2, 5, "profile 'x' must be a table, not a string"},
        BadFile{"profile_name.toml", 1, 10, "bad profile name 'my profile'"},
        BadFile{"empty_name.toml", 1, 10, "empty profile name"},
        BadFile{"empty_kernel.toml", 2, 10, "profile 'x': key 'kernel' must not be empty"},
        BadFile{"pool_memory.toml", 2, 10, "pool: key 'memory'"},
        BadFile{"pool_cpus.toml", 2, 8, "pool: key 'cpus' must be a positive integer"},
        BadFile{"pool_key.toml", 3, 1, "pool: unknown key 'vms'; allowed keys: memory, cpus"}),
    [](const auto& info) { return fs::path(info.param.file).stem().string(); });

// `shares` is an array of provium run's --share forms; HOST is relative to the file's directory.
TEST(ConfigParse, SharesAreAnArrayOfHostGuestForms) {
  const Config config = parse("[profile.p]\nkernel = 'k'\nshares = ['src', '/data:/mnt/data:ro', 'lib:/opt/lib']\n",
                              "/w/provium.toml");
  const auto& shares = config.profile("p").shares;
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0].host, "/w/src");
  EXPECT_EQ(shares[0].guest, "/w/src") << "HOST alone is shared at its own path";
  EXPECT_FALSE(shares[0].readonly);
  EXPECT_EQ(shares[1].host, "/data");
  EXPECT_EQ(shares[1].guest, "/mnt/data");
  EXPECT_TRUE(shares[1].readonly);
  EXPECT_EQ(shares[2].host, "/w/lib");
  EXPECT_EQ(shares[2].guest, "/opt/lib");
}

TEST(ConfigParse, BadSharesAndHostRootsAreErrorsNamingThePlace) {
  EXPECT_THAT(error_of([] { parse("[profile.p]\nkernel = 'k'\nshares = 'src'\n", "/w/provium.toml"); }),
              HasSubstr("/w/provium.toml:3:10: profile 'p': key 'shares' must be an array of strings, not a string"));
  EXPECT_THAT(error_of([] { parse("[profile.p]\nkernel = 'k'\nshares = [':/mnt']\n", "/w/provium.toml"); }),
              HasSubstr("/w/provium.toml:3:11: profile 'p': key 'shares': share \":/mnt\": give HOST, HOST:GUEST, "
                        "or either followed by :ro"));
  EXPECT_THAT(error_of([] { parse("[profile.p]\nkernel = 'k'\nuserspace = 'host'\nrootfs = 'r.img'\n", "/w/p.toml"); }),
              HasSubstr("profile 'p': userspace = \"host\" is the guest's root; it takes no rootfs"));
  EXPECT_THAT(error_of([] { parse("[profile.p]\nkernel = 'k'\nuserspace = 'debian'\n", "/w/p.toml"); }),
              HasSubstr("key 'userspace' must be one of busybox, host, not 'debian'"));
}

// userspace = "host": Provium's init on the host's root, no busybox.
TEST(ConfigParse, AHostRootProfileRunsProviumsInit) {
  const Profile& p = parse("[profile.p]\nkernel = 'k'\nuserspace = 'host'\n", "/w/p.toml").profile("p");
  EXPECT_TRUE(p.host_root);
  EXPECT_FALSE(p.busybox_userspace());
  EXPECT_EQ(p.init, "/provium-init");
}

TEST(ConfigParse, TopLevelKeyIsNamed) {
  EXPECT_EQ(error_of([] { parse("kernel = '/boot/vmlinuz'\n", "/x/provium.toml"); }),
            "/x/provium.toml:1:1: unknown top-level key 'kernel'; only [profile.NAME] tables, [pool] "
            "and [cache] are allowed");
}

TEST(ConfigParse, PoolTableSetsAFixedBudget) {
  auto config = parse("[pool]\nmemory = '2G'\ncpus = 3\n", "/x/provium.toml");
  EXPECT_EQ(config.pool.memory, 2ull << 30);
  EXPECT_EQ(config.pool.cpus, 3);
  EXPECT_FALSE(parse("", "/x/provium.toml").pool.memory);
}

TEST(ConfigParse, CacheTableSetsTheCachesLimit) {
  EXPECT_EQ(parse("[cache]\nsize = '5G'\n", "/x/provium.toml").cache_size, 5ull << 30);
  EXPECT_FALSE(parse("", "/x/provium.toml").cache_size);
  EXPECT_THAT(error_of([] { parse("[cache]\nsize = 'huge'\n", "/x/provium.toml"); }),
              HasSubstr("/x/provium.toml:2:8: cache: key 'size'"));
  EXPECT_THAT(error_of([] { parse("[cache]\nlimit = '5G'\n", "/x/provium.toml"); }),
              HasSubstr("cache: unknown key 'limit'; allowed keys: size"));
}

TEST(ConfigParse, ProfileMustBeATableOfTables) {
  EXPECT_EQ(error_of([] { parse("profile = 3\n", "/x/provium.toml"); }),
            "/x/provium.toml:1:11: 'profile' must be a table of [profile.NAME] tables, not an "
            "integer");
}

TEST(ConfigLoad, MissingFileIsNamed) {
  EXPECT_THAT(error_of([] { load_file(data("no-such.toml")); }),
              HasSubstr(data("no-such.toml").string() + ": No such file"));
}

TEST(ConfigLoad, DirectoryIsNotAConfig) {
  EXPECT_THAT(error_of([] { load_file(data("bad")); }), HasSubstr("is a directory"));
}

TEST(FindConfig, FromANestedDirectory) {
  TempDir tmp;
  write(tmp.path() / "provium.toml", "");
  fs::create_directories(tmp.path() / "a/b/c");
  EXPECT_EQ(find_config(tmp.path() / "a/b/c"), tmp.path() / "provium.toml");
  EXPECT_EQ(find_config(tmp.path() / "a/b/c/"), tmp.path() / "provium.toml");
  EXPECT_EQ(find_config(tmp.path()), tmp.path() / "provium.toml");
}

TEST(FindConfig, NearestWins) {
  TempDir tmp;
  write(tmp.path() / "provium.toml", "");
  write(tmp.path() / "a/provium.toml", "");
  fs::create_directories(tmp.path() / "a/b");
  EXPECT_EQ(find_config(tmp.path() / "a/b"), tmp.path() / "a/provium.toml");
}

TEST(FindConfig, NoneAnywhere) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "a/provium.toml");  // a directory of that name does not count
  EXPECT_EQ(find_config(tmp.path() / "a"), std::nullopt);
}

// current() reads process state: the working directory and the run's settings (PROVIUM_CONFIG,
// --provium_config). Each test starts from neither and puts them back.
class CurrentConfig : public ::testing::Test {
 protected:
  void SetUp() override { use_config(std::nullopt); }
  void TearDown() override { fs::current_path(saved_cwd_); }

  // What --provium_config=FILE does.
  static void use_config(const std::optional<fs::path>& file) {
    base::Settings settings = *base::settings();
    settings.set("PROVIUM_CONFIG", file ? file->string() : "", "--provium_config");
    base::replace_settings(std::move(settings));
  }

  fs::path saved_cwd_ = fs::current_path();
  base::ScopedSettings saved_settings_{};
};

TEST_F(CurrentConfig, BuiltinDefaultIsAddedWhenTheFileHasNone) {
  use_config(data("two_profiles.toml"));
  const Config& config = current();
  EXPECT_EQ(config.file, data("two_profiles.toml"));
  ASSERT_THAT(config.profiles, ElementsAre(Key("default"), Key("disk"), Key("minimal")));
  const Profile& p = config.profile("default");
  EXPECT_TRUE(p.builtin);
  EXPECT_EQ(p.init, "/provium-init");
  EXPECT_EQ(p.describe(), "built-in profile 'default'");
  EXPECT_EQ(error_of([&] { config.profile("nope"); }),
            "unknown profile 'nope'; " + data("two_profiles.toml").string() +
                " defines: disk, minimal; besides them the built-in profile 'default' exists");
}

TEST_F(CurrentConfig, UserDefinedDefaultWins) {
  use_config(data("with_default.toml"));
  const Profile& p = current().profile("default");
  EXPECT_FALSE(p.builtin);
  EXPECT_EQ(p.kernel, "/srv/kernels/my-bzImage");
  EXPECT_EQ(p.init, "/sbin/init");
}

TEST_F(CurrentConfig, TheSettingsNameTheFileOverTheWorkingDirectory) {
  TempDir tmp;
  write(tmp.path() / "provium.toml", "[profile.here]\nkernel = 'bzImage'\n");
  fs::current_path(tmp.path());
  use_config(data("full.toml"));
  EXPECT_EQ(reload().file, data("full.toml"));
}

TEST_F(CurrentConfig, IsCachedAndEarlierReferencesStayValid) {
  use_config(data("full.toml"));
  const Config& first = current();
  EXPECT_EQ(&current(), &first);
  use_config(data("two_profiles.toml"));
  EXPECT_EQ(current().file, data("two_profiles.toml"));
  EXPECT_EQ(first.file, data("full.toml"));
}

TEST_F(CurrentConfig, ConcurrentFirstCallsShareOneLoad) {
  use_config(data("full.toml"));
  std::vector<const Config*> seen(8);
  std::vector<std::thread> threads;
  for (const Config*& slot : seen) threads.emplace_back([&slot] { slot = &current(); });
  for (std::thread& thread : threads) thread.join();
  for (const Config* config : seen) EXPECT_EQ(config, seen.front());
}

TEST_F(CurrentConfig, FoundFromTheWorkingDirectory) {
  TempDir tmp;
  write(tmp.path() / "provium.toml", "[profile.here]\nkernel = 'bzImage'\n");
  fs::create_directories(tmp.path() / "src/deep");
  fs::current_path(tmp.path() / "src/deep");
  const Config& config = reload();
  EXPECT_EQ(config.file, tmp.path() / "provium.toml");
  EXPECT_EQ(config.profile("here").kernel, tmp.path() / "bzImage");
}

TEST_F(CurrentConfig, NoFileLeavesOnlyTheBuiltinDefault) {
  TempDir tmp;
  fs::current_path(tmp.path());
  const Config& config = reload();
  EXPECT_EQ(config.file, std::nullopt);
  ASSERT_THAT(config.profiles, ElementsAre(Key("default")));
  EXPECT_TRUE(config.profile("default").builtin);
  EXPECT_EQ(error_of([&] { config.profile("x"); }),
            "unknown profile 'x'; no provium.toml found from " + tmp.path().string() +
                "; only the built-in profile 'default' exists");
}

TEST_F(CurrentConfig, BrokenFileIsReportedAndRetried) {
  use_config(data("bad/accel.toml"));
  EXPECT_THAT(error_of([] { current(); }), HasSubstr("key 'accel'"));
  use_config(data("full.toml"));
  EXPECT_EQ(current().file, data("full.toml"));
}

TEST(BuiltinDefaultProfile, PicksTheNewestKernelInVersionOrder) {
  TempDir boot;
  for (const char* name : {"vmlinuz-6.1.0-18-amd64", "vmlinuz-6.10.0-1-amd64",
                           "vmlinuz-6.9.12-amd64", "vmlinuz-6.10.0-0-amd64", "vmlinuz",
                           "config-7.0.0", "initrd.img-7.0.0"}) {
    write(boot.path() / name, "");
  }
  fs::create_directories(boot.path() / "vmlinuz-9.9.9");  // not a file
  const Profile p = builtin_default_profile(boot.path());
  EXPECT_EQ(p.kernel, boot.path() / "vmlinuz-6.10.0-1-amd64");
  EXPECT_EQ(p.name, "default");
  EXPECT_TRUE(p.builtin);
  EXPECT_EQ(p.init, "/provium-init");
  EXPECT_EQ(p.initrd, std::nullopt);
  EXPECT_EQ(p.modules, std::nullopt);
  EXPECT_EQ(p.kernel_origin(), "the newest /boot/vmlinuz-*");
}

TEST(BuiltinDefaultProfile, NoKernelLeavesItEmpty) {
  TempDir boot;
  write(boot.path() / "config-6.1.0", "");
  EXPECT_EQ(builtin_default_profile(boot.path()).kernel, fs::path());
  EXPECT_EQ(builtin_default_profile(boot.path() / "missing").kernel, fs::path());
}

}  // namespace
}  // namespace provium::config
