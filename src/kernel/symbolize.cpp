#include "kernel/symbolize.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <system_error>

#include <provium/error.h>

#include "base/capture_output.h"

namespace provium::kernel {

namespace fs = std::filesystem;

namespace {

// "func+0x1c/0x80" or "func+0x1c/0x80 [kacs]": a frame as the kernel prints it.
const std::regex kFrame(R"(([A-Za-z_][A-Za-z0-9_.]*)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([A-Za-z0-9_-]+)\])?)");

struct Frame {
  std::size_t line;     // index into the report's lines
  std::string object;   // "" for vmlinux, else the module's name
  std::string symbol;
  uint64_t offset = 0;
  uint64_t size = 0;
  bool return_address = true;  // a call trace's frame; false: where the CPU was (RIP, a WARN)
};

// One place of addr2line -i: a function and its file:line.
struct Place {
  std::string function;
  std::string location;
};

// A module's name as the kernel prints it: '-' in a file name is '_' in the module's.
std::string module_name(std::string name) {
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

// The .ko of each module named in `wanted`, from the files and directories given.
std::map<std::string, fs::path> find_modules(const std::vector<fs::path>& places, const std::map<std::string, bool>& wanted) {
  std::map<std::string, fs::path> found;
  auto consider = [&](const fs::path& file) {
    const std::string name = file.filename().string();
    if (!name.ends_with(".ko")) return;
    const std::string module = module_name(name.substr(0, name.size() - 3));
    if (wanted.contains(module) && !found.contains(module)) found[module] = file;
  };
  for (const fs::path& place : places) {
    std::error_code error;
    if (fs::is_directory(place, error)) {
      for (fs::recursive_directory_iterator it(place, fs::directory_options::skip_permission_denied, error), end;
           !error && it != end; it.increment(error))
        if (it->is_regular_file(error)) consider(it->path());
    } else {
      consider(place);
    }
  }
  return found;
}

// A function symbol: where it is and how long. In a module (a relocatable object) every section
// starts at 0, so the address means something only within its section.
struct Symbol {
  uint64_t address = 0;
  uint64_t size = 0;
  std::string section;
};

// objdump -t: each function symbol by name (a static function's name can repeat). Its lines
// are "ADDRESS FLAGS(7) SECTION\tSIZE NAME", F among the flags for a function.
std::multimap<std::string, Symbol> function_symbols(const fs::path& objdump, const fs::path& object) {
  std::multimap<std::string, Symbol> symbols;
  std::istringstream lines(base::capture_output({objdump.string(), "-t", object.string()}));
  for (std::string line; std::getline(lines, line);) {
    const std::size_t space = line.find(' ');
    const std::size_t tab = line.find('\t');
    if (space == std::string::npos || tab == std::string::npos || tab < space + 9) continue;
    const std::string flags = line.substr(space + 1, 7);
    if (flags[6] != 'F') continue;
    std::istringstream rest(line.substr(tab + 1));
    std::string size, name;
    if (!(rest >> size >> name)) continue;
    symbols.emplace(name, Symbol{std::stoull(line.substr(0, space), nullptr, 16), std::stoull(size, nullptr, 16),
                                 line.substr(space + 9, tab - space - 9)});
  }
  return symbols;
}

std::string shorter(std::string location, const std::vector<fs::path>& sources) {
  for (const fs::path& root : sources) {
    const std::string prefix = root.string() + "/";
    if (location.starts_with(prefix)) return location.substr(prefix.size());
  }
  return location;
}

// addr2line -f -i -p for `addresses` of `object` (within `section` when one is named): per
// address, its places, innermost first.
std::vector<std::vector<Place>> places_of(const SymbolSources& sources, const fs::path& object,
                                          const std::string& section, const std::vector<uint64_t>& addresses) {
  std::vector<std::string> argv{sources.addr2line.string(), "-f", "-i", "-p", "-e", object.string()};
  if (!section.empty()) argv.insert(argv.end(), {"-j", section});
  for (uint64_t address : addresses) argv.push_back(fmt::format("0x{:x}", address));
  std::vector<std::vector<Place>> places;
  std::istringstream lines(base::capture_output(argv));
  for (std::string line; std::getline(lines, line);) {
    constexpr std::string_view kInlined = " (inlined by) ";
    const bool inlined = line.starts_with(kInlined);
    if (inlined) line = line.substr(kInlined.size());
    if (!inlined || places.empty()) places.emplace_back();
    const std::size_t at = line.find(" at ");
    if (at == std::string::npos) continue;
    std::string location = line.substr(at + 4);
    if (const std::size_t discriminator = location.find(" (discriminator"); discriminator != std::string::npos)
      location.resize(discriminator);
    if (location.starts_with("??")) continue;
    if (location.starts_with("./")) location.erase(0, 2);  // a file the build generated
    places.back().push_back({line.substr(0, at), shorter(location, sources.sources)});
  }
  return places;
}

}  // namespace

std::string symbolize_frames(std::string_view text, const SymbolSources& sources) {
  std::vector<std::string> lines;
  {
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::vector<Frame> frames;
  std::map<std::string, bool> modules;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch match;
    if (!std::regex_search(lines[i], match, kFrame)) continue;
    const std::string_view line = lines[i];
    const bool exact = line.find("RIP: ") != std::string_view::npos || line.find("WARNING: ") != std::string_view::npos ||
                       line.find("BUG: ") != std::string_view::npos;
    frames.push_back({i, module_name(match[4].str()), match[1].str(), std::stoull(match[2].str(), nullptr, 16),
                      std::stoull(match[3].str(), nullptr, 16), !exact});
    if (!frames.back().object.empty()) modules[frames.back().object] = true;
  }
  if (frames.empty()) return std::string(text);

  std::map<std::string, fs::path> objects = find_modules(sources.modules, modules);
  objects[""] = sources.vmlinux;
  // Each frame's places, object by object: one objdump per object, one addr2line per object
  // (per section of a module).
  std::map<std::size_t, std::vector<Place>> resolved;
  try {
    for (const auto& [name, object] : objects) {
      const auto symbols = function_symbols(sources.objdump, object);
      std::map<std::string, std::pair<std::vector<uint64_t>, std::vector<std::size_t>>> by_section;
      for (const Frame& frame : frames) {
        if (frame.object != name) continue;
        auto [first, last] = symbols.equal_range(frame.symbol);
        if (first == last) continue;
        auto chosen = first;  // the symbol of the frame's size, where the name repeats
        for (auto it = first; it != last; ++it)
          if (it->second.size == frame.size) chosen = it;
        // vmlinux's addresses are absolute; a module's are offsets into their section.
        auto& [addresses, owners] = by_section[name.empty() ? "" : chosen->second.section];
        // A call trace's frame is a return address, just past its call: the call's line is
        // the one before it (as syzkaller's symbolizer asks for pc - 1).
        const uint64_t back = frame.return_address && frame.offset > 0 ? 1 : 0;
        addresses.push_back(chosen->second.address + frame.offset - back);
        owners.push_back(frame.line);
      }
      for (const auto& [section, wanted] : by_section) {
        const auto& [addresses, owners] = wanted;
        const auto places = places_of(sources, object, section, addresses);
        for (std::size_t i = 0; i < owners.size() && i < places.size(); ++i) resolved[owners[i]] = places[i];
      }
    }
  } catch (const Error&) {
    return std::string(text);  // no binutils, an object without symbols: the report as printed
  }

  std::string result;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto found = resolved.find(i);
    if (found == resolved.end() || found->second.empty()) {
      result += lines[i] + "\n";
      continue;
    }
    const std::vector<Place>& places = found->second;
    result += fmt::format("{} ({})\n", lines[i], places.back().location);
    // The functions inlined where the frame is, innermost first, under the frame.
    std::smatch match;
    std::regex_search(lines[i], match, kFrame);
    const std::string indent = lines[i].substr(0, static_cast<std::size_t>(match.position(0)));
    for (std::size_t place = 0; place + 1 < places.size(); ++place)
      result += fmt::format("{}  inlined: {} ({})\n", indent, places[place].function, places[place].location);
  }
  return result;
}

}  // namespace provium::kernel
