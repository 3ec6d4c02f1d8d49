#include "serve.h"

#include <stdlib.h>

#include "frame_io.h"
#include "handlers.h"
#include "port.h"
#include "wire.h"

typedef int (*handler)(int fd, const struct frame *req);

/* Implemented requests by type; the other request types of wire.h are answered with an
 * error that names them. */
static const handler handlers[] = {
    [PROVIUM_EXEC] = handle_exec,
    [PROVIUM_SHUTDOWN] = handle_shutdown,
};

static int dispatch(int fd, const struct frame *req) {
    if (req->type < sizeof handlers / sizeof handlers[0] && handlers[req->type])
        return handlers[req->type](fd, req);
    const char *name = provium_request_name(req->type);
    if (name)
        return frame_write_error(fd, "message type 0x%02X (%s) is not supported by this agent",
                                 req->type, name);
    return frame_write_error(fd, "unknown message type 0x%02X", req->type);
}

static void serve_connection(int fd) {
    if (frame_write(fd, PROVIUM_READY, NULL, 0) < 0)
        return;
    for (;;) {
        struct frame req;
        int sent;
        switch (frame_read(fd, &req)) {
        case FRAME_OK:
            sent = dispatch(fd, &req);
            free(req.payload);
            break;
        case FRAME_TOO_LARGE:
            sent = frame_write_error(fd, "payload of %u bytes exceeds the %u-byte limit",
                                     (unsigned)req.len, PROVIUM_MAX_PAYLOAD);
            break;
        case FRAME_NO_MEMORY:
            sent = frame_write_error(fd, "cannot allocate %u bytes for the payload",
                                     (unsigned)req.len);
            break;
        default: /* FRAME_CLOSED */
            return;
        }
        if (sent < 0)
            return;
    }
}

void serve_port(int fd) {
    for (;;) {
        port_wait_host(fd);
        serve_connection(fd);
    }
}
