#include "frame_io.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "wire.h"

/* Waits until fd is ready for events. Returns -1 when the host has gone instead: POLLHUP is
 * how virtio-serial reports that. Data the host sent before leaving is still readable. */
static int wait_ready(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -1;
    return (p.revents & events) ? 0 : -1;
}

static void report(const char *what) {
    log_msg("connection lost: %s: %s", what, strerror(errno));
}

/* Reads exactly n bytes. Returns 0, or -1 when the host went away (even mid-frame: the rest
 * of that frame will never come). */
static int read_full(int fd, void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        } else if (r == 0) {
            return -1; /* no data and no host */
        } else if (errno == EAGAIN) {
            if (wait_ready(fd, POLLIN) < 0)
                return -1;
        } else if (errno != EINTR) {
            report("read");
            return -1;
        }
    }
    return 0;
}

/* Reads and drops n bytes, to stay in step after a payload we will not keep. */
static int skip(int fd, uint32_t n) {
    char chunk[16384];
    while (n > 0) {
        uint32_t step = n < sizeof chunk ? n : (uint32_t)sizeof chunk;
        if (read_full(fd, chunk, step) < 0)
            return -1;
        n -= step;
    }
    return 0;
}

enum frame_status frame_read(int fd, struct frame *f) {
    unsigned char header[PROVIUM_FRAME_HEADER_SIZE];
    f->payload = NULL;
    if (read_full(fd, header, sizeof header) < 0)
        return FRAME_CLOSED;
    f->type = header[0];
    f->len = provium_get_u32(header + 1);
    if (f->len == 0)
        return FRAME_OK;
    if (f->len > PROVIUM_MAX_PAYLOAD)
        return skip(fd, f->len) < 0 ? FRAME_CLOSED : FRAME_TOO_LARGE;
    f->payload = malloc(f->len);
    if (!f->payload)
        return skip(fd, f->len) < 0 ? FRAME_CLOSED : FRAME_NO_MEMORY;
    if (read_full(fd, f->payload, f->len) < 0) {
        free(f->payload);
        f->payload = NULL;
        return FRAME_CLOSED;
    }
    return FRAME_OK;
}

/* Writes all of iov, which it consumes. The port takes at most 32 KiB per write and writev
 * stops at the first short piece, so partial writes are the rule for large frames. */
static int write_all(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (wait_ready(fd, POLLOUT) < 0)
                    return -1; /* the host left: drop the answer */
                continue;
            }
            report("write");
            return -1;
        }
        size_t done = (size_t)w;
        for (; n > 0 && done >= iov->iov_len; iov++, n--)
            done -= iov->iov_len;
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

int frame_write(int fd, uint8_t type, const struct iovec *parts, int nparts) {
    unsigned char header[PROVIUM_FRAME_HEADER_SIZE];
    struct iovec iov[1 + FRAME_MAX_PARTS];
    size_t len = 0;
    for (int i = 0; i < nparts; i++) {
        iov[1 + i] = parts[i];
        len += parts[i].iov_len;
    }
    header[0] = type;
    provium_put_u32(header + 1, (uint32_t)len);
    iov[0] = (struct iovec){.iov_base = header, .iov_len = sizeof header};
    return write_all(fd, iov, 1 + nparts);
}

int frame_write_error(int fd, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < (int)sizeof msg ? (size_t)n : sizeof msg - 1;
    return frame_write(fd, PROVIUM_ERROR, &(struct iovec){.iov_base = msg, .iov_len = len}, 1);
}
