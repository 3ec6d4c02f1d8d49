/* The agent's own file descriptors (its connections, ports, listeners, the pipes and memory
 * files of commands and jobs, pidfds), told apart from those a test opened through SYSCALL:
 * a fork worker closes the agent's and keeps the test's, O_CLOEXEC or not. */
#pragma once

/* Records fd as the agent's; returns fd (a negative one is passed through untouched). */
int own_fd(int fd);
/* Whether fd is one the agent recorded and still the same open file (a number closed and then
 * reused by a test's open is not the agent's any more). */
int is_own_fd(int fd);
