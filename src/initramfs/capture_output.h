// Running a host program to ask it something.
#pragma once

#include <string>
#include <vector>

namespace provium::initramfs {

// Runs argv (argv[0] is the program's path; no shell, no PATH search) and returns what it
// writes to stdout; its stderr goes to ours. Throws Error when it cannot be started or does
// not exit with status 0.
std::string capture_output(const std::vector<std::string>& argv);

}  // namespace provium::initramfs
