#include "vm/shares.h"

#include <sys/mount.h>
#include <sys/syscall.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <provium/error.h>

#include "vm/agent_syscall.h"
#include "vm/launch_plan.h"

namespace provium::vm {

namespace {
// 9P2000.L, the Linux dialect; 512 KiB messages (virtio's most in 6.1) for throughput; no cache,
// so that the host's writes are seen at once.
constexpr const char* kMountOptions = "trans=virtio,version=9p2000.L,msize=524288,cache=none";

int64_t call(Session& agent, long nr, std::initializer_list<Arg> args, std::chrono::milliseconds timeout) {
  return agent_syscall(agent, nr, std::span<const Arg>(args.begin(), args.size()), timeout).ret;
}

std::string c_string(const std::string& text) { return text + '\0'; }
}  // namespace

void mount_shares(Session& agent, const std::vector<Share>& shares, std::chrono::milliseconds timeout) {
  for (std::size_t i = 0; i < shares.size(); ++i) {
    const Share& share = shares[i];
    auto fail = [&](std::string_view what, int64_t ret) {
      return Error(fmt::format("shares: host directory {} at guest path {}: {}: {}", share.host, share.guest, what,
                               errno_text(ret)));
    };
    std::filesystem::path made;
    for (const auto& component : std::filesystem::path(share.guest).lexically_normal()) {
      made /= component;
      if (made == "/") continue;
      const int64_t ret = call(agent, SYS_mkdir, {in(c_string(made.string())), 0755}, timeout);
      if (ret < 0 && ret != -EEXIST) throw fail(fmt::format("mkdir {}", made.string()), ret);
    }
    const int64_t ret = call(agent, SYS_mount,
                             {in(c_string(share_tag(i))), in(c_string(share.guest)), in(c_string("9p")),
                              share.readonly ? MS_RDONLY : 0, in(c_string(kMountOptions))},
                             timeout);
    if (ret < 0) throw fail("mount 9p", ret);
  }
}

void unmount_shares(Session& agent, const std::vector<Share>& shares, std::chrono::milliseconds timeout) {
  for (auto share = shares.rbegin(); share != shares.rend(); ++share) {
    const int64_t ret = call(agent, SYS_umount2, {in(c_string(share->guest)), 0}, timeout);
    if (ret == -EBUSY)
      throw Error(fmt::format("shares: guest path {} is still in use (an open file or a working directory in it); "
                              "QEMU cannot snapshot a VM with a share mounted, so a fixture's body must leave its "
                              "shares unused",
                              share->guest));
    if (ret < 0 && ret != -EINVAL)  // EINVAL: not mounted (the body unmounted it)
      throw Error(fmt::format("shares: umount {}: {}", share->guest, errno_text(ret)));
  }
}

}  // namespace provium::vm
