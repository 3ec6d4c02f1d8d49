/* Decoding SYSCALL, SYSCALL_PTR, IOCTL and IOCTL_BUF payloads (docs/protocol.md) into one
 * form: a system call whose arguments, and the memory they point to, come from the host.
 * Decoding is a pure function of the payload (no I/O, no system call; only malloc), kept
 * apart from performing the call so that it can be tested and fuzzed on its own: every count,
 * index, offset and length is checked here, and call.c trusts what it gets. */
#ifndef PROVIUM_CALL_REQUEST_H
#define PROVIUM_CALL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALL_MAX_ARGS 6

/* A block of memory the agent allocates for the call and fills with the host's bytes. Its
 * address goes either into an argument or, as 8 bytes little-endian, into another block (a
 * pointer inside a buffer or a struct). */
struct call_block {
    const unsigned char *init; /* its len bytes, inside the payload */
    uint32_t len;
    uint32_t parent; /* with arg -1: the block that holds the address ... */
    uint32_t offset; /* ... at this offset, where offset + 8 <= that block's len */
    int8_t arg;      /* the argument that is its address, or -1 */
    bool output;     /* its contents after the call go into the answer, in block order */
};

struct call_request {
    long nr;
    uint64_t args[CALL_MAX_ARGS]; /* those not given are 0 */
    uint32_t nblocks;
    struct call_block *blocks; /* malloc'd, NULL when nblocks is 0 */
};

/* Each decodes the payload of its request (p, len bytes) into *c and returns 0, or returns
 * -1 with the reason in err (always NUL-terminated), naming the request, the field and the
 * values; *c then holds nothing to free. */
int call_decode_syscall(const unsigned char *p, uint32_t len, struct call_request *c,
                        char *err, size_t errlen);
int call_decode_syscall_ptr(const unsigned char *p, uint32_t len, struct call_request *c,
                            char *err, size_t errlen);
int call_decode_ioctl(const unsigned char *p, uint32_t len, struct call_request *c, char *err,
                      size_t errlen);
int call_decode_ioctl_buf(const unsigned char *p, uint32_t len, struct call_request *c,
                          char *err, size_t errlen);

void call_request_free(struct call_request *c);

#endif
