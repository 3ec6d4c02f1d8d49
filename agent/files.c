/* WRITE_FILE and READ_FILE: a file's contents, byte for byte, to and from the guest. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "wire.h"
#include "own_fds.h"

/* The path as a C string (malloc'd), or NULL after answering with an error (whose write
 * result lands in *sent). */
static char *path_string(int fd, const char *what, const unsigned char *p, uint32_t len,
                         int *sent) {
    const unsigned char *nul = len ? memchr(p, '\0', len) : NULL;
    if (nul) {
        *sent = frame_write_error(fd, "%s: path contains a NUL byte at offset %zu", what,
                                  (size_t)(nul - p));
        return NULL;
    }
    char *path = malloc((size_t)len + 1); /* len <= 16 MiB: no overflow */
    if (!path) {
        *sent = frame_write_error(fd, "%s: cannot allocate %u bytes for the path", what,
                                  (unsigned)len + 1);
        return NULL;
    }
    if (len)
        memcpy(path, p, len);
    path[len] = '\0';
    return path;
}

/* Writes all of data; returns 0, or -1 with errno set. */
static int write_all(int fd, const unsigned char *data, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int handle_write_file(int fd, const struct frame *req) {
    if (req->len < 4)
        return frame_write_error(fd, "WRITE_FILE: payload of %u bytes is shorter than its "
                                     "4-byte path length", (unsigned)req->len);
    uint32_t path_len = provium_get_u32(req->payload);
    if (path_len > req->len - 4)
        return frame_write_error(fd, "WRITE_FILE: path_len %u exceeds the %u bytes after it",
                                 (unsigned)path_len, (unsigned)req->len - 4);
    int sent;
    char *path = path_string(fd, "WRITE_FILE", req->payload + 4, path_len, &sent);
    if (!path)
        return sent;
    const unsigned char *data = req->payload + 4 + path_len;
    size_t len = req->len - 4 - path_len;

    /* 0644 is what a new file gets under the kernel's default umask (022), which the agent
     * keeps. */
    int file = own_fd(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file < 0) {
        sent = frame_write_error(fd, "open %s: %s", path, strerror(errno));
    } else if (write_all(file, data, len) < 0) {
        sent = frame_write_error(fd, "write %s: %s", path, strerror(errno));
        close(file);
    } else if (close(file) < 0) { /* where some file systems report a failed write */
        sent = frame_write_error(fd, "close %s: %s", path, strerror(errno));
    } else {
        sent = frame_write(fd, PROVIUM_FILE_DATA, NULL, 0);
    }
    free(path);
    return sent;
}

/* Answers with the file's contents: read to end of file rather than trusting its size, which
 * /proc and /sys report as 0 (or 4096). */
static int send_contents(int fd, const char *path, int file) {
    struct stat st;
    size_t cap = 4096;
    if (fstat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > PROVIUM_MAX_PAYLOAD)
            return frame_write_error(fd, "%s: file of %lld bytes exceeds the %u-byte frame limit",
                                     path, (long long)st.st_size, PROVIUM_MAX_PAYLOAD);
        cap = (size_t)st.st_size + 1; /* + 1: the read that sees the end needs room */
    }
    /* Never more than limit + 1 bytes, which is how a file (or an endless device) too large
     * for a frame is recognised. */
    const size_t most = (size_t)PROVIUM_MAX_PAYLOAD + 1;
    unsigned char *buf = NULL;
    size_t len = 0;
    int sent;
    for (;;) {
        if (!buf || len == cap) {
            if (buf && cap == most) {
                sent = frame_write_error(fd, "%s: file exceeds the %u-byte frame limit", path,
                                         PROVIUM_MAX_PAYLOAD);
                break;
            }
            if (buf)
                cap = cap > most / 2 ? most : cap * 2;
            unsigned char *grown = realloc(buf, cap);
            if (!grown) {
                sent = frame_write_error(fd, "read %s: cannot allocate %zu bytes", path, cap);
                break;
            }
            buf = grown;
        }
        ssize_t r = read(file, buf + len, cap - len);
        if (r > 0) {
            len += (size_t)r;
        } else if (r == 0) {
            sent = frame_write(fd, PROVIUM_FILE_DATA,
                               &(struct iovec){.iov_base = buf, .iov_len = len}, 1);
            break;
        } else if (errno != EINTR) {
            sent = frame_write_error(fd, "read %s: %s", path, strerror(errno));
            break;
        }
    }
    free(buf);
    return sent;
}

int handle_read_file(int fd, const struct frame *req) {
    int sent;
    char *path = path_string(fd, "READ_FILE", req->payload, req->len, &sent);
    if (!path)
        return sent;
    int file = own_fd(open(path, O_RDONLY | O_CLOEXEC));
    if (file < 0) {
        sent = frame_write_error(fd, "open %s: %s", path, strerror(errno));
    } else {
        sent = send_contents(fd, path, file);
        close(file);
    }
    free(path);
    return sent;
}
