// Files of any size between host and guest (copy_to, copy_from): a 1 GiB file goes in and comes
// back whole while this process's memory stays far below its size, and a transfer cut by a
// killed VM leaves no partial file where it was going.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <provium/gtest.h>
#include <provium/provium.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

// A directory of the run's for the host's side of the transfers, made empty.
fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(std::getenv("PROVIUM_RUN_DIR")) / "transfers" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// `size` bytes of a xorshift stream into `file`, written a MiB at a time; their FNV-1a hash.
uint64_t write_pattern(const fs::path& file, uint64_t size) {
  std::ofstream out(file, std::ios::binary);
  uint64_t state = 0x9E3779B97F4A7C15ull, hash = 0xcbf29ce484222325ull;
  std::string block(1 << 20, '\0');
  for (uint64_t done = 0; done < size; done += block.size()) {
    for (std::size_t i = 0; i < block.size(); i += 8) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      std::memcpy(block.data() + i, &state, 8);
    }
    for (char c : block) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  return hash;
}

uint64_t hash_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t hash = 0xcbf29ce484222325ull;
  std::string block(1 << 20, '\0');
  while (in.read(block.data(), static_cast<std::streamsize>(block.size())) || in.gcount() > 0)
    for (std::streamsize i = 0; i < in.gcount(); ++i)
      hash = (hash ^ static_cast<unsigned char>(block[static_cast<std::size_t>(i)])) * 0x100000001b3ull;
  return hash;
}

// This process's peak resident memory since the last reset (VmHWM), in KiB.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  return -1;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace

TEST(Transfers, AGibibyteGoesInAndComesBackWholeInBoundedMemory) {
  constexpr uint64_t kSize = 1ull << 30;
  const fs::path dir = scratch("gib");
  const uint64_t sent = write_pattern(dir / "in", kSize);
  auto vm = provium::create();
  vm.boot({.memory = "1536M"});
  // The initramfs root may take half the RAM: the file gets a tmpfs of its own.
  ASSERT_THAT(vm.exec("mkdir /big && mount -t tmpfs -o size=1100M tmpfs /big"), ::provium::ExecSucceeds());
  reset_peak_rss();
  const long before = peak_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  vm.copy_to((dir / "in").string(), "/big/gib");
  const auto in_guest = std::chrono::steady_clock::now();
  EXPECT_EQ(vm.exec("stat -c %s /big/gib").out, std::to_string(kSize) + "\n");
  const auto listed = std::chrono::steady_clock::now();
  vm.copy_from("/big/gib", (dir / "out").string());
  const auto back = std::chrono::steady_clock::now();
  const long peak = peak_rss_kib();
  EXPECT_EQ(hash_of(dir / "out"), sent) << "the file came back as it went";
  EXPECT_EQ(fs::file_size(dir / "out"), kSize);
  // Pieces of 4 MiB, a few copies of one in flight: far below the file's 1 GiB.
  EXPECT_LT(peak - before, 128 * 1024) << "peak RSS grew by " << (peak - before) << " KiB moving 1 GiB";
  const auto mib_per_s = [](std::chrono::steady_clock::duration took) {
    return 1024.0 / std::chrono::duration<double>(took).count();
  };
  RecordProperty("copy_to_mib_per_s", static_cast<int>(mib_per_s(in_guest - start)));
  RecordProperty("copy_from_mib_per_s", static_cast<int>(mib_per_s(back - listed)));
  RecordProperty("peak_rss_growth_kib", static_cast<int>(peak - before));
  fs::remove_all(dir);
}

// The VM is killed while copy_from runs: it fails, and neither the destination nor a partial
// file is left on the host.
TEST(Transfers, ACopyCutByAKilledVmLeavesNoPartialFile) {
  const fs::path dir = scratch("cut");
  auto vm = provium::create();
  vm.boot();
  ASSERT_THAT(vm.exec("dd if=/dev/zero of=/tmp/big bs=1M count=200 2>/dev/null"), ::provium::ExecSucceeds());
  std::thread killer([&] {
    // Once the transfer has begun (its partial file exists), the VM goes.
    for (int i = 0; i < 3000; ++i) {
      for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().filename().string().find(".provium-partial-") != std::string::npos) {
          std::this_thread::sleep_for(100ms);
          vm.kill();
          return;
        }
      std::this_thread::sleep_for(5ms);
    }
  });
  EXPECT_THROW(vm.copy_from("/tmp/big", (dir / "big").string()), provium::Error);
  killer.join();
  EXPECT_TRUE(fs::is_empty(dir)) << "a partial or whole file was left in " << dir;
}
