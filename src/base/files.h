// Host files: reading them whole with errors that say which file and why, and private
// directories for what no other user may reach.
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

namespace provium::base {

// The contents of `file`, or its first `limit` bytes. `what` names the file's role in errors:
// read_file("/x", "kernel") throws Error "kernel /x: No such file or directory".
std::string read_file(const std::filesystem::path& file, std::string_view what,
                      std::size_t limit = std::numeric_limits<std::size_t>::max());

// Creates `dir` (mode 0700) when missing and makes sure it is private: a directory of this
// user's that no one else can enter (a looser mode is tightened). Throws Error for a symlink,
// a non-directory, or a directory of another user, naming it.
void ensure_private_directory(const std::filesystem::path& dir);

// Whether the open `fd` is the file that `path` names now (not one removed or replaced since it
// was opened): a lock taken on a file that its holder removed guards nothing.
bool is_file_at(int fd, const std::filesystem::path& path);

// A file's cheap identity, for cache keys of files too large to read each time (disk images):
// its device, inode, size and modification time in nanoseconds, or "missing". A changed file
// has another one; so has a file only touched.
std::string file_identity(const std::filesystem::path& file);

// Writes all of `bytes` to `fd` (a terminal, a pipe), blocking as it must; stops where the
// other side went away (what has nowhere to go is dropped).
void write_all(int fd, std::string_view bytes);

// A new directory `parent/PREFIXxxxxxx` (mkdtemp), removed with its contents when the object
// goes unless released. Throws Error when it cannot be made.
class TemporaryDirectory {
 public:
  TemporaryDirectory(const std::filesystem::path& parent, std::string_view prefix);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

}  // namespace provium::base
