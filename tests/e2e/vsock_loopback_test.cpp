// The agent's vsock transport end to end, on hosts without /dev/vhost-vsock: a VM that serves on
// virtio-serial loads vsock_loopback (AF_VSOCK CID 1 reaches the guest's own listeners), starts
// a second agent with provium.transport=vsock on its command line, and a guest program
// (vsock_loopback/client.c) drives that agent over AF_VSOCK as the host library would over
// vhost-vsock: READY, exec, a file round trip, a fork and a thread worker on ports of their own,
// the worker limit, a terminal (PTY, as provium shell runs it), EOF and the next accept, a host
// gone mid-answer, QUIESCE and the connection after it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/decompress.h"
#include "base/files.h"
#include "config/config.h"
#include "initramfs/modules.h"
#include "kernel/release.h"
#include "support/lines.h"
#include "support/temp_dir.h"

namespace {

using provium_test::lines_of;

namespace fs = std::filesystem;
using provium::testing::TempDir;
using ::testing::ElementsAre;

// vsock_loopback and what it needs, from the default profile's kernel's modules, decompressed
// (busybox's insmod takes a plain .ko) into `directory` as NN-NAME.ko in load order.
std::vector<std::string> loopback_modules(const fs::path& directory) {
  const auto& profile = provium::config::current().profile("default");
  const auto modules_dir = provium::initramfs::modules_directory(
      profile.modules, provium::kernel::kernel_release(profile.kernel));
  std::vector<std::string> names;
  for (const auto& module : provium::initramfs::resolve_modules(modules_dir, {"vsock_loopback"})) {
    std::string data = provium::base::read_file(module.path, module.name);
    if (const auto format = provium::base::compression_of(data); !format.empty())
      data = provium::base::decompress(format, data, 256u << 20);
    const std::string name = fmt::format("{:02}-{}.ko", names.size(), module.name);
    std::ofstream(directory / name, std::ios::binary) << data;
    names.push_back(name);
  }
  return names;
}

TEST(VsockAgentOverLoopback, ServesEveryOperationOverAfVsock) {
  const char* client_program = std::getenv("PROVIUM_VSOCK_CLIENT");
  ASSERT_NE(client_program, nullptr) << "PROVIUM_VSOCK_CLIENT is not set (meson test sets it)";
  TempDir modules;
  const auto names = loopback_modules(modules.path());
  ASSERT_FALSE(names.empty()) << "vsock_loopback is built into this kernel: nothing to load";

  auto vm = provium::create();
  vm.boot({.files = {{"/vsock-modules", modules.path().string()},
                     {"/bin/provium-vsock-client", client_program}}});
  for (const auto& name : names) {
    const auto loaded = vm.exec("insmod /vsock-modules/" + name);
    ASSERT_EQ(loaded.exit_code, 0) << name << ": " << loaded.out << loaded.err;
  }

  // The agent of the shim, with the words a vsock VM's kernel command line would have.
  const auto agent = vm.background("/provium-agent provium.transport=vsock provium.max_workers=2");
  const auto client = vm.exec("provium-vsock-client 5123", {.timeout = std::chrono::minutes(3)});
  const auto agent_output = vm.job_kill(agent);
  EXPECT_EQ(client.exit_code, 0) << client.out << client.err << "\nthe vsock agent's output:\n"
                                 << agent_output.out << agent_output.err;
  EXPECT_THAT(lines_of(client.out),
              ElementsAre("ok READY", "ok exec", "ok file round trip", "ok fork worker", "ok thread worker",
                          "ok workers end with their connection", "ok a terminal", "ok EOF and the next accept", "ok a host gone mid-answer",
                          "ok QUIESCE"))
      << client.err << "\nthe vsock agent's output:\n" << agent_output.out << agent_output.err;

  // The VM's own agent, on virtio-serial, is untouched by all this.
  EXPECT_EQ(vm.exec("echo still here").out, "still here\n");
}

}  // namespace
