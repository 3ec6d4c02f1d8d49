/* SYSCALL, SYSCALL_PTR, IOCTL and IOCTL_BUF: perform a system call decoded by call_request.c
 * in the agent's own memory and answer with its result and the memory after it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call_request.h"
#include "handlers.h"
#include "wire.h"

#define RESULT_SIZE 8u /* [result i64] */

/* Gives every block memory of its own holding its bytes: at least one byte each, so that even
 * an empty block has a valid address, zeroed so that such a byte reads as an empty string.
 * Returns the number of blocks done: all of them, or the one that could not be allocated. */
static uint32_t fill(const struct call_request *c, unsigned char **mem) {
    for (uint32_t i = 0; i < c->nblocks; i++) {
        const struct call_block *b = &c->blocks[i];
        mem[i] = calloc(b->len ? b->len : 1, 1);
        if (!mem[i])
            return i;
        if (b->len)
            memcpy(mem[i], b->init, b->len);
    }
    return c->nblocks;
}

/* Puts the addresses in place, makes the call and answers with its result and the output
 * blocks, in block order, into answer (answer_len bytes: the result and those blocks). */
static int call_and_answer(int fd, struct call_request *c, unsigned char **mem,
                           unsigned char *answer, size_t answer_len) {
    /* After fill(), so that no block's bytes overwrite an address. */
    for (uint32_t i = 0; i < c->nblocks; i++) {
        const struct call_block *b = &c->blocks[i];
        if (b->arg >= 0)
            c->args[b->arg] = (uintptr_t)mem[i];
        else
            provium_put_u64(mem[b->parent] + b->offset, (uintptr_t)mem[i]);
    }
    long r = syscall(c->nr, (long)c->args[0], (long)c->args[1], (long)c->args[2],
                     (long)c->args[3], (long)c->args[4], (long)c->args[5]);
    /* libc turns the kernel's -errno into -1 and errno; turn it back, so that the host sees
     * the raw value (a raw -1 is -EPERM, which comes back the same). */
    if (r == -1)
        r = -errno;
    provium_put_u64(answer, (uint64_t)r);
    size_t at = RESULT_SIZE;
    for (uint32_t i = 0; i < c->nblocks; i++) {
        if (!c->blocks[i].output)
            continue;
        memcpy(answer + at, mem[i], c->blocks[i].len);
        at += c->blocks[i].len;
    }
    return frame_write(fd, PROVIUM_SYSCALL_RESULT,
                       &(struct iovec){.iov_base = answer, .iov_len = answer_len}, 1);
}

/* Performs the call and answers SYSCALL_RESULT; name is the request's, for messages. */
static int perform(int fd, const char *name, struct call_request *c) {
    /* Everything is allocated before the call: once it has run, only its answer may follow,
     * never an error. The answer is smaller than the request (each output block came with
     * its bytes, beside a header of more than 8 bytes), so it fits a frame. */
    size_t answer_len = RESULT_SIZE;
    for (uint32_t i = 0; i < c->nblocks; i++)
        if (c->blocks[i].output)
            answer_len += c->blocks[i].len;
    unsigned char *answer = malloc(answer_len);
    unsigned char **mem = calloc(c->nblocks ? c->nblocks : 1, sizeof *mem);
    uint32_t filled = 0;
    int sent;
    if (!answer || !mem)
        sent = frame_write_error(fd, "%s: cannot allocate %zu bytes for the answer", name,
                                 answer_len);
    else if ((filled = fill(c, mem)) < c->nblocks)
        sent = frame_write_error(fd, "%s: cannot allocate %u bytes for memory block %u (in "
                                     "request order)", name,
                                 (unsigned)c->blocks[filled].len, (unsigned)filled);
    else
        sent = call_and_answer(fd, c, mem, answer, answer_len);
    for (uint32_t i = 0; i < filled; i++)
        free(mem[i]);
    free(mem);
    free(answer);
    return sent;
}

typedef int (*decoder)(const unsigned char *p, uint32_t len, struct call_request *c,
                       char *err, size_t errlen);

static int handle(int fd, const struct frame *req, const char *name, decoder decode) {
    struct call_request c;
    char why[256];
    if (decode(req->payload, req->len, &c, why, sizeof why) < 0)
        return frame_write_error(fd, "%s", why);
    int sent = perform(fd, name, &c);
    call_request_free(&c);
    return sent;
}

int handle_syscall(int fd, const struct frame *req) {
    return handle(fd, req, "SYSCALL", call_decode_syscall);
}

int handle_syscall_ptr(int fd, const struct frame *req) {
    return handle(fd, req, "SYSCALL_PTR", call_decode_syscall_ptr);
}

int handle_ioctl(int fd, const struct frame *req) {
    return handle(fd, req, "IOCTL", call_decode_ioctl);
}

int handle_ioctl_buf(int fd, const struct frame *req) {
    return handle(fd, req, "IOCTL_BUF", call_decode_ioctl_buf);
}
