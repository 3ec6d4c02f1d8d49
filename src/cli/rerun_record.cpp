#include "cli/rerun_record.h"


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <system_error>

#include <provium/error.h>

#include "base/files.h"
#include "base/owner_lock.h"
#include "base/settings.h"

namespace provium::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kVersion = 1;

const char* outcome_name(RerunRecord::Outcome outcome) {
  switch (outcome) {
    case RerunRecord::Outcome::passed: return "passed";
    case RerunRecord::Outcome::failed: return "failed";
    case RerunRecord::Outcome::skipped: return "skipped";
  }
  return "failed";
}

// The record's "files" object; empty when there is no record, with a warning when there is
// one that cannot be read.
json read_files(const fs::path& path) {
  std::error_code missing;
  if (!fs::exists(path, missing)) return json::object();
  std::string text;
  try {
    text = base::read_file(path, "the rerun record");
  } catch (const Error&) {
    return json::object();  // unreadable: as if there were none
  }
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_object() && document.value("version", 0) == kVersion &&
      document.contains("files") && document["files"].is_object())
    return document["files"];
  std::cerr << fmt::format("provium: ignoring {}: not a record of this provium's\n", path.string());
  return json::object();
}

}  // namespace

fs::path RerunRecord::default_path() { return base::settings()->cache_root / "last-failed.json"; }

fs::path RerunRecord::key(const fs::path& file) {
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(fs::absolute(file), error);
  return error ? fs::absolute(file).lexically_normal() : canonical;
}

std::set<fs::path> RerunRecord::failed() const {
  std::set<fs::path> files;
  const json files_json = read_files(path_);  // held: items() only refers to it
  for (const auto& [file, outcome] : files_json.items())
    if (outcome == "failed") files.insert(file);
  return files;
}

void RerunRecord::update(const std::map<fs::path, Outcome>& outcomes) const {
  base::ensure_private_directory(path_.parent_path());
  const auto lock = base::OwnerLock::acquire(path_.string() + ".lock");
  json files = read_files(path_);
  for (const auto& [file, outcome] : outcomes) files[file.string()] = outcome_name(outcome);
  json kept = json::object();
  std::error_code error;
  for (const auto& [file, outcome] : files.items())
    if (fs::exists(file, error)) kept[file] = outcome;
  const json document = {{"version", kVersion}, {"files", kept}};

  const fs::path temporary = path_.string() + fmt::format(".{}.tmp", ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << document.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    out.close();
    if (!out) throw Error(fmt::format("cannot write {}", temporary.string()));
  }
  fs::rename(temporary, path_, error);
  if (error) {
    fs::remove(temporary, error);
    throw Error(fmt::format("cannot replace {}: {}", path_.string(), error.message()));
  }
}

}  // namespace provium::cli
