// Cold boot against resuming a fixture snapshot: copy-on-write (Provium's way) and a full-RAM
// migration file (the documented system's way), medians of 10, ratios printed at the end.
//   meson setup build-bench -Dbench=true && build-bench/bench/provium_resume_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <provium/provium.h>

#include "config/config.h"
#include "vm/machine.h"
#include "vm/vm_access.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void prepare(provium::Vm& vm) { vm.exec("echo prepared > /tmp/prepared"); }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void ColdBootToFirstExec(benchmark::State& state) {
  for (auto _ : state) {
    const auto start = Clock::now();
    auto vm = provium::create();
    vm.boot();
    vm.exec("true");
    state.SetIterationTime(seconds_since(start));
  }
}

void ResumeToReady(benchmark::State& state) {
  provium::fixture("bench");  // built outside the timing
  for (auto _ : state) {
    const auto start = Clock::now();
    auto vm = provium::fixture("bench");
    state.SetIterationTime(seconds_since(start));
  }
}

void ResumeToFirstExec(benchmark::State& state) {
  provium::fixture("bench");
  for (auto _ : state) {
    const auto start = Clock::now();
    auto vm = provium::fixture("bench");
    vm.exec("true");
    state.SetIterationTime(seconds_since(start));
  }
}

// The documented way: ordinary RAM, the whole of it saved into the state file and loaded back.
struct FullRamSnapshot {
  fs::path dir = fs::temp_directory_path() / "provium-bench-full-ram";
  fs::path state() const { return dir / "state"; }
  fs::path initrd() const { return dir / "initrd"; }

  FullRamSnapshot() {
    fs::create_directories(dir);
    const auto& profile = provium::config::current().profile("default");
    auto machine = std::make_shared<provium::detail::Machine>(profile, provium::BootOptions{});
    machine->boot();
    fs::copy_file(machine->initrd(), initrd(), fs::copy_options::overwrite_existing);
    auto vm = provium::detail::VmAccess::wrap("default", machine);
    prepare(vm);
    machine->save_snapshot(state());
  }
  ~FullRamSnapshot() { fs::remove_all(dir); }
};

void FullRamResumeToFirstExec(benchmark::State& state) {
  static FullRamSnapshot snapshot;
  const auto& profile = provium::config::current().profile("default");
  for (auto _ : state) {
    const auto start = Clock::now();
    auto machine = std::make_shared<provium::detail::Machine>(
        profile, provium::BootOptions{},
        provium::detail::SnapshotFiles{{}, false, snapshot.state(), snapshot.initrd()});
    machine->boot();
    auto vm = provium::detail::VmAccess::wrap("default", machine);
    vm.exec("true");
    state.SetIterationTime(seconds_since(start));
  }
  state.counters["state_MB"] = static_cast<double>(fs::file_size(snapshot.state())) / 1e6;
}

// Prints the console table, then the ratios of the medians measured in this same run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs)
      if (run.aggregate_name == "median") medians_[run.run_name.function_name] = run.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const double cold = medians_["ColdBootToFirstExec"];
    std::cout << "\nRatios of medians (same run):\n";
    for (const char* name : {"ResumeToFirstExec", "FullRamResumeToFirstExec"})
      if (cold > 0 && medians_.count(name))
        std::cout << "  " << name << " / ColdBootToFirstExec = " << medians_[name] / cold * 100 << " %\n";
    if (medians_.count("FullRamResumeToFirstExec") && medians_["ResumeToFirstExec"] > 0)
      std::cout << "  FullRamResumeToFirstExec / ResumeToFirstExec = "
                << medians_["FullRamResumeToFirstExec"] / medians_["ResumeToFirstExec"] << "x\n";
  }

 private:
  std::map<std::string, double> medians_;
};

}  // namespace

#define PROVIUM_RESUME_BENCHMARK(name)                                                   \
  BENCHMARK(name)->UseManualTime()->Iterations(1)->Repetitions(10)->ReportAggregatesOnly(true) \
      ->Unit(benchmark::kMillisecond)
PROVIUM_RESUME_BENCHMARK(ColdBootToFirstExec);
PROVIUM_RESUME_BENCHMARK(ResumeToReady);
PROVIUM_RESUME_BENCHMARK(ResumeToFirstExec);
PROVIUM_RESUME_BENCHMARK(FullRamResumeToFirstExec);

int main(int argc, char** argv) {
  provium::define_fixture("bench", {}, prepare);
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
