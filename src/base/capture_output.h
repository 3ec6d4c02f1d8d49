// Running a host program: to ask it something, or for what it does.
#pragma once

#include <string>
#include <vector>

namespace provium::base {

// Runs argv (argv[0] is the program's path; no shell, no PATH search) and returns what it
// writes to stdout; its stderr goes to ours. Throws Error when it cannot be started or does
// not exit with status 0.
std::string capture_output(const std::vector<std::string>& argv);

// What a program that ran said and how it ended.
struct ProgramOutput {
  int exit_status = 0;  // its exit status
  std::string output;   // its stdout and stderr together
};

// Runs argv (the same way) with an empty environment, so that what it says depends on its
// arguments alone, and returns whatever its exit status. Throws Error only when it cannot be
// started or is killed by a signal.
ProgramOutput run_for_output(const std::vector<std::string>& argv);

// Runs argv (the same way) for what it does; its stdout and stderr are kept, and the last lines
// of them are in the Error when it does not exit with status 0.
void run_program(const std::vector<std::string>& argv);

}  // namespace provium::base
