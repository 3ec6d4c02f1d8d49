#include "initramfs/libraries.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <vector>

#include <provium/error.h>

#include "base/capture_output.h"
#include "base/files.h"
#include "base/text.h"
#include "initramfs/elf.h"

namespace provium::initramfs {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kLoaderCache = "/etc/ld.so.cache";

// What `INTERPRETER --list EXECUTABLE` said: the libraries' paths in load order (the
// interpreter's own line included), or the loader's complaint.
struct Listing {
  std::vector<std::string> paths;
  std::string failure;  // the loader's words when it could not load everything
};

// Runs the loader once per executable and version of it: a key and the initrd ask the same.
Listing list_libraries(const std::string& interpreter, const fs::path& executable) {
  static std::mutex mutex;
  static std::map<std::string, Listing> listings;
  const std::string memo = interpreter + '\n' + executable.string() + '\n' + base::file_identity(executable);
  {
    std::lock_guard lock(mutex);
    if (auto found = listings.find(memo); found != listings.end()) return found->second;
  }
  const auto [status, output] = base::run_for_output({interpreter, "--list", executable.string()});
  Listing listing;
  if (status != 0) {
    listing.failure = std::string(base::last_lines(output, 1));
  } else {
    // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-linux-x86-64.so.2
    // (0x...)"; the vDSO ("linux-vdso.so.1 (0x...)") is no file.
    base::LineBuffer lines;
    for (std::string_view line : lines.feed(output)) {
      const auto arrow = line.find("=> ");
      std::string_view path = arrow == std::string_view::npos ? line : line.substr(arrow + 3);
      path.remove_prefix(std::min(path.size(), path.find_first_not_of(" \t")));
      path = path.substr(0, path.find(" ("));
      if (path.starts_with('/')) listing.paths.emplace_back(path);
    }
  }
  std::lock_guard lock(mutex);
  return listings.emplace(memo, std::move(listing)).first->second;
}

// The directories the loader searches without being told (`INTERPRETER --help`: "  /lib
// (system search path)"), once per interpreter.
std::set<fs::path> system_directories(const std::string& interpreter) {
  static std::mutex mutex;
  static std::map<std::string, std::set<fs::path>> known;
  std::lock_guard lock(mutex);
  if (auto found = known.find(interpreter); found != known.end()) return found->second;
  std::set<fs::path> directories;
  const auto [status, output] = base::run_for_output({interpreter, "--help"});
  base::LineBuffer lines;
  for (std::string_view line : lines.feed(output)) {
    constexpr std::string_view kMark = " (system search path)";
    if (!line.ends_with(kMark)) continue;
    line.remove_suffix(kMark.size());
    line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t")));
    directories.insert(fs::path(line).lexically_normal());
  }
  return known.emplace(interpreter, std::move(directories)).first->second;
}

// "$ORIGIN/../lib" or "${ORIGIN}/lib" with `origin` for the token; nullopt for a directory
// without it.
std::optional<fs::path> expand_origin(std::string_view directory, const fs::path& origin) {
  for (std::string_view token : {"$ORIGIN", "${ORIGIN}"}) {
    if (directory.starts_with(token)) return origin.string() + std::string(directory.substr(token.size()));
  }
  return std::nullopt;
}

// The guest paths of the libraries, decided one object at a time.
class Placement {
 public:
  explicit Placement(const std::map<std::string, std::string>& files) {
    for (const auto& [guest, host] : files) {
      std::error_code error;
      const fs::path canonical = fs::canonical(host, error);
      if (!error) put_.emplace_back(canonical, guest);
      taken_.insert(fs::path(guest).lexically_normal().string());
    }
  }

  // The guest path of the executables among the files: a file, or a directory's files with an
  // execute bit.
  std::vector<std::pair<fs::path, std::string>> executables() const {
    std::vector<std::pair<fs::path, std::string>> found;
    for (const auto& [host, guest] : put_) {
      std::error_code error;
      if (!fs::is_directory(host, error)) {
        found.emplace_back(host, guest);
        continue;
      }
      for (fs::recursive_directory_iterator it(host, error), end; !error && it != end; it.increment(error)) {
        if (!it->is_regular_file(error) || it->is_symlink(error)) continue;
        if ((it->status(error).permissions() & fs::perms::owner_exec) == fs::perms::none) continue;
        found.emplace_back(it->path(), (fs::path(guest) / fs::relative(it->path(), host)).string());
      }
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  // An object in the guest at `guest` (host file `host`): where its $ORIGIN points, and which
  // directories its own search path names.
  void note(const fs::path& host, const std::string& guest, const ElfDynamic& dynamic) {
    for (const std::string& directory : dynamic.search_path) {
      if (auto host_dir = expand_origin(directory, host.parent_path())) {
        origins_.emplace_back(host_dir->lexically_normal(),
                              expand_origin(directory, fs::path(guest).parent_path())->lexically_normal());
      } else {
        searched_.insert(fs::path(directory).lexically_normal());
      }
    }
  }

  // Places the library the loader found at `found`: nowhere new where the files already put it,
  // where an $ORIGIN of an object placed before points, else at its host path.
  void place(const fs::path& found, const std::set<fs::path>& system_dirs) {
    const fs::path path = found.lexically_normal();
    std::error_code error;
    const fs::path canonical = fs::canonical(path, error);
    for (const auto& [host, guest] : put_) {
      if (canonical == host || (!error && is_within(canonical, host))) return;
    }
    std::string guest;
    for (const auto& [host_dir, guest_dir] : origins_) {
      if (path.parent_path() == host_dir) guest = (guest_dir / path.filename()).string();
    }
    if (guest.empty()) {
      guest = path.string();
      if (!system_dirs.contains(path.parent_path()) && !searched_.contains(path.parent_path())) needs_cache_ = true;
    }
    add(guest, path);
    if (auto dynamic = read_elf_dynamic(path)) note(canonical.empty() ? path : canonical, guest, *dynamic);
  }

  // The interpreter at the path executables name it by.
  void place_interpreter(const std::string& interpreter) { add(interpreter, interpreter); }

  std::map<std::string, std::string> finish() {
    if (needs_cache_ && fs::exists(kLoaderCache)) add(std::string(kLoaderCache), kLoaderCache);
    return std::move(added_);
  }

 private:
  static bool is_within(const fs::path& file, const fs::path& directory) {
    const auto relative = file.lexically_relative(directory);
    return !relative.empty() && *relative.begin() != "..";
  }

  // The user's own files win over a library of the same guest path.
  void add(const std::string& guest, const fs::path& host) {
    if (!taken_.contains(guest)) added_.emplace(guest, host.string());
  }

  std::vector<std::pair<fs::path, std::string>> put_;  // the files: canonical host path, guest path
  std::set<std::string> taken_;                         // the files' guest paths
  std::vector<std::pair<fs::path, fs::path>> origins_;  // $ORIGIN directories: host, guest
  std::set<fs::path> searched_;                         // absolute RUNPATH and RPATH directories
  std::map<std::string, std::string> added_;
  bool needs_cache_ = false;
};
}  // namespace

std::map<std::string, std::string> library_files(const std::map<std::string, std::string>& files) {
  Placement placement(files);
  for (const auto& [host, guest] : placement.executables()) {
    const auto dynamic = read_elf_dynamic(host);
    if (!dynamic || dynamic->interpreter.empty()) continue;
    auto fail = [&](std::string_view what) {
      return Error(fmt::format("files: guest path {} from host path {}: {}", guest, host.string(), what));
    };
    std::error_code error;
    if (!fs::exists(dynamic->interpreter, error)) {
      throw fail(fmt::format("its program interpreter {} is not on this host, so its libraries cannot be found",
                             dynamic->interpreter));
    }
    const Listing listing = list_libraries(dynamic->interpreter, host);
    if (!listing.failure.empty()) {
      // ld.so: "PROGRAM: error while loading shared libraries: libx.so.1: cannot open shared object file: ..."
      constexpr std::string_view kMark = "error while loading shared libraries: ";
      const auto mark = listing.failure.find(kMark);
      if (mark == std::string::npos)
        throw fail(fmt::format("the host's dynamic loader cannot list its libraries: {}", listing.failure));
      const std::string_view rest = std::string_view(listing.failure).substr(mark + kMark.size());
      throw fail(fmt::format("it needs the library {}, which the host's dynamic loader does not find ({})",
                             rest.substr(0, rest.find(':')), rest.substr(std::min(rest.size(), rest.find(':') + 2))));
    }
    placement.note(host, guest, *dynamic);
    placement.place_interpreter(dynamic->interpreter);
    const auto system_dirs = system_directories(dynamic->interpreter);
    for (const std::string& path : listing.paths) {
      if (fs::path(path).lexically_normal() == fs::path(dynamic->interpreter).lexically_normal()) continue;
      placement.place(path, system_dirs);
    }
  }
  return placement.finish();
}

std::map<std::string, std::string> guest_files(const config::Profile& profile,
                                               const std::map<std::string, std::string>& files) {
  if (!profile.busybox_userspace()) return files;
  auto all = library_files(files);
  all.insert(files.begin(), files.end());
  return all;
}

}  // namespace provium::initramfs
