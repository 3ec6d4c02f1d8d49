/* Frames on a connection: [type u8][length u32 LE][payload] (see wire.h). The fd is
 * non-blocking, so that a host that goes away is noticed (POLLHUP) instead of a write
 * blocking until the next host connects and then receiving a stale answer. */
#ifndef PROVIUM_FRAME_IO_H
#define PROVIUM_FRAME_IO_H

#include <stdint.h>
#include <sys/uio.h>

struct frame {
    uint8_t type;
    uint32_t len;           /* as declared by the host */
    unsigned char *payload; /* malloc'd, exactly len bytes; NULL when len is 0 or discarded */
};

enum frame_status {
    FRAME_OK,
    FRAME_CLOSED,    /* the host went away (or the port failed): wait for the next host */
    FRAME_TOO_LARGE, /* len > PROVIUM_MAX_PAYLOAD: the payload was read and dropped */
    FRAME_NO_MEMORY, /* the payload could not be allocated: it was read and dropped */
};

/* Reads one frame. After FRAME_TOO_LARGE and FRAME_NO_MEMORY the connection is still in step
 * and the caller answers with an error. The caller frees payload. */
enum frame_status frame_read(int fd, struct frame *f);

/* The most payload pieces frame_write takes. */
#define FRAME_MAX_PARTS 8

/* Writes one frame whose payload is the concatenation of parts (nparts <= FRAME_MAX_PARTS,
 * total <= PROVIUM_MAX_PAYLOAD, both the caller's duty). Returns 0, or -1 when the host went
 * away. */
int frame_write(int fd, uint8_t type, const struct iovec *parts, int nparts);

/* Writes an ERROR frame with the formatted message. Returns as frame_write. */
__attribute__((format(printf, 2, 3))) int frame_write_error(int fd, const char *fmt, ...);

#endif
