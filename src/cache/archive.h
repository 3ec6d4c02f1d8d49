// Fixture cache entries in one file, so that a suite's fixtures are built once and used on
// other machines (docs/ci.md): `provium fixture export` and `provium fixture import`.
//
// The archive is a pax tar compressed with zstd (`tar --zstd -tvf` lists it): each entry's
// directory under provium-fixtures/, then provium-fixtures/manifest.json with every file's
// size and XXH3-128 hash. RAM files are mostly unwritten memory: their zeros compress to almost
// nothing, and an import writes them back as holes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cache/cache.h"

namespace provium::cache {

// Writes the complete entries of the fixtures named (every entry when none is) into `archive`,
// which is replaced only once it is whole. Throws Error when a name has no complete entry, when
// there is nothing to export, or when a file cannot be read or written.
std::vector<EntryMeta> export_entries(Cache& cache, const std::vector<std::string>& fixtures,
                                      const std::filesystem::path& archive);

struct Imported {
  EntryMeta meta;
  bool already_cached = false;  // the cache had a complete entry of this fixture and key
};

// Reads `archive` whole into a staging directory of the cache, checks every file against the
// manifest, then puts each entry in place under its build lock (as a build would). Throws Error
// with the reason for an archive that is not one of ours, damaged or truncated; nothing of it is
// left in the cache then.
std::vector<Imported> import_entries(Cache& cache, const std::filesystem::path& archive);

}  // namespace provium::cache
