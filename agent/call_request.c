#include "call_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "wire.h"

/* Sizes of the fixed parts of the payloads. */
#define SYSCALL_HEADER 12u     /* nr, nargs, nbuf */
#define SYSCALL_PTR_HEADER 16u /* nr, nargs, nbuf, nptr */
#define BUF_SPEC 8u            /* arg_idx, buf_len */
#define PTR_SPEC 16u           /* buf_idx, ptr_offset, data_len, is_output, 3 pad */
#define ARG_SIZE 8u
#define IOCTL_HEADER 16u       /* fd, cmd, arg | fd, cmd, struct_len, nspec */
#define IOCTL_SPEC 12u         /* ptr_offset, buf_len, is_output, 3 pad */
#define POINTER_SIZE 8u        /* an address written into a block */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                       const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* n is bounded by the payload size (one spec per block), so it fits 32 bits. */
static int alloc_blocks(const char *name, struct call_request *c, uint64_t n, char *err,
                        size_t errlen) {
    if (n == 0)
        return 0;
    c->blocks = calloc((size_t)n, sizeof *c->blocks);
    if (!c->blocks)
        return fail(err, errlen, "%s: cannot allocate the descriptions of %llu buffers", name,
                    (unsigned long long)n);
    c->nblocks = (uint32_t)n;
    return 0;
}

/* SYSCALL is SYSCALL_PTR without nptr and its pointer specs: one decoder for both. Every
 * check comes before anything is built, and every sum is 64-bit: 32-bit lengths from the
 * host cannot wrap it. */
static int decode_syscall(const char *name, bool with_ptrs, const unsigned char *p,
                          uint32_t len, struct call_request *c, char *err, size_t errlen) {
    *c = (struct call_request){0};
    const uint32_t header = with_ptrs ? SYSCALL_PTR_HEADER : SYSCALL_HEADER;
    if (len < header)
        return fail(err, errlen, "%s: payload of %u bytes is shorter than the %u-byte header",
                    name, (unsigned)len, (unsigned)header);
    uint32_t nr = provium_get_u32(p), nargs = provium_get_u32(p + 4);
    uint32_t nbuf = provium_get_u32(p + 8), nptr = with_ptrs ? provium_get_u32(p + 12) : 0;
    if (nargs > CALL_MAX_ARGS)
        return fail(err, errlen, "%s: nargs %u is above %d", name, (unsigned)nargs,
                    CALL_MAX_ARGS);
    const uint64_t bufs_at = header;
    const uint64_t ptrs_at = bufs_at + (uint64_t)nbuf * BUF_SPEC;
    const uint64_t args_at = ptrs_at + (uint64_t)nptr * PTR_SPEC;
    const uint64_t data_at = args_at + (uint64_t)nargs * ARG_SIZE;
    if (data_at > len)
        return fail(err, errlen,
                    "%s: %u buffer specs, %u pointer specs and %u arguments take %llu bytes, "
                    "the payload has %u", name, (unsigned)nbuf, (unsigned)nptr,
                    (unsigned)nargs, (unsigned long long)data_at, (unsigned)len);

    /* Each buffer sits on an argument of its own, so a valid request has at most nargs
     * (<= CALL_MAX_ARGS) of them: the arrays cannot overflow before a check fails. */
    uint32_t buf_len[CALL_MAX_ARGS];
    int8_t buf_arg[CALL_MAX_ARGS];
    int on_arg[CALL_MAX_ARGS]; /* the buffer on each argument, or -1 */
    for (int i = 0; i < CALL_MAX_ARGS; i++)
        on_arg[i] = -1;
    uint64_t total = data_at;
    for (uint32_t i = 0; i < nbuf; i++) {
        const unsigned char *spec = p + bufs_at + (uint64_t)i * BUF_SPEC;
        int32_t arg = (int32_t)provium_get_u32(spec);
        if (arg < 0)
            return fail(err, errlen, "%s: buffer %u arg_idx %d is negative", name,
                        (unsigned)i, (int)arg);
        if ((uint32_t)arg >= nargs)
            return fail(err, errlen, "%s: buffer %u arg_idx %d is not below nargs %u", name,
                        (unsigned)i, (int)arg, (unsigned)nargs);
        if (on_arg[arg] >= 0)
            return fail(err, errlen, "%s: buffers %d and %u are both on argument %d", name,
                        on_arg[arg], (unsigned)i, (int)arg);
        on_arg[arg] = (int)i;
        buf_arg[i] = (int8_t)arg;
        buf_len[i] = provium_get_u32(spec + 4);
        total += buf_len[i];
    }
    for (uint32_t i = 0; i < nptr; i++) {
        const unsigned char *spec = p + ptrs_at + (uint64_t)i * PTR_SPEC;
        uint32_t buf_idx = provium_get_u32(spec), offset = provium_get_u32(spec + 4);
        if (buf_idx >= nbuf)
            return fail(err, errlen, "%s: pointer %u buf_idx %u is not below nbuf %u", name,
                        (unsigned)i, (unsigned)buf_idx, (unsigned)nbuf);
        if ((uint64_t)offset + POINTER_SIZE > buf_len[buf_idx])
            return fail(err, errlen,
                        "%s: pointer %u ptr_offset %u + 8 exceeds buffer %u's buf_len %u", name,
                        (unsigned)i, (unsigned)offset, (unsigned)buf_idx,
                        (unsigned)buf_len[buf_idx]);
        total += provium_get_u32(spec + 8);
    }
    if (total != len)
        return fail(err, errlen,
                    "%s: header, specs, arguments and buffers add up to %llu bytes, the "
                    "payload has %u", name, (unsigned long long)total, (unsigned)len);

    if (alloc_blocks(name, c, (uint64_t)nbuf + nptr, err, errlen) < 0)
        return -1;
    c->nr = (long)nr;
    for (uint32_t i = 0; i < nargs; i++)
        c->args[i] = provium_get_u64(p + args_at + (uint64_t)i * ARG_SIZE);
    const unsigned char *data = p + data_at;
    for (uint32_t i = 0; i < nbuf; i++) {
        c->blocks[i] = (struct call_block){
            .init = data, .len = buf_len[i], .arg = buf_arg[i], .output = true};
        data += buf_len[i];
    }
    for (uint32_t i = 0; i < nptr; i++) {
        const unsigned char *spec = p + ptrs_at + (uint64_t)i * PTR_SPEC;
        struct call_block *b = &c->blocks[nbuf + i];
        *b = (struct call_block){.init = data,
                                 .len = provium_get_u32(spec + 8),
                                 .parent = provium_get_u32(spec),
                                 .offset = provium_get_u32(spec + 4),
                                 .arg = -1,
                                 .output = spec[12] != 0};
        data += b->len;
    }
    return 0;
}

int call_decode_syscall(const unsigned char *p, uint32_t len, struct call_request *c,
                        char *err, size_t errlen) {
    return decode_syscall("SYSCALL", false, p, len, c, err, errlen);
}

int call_decode_syscall_ptr(const unsigned char *p, uint32_t len, struct call_request *c,
                            char *err, size_t errlen) {
    return decode_syscall("SYSCALL_PTR", true, p, len, c, err, errlen);
}

/* ioctl(fd, cmd, third): the kernel takes fd and cmd as 32-bit values. */
static void ioctl_args(const unsigned char *p, struct call_request *c) {
    c->nr = SYS_ioctl;
    c->args[0] = (uint64_t)(int64_t)(int32_t)provium_get_u32(p);
    c->args[1] = provium_get_u32(p + 4);
}

int call_decode_ioctl(const unsigned char *p, uint32_t len, struct call_request *c, char *err,
                      size_t errlen) {
    *c = (struct call_request){0};
    if (len < IOCTL_HEADER)
        return fail(err, errlen, "IOCTL: payload of %u bytes is shorter than the %u-byte header",
                    (unsigned)len, IOCTL_HEADER);
    ioctl_args(p, c);
    c->args[2] = provium_get_u64(p + 8);
    if (len == IOCTL_HEADER)
        return 0;
    /* With data, the third argument is the address of its copy instead. */
    if (alloc_blocks("IOCTL", c, 1, err, errlen) < 0)
        return -1;
    c->blocks[0] = (struct call_block){
        .init = p + IOCTL_HEADER, .len = len - IOCTL_HEADER, .arg = 2, .output = true};
    return 0;
}

int call_decode_ioctl_buf(const unsigned char *p, uint32_t len, struct call_request *c,
                          char *err, size_t errlen) {
    *c = (struct call_request){0};
    if (len < IOCTL_HEADER)
        return fail(err, errlen,
                    "IOCTL_BUF: payload of %u bytes is shorter than the %u-byte header",
                    (unsigned)len, IOCTL_HEADER);
    uint32_t struct_len = provium_get_u32(p + 8), nspec = provium_get_u32(p + 12);
    const uint64_t struct_at = IOCTL_HEADER + (uint64_t)nspec * IOCTL_SPEC;
    if (struct_at > len)
        return fail(err, errlen, "IOCTL_BUF: %u specs take %llu bytes, the payload has %u",
                    (unsigned)nspec, (unsigned long long)struct_at, (unsigned)len);
    uint64_t total = struct_at + struct_len;
    for (uint32_t i = 0; i < nspec; i++) {
        const unsigned char *spec = p + IOCTL_HEADER + (uint64_t)i * IOCTL_SPEC;
        uint32_t offset = provium_get_u32(spec);
        if ((uint64_t)offset + POINTER_SIZE > struct_len)
            return fail(err, errlen, "IOCTL_BUF: spec %u ptr_offset %u + 8 exceeds struct_len %u",
                        (unsigned)i, (unsigned)offset, (unsigned)struct_len);
        total += provium_get_u32(spec + 4);
    }
    if (total != len)
        return fail(err, errlen,
                    "IOCTL_BUF: header, specs, struct and buffers add up to %llu bytes, the "
                    "payload has %u", (unsigned long long)total, (unsigned)len);

    if (alloc_blocks("IOCTL_BUF", c, (uint64_t)nspec + 1, err, errlen) < 0)
        return -1;
    ioctl_args(p, c);
    c->blocks[0] = (struct call_block){
        .init = p + struct_at, .len = struct_len, .arg = 2, .output = true};
    const unsigned char *data = p + struct_at + struct_len;
    for (uint32_t i = 0; i < nspec; i++) {
        const unsigned char *spec = p + IOCTL_HEADER + (uint64_t)i * IOCTL_SPEC;
        struct call_block *b = &c->blocks[1 + i];
        *b = (struct call_block){.init = data,
                                 .len = provium_get_u32(spec + 4),
                                 .parent = 0,
                                 .offset = provium_get_u32(spec),
                                 .arg = -1,
                                 .output = spec[8] != 0};
        data += b->len;
    }
    return 0;
}

void call_request_free(struct call_request *c) {
    free(c->blocks);
    *c = (struct call_request){0};
}
