#include "initramfs/shim.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <system_error>

#include <provium/error.h>

#include "base/decompress.h"
#include "base/files.h"
#include "embed/blobs.h"
#include "initramfs/cpio.h"

namespace provium::initramfs {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kModulesDir = "provium/modules";
constexpr std::size_t kMaxModule = 256u << 20;  // decompressed; the largest modules are a few MiB

// A CpioWriter that remembers its directories, to create each missing parent once.
class ShimArchive {
 public:
  CpioWriter cpio;

  void add_directory(const std::string& path, uint32_t mode) {
    cpio.add_directory(path, mode);
    directories_.insert(path);
  }

  // "a/b/c" -> "a", "a/b", like mkdir -p. The kernel applies the mode to a directory the
  // user's initramfs already has, so 0755 is what most directories have.
  void add_parents(std::string_view path) {
    for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      std::string parent(path.substr(0, slash));
      if (!directories_.contains(parent)) add_directory(parent, 0755);
    }
  }

 private:
  std::set<std::string> directories_;
};

// "/etc//x/" -> "etc/x": the stored form of a guest path, checked.
std::string stored_guest_path(std::string_view guest) {
  if (!guest.starts_with('/')) {
    throw Error(fmt::format("files: the guest path \"{}\" must be absolute", guest));
  }
  std::string stored;
  for (std::size_t start = 0; start < guest.size();) {
    std::size_t end = std::min(guest.find('/', start), guest.size());
    std::string_view component = guest.substr(start, end - start);
    if (component == "..") {
      throw Error(fmt::format("files: the guest path \"{}\" contains \"..\"", guest));
    }
    if (!component.empty() && component != ".") {
      if (!stored.empty()) stored += '/';
      stored += component;
    }
    start = end + 1;
  }

  std::string_view top = std::string_view(stored).substr(0, stored.find('/'));
  if (top == "provium" || top == "provium-wrapper" || top == "provium-agent" ||
      top == "provium-init" || stored == "dev/console") {
    throw Error(fmt::format("files: the guest path \"{}\" is Provium's own", guest));
  }
  return stored;
}

uint32_t permission_bits(const fs::file_status& status) {
  return static_cast<uint32_t>(status.permissions()) & 07777;
}

// Adds host path `host` as guest path `guest` (stored form; empty for the root) at `prefix`
// (empty, or a directory of the shim ending in '/'). The top path is followed when it is a
// symlink, as cp does; symlinks inside directories stay symlinks, as with cp -r.
void add_host_path(ShimArchive& archive, const std::string& prefix, const std::string& guest, const fs::path& host,
                   bool follow_symlink) {
  const std::string stored = guest.empty() && !prefix.empty() ? prefix.substr(0, prefix.size() - 1) : prefix + guest;
  auto fail = [&](std::string_view what) {
    // In the words of the boot option the user wrote: files = {guest path -> host path}.
    return Error(fmt::format("files: guest path /{} from host path {}: {}", guest, host.string(), what));
  };
  std::error_code error;
  fs::file_status status =
      follow_symlink ? fs::status(host, error) : fs::symlink_status(host, error);
  if (error) throw fail(error.message());

  switch (status.type()) {
    case fs::file_type::regular: {
      if (guest.empty()) throw fail("only a directory can be the guest's root");
      std::string what = fmt::format("files: guest path /{} from host path", guest);
      archive.cpio.add_file(stored, base::read_file(host, what), permission_bits(status));
      return;
    }
    case fs::file_type::symlink: {
      fs::path target = fs::read_symlink(host, error);
      if (error) throw fail(error.message());
      archive.cpio.add_symlink(stored, target.string());
      return;
    }
    case fs::file_type::directory: {
      if (!stored.empty()) archive.add_directory(stored, permission_bits(status));
      // Sorted: directory order is arbitrary, and the same input must give the same archive.
      std::vector<fs::path> children;
      for (fs::directory_iterator it(host, error), end; !error && it != end; it.increment(error)) {
        children.push_back(it->path());
      }
      if (error) throw fail(error.message());
      std::sort(children.begin(), children.end());
      for (const fs::path& child : children) {
        std::string name = child.filename().string();
        add_host_path(archive, prefix, guest.empty() ? name : guest + '/' + name, child, false);
      }
      return;
    }
    default:
      throw fail("not a regular file, directory or symlink");
  }
}

void add_modules(ShimArchive& archive, const std::vector<Module>& modules) {
  // At least two digits, more when there are 100 modules or more: names of one width sort in
  // load order.
  std::size_t last = modules.empty() ? 0 : modules.size() - 1;
  std::size_t width = std::max<std::size_t>(2, fmt::formatted_size("{}", last));
  for (std::size_t index = 0; index < modules.size(); ++index) {
    const Module& module = modules[index];
    if (module.name.empty() || module.name.find('/') != std::string::npos) {
      throw Error(fmt::format("kernel module \"{}\" ({}): invalid name", module.name,
                              module.path.string()));
    }
    std::string file_name = module.path.filename().string();
    std::string_view extension = module_extension(file_name);
    if (extension.empty()) {
      throw Error(fmt::format("kernel module {}: {} does not end in .ko, .ko.xz, .ko.gz or .ko.zst",
                              module.name, module.path.string()));
    }
    std::string data = base::read_file(module.path, fmt::format("kernel module {}", module.name));
    if (extension != ".ko") {
      // Decompressed here: a kernel loads a compressed module only when built to
      // (CONFIG_MODULE_DECOMPRESS, 5.17 and later), and then only in its own formats.
      const std::string_view format = base::compression_of(data);
      if (format.empty())
        throw Error(fmt::format("kernel module {}: {} holds no gzip, xz or zstd stream", module.name,
                                module.path.string()));
      try {
        data = base::decompress(format, data, kMaxModule);
      } catch (const Error& error) {
        throw Error(fmt::format("kernel module {}: {}: {}", module.name, module.path.string(), error.what()));
      }
    }
    archive.cpio.add_file(fmt::format("{}/{:0{}}-{}.ko", kModulesDir, index, width, module.name), data);
  }
}
}  // namespace

std::string build_shim(const ShimSpec& spec) {
  // Guest paths are checked before any host file is read.
  std::vector<std::pair<std::string, fs::path>> files;
  for (const auto& [guest, host] : spec.files) files.emplace_back(stored_guest_path(guest), host);

  ShimArchive archive;
  for (std::string_view directory : {"dev", "proc", "sys", "provium", "provium/modules"}) {
    archive.add_directory(std::string(directory), 0755);
  }
  archive.cpio.add_char_device("dev/console", 5, 1, 0600);
  archive.cpio.add_file("provium-wrapper", embed::wrapper.view(), 0755);
  archive.cpio.add_file("provium-agent", embed::agent.view(), 0755);
  archive.cpio.add_file("provium-init", embed::init.view(), 0755);
  add_modules(archive, spec.modules);

  const std::string prefix = spec.root_disk ? std::string(kRootFilesDir) + '/' : "";
  for (const auto& [guest, host] : files) {
    archive.add_parents(prefix + guest);
    add_host_path(archive, prefix, guest, host, true);
  }
  return archive.cpio.finish();
}

}  // namespace provium::initramfs
