// Cold boot and the agent's operations on the default profile, medians over repetitions.
//   build/bench/provium_bench
#include <benchmark/benchmark.h>

#include <sys/syscall.h>

#include <chrono>
#include <memory>

#include <provium/provium.h>

namespace {

// QEMU start to the agent's READY, for a fresh VM each repetition.
void ColdBootToReady(benchmark::State& state) {
  for (auto _ : state) {
    auto vm = provium::create();
    const auto start = std::chrono::steady_clock::now();
    vm.boot();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    state.PauseTiming();
    vm.kill();
    state.ResumeTiming();
  }
}
BENCHMARK(ColdBootToReady)->UseManualTime()->Iterations(1)->Repetitions(5)
    ->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

// One VM for the operation benchmarks.
provium::Vm& booted_vm() {
  static std::unique_ptr<provium::Vm> vm;
  if (!vm) {
    vm = std::make_unique<provium::Vm>(provium::create());
    vm->boot();
  }
  return *vm;
}

// exec("true"): one request, one guest fork+exec of /bin/sh, one answer.
void ExecTrueRoundTrip(benchmark::State& state) {
  auto& vm = booted_vm();
  for (auto _ : state) benchmark::DoNotOptimize(vm.exec("true"));
}
BENCHMARK(ExecTrueRoundTrip)->Repetitions(5)->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond);

// syscall(getpid): the agent's request path alone, no process created.
void SyscallGetpidRoundTrip(benchmark::State& state) {
  auto& vm = booted_vm();
  for (auto _ : state) benchmark::DoNotOptimize(vm.syscall(SYS_getpid));
}
BENCHMARK(SyscallGetpidRoundTrip)->Repetitions(5)->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMicrosecond);

constexpr std::size_t kLargestFile = 16 * 1024 * 1024 - 64;  // fits a frame with its path

void WriteFile16MiB(benchmark::State& state) {
  auto& vm = booted_vm();
  const std::string data(kLargestFile, 'w');
  for (auto _ : state) vm.write_file("/tmp/bench", data);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(WriteFile16MiB)->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

void ReadFile16MiB(benchmark::State& state) {
  auto& vm = booted_vm();
  vm.write_file("/tmp/bench", std::string(kLargestFile, 'r'));
  for (auto _ : state) benchmark::DoNotOptimize(vm.read_file("/tmp/bench"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kLargestFile));
}
BENCHMARK(ReadFile16MiB)->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
