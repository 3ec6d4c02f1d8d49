// The provium command's subcommands; main.cpp dispatches to them. Each takes the arguments
// that follow its name and returns the process's exit status.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium::cli {

// `provium fixture list` / `provium fixture clean`.
int fixture_list_command();
int fixture_clean_command();
// `provium fixture prune [SIZE]`.
int fixture_prune_command(std::optional<std::string_view> size);
// `provium fixture export [NAME...] -o FILE` / `provium fixture import FILE`: `args` follow
// "export" / "import".
int fixture_export_command(const std::vector<std::string>& args);
int fixture_import_command(const std::vector<std::string>& args);

// `provium kconfig [OPTIONS] [DIR]`: a kernel tree's .config made one that boots under Provium.
int kconfig_command(const std::vector<std::string>& args);

// `provium run [OPTIONS] [--] CMD [ARGS...]`: one command in a fresh VM.
int run_command(const std::vector<std::string>& args);
// `provium shell [OPTIONS] [-- CMD [ARGS...]]`: a login shell (or CMD) on a terminal of a fresh VM.
int shell_command(const std::vector<std::string>& args);

#ifdef PROVIUM_HAVE_LUA
// `provium test [OPTIONS] PATH`: runs Lua scripts, one child process per file.
int test_command(const std::vector<std::string>& args);
// `provium __run-file --result-fd FD FILE` (hidden): the child side of `provium test`.
int run_file_command(const std::vector<std::string>& args);
#endif

}  // namespace provium::cli
