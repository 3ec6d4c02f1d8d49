// The hidden `provium __run-file --result-fd FD FILE`: runs one script in this process and
// writes its result to FD for the `provium test` that started it. Exit status 0 when the file
// passed (or was skipped), 1 when it failed.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "cli/result_json.h"
#include "lua/runner.h"

namespace provium::cli {

namespace {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

int run_file_command(const std::vector<std::string>& args) {
  int fd = -1;
  if (args.size() != 3 || args[0] != "--result-fd" ||
      std::from_chars(args[1].data(), args[1].data() + args[1].size(), fd).ec != std::errc() ||
      fd < 0) {
    std::cerr << "provium: __run-file is for provium test's own use: __run-file --result-fd FD FILE\n";
    return 2;
  }
  // Not for the VMs and programs the script starts: the pipe must close when this process ends.
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    std::cerr << fmt::format("provium: result fd {}: {}\n", fd, std::strerror(errno));
    return 2;
  }
  // Line by line, so that what the script printed before a crash is not lost in a buffer:
  // the parent shows it when the process dies.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  lua::FileResult result;
  try {
    result = lua::run_file(args[2], {.start_dir = std::filesystem::current_path()});
  } catch (const std::exception& error) {
    // run_file throws only when the file cannot be read; report it as the file's error.
    result.file = args[2];
    result.error = error.what();
  }
  const bool written = write_all(fd, result_to_json(result));
  ::close(fd);
  if (!written) {
    std::cerr << fmt::format("provium: cannot write the result: {}\n", std::strerror(errno));
    return 3;
  }
  std::cout.flush();
  return result.passed() ? 0 : 1;
}

}  // namespace provium::cli
