#include "cache/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <provium/error.h>

#include "base/files.h"
#include "cache/resume.h"

namespace provium::cache {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTop = "provium-fixtures/";
constexpr std::string_view kManifest = "provium-fixtures/manifest.json";
constexpr std::string_view kFormat = "provium fixture archive";
constexpr int kVersion = 1;
constexpr std::size_t kMaxManifest = 16u << 20;
constexpr std::size_t kChunk = 1u << 20;
constexpr std::size_t kPage = 4096;

// XXH3-128 of a stream, as 32 hex digits.
class ContentHash {
 public:
  ContentHash() : state_(XXH3_createState(), XXH3_freeState) { XXH3_128bits_reset(state_.get()); }
  void update(const void* data, std::size_t size) { XXH3_128bits_update(state_.get(), data, size); }
  std::string hex() const {
    const XXH128_hash_t hash = XXH3_128bits_digest(state_.get());
    return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
  }

 private:
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state_;
};

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

bool safe_component(std::string_view name) {
  return !name.empty() && name[0] != '.' && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// ---- export ----

class ArchiveWriter {
 public:
  explicit ArchiveWriter(const fs::path& file) : archive_(archive_write_new(), archive_write_free) {
    if (!archive_ || archive_write_add_filter_zstd(archive_.get()) != ARCHIVE_OK ||
        archive_write_set_filter_option(archive_.get(), "zstd", "compression-level", "1") != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(archive_.get()) != ARCHIVE_OK ||
        archive_write_open_filename(archive_.get(), file.c_str()) != ARCHIVE_OK)
      fail(fmt::format("cannot write {}", file.string()));
  }

  // The member `name` with the contents of `file`; returns their size and hash. The file's
  // holes (a RAM file's untouched memory) are not read: their zeros are given as they are.
  std::pair<uint64_t, std::string> add_file(const std::string& name, const fs::path& file) {
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw Error(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
    const uint64_t size = fs::file_size(file);
    header(name, size);
    ContentHash hash;
    static const std::vector<char> zeros(kChunk);
    std::vector<char> chunk(kChunk);
    uint64_t done = 0;
    while (done < size) {
      const off_t data = ::lseek(fd.get(), static_cast<off_t>(done), SEEK_DATA);
      // ENXIO: no data after `done`; a file system without SEEK_DATA reads everything.
      const uint64_t hole_end = data < 0 ? (errno == ENXIO ? size : done) : std::min<uint64_t>(data, size);
      for (; done < hole_end; ) {
        const std::size_t n = std::min<uint64_t>(kChunk, hole_end - done);
        hash.update(zeros.data(), n);
        write_data(zeros.data(), n);
        done += n;
      }
      if (done == size) break;
      const ssize_t got = ::pread(fd.get(), chunk.data(), std::min<uint64_t>(kChunk, size - done), static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        throw Error(fmt::format("cannot read {}: {}", file.string(), got < 0 ? std::strerror(errno) : "it shrank"));
      hash.update(chunk.data(), static_cast<std::size_t>(got));
      write_data(chunk.data(), static_cast<std::size_t>(got));
      done += static_cast<uint64_t>(got);
    }
    return {size, hash.hex()};
  }

  void add_text(const std::string& name, const std::string& text) {
    header(name, text.size());
    write_data(text.data(), text.size());
  }

  void close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail("cannot finish the archive");
  }

 private:
  void header(const std::string& name, uint64_t size) {
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0600);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK) fail("cannot write " + name);
  }

  void write_data(const char* bytes, std::size_t size) {
    if (archive_write_data(archive_.get(), bytes, size) != static_cast<la_ssize_t>(size)) fail("cannot write");
  }

  [[noreturn]] void fail(const std::string& what) {
    const char* why = archive_ ? archive_error_string(archive_.get()) : nullptr;
    throw Error(fmt::format("{}: {}", what, why ? why : "out of memory"));
  }

  ArchivePtr archive_;
};

// ---- import ----

struct StagedFile {
  uint64_t size = 0;
  std::string hash;
};

class ArchiveReader {
 public:
  explicit ArchiveReader(const fs::path& file) : file_(file), archive_(archive_read_new(), archive_read_free) {
    if (!archive_) throw Error("cannot read archives: out of memory");
    archive_read_support_filter_zstd(archive_.get());
    archive_read_support_format_tar(archive_.get());
    if (archive_read_open_filename(archive_.get(), file.c_str(), kChunk) != ARCHIVE_OK)
      throw Error(fmt::format("{} is not a Provium fixture archive: {}", file.string(), why()));
  }

  // The next member, or null at the end.
  archive_entry* next() {
    archive_entry* entry = nullptr;
    const int status = archive_read_next_header(archive_.get(), &entry);
    if (status == ARCHIVE_EOF) return nullptr;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) damaged();
    return entry;
  }

  // The member's data into `path` (new), zero pages left as holes; its size and hash.
  StagedFile extract(const fs::path& path, uint64_t size) {
    FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) throw Error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    static const std::array<char, kPage> zeros{};
    ContentHash hash;
    uint64_t position = 0;
    for (;;) {
      const void* block = nullptr;
      std::size_t length = 0;
      la_int64_t offset = 0;
      const int status = archive_read_data_block(archive_.get(), &block, &length, &offset);
      if (status == ARCHIVE_EOF) break;
      if (status != ARCHIVE_OK && status != ARCHIVE_WARN) damaged();
      if (offset < 0 || static_cast<uint64_t>(offset) < position || static_cast<uint64_t>(offset) + length > size)
        throw Error(fmt::format("{} is damaged: a member's data lies outside it", file_.string()));
      for (; position < static_cast<uint64_t>(offset); position += std::min<uint64_t>(kPage, offset - position))
        hash.update(zeros.data(), std::min<uint64_t>(kPage, offset - position));  // a hole of the archive
      hash.update(block, length);
      write_sparse(fd.get(), static_cast<const char*>(block), length, position, path);
      position += length;
    }
    for (; position < size; position += std::min<uint64_t>(kPage, size - position))
      hash.update(zeros.data(), std::min<uint64_t>(kPage, size - position));
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
      throw Error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    return {size, hash.hex()};
  }

  std::string read_text(std::size_t size) {
    std::string text(size, '\0');
    std::size_t done = 0;
    while (done < size) {
      const la_ssize_t got = archive_read_data(archive_.get(), text.data() + done, size - done);
      if (got < 0) damaged();
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    text.resize(done);
    return text;
  }

  [[noreturn]] void damaged() {
    throw Error(fmt::format("{} is damaged or truncated: {}", file_.string(), why()));
  }

 private:
  std::string why() const {
    const char* text = archive_error_string(archive_.get());
    return text ? text : "(libarchive gives no reason)";
  }

  // Writes the pages of `data` that hold anything but zeros; the others stay holes.
  static void write_sparse(int fd, const char* data, std::size_t length, uint64_t offset, const fs::path& path) {
    static const std::array<char, kPage> zeros{};
    std::size_t start = 0;
    while (start < length) {
      std::size_t page = std::min(kPage, length - start);
      if (std::memcmp(data + start, zeros.data(), page) == 0) {
        start += page;
        continue;
      }
      std::size_t end = start + page;  // a run of pages with data, written at once
      while (end < length) {
        const std::size_t next = std::min(kPage, length - end);
        if (std::memcmp(data + end, zeros.data(), next) == 0) break;
        end += next;
      }
      for (std::size_t done = start; done < end;) {
        const ssize_t wrote = ::pwrite(fd, data + done, end - done, static_cast<off_t>(offset + done));
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) throw Error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
        done += static_cast<std::size_t>(wrote);
      }
      start = end;
    }
  }

  fs::path file_;
  ArchivePtr archive_;
};

nlohmann::json meta_json(const EntryMeta& meta) {
  return {{"fixture", meta.fixture}, {"key", meta.key},       {"ram_size", meta.ram_size},
          {"state_size", meta.state_size}, {"parent", meta.parent}, {"build_seconds", meta.build_seconds}};
}

// One entry of the manifest, checked: its name, key and the directory that holds its files.
struct ManifestEntry {
  EntryMeta meta;
  std::string dir;
  std::map<std::string, StagedFile> files;
};

std::vector<ManifestEntry> parse_manifest(const std::string& text, const fs::path& file) {
  const auto refused = [&](const std::string& why) {
    return Error(fmt::format("{} is not a Provium fixture archive: its manifest {}", file.string(), why));
  };
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) throw refused("is not a JSON object");
  if (json.value("format", std::string()) != kFormat) throw refused("does not say it is one");
  if (json.value("version", 0) != kVersion)
    throw Error(fmt::format("{} is a fixture archive of format version {}; this provium reads version {}",
                            file.string(), json.value("version", 0), kVersion));
  std::vector<ManifestEntry> entries;
  try {
    for (const auto& item : json.at("entries")) {
      ManifestEntry entry;
      const auto& meta = item.at("meta");
      entry.meta = EntryMeta{meta.at("fixture").get<std::string>(), meta.at("key").get<std::string>(),
                             meta.at("ram_size").get<uint64_t>(),    meta.at("state_size").get<uint64_t>(),
                             meta.at("parent").get<std::string>(),   meta.at("build_seconds").get<double>(),
                             /*id=*/{}};
      check_fixture_name(entry.meta.fixture);
      entry.dir = item.at("dir").get<std::string>();
      if (entry.dir != fmt::format("{}-{}", entry.meta.fixture, entry.meta.key) || !safe_component(entry.dir))
        throw refused(fmt::format("names directory '{}' for fixture '{}'", entry.dir, entry.meta.fixture));
      for (const auto& [name, facts] : item.at("files").items())
        entry.files[name] = {facts.at("size").get<uint64_t>(), facts.at("xxh128").get<std::string>()};
      entries.push_back(std::move(entry));
    }
  } catch (const nlohmann::json::exception& error) {
    throw refused(fmt::format("is malformed: {}", error.what()));
  } catch (const Error& error) {
    throw refused(error.what());
  }
  return entries;
}

}  // namespace

std::vector<EntryMeta> export_entries(Cache& cache, const std::vector<std::string>& fixtures, const fs::path& file) {
  auto metas = cache.list();
  std::sort(metas.begin(), metas.end(),
            [](const EntryMeta& a, const EntryMeta& b) { return std::tie(a.fixture, a.key) < std::tie(b.fixture, b.key); });
  std::set<std::string> cached;
  for (const auto& meta : metas) cached.insert(meta.fixture);
  for (const auto& name : fixtures)
    if (!cached.count(name))
      throw Error(fmt::format("no cached snapshot of fixture '{}' in {} (it holds: {})", name, cache.root().string(),
                              cached.empty() ? "nothing" : fmt::format("{}", fmt::join(cached, ", "))));
  struct Chosen {
    EntryMeta meta;
    Entry entry;
    std::shared_ptr<const void> held;  // eviction passes over it while it is read
  };
  std::vector<Chosen> chosen;
  for (const auto& meta : metas) {
    if (!fixtures.empty() && std::find(fixtures.begin(), fixtures.end(), meta.fixture) == fixtures.end()) continue;
    auto entry = cache.find(meta.fixture, meta.key);
    if (!entry) continue;  // damaged or being replaced: not exported
    auto held = cache.hold(*entry);
    if (held) chosen.push_back({meta, *entry, std::move(held)});
  }
  if (chosen.empty()) throw Error(fmt::format("the fixture cache {} holds no snapshot to export", cache.root().string()));

  // Written in a directory beside it, then renamed: the archive appears only once it is whole.
  base::TemporaryDirectory scratch(fs::absolute(file).parent_path(), fmt::format(".{}.partial-", file.filename().string()));
  const fs::path partial = scratch.path() / "archive";
  ArchiveWriter writer(partial);
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [meta, entry, held] : chosen) {
    const std::string dir = entry.dir.filename().string();
    std::vector<fs::path> files;
    for (const auto& item : fs::directory_iterator(entry.dir))
      if (item.is_regular_file() && item.path() != entry.meta()) files.push_back(item.path());
    std::sort(files.begin(), files.end());
    nlohmann::json listed = nlohmann::json::object();
    for (const auto& path : files) {
      const auto [size, hash] = writer.add_file(fmt::format("{}{}/{}", kTop, dir, path.filename().string()), path);
      listed[path.filename().string()] = {{"size", size}, {"xxh128", hash}};
    }
    entries.push_back({{"dir", dir}, {"meta", meta_json(meta)}, {"files", listed}});
  }
  writer.add_text(std::string(kManifest),
                  nlohmann::json{{"format", kFormat}, {"version", kVersion}, {"entries", entries}}.dump(1) + "\n");
  writer.close();
  std::error_code error;
  fs::rename(partial, file, error);
  if (error) throw Error(fmt::format("cannot write {}: {}", file.string(), error.message()));
  std::vector<EntryMeta> exported;
  for (const auto& item : chosen) exported.push_back(item.meta);
  return exported;
}

std::vector<Imported> import_entries(Cache& cache, const fs::path& file) {
  ArchiveReader reader(file);
  base::ensure_private_directory(cache.root());
  base::TemporaryDirectory staging(cache.root(), ".import-");

  const auto refused = [&](const std::string& why) {
    return Error(fmt::format("{} is not a Provium fixture archive: {}", file.string(), why));
  };
  std::map<std::string, StagedFile> staged;  // "DIR/FILE"
  std::optional<std::string> manifest;
  while (archive_entry* member = reader.next()) {
    const std::string name = archive_entry_pathname(member) ? archive_entry_pathname(member) : "";
    if (manifest) throw refused(fmt::format("member '{}' comes after the manifest", name));
    const bool regular = archive_entry_filetype(member) == AE_IFREG && archive_entry_size_is_set(member);
    const uint64_t size = regular ? static_cast<uint64_t>(archive_entry_size(member)) : 0;
    if (name == kManifest) {
      if (!regular || size > kMaxManifest) throw refused("its manifest is not a file of at most 16 MiB");
      manifest = reader.read_text(size);
      continue;
    }
    const std::string relative = name.substr(0, kTop.size()) == kTop ? name.substr(kTop.size()) : "";
    const auto slash = relative.find('/');
    if (!regular || slash == std::string::npos || !safe_component(relative.substr(0, slash)) ||
        !safe_component(relative.substr(slash + 1)))
      throw refused(fmt::format("its member '{}' is not a file of a fixture entry", name));
    if (staged.count(relative)) throw refused(fmt::format("its member '{}' comes twice", name));
    fs::create_directories(staging.path() / relative.substr(0, slash));
    staged[relative] = reader.extract(staging.path() / relative, size);
  }
  if (!manifest)
    throw Error(fmt::format("{} holds no manifest ({}): it is truncated, or not made by `provium fixture export`",
                            file.string(), kManifest));
  const auto entries = parse_manifest(*manifest, file);

  // Every file as the manifest says, and no file it does not list.
  std::set<std::string> listed;
  for (const auto& entry : entries) {
    for (const auto& [name, facts] : entry.files) {
      const std::string relative = entry.dir + "/" + name;
      listed.insert(relative);
      const auto found = staged.find(relative);
      if (found == staged.end())
        throw Error(fmt::format("{} is damaged: {} of fixture '{}' is missing", file.string(), name, entry.meta.fixture));
      if (found->second.size != facts.size || found->second.hash != facts.hash)
        throw Error(fmt::format("{} is damaged: {} of fixture '{}' has other contents than when it was exported",
                                file.string(), name, entry.meta.fixture));
    }
  }
  for (const auto& [relative, facts] : staged)
    if (!listed.count(relative)) throw refused(fmt::format("its file '{}' is not in the manifest", relative));

  std::vector<Imported> imported;
  for (const auto& entry : entries) {
    Imported result{entry.meta, false};
    if (cache.find(entry.meta.fixture, entry.meta.key)) {
      result.already_cached = true;
      imported.push_back(result);
      continue;
    }
    auto lock = cache.lock(entry.meta.fixture, entry.meta.key);
    if (cache.find(entry.meta.fixture, entry.meta.key, /*remove_damaged=*/true)) {
      result.already_cached = true;
    } else {
      const Entry built = cache.begin_build(entry.meta.fixture, entry.meta.key);
      for (const auto& [name, facts] : entry.files) fs::rename(staging.path() / entry.dir / name, built.dir / name);
      cache.publish(built, entry.meta);
      if (!cache.find(entry.meta.fixture, entry.meta.key, /*remove_damaged=*/true))
        throw Error(fmt::format("{}: fixture '{}' does not pass the cache's checks (its RAM or device state has "
                                "another size than its manifest says)",
                                file.string(), entry.meta.fixture));
    }
    imported.push_back(result);
  }
  return imported;
}

}  // namespace provium::cache
