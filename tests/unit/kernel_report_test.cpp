// The kernel report parser on reports as the 6.1 kernel prints them on a serial console:
// where each starts and ends, its title, with interleaved lines and missing end markers.
#include "kernel/report.h"
#include "vm/kernel_reports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <provium/error.h>

#include "support/temp_dir.h"

namespace {

using provium::kernel::describe_reports;
using provium::kernel::find_reports;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

auto Titled(const std::string& title) { return Field(&provium::kernel::Report::title, title); }

// A WARN_ON(1) in a module's init, as the Debian cloud kernel prints it, with a line of
// userspace output (no timestamp) in the middle and the boot's lines around it.
constexpr const char* kWarnOn =
    "[    1.90] virtio_console virtio1: ready\r\n"
    "[    2.10] provium_warn: loading out-of-tree module taints kernel.\r\n"
    "[    2.11] ------------[ cut here ]------------\r\n"
    "[    2.11] WARNING: CPU: 0 PID: 97 at /tmp/mod/provium_warn.c:3 provium_warn_init+0x5/0x1000 [provium_warn]\r\n"
    "[    2.12] Modules linked in: provium_warn(OE+) virtio_console virtio_pci\r\n"
    "[    2.12] CPU: 0 PID: 97 Comm: insmod Tainted: G           OE      6.1.0-57-cloud-amd64 #1  Debian 6.1.192-3\r\n"
    "[    2.13] RIP: 0010:provium_warn_init+0x5/0x1000 [provium_warn]\r\n"
    "hello from userspace\r\n"
    "[    2.14] Call Trace:\r\n"
    "[    2.14]  <TASK>\r\n"
    "[    2.14]  do_one_initcall+0x44/0x220\r\n"
    "[    2.15]  </TASK>\r\n"
    "[    2.15] ---[ end trace 0000000000000000 ]---\r\n"
    "[    2.20] random: crng init done\r\n";

TEST(KernelReportTest, AWarningRunsFromCutHereToItsEndTrace) {
  const auto reports = find_reports(kWarnOn);
  ASSERT_THAT(reports, SizeIs(1));
  const auto& warning = reports[0];
  EXPECT_EQ(warning.title,
            "WARNING: CPU: 0 PID: 97 at /tmp/mod/provium_warn.c:3 provium_warn_init+0x5/0x1000 [provium_warn]");
  EXPECT_THAT(warning.text, StartsWith("[    2.11] ------------[ cut here ]------------\n"));
  EXPECT_THAT(warning.text, EndsWith("[    2.15] ---[ end trace 0000000000000000 ]---\n"));
  EXPECT_THAT(warning.text, Not(HasSubstr("hello from userspace")));  // interleaved, not the kernel's
  EXPECT_THAT(warning.text, Not(HasSubstr("crng")));
  EXPECT_THAT(warning.text, Not(HasSubstr("taints kernel")));
  EXPECT_EQ(warning.lines, 10u);
  EXPECT_FALSE(warning.is_hang());
}

// A console of the corpus, tests/data/kernel-reports/: its header ("# title: ..." lines, the
// titles the kernel's reports in it must get, in order) and the console after it.
struct CapturedConsole {
  std::vector<std::string> titles;
  std::string console;
};

CapturedConsole read_captured(const std::filesystem::path& file) {
  std::ifstream in(file);
  CapturedConsole captured;
  std::string line;
  constexpr std::string_view kTitle = "# title: ";
  while (in.peek() == '#' && std::getline(in, line))
    if (line.starts_with(kTitle)) captured.titles.push_back(line.substr(kTitle.size()));
  captured.console.assign(std::istreambuf_iterator<char>(in), {});
  return captured;
}

std::filesystem::path corpus() { return std::filesystem::path(std::getenv("PROVIUM_TEST_DATA")) / "kernel-reports"; }

// Real consoles of real kernels (the e2e test debug_kernel writes them with
// PROVIUM_CAPTURE_REPORTS; docs/development.md): each report found whole, titled as its header says.
TEST(KernelReportCorpus, EveryCapturedConsoleGivesTheTitlesOfItsHeader) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus())) {
    if (entry.path().extension() != ".console") continue;
    files.push_back(entry.path().filename().string());
    const auto captured = read_captured(entry.path());
    ASSERT_FALSE(captured.titles.empty()) << entry.path() << " has no \"# title:\" header";
    std::vector<std::string> titles;
    for (const auto& report : find_reports(captured.console)) titles.push_back(report.title);
    EXPECT_EQ(titles, captured.titles) << entry.path();
  }
  // What the corpus must cover, so that a lost file fails too.
  EXPECT_THAT(files, ::testing::IsSupersetOf({"warn_on_module.console", "use-after-free.console",
                                              "out-of-bounds.console", "lock-order.console",
                                              "refcount-underflow.console", "hung-task.console",
                                              "null-dereference.console"}));
}

// The console of a VM into which a module whose init calls WARN_ON(1) was loaded, as the 6.1
// cloud kernel printed it (the e2e test `debian` builds and loads that module).
TEST(KernelReportTest, ARealWarnOnReportIsFoundWhole) {
  const std::string console = read_captured(corpus() / "warn_on_module.console").console;
  ASSERT_FALSE(console.empty());
  const auto reports = find_reports(console);
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].title,
            "WARNING: CPU: 0 PID: 80 at /tmp/provium_warn/provium_warn.c:2 provium_warn_init+0x5/0x1000 [provium_warn]");
  EXPECT_THAT(reports[0].text, StartsWith("[    2.160960] ------------[ cut here ]------------\n"));
  EXPECT_THAT(reports[0].text, HasSubstr("Code: Unable to access opcode bytes"));  // no second report
  EXPECT_THAT(reports[0].text, EndsWith("[    2.168173] ---[ end trace 0000000000000000 ]---\n"));
  EXPECT_EQ(reports[0].lines, 45u);
}

TEST(KernelReportTest, AWarnsMessageIsInTheHeaderBeforeTheTitle) {
  const auto reports = find_reports(
      "[    5.00] ------------[ cut here ]------------\n"
      "[    5.00] refcount_t: underflow; use-after-free.\n"
      "[    5.01] WARNING: CPU: 1 PID: 120 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110\n"
      "[    5.01] Modules linked in:\n"
      "[    5.02] ---[ end trace 0000000000000000 ]---\n");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].title, "WARNING: CPU: 1 PID: 120 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110");
  EXPECT_EQ(reports[0].header,
            "refcount_t: underflow; use-after-free.\n"
            "WARNING: CPU: 1 PID: 120 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110");
}

TEST(KernelReportTest, KasanRunsBetweenItsRules) {
  const auto reports = find_reports(
      "[   10.00] ==================================================================\n"
      "[   10.00] BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x1a0/0x2e0 [test_kasan]\n"
      "[   10.01] Write of size 1 at addr ffff888004a2c173 by task kunit_try_catch/150\n"
      "[   10.01] \n"
      "[   10.02] Allocated by task 150:\n"
      "[   10.02]  kmalloc_oob_right+0x80/0x2e0 [test_kasan]\n"
      "[   10.03] ==================================================================\n"
      "[   10.03] Disabling lock debugging due to kernel taint\n");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].title, "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x1a0/0x2e0 [test_kasan]");
  EXPECT_THAT(reports[0].text, StartsWith("[   10.00] ====="));
  EXPECT_THAT(reports[0].text, EndsWith("=====\n"));
  EXPECT_EQ(reports[0].lines, 7u);
}

TEST(KernelReportTest, UbsanRunsBetweenItsRules) {
  const auto reports = find_reports(
      "[    3.00] ================================================================================\n"
      "[    3.00] UBSAN: array-index-out-of-bounds in drivers/misc/ubsan_demo.c:12:9\n"
      "[    3.00] index 5 is out of range for type 'int [4]'\n"
      "[    3.01] ================================================================================\n");
  EXPECT_THAT(reports, ElementsAre(Titled("UBSAN: array-index-out-of-bounds in drivers/misc/ubsan_demo.c:12:9")));
}

// lockdep prints no end marker: the report ends where the kernel fell silent.
TEST(KernelReportTest, ALockdepReportWithoutEndMarkerEndsAtTheNextSilence) {
  const auto reports = find_reports(
      "[   20.00] \n"
      "[   20.00] ======================================================\n"
      "[   20.00] WARNING: possible circular locking dependency detected\n"
      "[   20.00] 6.1.0-57-cloud-amd64 #1 Tainted: G           OE\n"
      "[   20.01] ------------------------------------------------------\n"
      "[   20.01] insmod/131 is trying to acquire lock:\n"
      "[   20.02] \n"
      "[   20.02] other info that might help us debug this:\n"
      "[   20.03]  *** DEADLOCK ***\n"
      "[   45.00] EXT4-fs (vda): mounted filesystem\n");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].title, "WARNING: possible circular locking dependency detected");
  EXPECT_THAT(reports[0].text, HasSubstr("*** DEADLOCK ***"));
  EXPECT_THAT(reports[0].text, Not(HasSubstr("EXT4-fs")));
}

TEST(KernelReportTest, AnOopsAndThePanicAfterItAreTwoReports) {
  const auto reports = find_reports(
      "[    7.00] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
      "[    7.00] #PF: supervisor write access in kernel mode\n"
      "[    7.00] Oops: 0002 [#1] PREEMPT SMP NOPTI\n"
      "[    7.01] RIP: 0010:null_init+0x5/0x1000 [null]\n"
      "[    7.01] ---[ end trace 0000000000000000 ]---\n"
      "[    7.02] RIP: 0010:null_init+0x5/0x1000 [null]\n"
      "[    7.03] Kernel panic - not syncing: Fatal exception\n"
      "[    7.03] Kernel Offset: disabled\n"
      "[    7.04] ---[ end Kernel panic - not syncing: Fatal exception ]---\n");
  EXPECT_THAT(reports, ElementsAre(Titled("BUG: kernel NULL pointer dereference, address: 0000000000000000"),
                                   Titled("Kernel panic - not syncing: Fatal exception")));
  ASSERT_THAT(reports, SizeIs(2));
  EXPECT_THAT(reports[0].text, HasSubstr("Oops: 0002"));
  EXPECT_THAT(reports[1].text, EndsWith("---[ end Kernel panic - not syncing: Fatal exception ]---\n"));
}

TEST(KernelReportTest, AListCorruptionMessageLeadsToItsKernelBug) {
  const auto reports = find_reports(
      "[    9.00] list_add corruption. next->prev should be prev (ffff8880), but was 0000000000000000.\n"
      "[    9.00] ------------[ cut here ]------------\n"
      "[    9.00] kernel BUG at lib/list_debug.c:27!\n"
      "[    9.01] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n"
      "[    9.02] ---[ end trace 0000000000000000 ]---\n");
  ASSERT_THAT(reports, ElementsAre(Titled("kernel BUG at lib/list_debug.c:27!")));
  EXPECT_THAT(reports[0].header, StartsWith("list_add corruption."));
  EXPECT_THAT(reports[0].text, HasSubstr("invalid opcode"));
}

TEST(KernelReportTest, HangsAreKnownAsHangs) {
  const auto reports = find_reports(
      "[  123.40] INFO: task cat:99 blocked for more than 120 seconds.\n"
      "[  123.40]       Not tainted 6.1.0-57-cloud-amd64 #1 Debian 6.1.192-3\n"
      "[  123.41] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n"
      "[  150.00] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:120]\n"
      "[  150.01] Modules linked in: hang(OE+)\n"
      "[  180.00] rcu: INFO: rcu_preempt self-detected stall on CPU\n"
      "[  180.00] rcu: \t0-....: (21000 ticks this GP)\n"
      "[  181.00] WARNING: CPU: 0 PID: 1 at kernel/x.c:1 x+0x1/0x2\n");
  EXPECT_THAT(reports, ElementsAre(Titled("INFO: task cat:99 blocked for more than 120 seconds."),
                                   Titled("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:120]"),
                                   Titled("rcu: INFO: rcu_preempt self-detected stall on CPU"),
                                   Titled("WARNING: CPU: 0 PID: 1 at kernel/x.c:1 x+0x1/0x2")));
  ASSERT_THAT(reports, SizeIs(4));
  EXPECT_TRUE(reports[0].is_hang());
  EXPECT_TRUE(reports[1].is_hang());
  EXPECT_TRUE(reports[2].is_hang());
  EXPECT_FALSE(reports[3].is_hang());  // a report at the end of the text, without its end
  EXPECT_EQ(reports[0].lines, 3u);
}

TEST(KernelReportTest, TwoWarningsWithoutEndMarkersAreTwoReports) {
  const auto reports = find_reports(
      "[    1.0] ------------[ cut here ]------------\n"
      "[    1.0] WARNING: CPU: 0 PID: 1 at a.c:1 a+0x1/0x2\n"
      "[    1.1] Call Trace:\n"
      "[    1.2] ------------[ cut here ]------------\n"
      "[    1.2] WARNING: CPU: 0 PID: 1 at b.c:2 b+0x1/0x2\n");
  EXPECT_THAT(reports, ElementsAre(Titled("WARNING: CPU: 0 PID: 1 at a.c:1 a+0x1/0x2"),
                                   Titled("WARNING: CPU: 0 PID: 1 at b.c:2 b+0x1/0x2")));
}

TEST(KernelReportTest, ACallerIdAndKfenceAndSlubReportsAreRead) {
  const auto reports = find_reports(
      "[    4.00][  T101] BUG: KFENCE: use-after-free read in test_uaf+0x10/0x20\n"
      "[    4.10] =============================================================================\n"
      "[    4.10] BUG kmalloc-128 (Tainted: G    B): Object already free\n"
      "[    4.10] -----------------------------------------------------------------------------\n");
  EXPECT_THAT(reports, ElementsAre(Titled("BUG: KFENCE: use-after-free read in test_uaf+0x10/0x20"),
                                   Titled("BUG kmalloc-128 (Tainted: G    B): Object already free")));
}

TEST(KernelReportTest, OrdinaryLinesAreNoReports) {
  EXPECT_THAT(find_reports("[    0.90] Run /init as init process\n"
                           "[    1.00] systemd[1]: WARNING: not a kernel report\n"
                           "[    1.10] ACPI: PM: BUG: is mentioned mid-line\n"
                           "provium-wrapper: the agent (pid 93) was killed by signal 9 (Killed)\n"
                           "WARNING in the middle of nothing: no colon after the word\n"
                           "=============================================================\n"),
              SizeIs(0));
  EXPECT_THAT(find_reports(""), SizeIs(0));
}

TEST(KernelReportTest, APreambleWithoutHeadlineIsNamedByItsMessage) {
  const auto reports = find_reports("[    2.0] ------------[ cut here ]------------\n"
                                    "[    2.0] refcount_t: saturated; leaking memory.\n");
  EXPECT_THAT(reports, ElementsAre(Titled("refcount_t: saturated; leaking memory.")));
}

TEST(KernelReportTest, LongReportsAreCappedAndDescribedTrimmed) {
  std::string console = "[    1.0] WARNING: CPU: 0 PID: 1 at a.c:1 a+0x1/0x2\n";
  for (int i = 0; i < 500; ++i) console += "[    1.1]  frame" + std::to_string(i) + "+0x1/0x2\n";
  const auto reports = find_reports(console);
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].lines, 501u);
  EXPECT_THAT(reports[0].text, HasSubstr("frame398+"));
  EXPECT_THAT(reports[0].text, Not(HasSubstr("frame399+")));
  const std::string described = describe_reports(reports, 5, 3);
  EXPECT_EQ(described,
            "--- kernel report: WARNING: CPU: 0 PID: 1 at a.c:1 a+0x1/0x2 ---\n"
            "[    1.0] WARNING: CPU: 0 PID: 1 at a.c:1 a+0x1/0x2\n"
            "[    1.1]  frame0+0x1/0x2\n"
            "[    1.1]  frame1+0x1/0x2\n"
            "... (498 more lines of this report in the console log)\n");
}

TEST(KernelReportTest, ReportsBeyondTheFirstFewAreNamedOnly) {
  std::string console;
  for (int i = 0; i < 4; ++i) console += "[    1.0] WARNING: CPU: 0 PID: 1 at w" + std::to_string(i) + ".c:1 w+0x1/0x2\n";
  const std::string described = describe_reports(find_reports(console), 2, 10);
  EXPECT_THAT(described, HasSubstr("--- kernel report: WARNING: CPU: 0 PID: 1 at w1.c:1"));
  EXPECT_THAT(described, EndsWith("--- 2 more kernel reports ---\n"
                                  "WARNING: CPU: 0 PID: 1 at w2.c:1 w+0x1/0x2\n"
                                  "WARNING: CPU: 0 PID: 1 at w3.c:1 w+0x1/0x2\n"));
}

// One VM's watch over its console: each check sees only what came since the last one (whole
// lines), sorts it by the expectations, then forgets them.
TEST(KernelReportWatchTest, EachCheckSeesTheNewLinesAgainstItsExpectations) {
  provium::testing::TempDir dir;
  const auto console = dir.path() / "console.log";
  auto append = [&](const std::string& text) { std::ofstream(console, std::ios::app) << text; };
  provium::vm::KernelReportWatch watch(console);

  append("[    1.0] WARNING: CPU: 0 PID: 1 at mm/a.c:1 a+0x1/0x2\n[    1.1] WARNING: CPU: 0 PID: 1 at fs/b");
  watch.expect("WARNING: .* at mm/");
  watch.expect("KASAN");
  auto check = watch.check();
  ASSERT_THAT(check.expected, SizeIs(1));
  EXPECT_EQ(check.expected[0].title, "WARNING: CPU: 0 PID: 1 at mm/a.c:1 a+0x1/0x2");
  EXPECT_THAT(check.unexpected, SizeIs(0));  // the unfinished line waits for the next check
  EXPECT_THAT(check.missing, ElementsAre("KASAN"));
  EXPECT_FALSE(check.ok());

  append(".c:2 b+0x1/0x2\n");
  check = watch.check();  // the expectations are gone
  ASSERT_THAT(check.unexpected, SizeIs(1));
  EXPECT_EQ(check.unexpected[0].title, "WARNING: CPU: 0 PID: 1 at fs/b.c:2 b+0x1/0x2");
  EXPECT_THAT(check.describe(), HasSubstr("the kernel reported a bug that no expect_kernel_report declared:\n"
                                          "--- kernel report: WARNING: CPU: 0 PID: 1 at fs/b.c:2"));

  append("[    2.0] BUG: KASAN: use-after-free in c+0x1/0x2\n");
  EXPECT_TRUE(watch.check(false).ok());  // consumed unchecked
  EXPECT_TRUE(watch.check().ok());
}

TEST(KernelReportWatchTest, AMalformedExpectationIsRefusedAtOnce) {
  provium::testing::TempDir dir;
  provium::vm::KernelReportWatch watch(dir.path() / "console.log");
  EXPECT_THAT([&] { watch.expect("WARNING: (unclosed"); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("expect_kernel_report(\"WARNING: (unclosed\"): not a regular expression")));
  EXPECT_TRUE(watch.check().ok());  // nothing was declared
}

}  // namespace
