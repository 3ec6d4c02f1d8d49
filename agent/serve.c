#include "serve.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "frame_io.h"
#include "handlers.h"
#include "port.h"
#include "vsock.h"
#include "wire.h"

typedef int (*handler)(int fd, const struct frame *req);

/* Implemented requests by type; the other request types of wire.h are answered with an
 * error that names them. */
static const handler handlers[] = {
    [PROVIUM_EXEC] = handle_exec,
    [PROVIUM_WRITE_FILE] = handle_write_file,
    [PROVIUM_READ_FILE] = handle_read_file,
    [PROVIUM_SHUTDOWN] = handle_shutdown,
    [PROVIUM_SYSCALL] = handle_syscall,
    [PROVIUM_IOCTL] = handle_ioctl,
    [PROVIUM_EXEC_ASYNC] = handle_exec_async,
    [PROVIUM_JOB_WAIT] = handle_job_wait,
    [PROVIUM_JOB_KILL] = handle_job_kill,
    [PROVIUM_IOCTL_BUF] = handle_ioctl_buf,
    [PROVIUM_SPAWN_WORKER] = handle_spawn_worker,
    [PROVIUM_SYSCALL_PTR] = handle_syscall_ptr,
    [PROVIUM_PTY] = handle_pty,
    [PROVIUM_PTY_INPUT] = handle_pty_outside_session,
    [PROVIUM_PTY_RESIZE] = handle_pty_outside_session,
};

/* answer()'s result for QUIESCE: the connection is over by the agent's choice. */
#define QUIESCED 1

static int dispatch(int fd, const struct frame *req, bool worker) {
    /* These belong to the agent: it keeps the table of worker ports (a fork worker has but a
     * copy), the guest's life is the VM's, not a worker's, and so is a snapshot. */
    if (worker && (req->type == PROVIUM_SPAWN_WORKER || req->type == PROVIUM_SHUTDOWN ||
                   req->type == PROVIUM_QUIESCE))
        return frame_write_error(fd, "%s is not available in a worker",
                                 provium_request_name(req->type));
    if (req->type == PROVIUM_QUIESCE) {
        if (req->len != 0)
            return frame_write_error(fd, "QUIESCE takes no payload, got %u bytes", (unsigned)req->len);
        port_forget_signals();
        return frame_write(fd, PROVIUM_READY, NULL, 0) < 0 ? -1 : QUIESCED;
    }
    if (req->type < sizeof handlers / sizeof handlers[0] && handlers[req->type])
        return handlers[req->type](fd, req);
    const char *name = provium_request_name(req->type);
    if (name)
        return frame_write_error(fd, "message type 0x%02X (%s) is not supported by this agent",
                                 req->type, name);
    return frame_write_error(fd, "unknown message type 0x%02X", req->type);
}

/* Answers one frame; returns -1 when the connection is over, QUIESCED after a QUIESCE. */
static int answer(int fd, bool worker) {
    struct frame req;
    int sent;
    switch (frame_read(fd, &req)) {
    case FRAME_OK:
        sent = dispatch(fd, &req, worker);
        free(req.payload);
        return sent;
    case FRAME_TOO_LARGE:
        return frame_write_error(fd, "payload of %u bytes exceeds the %u-byte limit",
                                 (unsigned)req.len, PROVIUM_MAX_PAYLOAD);
    case FRAME_NO_MEMORY:
        return frame_write_error(fd, "cannot allocate %u bytes for the payload",
                                 (unsigned)req.len);
    case FRAME_CLOSED:
        break;
    }
    return -1;
}

/* Serves one connection; true when it ended with QUIESCE. */
static bool serve_connection(int fd, bool worker) {
    if (frame_write(fd, PROVIUM_READY, NULL, 0) < 0)
        return false;
    int result;
    while ((result = answer(fd, worker)) == 0)
        ;
    return result == QUIESCED;
}

/* A connection ends when the agent sees the host gone (EOF or POLLHUP). virtio-serial has no
 * connection identity: if the host closes and reconnects before the guest has processed the
 * close (QEMU hands both events over together when they follow each other closely), the
 * agent sees one unbroken connection and greets nobody. Hosts pause before reconnecting. */
void serve_port(int fd) {
    bool quiesced = false;
    for (;;) {
        /* After QUIESCE the VM is snapshotted with the host still connected; a VM resumed from
         * it sees that stale state, so only a new connection event counts. */
        if (quiesced)
            port_wait_new_host(fd);
        else
            port_wait_host(fd);
        quiesced = serve_connection(fd, false);
    }
}

void serve_worker_port(int fd) {
    if (vsock_transport) {
        int connection = vsock_accept(fd);
        if (connection < 0)
            return;
        serve_connection(connection, true);
        close(connection);
        return;
    }
    port_wait_host(fd);
    serve_connection(fd, true);
}

/* vsock has what virtio-serial lacks: one socket per connection. A host that goes away is an
 * EOF (or a reset) on that socket, and the next host is the next accept(). After QUIESCE the
 * agent closes the connection itself and waits in accept() while the VM is snapshotted; a VM
 * resumed from the snapshot resets the connections it had (the host's is gone anyway) and
 * keeps its listening socket, on which the new host connects. */
void serve_listener(int listener) {
    for (;;) {
        int fd = vsock_accept(listener);
        if (fd < 0) {
            /* Not expected to happen; do not spin on a failure that persists. */
            nanosleep(&(struct timespec){.tv_nsec = 100000000L}, NULL);
            continue;
        }
        serve_connection(fd, false);
        close(fd);
    }
}
