#include "cache/machine_record.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include <provium/error.h>

#include "base/boot_fields.h"
#include "base/files.h"
#include "cache/key.h"
#include "config/config.h"

namespace provium::cache {

namespace {

std::filesystem::path record_file(const Entry& entry) { return entry.dir / "vm.json"; }

// What the host gave the boot: the profile's files (kernel, QEMU, ...) and the boot options'.
std::string boot_inputs_digest(const std::string& profile_name, const BootOptions& boot) {
  const auto profile = config::current().profile(profile_name);
  KeyBuilder digest;
  add_profile(digest, profile);
  add_boot_options(digest, boot, profile);
  return digest.hex();
}

// Each kind of boot option as JSON and back; the record's names are the options' own.
struct BootOptionToJson {
  nlohmann::json& json;
  void operator()(const char* name, const std::string& value) { json[name] = value; }
  void operator()(const char* name, int value) { json[name] = value; }
  void operator()(const char* name, const std::map<std::string, std::string>& files) { json[name] = files; }
  void operator()(const char* name, const std::vector<Disk>& disks) {
    json[name] = nlohmann::json::array();
    for (const auto& disk : disks)
      json[name].push_back({{"path", disk.path}, {"format", disk.format}, {"readonly", disk.readonly}});
  }
  void operator()(const char* name, const std::vector<Share>& shares) {
    json[name] = nlohmann::json::array();
    for (const auto& share : shares)
      json[name].push_back({{"host", share.host}, {"guest", share.guest}, {"readonly", share.readonly}});
  }
  void operator()(const char* name, std::chrono::milliseconds value) { json[name] = value.count(); }
};

struct BootOptionFromJson {
  const nlohmann::json& json;
  void operator()(const char* name, std::string& value) { value = json.at(name).get<std::string>(); }
  void operator()(const char* name, int& value) { value = json.at(name).get<int>(); }
  void operator()(const char* name, std::map<std::string, std::string>& files) {
    files = json.at(name).get<std::map<std::string, std::string>>();
  }
  void operator()(const char* name, std::vector<Disk>& disks) {
    for (const auto& disk : json.at(name))
      disks.push_back({disk.at("path").get<std::string>(), disk.at("format").get<std::string>(),
                       disk.at("readonly").get<bool>()});
  }
  void operator()(const char* name, std::vector<Share>& shares) {
    for (const auto& share : json.at(name))
      shares.push_back({share.at("host").get<std::string>(), share.at("guest").get<std::string>(),
                        share.at("readonly").get<bool>()});
  }
  void operator()(const char* name, std::chrono::milliseconds& value) {
    value = std::chrono::milliseconds(json.at(name).get<int64_t>());
  }
};

}  // namespace

void write_machine_record(const Entry& entry, const std::string& profile, const BootOptions& boot) {
  nlohmann::json record = {{"profile", profile}, {"inputs", boot_inputs_digest(profile, boot)}};
  nlohmann::json options;
  base::each_boot_field(boot, BootOptionToJson{options});
  record["boot"] = std::move(options);
  std::ofstream out(record_file(entry));
  out << record.dump(2) << "\n";
  if (!out.flush()) throw Error(fmt::format("cannot write {}", record_file(entry).string()));
}

MachineRecord read_machine_record(const Entry& entry) {
  const auto file = record_file(entry);
  try {
    const auto json = nlohmann::json::parse(base::read_file(file, "fixture's machine record"));
    MachineRecord record{json.at("profile").get<std::string>(), {}, json.at("inputs").get<std::string>()};
    base::each_boot_field(record.boot, BootOptionFromJson{json.at("boot")});
    return record;
  } catch (const nlohmann::json::exception& error) {
    throw Error(fmt::format("{}: {}", file.string(), error.what()));
  }
}

std::optional<std::string> stale_boot_inputs(const Entry& entry) {
  static std::mutex mutex;
  static std::set<std::string> current;  // ids of entries found current
  std::lock_guard lock(mutex);
  if (current.contains(entry.id)) return std::nullopt;
  try {
    const MachineRecord record = read_machine_record(entry);
    if (boot_inputs_digest(record.profile, record.boot) != record.inputs)
      return fmt::format("its profile '{}' (kernel, QEMU, ...) or a file or disk it was booted with changed since it was "
                         "built",
                         record.profile);
  } catch (const std::exception& error) {
    return fmt::format("its machine record cannot be read: {}", error.what());
  }
  current.insert(entry.id);
  return std::nullopt;
}

}  // namespace provium::cache
