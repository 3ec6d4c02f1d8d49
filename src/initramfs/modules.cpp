#include "initramfs/modules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <system_error>

#include <provium/error.h>

#include "base/files.h"
#include "initramfs/modinfo.h"

namespace provium::initramfs {

namespace fs = std::filesystem;

namespace {
// A module's name with '-' as '_': the kernel does the same when it names modules.
std::string canonical_name(std::string_view name) {
  std::string canonical(name);
  std::replace(canonical.begin(), canonical.end(), '-', '_');
  return canonical;
}

// "kernel/drivers/char/hw_random/virtio-rng.ko.xz" -> "virtio_rng"; empty when `path` does not
// name a module file.
std::string name_of_module_file(std::string_view path) {
  std::string_view file = path.substr(path.rfind('/') + 1);  // npos + 1 == 0: no directory
  std::string_view extension = module_extension(file);
  if (extension.empty() || extension.size() == file.size()) return {};
  return canonical_name(file.substr(0, file.size() - extension.size()));
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = text.find_first_not_of(" \t");
  while (start != std::string_view::npos) {
    std::size_t end = std::min(text.find_first_of(" \t", start), text.size());
    words.push_back(text.substr(start, end - start));
    start = text.find_first_not_of(" \t", end);
  }
  return words;
}

// Calls `on_line(line, number)` for each line that is not blank.
template <typename OnLine>
void for_each_line(std::string_view text, OnLine on_line) {
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    ++number;
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) on_line(line, number);
    start = end + 1;
  }
}

struct DependencyLine {
  std::string path;                       // as written: relative to the modules directory
  std::vector<std::string> dependencies;  // canonical names
  bool read = false;                      // found in a tree: its dependencies were read
};

// modules.dep: "kernel/x/a.ko: kernel/y/b.ko kernel/z/c.ko", by canonical module name.
std::map<std::string, DependencyLine> read_modules_dep(const fs::path& file) {
  std::string text = base::read_file(file, "module dependency list");
  std::map<std::string, DependencyLine> lines;
  for_each_line(text, [&](std::string_view line, std::size_t number) {
    auto fail = [&](std::string_view what) {
      return Error(fmt::format("{}:{}: {}: \"{}\"", file.string(), number, what, line));
    };
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) throw fail("expected \"MODULE: DEPENDENCIES\"");
    std::vector<std::string_view> module = split_words(line.substr(0, colon));
    if (module.size() != 1) throw fail("expected one module before ':'");
    std::string name = name_of_module_file(module[0]);
    if (name.empty()) throw fail(fmt::format("\"{}\" is not a module file", module[0]));

    DependencyLine entry{.path = std::string(module[0]), .dependencies = {}};
    for (std::string_view dependency : split_words(line.substr(colon + 1))) {
      std::string dependency_name = name_of_module_file(dependency);
      if (dependency_name.empty()) {
        throw fail(fmt::format("\"{}\" is not a module file", dependency));
      }
      entry.dependencies.push_back(std::move(dependency_name));
    }
    if (!lines.emplace(name, std::move(entry)).second) {
      throw fail(fmt::format("module {} is listed a second time", name));
    }
  });
  return lines;
}

// modules.builtin: one "kernel/x/a.ko" per line. Kernels built without modules.builtin (it is
// installed by `make modules_install` since 2.6.33) are taken to have none.
std::set<std::string> read_modules_builtin(const fs::path& file) {
  std::set<std::string> names;
  std::error_code ignored;
  if (!fs::exists(file, ignored)) return names;
  std::string text = base::read_file(file, "builtin module list");
  for_each_line(text, [&](std::string_view line, std::size_t number) {
    std::vector<std::string_view> words = split_words(line);
    std::string name = words.size() == 1 ? name_of_module_file(words[0]) : std::string();
    if (name.empty()) {
      throw Error(fmt::format("{}:{}: expected one module file: \"{}\"", file.string(), number,
                              line));
    }
    names.insert(std::move(name));
  });
  return names;
}

// Every module file below `dir` by name, with its dependencies not read yet (modinfo_depends).
// A name found twice keeps its first file in path order.
std::map<std::string, DependencyLine> modules_in_tree(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error))
    if (it->is_regular_file(error) && !name_of_module_file(it->path().filename().string()).empty())
      files.push_back(it->path());
  if (error) throw Error(fmt::format("modules directory {}: {}", dir.string(), error.message()));
  std::sort(files.begin(), files.end());
  std::map<std::string, DependencyLine> lines;
  for (const auto& file : files)
    lines.try_emplace(name_of_module_file(file.filename().string()),
                      DependencyLine{.path = file.lexically_relative(dir).string(), .dependencies = {}});
  return lines;
}

// Orders modules by depth-first search: a module is emitted after all its dependencies.
class LoadOrder {
 public:
  // `line_of`: the module's line, or null when the tree has no such module. `source` names
  // where the lines come from, in errors.
  using LineOf = std::function<const DependencyLine*(const std::string& name)>;
  LoadOrder(const fs::path& source, LineOf line_of) : source_(source), line_of_(std::move(line_of)) {}

  void visit(const std::string& name, const std::string& needed_by) {
    auto [mark, first_visit] = marks_.try_emplace(name, Mark::visiting);
    if (!first_visit) {
      if (mark->second == Mark::visiting) throw cycle_error(name);
      return;
    }
    const DependencyLine* line = line_of_(name);
    if (!line) {
      throw Error(fmt::format("{}: module {} needs {}, which has no line of its own",
                              source_.string(), needed_by, name));
    }
    path_.push_back(name);
    for (const std::string& dependency : line->dependencies) visit(dependency, name);
    path_.pop_back();
    mark->second = Mark::done;
    order_.push_back(name);
  }

  const std::vector<std::string>& order() const { return order_; }

 private:
  enum class Mark { visiting, done };

  Error cycle_error(const std::string& name) const {
    auto start = std::find(path_.begin(), path_.end(), name);
    std::vector<std::string> cycle(start, path_.end());
    cycle.push_back(name);
    return Error(fmt::format("{}: dependency cycle: {}", source_.string(), fmt::join(cycle, " -> ")));
  }

  const fs::path& source_;
  LineOf line_of_;
  std::map<std::string, Mark> marks_;
  std::vector<std::string> path_;  // the modules being visited, outermost first
  std::vector<std::string> order_;
};
}  // namespace

fs::path modules_directory(const std::optional<fs::path>& configured, const std::string& release) {
  if (!configured) return fs::path("/lib/modules") / release;
  std::error_code error;
  if (!release.empty() && fs::is_directory(*configured / "lib/modules" / release, error))
    return *configured / "lib/modules" / release;
  return *configured;
}

std::string_view module_extension(std::string_view file_name) {
  for (std::string_view extension : {".ko", ".ko.xz", ".ko.gz", ".ko.zst"}) {
    if (file_name.ends_with(extension)) {
      return file_name.substr(file_name.size() - extension.size());
    }
  }
  return {};
}

std::vector<Module> resolve_modules(const fs::path& modules_dir,
                                    const std::vector<std::string>& wanted) {
  std::error_code error;
  fs::file_status status = fs::status(modules_dir, error);
  if (status.type() == fs::file_type::not_found) return {};  // everything is built in
  if (error) {
    throw Error(fmt::format("modules directory {}: {}", modules_dir.string(), error.message()));
  }
  if (!fs::is_directory(status)) {
    throw Error(fmt::format("modules directory {}: not a directory", modules_dir.string()));
  }

  // Without modules.dep (depmod writes it when a kernel is installed; an unpacked package or
  // a build tree has none), the tree's module files are found by name and each one's own
  // `depends=` says what it needs.
  fs::path modules_dep = modules_dir / "modules.dep";
  const bool has_dep = fs::exists(modules_dep, error);
  std::map<std::string, DependencyLine> lines =
      has_dep ? read_modules_dep(modules_dep) : modules_in_tree(modules_dir);
  const fs::path source = has_dep ? modules_dep : modules_dir;
  std::set<std::string> builtin = read_modules_builtin(modules_dir / "modules.builtin");

  LoadOrder order(source, [&](const std::string& name) -> const DependencyLine* {
    auto line = lines.find(name);
    if (line == lines.end()) return nullptr;
    if (!has_dep && !line->second.read) {
      line->second.dependencies = modinfo_depends(modules_dir / line->second.path);
      line->second.read = true;
    }
    return &line->second;
  });
  for (const std::string& requested : wanted) {
    std::string name = canonical_name(requested);
    if (lines.contains(name)) {
      order.visit(name, name);
    } else if (!builtin.contains(name)) {
      throw Error(fmt::format("kernel module \"{}\" is neither built in nor in {}", requested, source.string()));
    }
  }

  std::vector<Module> modules;
  for (const std::string& name : order.order()) {
    fs::path file = modules_dir / lines.at(name).path;  // an absolute path stays as it is
    if (!fs::is_regular_file(file, error)) {
      throw Error(fmt::format("kernel module {}: {} (listed in {}) does not exist", name,
                              file.string(), modules_dep.string()));
    }
    modules.push_back({.name = name, .path = std::move(file)});
  }
  return modules;
}

}  // namespace provium::initramfs
