// The record behind --rerun-failed: the outcome of every file the last time it ran, by absolute
// path, in one JSON file next to the fixture cache. Each run replaces the entries of the files
// it ran, so the record answers "did this file fail the last time it ran?" whichever directory
// or filter a run used.
#pragma once

#include <filesystem>
#include <map>
#include <set>

namespace provium::cli {

class RerunRecord {
 public:
  enum class Outcome { passed, failed, skipped };

  // base::settings()->cache_root / "last-failed.json".
  static std::filesystem::path default_path();

  explicit RerunRecord(std::filesystem::path path = default_path()) : path_(std::move(path)) {}
  const std::filesystem::path& path() const { return path_; }

  // The files that failed the last time they ran (absolute paths). An unreadable record is
  // an empty one, with a warning on stderr.
  std::set<std::filesystem::path> failed() const;

  // Replaces the entries of `outcomes` (absolute paths) and drops entries of files that no
  // longer exist. Concurrent runs take turns (flock), and the file is replaced atomically.
  void update(const std::map<std::filesystem::path, Outcome>& outcomes) const;

  // The absolute, normalized form under which a file is recorded.
  static std::filesystem::path key(const std::filesystem::path& file);

 private:
  std::filesystem::path path_;
};

}  // namespace provium::cli
