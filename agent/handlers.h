/* Request handlers: one per request type, each in its own file, listed in serve.c's table.
 * A handler answers with exactly one frame (a streamed EXEC and a PTY session send their
 * EXEC_OUTPUT frames first) and returns that write's result: 0, or -1 when
 * the host went away. req->payload is req->len bytes, already bounded by the frame limit. */
#ifndef PROVIUM_HANDLERS_H
#define PROVIUM_HANDLERS_H

#include "frame_io.h"

int handle_exec(int fd, const struct frame *req);
int handle_write_file(int fd, const struct frame *req);
int handle_read_file(int fd, const struct frame *req);
int handle_syscall(int fd, const struct frame *req);
int handle_syscall_ptr(int fd, const struct frame *req);
int handle_ioctl(int fd, const struct frame *req);
int handle_ioctl_buf(int fd, const struct frame *req);
int handle_exec_async(int fd, const struct frame *req);
int handle_job_wait(int fd, const struct frame *req);
int handle_job_kill(int fd, const struct frame *req);
int handle_shutdown(int fd, const struct frame *req);
int handle_spawn_worker(int fd, const struct frame *req);
int handle_pty(int fd, const struct frame *req);
/* PTY_INPUT and PTY_RESIZE when no PTY session runs on the connection. */
int handle_pty_outside_session(int fd, const struct frame *req);

#endif
