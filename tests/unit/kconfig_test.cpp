// Kernel configurations: .config text read and written, what changed, Provium's fragments and
// what a kernel needs to boot under Provium (src/kernel/kconfig.h).
#include "kernel/kconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/error.h>

#include "support/temp_dir.h"

namespace {

using provium::kernel::KernelConfig;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(KernelConfig, ReadsValuesAndUnsetOptions) {
  const auto config = KernelConfig::parse(
      "#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_64BIT=y\nCONFIG_VIRTIO_CONSOLE=m\n"
      "# CONFIG_KASAN is not set\nCONFIG_NR_CPUS=64\nCONFIG_LOCALVERSION=\"-kacs\"\n\n",
      ".config");
  EXPECT_EQ(config.value_of("CONFIG_64BIT"), "y");
  EXPECT_EQ(config.value_of("CONFIG_VIRTIO_CONSOLE"), "m");
  EXPECT_EQ(config.value_of("CONFIG_KASAN"), "n");
  EXPECT_EQ(config.value_of("CONFIG_NEVER_MENTIONED"), "n");
  EXPECT_EQ(config.value_of("CONFIG_NR_CPUS"), "64");
  EXPECT_EQ(config.value_of("CONFIG_LOCALVERSION"), "\"-kacs\"");
  EXPECT_TRUE(config.enabled("CONFIG_VIRTIO_CONSOLE"));
  EXPECT_FALSE(config.enabled("CONFIG_KASAN"));
  // Written back as make writes it, and read again to the same values.
  EXPECT_THAT(config.text(), HasSubstr("# CONFIG_KASAN is not set\n"));
  EXPECT_EQ(KernelConfig::parse(config.text(), "again").options(), config.options());
}

TEST(KernelConfig, ALineThatIsNoOptionIsAnErrorNamingIt) {
  EXPECT_THAT([] { KernelConfig::parse("CONFIG_64BIT=y\nVIRTIO=y\n", "frag.config"); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("frag.config:2: not a kernel configuration line: VIRTIO=y")));
}

TEST(KernelConfig, ChangesListEachOptionWhoseValueDiffers) {
  const auto before = KernelConfig::parse("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\n", "before");
  const auto after = KernelConfig::parse("CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_D=1\n", "after");
  EXPECT_THAT(provium::kernel::changes(before, after),
              ElementsAre(AllOf(Field(&provium::kernel::ConfigChange::option, "CONFIG_B"),
                                Field(&provium::kernel::ConfigChange::before, "m"),
                                Field(&provium::kernel::ConfigChange::after, "y")),
                          Field(&provium::kernel::ConfigChange::option, "CONFIG_C"),
                          Field(&provium::kernel::ConfigChange::option, "CONFIG_D")));
}

// The fragment that `provium kconfig` applies gives every option the boot check asks for: a
// kernel configured by it never fails the check.
TEST(ProviumFragment, SetsEveryOptionTheBootCheckNeeds) {
  const auto fragment = provium::kernel::provium_fragment(false);
  for (const std::string& option : provium::kernel::required_options())
    EXPECT_EQ(fragment.value_of(option), "y") << option << " is checked before a boot but kconfig/provium.config does not set it";
  EXPECT_THAT(provium::kernel::missing_options(fragment, {.virtio_console = true, .vsock = true, .disks = true}), IsEmpty());
}

TEST(ProviumFragment, DebugAddsWhatDebuggingWants) {
  const auto debug = provium::kernel::provium_fragment(true);
  for (const char* option : {"CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_DEBUG_KMEMLEAK", "CONFIG_GDB_SCRIPTS",
                             "CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT", "CONFIG_FRAME_POINTER"})
    EXPECT_EQ(debug.value_of(option), "y") << option;
  EXPECT_EQ(debug.value_of("CONFIG_RANDOMIZE_BASE"), "n");
  EXPECT_EQ(debug.value_of("CONFIG_VIRTIO_CONSOLE"), "y") << "--debug is on top of what Provium needs";
  EXPECT_EQ(provium::kernel::provium_fragment(false).value_of("CONFIG_KASAN"), "n");
}

TEST(MissingOptions, NameTheOptionAndWhatItGives) {
  const auto tiny = KernelConfig::parse("# CONFIG_64BIT is not set\nCONFIG_PRINTK=y\n", "tiny");
  const auto missing = provium::kernel::missing_options(tiny, {.virtio_console = true});
  EXPECT_THAT(missing, Contains(AllOf(Field(&provium::kernel::MissingOption::option, "CONFIG_64BIT"),
                                      Field(&provium::kernel::MissingOption::what, HasSubstr("64-bit")))));
  EXPECT_THAT(missing, Contains(Field(&provium::kernel::MissingOption::option, "CONFIG_VIRTIO_CONSOLE")));
  EXPECT_THAT(missing, Not(Contains(Field(&provium::kernel::MissingOption::option, "CONFIG_PRINTK"))));
}

// Provium loads the virtio drivers itself: as modules they count; the rest must be built in.
TEST(MissingOptions, ATransportsDriverMayBeAModuleAndIsAskedOnlyForThatTransport) {
  auto config = provium::kernel::provium_fragment(false);
  config.set("CONFIG_VIRTIO_CONSOLE", "m");
  config.set("CONFIG_VIRTIO_VSOCKETS", "n");
  config.set("CONFIG_VIRTIO_BLK", "n");
  EXPECT_THAT(provium::kernel::missing_options(config, {.virtio_console = true}), IsEmpty());
  EXPECT_THAT(provium::kernel::missing_options(config, {.vsock = true}),
              ElementsAre(Field(&provium::kernel::MissingOption::option, "CONFIG_VIRTIO_VSOCKETS")));
  EXPECT_THAT(provium::kernel::missing_options(config, {.disks = true}),
              ElementsAre(Field(&provium::kernel::MissingOption::option, "CONFIG_VIRTIO_BLK")));
  config.set("CONFIG_DEVTMPFS", "m");
  EXPECT_THAT(provium::kernel::missing_options(config, {}),
              ElementsAre(Field(&provium::kernel::MissingOption::option, "CONFIG_DEVTMPFS")));
}

// For a kernel whose configuration could not be read before the boot, its console names what it
// lacks; a console that says nothing of the kind gets no guess.
TEST(DiagnoseConsole, NamesWhatTheConsoleShowsMissing) {
  using provium::kernel::diagnose_console;
  EXPECT_THAT(diagnose_console("  \n"), AllOf(HasSubstr("wrote nothing"), HasSubstr("CONFIG_SERIAL_8250_CONSOLE"),
                                              HasSubstr("provium kconfig")));
  EXPECT_THAT(diagnose_console("[    3.1] provium-agent: no virtio-serial port named provium.0 after 10 s: ...\n"),
              HasSubstr("(CONFIG_VIRTIO_CONSOLE)"));
  EXPECT_THAT(diagnose_console("[    0.9] Failed to execute /provium-wrapper (error -8)\n"),
              AllOf(HasSubstr("CONFIG_64BIT"), HasSubstr("CONFIG_BINFMT_ELF")));
  EXPECT_THAT(diagnose_console("[    0.9] VFS: Cannot open root device \"(null)\"\n[    0.9] Kernel panic - not syncing: VFS: "
                               "Unable to mount root fs on unknown-block(0,0)\n"),
              HasSubstr("CONFIG_BLK_DEV_INITRD"));
  // An initramfs whose rdinit is wrong is not a missing option.
  EXPECT_EQ(diagnose_console("[    0.9] Failed to execute /nonexistent (error -2)\n[    0.9] Kernel panic - not syncing: No "
                             "working init found.\n"),
            "");
  EXPECT_EQ(diagnose_console("[    1.0] provium-wrapper: cannot exec init /sbin/init: No such file or directory\n"), "");
}

TEST(ConfigOfImage, FindsTheBuildTreesAndDebiansConfiguration) {
  provium::testing::TempDir dir;
  const auto image = dir.write("linux/arch/x86/boot/bzImage", "image");
  EXPECT_EQ(provium::kernel::config_of_image(image), std::nullopt);
  const auto config = dir.write("linux/.config", "CONFIG_64BIT=y\n");
  EXPECT_EQ(provium::kernel::config_of_image(image), config);
  EXPECT_EQ(provium::kernel::config_of_image(dir.write("linux/vmlinux", "elf")), config);
  const auto boot = dir.write("boot/vmlinuz-6.1.0-9-cloud-amd64", "image");
  EXPECT_EQ(provium::kernel::config_of_image(boot), std::nullopt);
  const auto debian = dir.write("boot/config-6.1.0-9-cloud-amd64", "CONFIG_64BIT=y\n");
  EXPECT_EQ(provium::kernel::config_of_image(boot), debian);
}

}  // namespace
