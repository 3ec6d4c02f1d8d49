// Which kernel modules a guest must load, read from the kernel's modules directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium::initramfs {

struct Module {
  std::string name;             // the kernel's name for it, with '_' (as lsmod shows it)
  std::filesystem::path path;   // the module file (.ko, .ko.xz, .ko.gz or .ko.zst)
};

// The modules to load so that `wanted` (e.g. {"virtio_pci", "virtio_console"}) work, with
// their dependencies, in load order: every module after all its dependencies. Modules built
// into the kernel (modules.builtin) are left out. Names compare with '-' and '_' as equal.
// `modules_dir` is /lib/modules/RELEASE; when it does not exist at all the kernel is taken to
// have everything built in (a custom kernel made without modules) and the result is empty.
// Without modules.dep (depmod writes it at install; an unpacked package or a build tree has
// none) the module files are found by name anywhere below `modules_dir`, and each one's own
// `depends=` (.modinfo) says what it needs. Throws Error when a wanted module is neither built
// in nor found, when modules.dep is malformed, has a dependency cycle, or names a file that does
// not exist, or when a module's .modinfo cannot be read.
std::vector<Module> resolve_modules(const std::filesystem::path& modules_dir,
                                    const std::vector<std::string>& wanted);

// Where the modules of a kernel of `release` are: /lib/modules/RELEASE without a configured
// directory; the configured one's lib/modules/RELEASE when it is an INSTALL_MOD_PATH root
// (`make modules_install INSTALL_MOD_PATH=DIR`, or a package unpacked with `dpkg -x`); else the
// configured directory itself (a modules tree, or a kernel build tree).
std::filesystem::path modules_directory(const std::optional<std::filesystem::path>& configured,
                                        const std::string& release);

// The extension of a module file name (".ko", ".ko.xz", ".ko.gz", ".ko.zst"); empty when the
// name has none of them.
std::string_view module_extension(std::string_view file_name);

}  // namespace provium::initramfs
