// Cold boot against resuming a fixture snapshot: copy-on-write (Provium's way), with and without
// a QEMU started ahead (src/cache/spare.h), and a full-RAM migration file (the documented
// system's way); host memory per resumed VM; a 100-test suite's wall time. Medians, ratios of
// medians of this same run printed at the end.
//   build/bench/provium_resume_bench
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <provium/provium.h>

#include "base/settings.h"
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

// A cold boot of the default profile, its kernel loaded as `kernel_boot` says (auto: the
// host-decompressed kernel through its PVH entry; bzimage: the guest decompresses it).
void cold_boot(benchmark::State& state, const char* kernel_boot, bool first_exec) {
  auto profile = provium::config::current().profile("default");
  profile.kernel_boot = kernel_boot;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto machine = std::make_shared<provium::vm::Machine>(profile, provium::BootOptions{}, provium::vm::Start::boot(),
                                                          provium::vm::HostResources::of_this_user());
    machine->boot();
    auto vm = provium::vm::VmAccess::wrap("default", machine);
    if (first_exec) vm.exec("true");
    state.SetIterationTime(seconds_since(start));
  }
}

void ColdBootToReady(benchmark::State& state) { cold_boot(state, "auto", false); }
void BzImageColdBootToReady(benchmark::State& state) { cold_boot(state, "bzimage", false); }
void ColdBootToFirstExec(benchmark::State& state) { cold_boot(state, "auto", true); }

// Spares (a QEMU started ahead for the next resume) on or off for one benchmark.
void set_spares(bool on) { provium::base::change_setting("PROVIUM_SPARES", on ? "1" : "0"); }

// A test's own time, in which the spare for the next resume starts (outside the timing).
constexpr auto kTestBody = std::chrono::milliseconds(300);

// The resident memory of the VM's QEMU, in MiB.
double qemu_rss_mib(const provium::Vm& vm) {
  const int pid = provium::vm::VmAccess::machine(vm).qemu_pid();
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  double kib = 0;
  while (status >> key)
    if (key == "VmRSS:" && status >> kib) break;
  return kib / 1024;
}

void resume(benchmark::State& state, bool spares, bool first_exec) {
  set_spares(spares);
  auto previous = provium::fixture("bench");  // built outside the timing; stocks a spare
  double rss = 0;
  for (auto _ : state) {
    std::this_thread::sleep_for(kTestBody);
    previous.kill();  // the previous test's TearDown
    const auto start = Clock::now();
    auto vm = provium::fixture("bench");
    if (first_exec) vm.exec("true");
    state.SetIterationTime(seconds_since(start));
    if (first_exec) rss = qemu_rss_mib(vm);
    previous = std::move(vm);
  }
  if (first_exec) state.counters["qemu_rss_MiB"] = rss;
  set_spares(true);
}

void ResumeToReady(benchmark::State& state) { resume(state, false, false); }
void PrestartedResumeToReady(benchmark::State& state) { resume(state, true, false); }
void ResumeToFirstExec(benchmark::State& state) { resume(state, false, true); }
void PrestartedResumeToFirstExec(benchmark::State& state) { resume(state, true, true); }

// The 100 TEST_F of provium_suite_bench, the whole process timed.
std::string suite_program;
// The `provium` command, for the same suite written in Lua.
std::string provium_cli;

// Runs `argv` (its stdout to /dev/null: its result lines would bury the table) once per
// iteration, timing the whole process.
void run_process(benchmark::State& state, std::vector<std::string> argv, bool spares) {
  set_spares(spares);
  // The child reads its settings from its environment: PROVIUM_SPARES as set here.
  std::vector<std::string> environment = provium::base::settings()->environment(environ);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  // This process's own spare (of the rows before) would hold a VM's share of the pool, and a
  // spare of the child's is polite: it would find no room.
  provium::shutdown_all();
  for (auto _ : state) {
    const auto start = Clock::now();
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int spawned = posix_spawn(&pid, argv[0].c_str(), &quiet, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&quiet);
    if (spawned != 0) {
      state.SkipWithError(("cannot start " + argv[0]).c_str());
      break;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    state.SetIterationTime(seconds_since(start));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError((argv[0] + " failed").c_str());
      break;
    }
  }
  set_spares(true);
}

void HundredTestSuite(benchmark::State& state) { run_process(state, {suite_program}, false); }
void PrestartedHundredTestSuite(benchmark::State& state) { run_process(state, {suite_program}, true); }

// The same suite in Lua: `files` files of 100 / files test() blocks, each on a fresh VM of one
// fixture (the shape of provium_suite_bench's tests), written once into a directory of its own.
fs::path lua_suite(int files) {
  const fs::path dir = fs::temp_directory_path() / ("provium-bench-lua-" + std::to_string(files));
  fs::remove_all(dir);
  fs::create_directories(dir / "fixtures");
  std::ofstream(dir / "fixtures/suite.lua") << "local vm = provium.create()\nvm:boot()\n"
                                               "vm:exec(\"echo prepared > /tmp/prepared\")\n";
  for (int file = 0; file < files; ++file) {
    std::ofstream out(dir / ("suite" + std::to_string(file) + ".lua"));
    for (int n = 0; n < 100 / files; ++n)
      out << "test(\"test " << n << "\", function()\n"
          << "  local vm = provium.fixture(\"suite\")\n"
          << "  assert_eq(\"" << n << "\\n\", vm:exec(\"echo " << n << "\").stdout.value)\n"
          << "  assert_eq(\"prepared\\n\", vm:read_file(\"/tmp/prepared\"))\n"
          << "  vm:kill()\nend)\n";
  }
  return dir;
}

void LuaHundredBlockSuite(benchmark::State& state) {
  run_process(state, {provium_cli, "test", lua_suite(1).string()}, false);
}
void PrestartedLuaHundredBlockSuite(benchmark::State& state) {
  run_process(state, {provium_cli, "test", lua_suite(1).string()}, true);
}
// Four files of 25 blocks, with spares: one file at a time, and two (each process with its own
// spare, which must not starve the other of its core or its pool share).
void LuaFourFilesOneAtATime(benchmark::State& state) {
  run_process(state, {provium_cli, "test", "-p", "1", lua_suite(4).string()}, true);
}
void LuaFourFilesTwoAtATime(benchmark::State& state) {
  run_process(state, {provium_cli, "test", "-p", "2", lua_suite(4).string()}, true);
}

// The documented way: ordinary RAM, the whole of it saved into the state file and loaded back.
struct FullRamSnapshot {
  fs::path dir = fs::temp_directory_path() / "provium-bench-full-ram";
  fs::path state() const { return dir / "state"; }
  fs::path initrd() const { return dir / "initrd"; }

  FullRamSnapshot() {
    fs::create_directories(dir);
    const auto& profile = provium::config::current().profile("default");
    auto machine = std::make_shared<provium::vm::Machine>(profile, provium::BootOptions{}, provium::vm::Start::boot(),
                                                          provium::vm::HostResources::of_this_user());
    machine->boot();
    fs::copy_file(machine->initrd(), initrd(), fs::copy_options::overwrite_existing);
    auto vm = provium::vm::VmAccess::wrap("default", machine);
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
    auto machine = std::make_shared<provium::vm::Machine>(
        profile, provium::BootOptions{},
        provium::vm::Start::restore_whole_state(snapshot.state(), snapshot.initrd()),
        provium::vm::HostResources::of_this_user());
    machine->boot();
    auto vm = provium::vm::VmAccess::wrap("default", machine);
    vm.exec("true");
    state.SetIterationTime(seconds_since(start));
    state.counters["qemu_rss_MiB"] = qemu_rss_mib(vm);
  }
  state.counters["state_MB"] = static_cast<double>(fs::file_size(snapshot.state())) / 1e6;
}

// Prints the console table, then the ratios of the medians measured in this same run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs)
      if (run.aggregate_name == "median") {
        medians_[run.run_name.function_name] = run.GetAdjustedRealTime();  // milliseconds
        if (auto rss = run.counters.find("qemu_rss_MiB"); rss != run.counters.end())
          rss_[run.run_name.function_name] = rss->second;
      }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const double cold = medians_["ColdBootToFirstExec"];
    std::cout << "\nRatios of medians (same run):\n";
    for (const char* name : {"ResumeToFirstExec", "PrestartedResumeToFirstExec", "FullRamResumeToFirstExec"})
      if (cold > 0 && medians_.count(name))
        std::cout << "  " << name << " / ColdBootToFirstExec = " << medians_[name] / cold * 100 << " %\n";
    if (medians_.count("FullRamResumeToFirstExec") && medians_["ResumeToFirstExec"] > 0)
      std::cout << "  FullRamResumeToFirstExec / ResumeToFirstExec = "
                << medians_["FullRamResumeToFirstExec"] / medians_["ResumeToFirstExec"] << "x\n";
    for (const auto& [with, without] : {std::pair{"ColdBootToReady", "BzImageColdBootToReady"},
                                        std::pair{"PrestartedResumeToReady", "ResumeToReady"},
                                        std::pair{"PrestartedHundredTestSuite", "HundredTestSuite"},
                                        std::pair{"PrestartedLuaHundredBlockSuite", "LuaHundredBlockSuite"},
                                        std::pair{"LuaFourFilesTwoAtATime", "LuaFourFilesOneAtATime"}})
      if (medians_.count(with) && medians_[without] > 0)
        std::cout << "  " << with << " / " << without << " = " << medians_[with] / medians_[without] << "\n";
    std::cout << "\nTargets of this machine (issues 9 and 18), medians of this run:\n";
    target("resume -> READY (with a spare)", medians_, "PrestartedResumeToReady", 10, "ms");
    target("cold boot -> READY", medians_, "ColdBootToReady", 3500, "ms");
    target("100-test suite, whole process (with spares)", medians_, "PrestartedHundredTestSuite", 12000, "ms");
    target("host RSS per resumed 512 MiB VM", rss_, "PrestartedResumeToFirstExec", 100, "MiB");
    if (cold > 0 && medians_.count("PrestartedResumeToFirstExec"))
      ratio_target("resumed test / cold-boot test (first exec)", medians_["PrestartedResumeToFirstExec"] / cold, 0.05);
    if (medians_.count("LuaFourFilesOneAtATime") && medians_["LuaFourFilesOneAtATime"] > 0)
      ratio_target("provium test -p 2 / -p 1 (spares on)",
                   medians_["LuaFourFilesTwoAtATime"] / medians_["LuaFourFilesOneAtATime"], 1.0);
  }

 private:
  static void target(const char* what, std::map<std::string, double>& values, const char* name,
                     double limit, const char* unit) {
    if (!values.count(name)) return;
    const double value = values[name];
    std::cout << "  " << what << ": " << value << " " << unit << " (target <= " << limit << " " << unit
              << "): " << (value <= limit ? "met" : "MISSED by " + std::to_string(value - limit) + " " + unit)
              << "\n";
  }

  static void ratio_target(const char* what, double ratio, double limit) {
    std::cout << "  " << what << ": " << ratio << " (target <= " << limit << "): "
              << (ratio <= limit ? "met" : "MISSED") << "\n";
  }

  std::map<std::string, double> medians_;
  std::map<std::string, double> rss_;
};

}  // namespace

#define PROVIUM_RESUME_BENCHMARK(name)                                                   \
  BENCHMARK(name)->UseManualTime()->Iterations(1)->Repetitions(10)->ReportAggregatesOnly(true) \
      ->Unit(benchmark::kMillisecond)
PROVIUM_RESUME_BENCHMARK(ColdBootToReady);
PROVIUM_RESUME_BENCHMARK(BzImageColdBootToReady);
PROVIUM_RESUME_BENCHMARK(ColdBootToFirstExec);
PROVIUM_RESUME_BENCHMARK(ResumeToReady);
PROVIUM_RESUME_BENCHMARK(PrestartedResumeToReady);
PROVIUM_RESUME_BENCHMARK(ResumeToFirstExec);
PROVIUM_RESUME_BENCHMARK(PrestartedResumeToFirstExec);
PROVIUM_RESUME_BENCHMARK(FullRamResumeToFirstExec);
BENCHMARK(HundredTestSuite)->UseManualTime()->Iterations(1)->Repetitions(3)->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(PrestartedHundredTestSuite)->UseManualTime()->Iterations(1)->Repetitions(3)
    ->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond);
#define PROVIUM_SUITE_BENCHMARK(name) \
  BENCHMARK(name)->UseManualTime()->Iterations(1)->Repetitions(3)->ReportAggregatesOnly(true)->Unit(benchmark::kMillisecond)
PROVIUM_SUITE_BENCHMARK(LuaHundredBlockSuite);
PROVIUM_SUITE_BENCHMARK(PrestartedLuaHundredBlockSuite);
PROVIUM_SUITE_BENCHMARK(LuaFourFilesOneAtATime);
PROVIUM_SUITE_BENCHMARK(LuaFourFilesTwoAtATime);

int main(int argc, char** argv) {
  provium::define_fixture("bench", {}, prepare);
  suite_program = (fs::absolute(argv[0]).parent_path() / "provium_suite_bench").string();
  provium_cli = (fs::absolute(argv[0]).parent_path().parent_path() / "src/provium").string();
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
