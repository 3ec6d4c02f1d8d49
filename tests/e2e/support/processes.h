// Processes as /proc shows them: for tests that check what QEMU processes exist.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace provium_test {

// The state letter and parent of a process ('\0' when it is gone).
struct ProcessStatus {
  char state = '\0';
  int parent = 0;
};

inline ProcessStatus process_status(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  ProcessStatus status;
  if (!std::getline(stat, line)) return status;
  // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  rest >> status.state >> status.parent;
  return status;
}

// Gone, or a zombie nobody reaped yet: it runs no more either way.
inline bool process_ended(int pid) {
  const char state = process_status(pid).state;
  return state == '\0' || state == 'Z' || state == 'X';
}

// Processes whose parent is `parent` (QEMU runs as a direct child of the test process).
inline std::set<int> child_processes(int parent = getpid()) {
  std::set<int> children;
  for (auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (process_status(std::stoi(name)).parent == parent) children.insert(std::stoi(name));
  }
  return children;
}

}  // namespace provium_test
