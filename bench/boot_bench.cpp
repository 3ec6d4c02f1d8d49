// Cold boot and command round trip of the default profile, with medians over repetitions.
//   meson setup build -Dbench=true && build/bench/provium_bench
#include <benchmark/benchmark.h>

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

// exec("true"): one request, one guest fork+exec of /bin/sh, one answer.
void ExecTrueRoundTrip(benchmark::State& state) {
  static std::unique_ptr<provium::Vm> vm;
  if (!vm) {
    vm = std::make_unique<provium::Vm>(provium::create());
    vm->boot();
  }
  for (auto _ : state) benchmark::DoNotOptimize(vm->exec("true"));
}
BENCHMARK(ExecTrueRoundTrip)->Repetitions(5)->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
