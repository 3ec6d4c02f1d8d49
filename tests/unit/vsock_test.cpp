// The vsock transport's host pieces that need no /dev/vhost-vsock: CID leases (unique across
// processes, collisions with VMs that are not ours, the reuse delay), the choice of transport
// (auto, forced, the override) and its error, the guest modules it needs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include <provium/error.h>

#include "base/settings.h"
#include "config/profile.h"
#include "host/transport.h"
#include "initramfs/modules.h"
#include "support/temp_dir.h"
#include "transport/cid.h"
#include "transport/selection.h"

using namespace provium;
using namespace std::chrono_literals;
using provium::testing::TempDir;
using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Throws;
using ::testing::ThrowsMessage;
using ::testing::WhenDynamicCastTo;
using transport::CidAllocator;
using transport::CidLease;

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every process gets its own CIDs, even when they all ask at the same moment, and together
// they get the lowest ones.
TEST(CidAllocatorTest, ConcurrentProcessesGetDistinctCids) {
  TempDir dir;
  const auto leases = dir.path() / "cids";  // created by the racing children themselves
  constexpr int kChildren = 8, kEach = 4;
  int results[2], hold[2];
  ASSERT_EQ(::pipe(results), 0);
  ASSERT_EQ(::pipe(hold), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kChildren; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(results[0]);
      ::close(hold[1]);
      int status = 0;
      try {
        CidAllocator allocator({.dir = leases});
        std::vector<CidLease> held;
        for (int k = 0; k < kEach; ++k) {
          held.push_back(allocator.acquire());
          const uint32_t cid = held.back().cid();
          if (::write(results[1], &cid, sizeof cid) != sizeof cid) status = 2;
        }
        char byte;
        (void)!::read(hold[0], &byte, 1);  // holds every lease until the parent has seen all
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  ::close(results[1]);
  ::close(hold[0]);
  std::multiset<uint32_t> cids;
  uint32_t cid;
  for (int i = 0; i < kChildren * kEach && ::read(results[0], &cid, sizeof cid) == sizeof cid; ++i)
    cids.insert(cid);
  ::close(hold[1]);  // the children give their CIDs back and exit
  ::close(results[0]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::multiset<uint32_t> expected;
  for (uint32_t c = 10; c < 10 + kChildren * kEach; ++c) expected.insert(c);
  EXPECT_EQ(cids, expected);
}

TEST(CidAllocatorTest, HeldCidIsSkippedAndTheLowestFreeOneTaken) {
  TempDir dir;
  CidAllocator one({.dir = dir.path()});
  CidAllocator other({.dir = dir.path()});  // another open file, as another process has
  CidLease first = one.acquire();
  CidLease second = other.acquire();
  EXPECT_EQ(first.cid(), 10u);
  EXPECT_EQ(second.cid(), 11u);
  EXPECT_THAT(read_text(dir.path() / "cid-10"), HasSubstr("held by pid " + std::to_string(::getpid())));
}

TEST(CidAllocatorTest, JustReleasedCidIsNotHandedOutBeforeTheReuseDelay) {
  TempDir dir;
  CidAllocator allocator({.dir = dir.path(), .reuse_delay = 600ms});
  CidLease lease = allocator.acquire();
  ASSERT_EQ(lease.cid(), 10u);
  lease.release();
  EXPECT_FALSE(lease.held());
  EXPECT_THAT(read_text(dir.path() / "cid-10"), HasSubstr("free after "));
  EXPECT_EQ(allocator.acquire().cid(), 11u);  // 10 cools down (11 is given back at once too)
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(allocator.acquire().cid(), 10u);
}

TEST(CidAllocatorTest, CidOfAProcessThatDiedHoldingItIsFreeAtOnce) {
  TempDir dir;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      CidAllocator allocator({.dir = dir.path()});
      CidLease lease = allocator.acquire();
      ::_exit(lease.cid() == 10 ? 0 : 1);  // dies holding it: no "free after" written
    } catch (...) {
      ::_exit(2);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CidAllocator allocator({.dir = dir.path()});
  EXPECT_EQ(allocator.acquire().cid(), 10u);
}

TEST(CidAllocatorTest, ReleaseTimeFromAClockSetBackIsIgnored) {
  TempDir dir;
  const auto far = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24))
                       .count();
  dir.write("cid-10", "free after " + std::to_string(far) + "\n");
  CidAllocator allocator({.dir = dir.path()});
  EXPECT_EQ(allocator.acquire().cid(), 10u);
}

TEST(CidAllocatorTest, DirectoryIsSharedByEveryUserAndLeaseFilesWritableByThem) {
  TempDir dir;
  const mode_t old_umask = ::umask(022);
  {
    CidAllocator allocator({.dir = dir.path() / "cids"});
    CidLease lease = allocator.acquire();
    struct stat st {};
    ASSERT_EQ(::stat((dir.path() / "cids").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 01777u);
    ASSERT_EQ(::stat((dir.path() / "cids" / "cid-10").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0666u);
  }
  ::umask(old_umask);
}

TEST(CidAllocatorTest, PlantedSymlinkIsNotFollowed) {
  TempDir dir;
  ASSERT_EQ(::symlink((dir.path() / "victim").c_str(), (dir.path() / "cid-10").c_str()), 0);
  CidAllocator allocator({.dir = dir.path()});
  EXPECT_EQ(allocator.acquire().cid(), 11u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "victim"));
}

TEST(CidAllocatorTest, DirectoryThatIsAFileIsRefused) {
  TempDir dir;
  const auto file = dir.write("not-a-dir", "x");
  EXPECT_THAT([&] { CidAllocator allocator({.dir = file}); },
              ThrowsMessage<Error>(AllOf(HasSubstr("is not a directory"), HasSubstr("PROVIUM_CID_DIR"))));
}

TEST(CidAllocatorTest, EmptyRangeSaysWhere) {
  TempDir dir;
  CidAllocator allocator({.dir = dir.path(), .first = 10, .count = 2});
  CidLease a = allocator.acquire(), b = allocator.acquire();
  EXPECT_THAT([&] { allocator.acquire(); },
              ThrowsMessage<Error>(
                  AllOf(HasSubstr("no free vsock CID in 10..11"), HasSubstr(dir.path().string()))));
}

TEST(CidAllocatorTest, MachineWideDirectoryComesFromTheSettings) {
  provium::base::ScopedSettings cids{{"PROVIUM_CID_DIR", "/somewhere/cids"}};
  EXPECT_EQ(CidAllocator::default_dir(), "/somewhere/cids");
  provium::base::change_setting("PROVIUM_CID_DIR", "");
  EXPECT_EQ(CidAllocator::default_dir(), "/tmp/provium-cids");
}

// QEMU's own words (QEMU 7.2) when another VM on the host holds the CID.
TEST(CidCollisionTest, RecognizesQemusMessage) {
  EXPECT_TRUE(transport::is_cid_collision(
      "qemu-system-x86_64: -device vhost-vsock-pci,id=vsock0,guest-cid=10: vhost-vsock: unable to "
      "set guest cid: Address already in use"));
  EXPECT_FALSE(transport::is_cid_collision(
      "qemu-system-x86_64: -device vhost-vsock-pci,id=vsock0,guest-cid=10: vhost-vsock: failed to "
      "open vhost device: No such file or directory"));
}

// A CID that QEMU finds taken by a VM that is not ours is skipped, the next one tried, and the
// taken ones are left alone for a while by everyone.
TEST(CidCollisionTest, CidHeldByAnotherVmIsSkipped) {
  TempDir dir;
  CidAllocator allocator({.dir = dir.path(), .foreign_delay = 60s});
  CidLease lease = allocator.acquire();
  const std::set<uint32_t> held_by_others = {10, 11};
  std::vector<uint32_t> launched = {lease.cid()};
  transport::retry_cid_collisions(
      allocator, lease, [&] { return held_by_others.contains(lease.cid()); },
      [&] { launched.push_back(lease.cid()); });
  EXPECT_EQ(lease.cid(), 12u);
  EXPECT_THAT(launched, ElementsAre(10u, 11u, 12u));
  EXPECT_EQ(allocator.acquire().cid(), 13u);  // 10 and 11 wait out the foreign delay
}

TEST(CidCollisionTest, GivesUpAfterTheLastAttempt) {
  TempDir dir;
  CidAllocator allocator({.dir = dir.path()});
  CidLease lease = allocator.acquire();
  int launches = 0;
  EXPECT_THAT(
      [&] {
        transport::retry_cid_collisions(allocator, lease, [] { return true; }, [&] { ++launches; }, 3);
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("no free vsock CID"), HasSubstr("10, 11, 12"))));
  EXPECT_EQ(launches, 2);
}

TEST(CidCollisionTest, OtherFailureIsPassedOn) {
  TempDir dir;
  CidAllocator allocator({.dir = dir.path()});
  CidLease lease = allocator.acquire();
  EXPECT_THROW(transport::retry_cid_collisions(
                   allocator, lease, []() -> bool { throw Error("QEMU exited with status 1"); },
                   [] {}),
               Error);
  EXPECT_TRUE(lease.held());
}

// The choice of transport, with the device path injected.
class TransportChoiceTest : public ::testing::Test {
 protected:
  provium::base::ScopedSettings saved_{{"PROVIUM_TRANSPORT", ""}};
  std::filesystem::path openable() { return dir_.write("vhost-vsock", ""); }
  std::filesystem::path missing() { return dir_.path() / "no-vhost-vsock"; }
  TempDir dir_;
};

TEST_F(TransportChoiceTest, AutoIsVsockWhenTheDeviceOpensReadWrite) {
  EXPECT_EQ(transport::choose_transport({"auto", "here"}, openable()), transport::Kind::vsock);
}

TEST_F(TransportChoiceTest, AutoIsVirtioSerialWithoutTheDevice) {
  EXPECT_EQ(transport::choose_transport({"auto", "here"}, missing()), transport::Kind::virtio_serial);
}

TEST_F(TransportChoiceTest, ForcedVirtioSerialIgnoresTheDevice) {
  EXPECT_EQ(transport::choose_transport({"virtio-serial", "here"}, openable()), transport::Kind::virtio_serial);
}

TEST_F(TransportChoiceTest, ForcedVsockWithTheDevice) {
  EXPECT_EQ(transport::choose_transport({"vsock", "here"}, openable()), transport::Kind::vsock);
}

TEST_F(TransportChoiceTest, ForcedVsockWithoutTheDeviceIsAPrerequisiteSayingHowToGetIt) {
  EXPECT_THAT(
      [&] { transport::choose_transport({"vsock", "/p/provium.toml:3:13: profile 'x'"}, missing()); },
      ThrowsMessage<PrerequisiteError>(
          AllOf(HasSubstr("/p/provium.toml:3:13: profile 'x': transport \"vsock\" cannot be used"),
                HasSubstr(missing().string() + " does not exist"),
                HasSubstr("sudo modprobe vhost_vsock"), HasSubstr("group kvm"),
                HasSubstr("sudo setfacl -m u:$USER:rw " + missing().string()))));
}

TEST_F(TransportChoiceTest, UnknownValueIsAConfigurationError) {
  EXPECT_THAT(
      [&] { transport::choose_transport({"tcp", "PROVIUM_TRANSPORT (--provium_transport)"}, missing()); },
      Throws<Error>(AllOf(
          Not(WhenDynamicCastTo<const PrerequisiteError&>(_)),  // a typo is no missing prerequisite
          ::testing::Property("what", &Error::what,
                              HasSubstr("PROVIUM_TRANSPORT (--provium_transport): transport must be "
                                        "auto, vsock or virtio-serial, not 'tcp'")))));
}

TEST_F(TransportChoiceTest, EachOpenFailureGetsItsAdvice) {
  const std::string denied = transport::vsock_problem("/dev/vhost-vsock", EACCES);
  EXPECT_THAT(denied, HasSubstr("cannot open /dev/vhost-vsock read-write (Permission denied)"));
  EXPECT_THAT(denied, HasSubstr("sudo usermod -aG kvm $USER"));
  EXPECT_THAT(denied, HasSubstr("setfacl"));
  EXPECT_THAT(denied, HasSubstr("modprobe vhost_vsock"));
  const std::string no_driver = transport::vsock_problem("/dev/vhost-vsock", ENODEV);
  EXPECT_THAT(no_driver, HasSubstr("sudo modprobe vhost_vsock"));
  EXPECT_THAT(no_driver, HasSubstr("CONFIG_VHOST_VSOCK"));
  EXPECT_THAT(transport::vsock_problem("/dev/vhost-vsock", EBUSY), HasSubstr("modprobe vhost_vsock"));
}

TEST_F(TransportChoiceTest, OverrideComesFromTheSettings) {
  EXPECT_FALSE(transport::transport_override());
  provium::base::change_setting("PROVIUM_TRANSPORT", "virtio-serial");
  auto forced = transport::transport_override();
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->value, "virtio-serial");
  EXPECT_EQ(forced->origin, "PROVIUM_TRANSPORT (--provium_transport)");
}

// The override wins over every profile, a profile that forces vsock included.
TEST_F(TransportChoiceTest, OverrideWinsOverTheProfile) {
  config::Profile profile;
  profile.name = "x";
  profile.transport = "vsock";
  provium::base::change_setting("PROVIUM_TRANSPORT", "virtio-serial");
  EXPECT_EQ(host::effective_transport(profile), transport::Kind::virtio_serial);
  provium::base::change_setting("PROVIUM_TRANSPORT", "nonsense");
  EXPECT_THROW(host::effective_transport(profile), Error);
  provium::base::change_setting("PROVIUM_TRANSPORT", "");
  profile.transport = "virtio-serial";
  EXPECT_EQ(host::effective_transport(profile), transport::Kind::virtio_serial);
}

// What GoogleTest's environment skips with: only an override to vsock where it cannot work.
TEST_F(TransportChoiceTest, OverrideToVsockWithoutTheDeviceIsASkipReason) {
  EXPECT_FALSE(transport::override_unavailable(missing()));  // no override
  provium::base::change_setting("PROVIUM_TRANSPORT", "vsock");
  auto reason = transport::override_unavailable(missing());
  ASSERT_TRUE(reason);
  EXPECT_THAT(*reason, HasSubstr("PROVIUM_TRANSPORT (--provium_transport) asks for transport vsock"));
  EXPECT_THAT(*reason, HasSubstr("sudo modprobe vhost_vsock"));
  EXPECT_THAT(*reason, HasSubstr("also with PROVIUM_REQUIRE=1"));
  EXPECT_FALSE(transport::override_unavailable(openable()));  // the device is there: run
  provium::base::change_setting("PROVIUM_TRANSPORT", "auto");
  EXPECT_FALSE(transport::override_unavailable(missing()));
}

// The guest modules of each transport, resolved against a real Debian kernel where there is one.
TEST(TransportModulesTest, VsockNeedsTheVsockModulesInLoadOrder) {
  EXPECT_THAT(transport::guest_modules(transport::Kind::virtio_serial), ElementsAre("virtio_pci", "virtio_console"));
  const auto vsock = transport::guest_modules(transport::Kind::vsock);
  EXPECT_THAT(vsock, Not(::testing::Contains("virtio_console")));
  std::filesystem::path modules_dir;
  if (std::filesystem::exists("/lib/modules"))
    for (auto& entry : std::filesystem::directory_iterator("/lib/modules"))
      if (std::filesystem::exists(entry.path() / "kernel/net/vmw_vsock")) modules_dir = entry.path();
  if (modules_dir.empty()) GTEST_SKIP() << "no kernel with vsock modules in /lib/modules";
  std::vector<std::string> names;
  for (const auto& module : initramfs::resolve_modules(modules_dir, vsock)) names.push_back(module.name);
  auto at = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) - names.begin();
  };
  ASSERT_LT(at("vmw_vsock_virtio_transport"), static_cast<long>(names.size()));
  EXPECT_LT(at("vsock"), at("vmw_vsock_virtio_transport_common"));
  EXPECT_LT(at("vmw_vsock_virtio_transport_common"), at("vmw_vsock_virtio_transport"));
  EXPECT_LT(at("virtio_ring"), at("vmw_vsock_virtio_transport"));
}

}  // namespace
