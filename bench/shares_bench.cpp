// Shared directories and the host's root, beside the agent's own file transfer, on a kernel with
// 9p and overlayfs. The provium.toml it reads (PROVIUM_CONFIG) has two profiles of that kernel:
// `bench` (the busybox guest) and `bench-host` (userspace = "host"). docs/performance.md has a run.
//   PROVIUM_CONFIG=bench.toml build/bench/provium_shares_bench
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <provium/provium.h>

namespace {

namespace fs = std::filesystem;
constexpr std::size_t kFile = 16 * 1024 * 1024 - 64;  // read_file's and write_file's most

// The shared host directory, with a 16 MiB file in it; removed at exit.
struct ShareDir {
  fs::path path = fs::temp_directory_path() / ("provium-shares-bench-" + std::to_string(::getpid()));
  ShareDir() {
    fs::create_directories(path);
    std::ofstream(path / "big", std::ios::binary) << std::string(kFile, 's');
  }
  ~ShareDir() { fs::remove_all(path); }
};

const fs::path& share_dir() {
  static const ShareDir dir;
  return dir.path;
}

provium::Vm& booted_vm() {
  static std::unique_ptr<provium::Vm> vm;
  if (!vm) {
    vm = std::make_unique<provium::Vm>(provium::create("bench"));
    vm->boot({.shares = {{share_dir().string(), "/mnt/share"}}});
  }
  return *vm;
}

void ColdBoot(benchmark::State& state, const char* profile) {
  for (auto _ : state) {
    auto vm = provium::create(profile);
    const auto start = std::chrono::steady_clock::now();
    vm.boot();
    vm.exec("true");
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    state.PauseTiming();
    vm.kill();
    state.ResumeTiming();
  }
}
// Boot to the first exec's answer: the busybox guest, and the host's root over 9p.
BENCHMARK_CAPTURE(ColdBoot, busybox, "bench")->UseManualTime()->Iterations(1)->Repetitions(5)
    ->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(ColdBoot, host_root, "bench-host")->UseManualTime()->Iterations(1)->Repetitions(5)
    ->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

// The agent's transfer of 16 MiB, each way.
void AgentWriteFile(benchmark::State& state) {
  auto& vm = booted_vm();
  const std::string data(kFile, 'w');
  for (auto _ : state) vm.write_file("/tmp/bench", data);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFile));
}
BENCHMARK(AgentWriteFile)->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

void AgentReadFile(benchmark::State& state) {
  auto& vm = booted_vm();
  vm.write_file("/tmp/bench", std::string(kFile, 'r'));
  for (auto _ : state) benchmark::DoNotOptimize(vm.read_file("/tmp/bench"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFile));
}
BENCHMARK(AgentReadFile)->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

// The same 16 MiB through the share, by the guest's dd (512 KiB blocks, 9p's message size); the
// dd between two tmpfs files is the cost of dd itself.
void GuestDd(benchmark::State& state, const char* command) {
  auto& vm = booted_vm();
  vm.exec("cp /mnt/share/big /tmp/big");
  for (auto _ : state) {
    const auto run = vm.exec(command);
    if (!run.ok()) state.SkipWithError(run.err.c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFile));
}
BENCHMARK_CAPTURE(GuestDd, share_read, "dd if=/mnt/share/big of=/dev/null bs=512k 2>/dev/null")
    ->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(GuestDd, share_write, "dd if=/tmp/big of=/mnt/share/out bs=512k 2>/dev/null")
    ->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(GuestDd, tmpfs_copy, "dd if=/tmp/big of=/tmp/out bs=512k 2>/dev/null")
    ->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
