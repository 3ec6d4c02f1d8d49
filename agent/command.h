/* Running a host's command line with /bin/sh -c: what EXEC and EXEC_ASYNC share. */
#ifndef PROVIUM_COMMAND_H
#define PROVIUM_COMMAND_H

#include <stddef.h>
#include <sys/types.h>

#include "frame_io.h"

/* The command line of an EXEC or EXEC_ASYNC payload as a C string (malloc'd), or NULL after
 * writing why into err (a NUL byte in it, no memory). */
char *command_line(const struct frame *req, char *err, size_t errlen);

/* Forks /bin/sh -c cmd in a process group of its own (pgid = pid), stdin /dev/null, stdout on
 * out_w and stderr on err_w; the caller's fds stay its own. Returns the pid, or -1 with errno
 * set. */
pid_t command_start(const char *cmd, int out_w, int err_w);

/* In a child of the agent: every signal's action back to the default and none blocked (the
 * agent blocks SIGIO and catches SIGHUP and SIGPIPE for itself). */
void command_reset_signals(void);

/* The shell's convention for a wait status: the exit status, or 128 + the signal that killed
 * the command. */
int command_exit_code(int status);

#endif
