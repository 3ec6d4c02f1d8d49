#include "cache/machine_record.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <provium/error.h>

#include "base/files.h"
#include "cache/key.h"
#include "config/config.h"

namespace provium::cache {

namespace {

std::filesystem::path record_file(const Entry& entry) { return entry.dir / "vm.json"; }

std::string boot_inputs_digest(const std::string& profile, const BootOptions& boot) {
  KeyBuilder digest;
  add_boot_options(digest, boot, config::current().profile(profile));
  return digest.hex();
}

}  // namespace

void write_machine_record(const Entry& entry, const std::string& profile, const BootOptions& boot) {
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& disk : boot.disks)
    disks.push_back({{"path", disk.path}, {"format", disk.format}, {"readonly", disk.readonly}});
  nlohmann::json shares = nlohmann::json::array();
  for (const auto& share : boot.shares)
    shares.push_back({{"host", share.host}, {"guest", share.guest}, {"readonly", share.readonly}});
  const nlohmann::json record = {{"profile", profile},
                                 {"memory", boot.memory},
                                 {"cpus", boot.cpus},
                                 {"max_workers", boot.max_workers},
                                 {"timeout_ms", boot.timeout.count()},
                                 {"disks", disks},
                                 {"shares", shares},
                                 {"files", boot.files},
                                 {"inputs", boot_inputs_digest(profile, boot)}};
  std::ofstream out(record_file(entry));
  out << record.dump(2) << "\n";
  if (!out.flush()) throw Error(fmt::format("cannot write {}", record_file(entry).string()));
}

MachineRecord read_machine_record(const Entry& entry) {
  const auto file = record_file(entry);
  try {
    const auto json = nlohmann::json::parse(base::read_file(file, "fixture's machine record"));
    BootOptions boot;
    boot.memory = json.at("memory").get<std::string>();
    boot.cpus = json.at("cpus").get<int>();
    boot.max_workers = json.at("max_workers").get<int>();
    boot.timeout = std::chrono::milliseconds(json.at("timeout_ms").get<int64_t>());
    for (const auto& disk : json.at("disks"))
      boot.disks.push_back({disk.at("path").get<std::string>(), disk.at("format").get<std::string>(),
                            disk.at("readonly").get<bool>()});
    for (const auto& share : json.at("shares"))
      boot.shares.push_back({share.at("host").get<std::string>(), share.at("guest").get<std::string>(),
                             share.at("readonly").get<bool>()});
    boot.files = json.at("files").get<std::map<std::string, std::string>>();
    return {json.at("profile").get<std::string>(), boot, json.at("inputs").get<std::string>()};
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
      return "a file or disk it was booted with changed since it was built";
  } catch (const std::exception& error) {
    return fmt::format("its machine record cannot be read: {}", error.what());
  }
  current.insert(entry.id);
  return std::nullopt;
}

}  // namespace provium::cache
