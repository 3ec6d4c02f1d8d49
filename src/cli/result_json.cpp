#include "cli/result_json.h"

#include <nlohmann/json.hpp>

namespace provium::cli {

using nlohmann::json;

namespace {

std::string_view status_name(lua::BlockResult::Status status) {
  switch (status) {
    case lua::BlockResult::Status::passed: return "passed";
    case lua::BlockResult::Status::failed: return "failed";
    case lua::BlockResult::Status::todo: return "todo";
  }
  return "failed";
}

std::optional<lua::BlockResult::Status> status_from_name(const std::string& name) {
  if (name == "passed") return lua::BlockResult::Status::passed;
  if (name == "failed") return lua::BlockResult::Status::failed;
  if (name == "todo") return lua::BlockResult::Status::todo;
  return std::nullopt;
}

}  // namespace

std::string result_to_json(const lua::FileResult& result) {
  json blocks = json::array();
  for (const auto& block : result.blocks)
    blocks.push_back({{"name", block.name},
                      {"status", status_name(block.status)},
                      {"message", block.message},
                      {"file", block.file},
                      {"line", block.line},
                      {"seconds", block.seconds}});
  json consoles = json::array();
  for (const auto& console : result.consoles)
    consoles.push_back({{"label", console.label}, {"text", console.text}});
  const json document = {{"file", result.file.string()},
                         {"blocks", blocks},
                         {"error", result.error ? json(*result.error) : json(nullptr)},
                         {"consoles", consoles},
                         {"seconds", result.seconds}};
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<lua::FileResult> result_from_json(std::string_view text) {
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return std::nullopt;
  try {
    lua::FileResult result;
    result.file = document.at("file").get<std::string>();
    for (const auto& item : document.at("blocks")) {
      lua::BlockResult block;
      block.name = item.at("name").get<std::string>();
      const auto status = status_from_name(item.at("status").get<std::string>());
      if (!status) return std::nullopt;
      block.status = *status;
      block.message = item.at("message").get<std::string>();
      block.file = item.at("file").get<std::string>();
      block.line = item.at("line").get<int>();
      block.seconds = item.at("seconds").get<double>();
      result.blocks.push_back(std::move(block));
    }
    if (!document.at("error").is_null()) result.error = document.at("error").get<std::string>();
    for (const auto& item : document.at("consoles"))
      result.consoles.push_back({item.at("label").get<std::string>(), item.at("text").get<std::string>()});
    result.seconds = document.at("seconds").get<double>();
    return result;
  } catch (const json::exception&) {
    return std::nullopt;  // a field missing or of the wrong type
  }
}

}  // namespace provium::cli
