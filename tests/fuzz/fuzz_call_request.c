/* libFuzzer target: the agent's request decoder (agent/call_request.c), compiled for the host,
 * on SYSCALL, SYSCALL_PTR, IOCTL and IOCTL_BUF payloads from a hostile host.
 *
 * Checked on every input:
 *   - the guarantees of call_request.h: on success every block's bytes lie inside the payload,
 *     an argument block names an argument below CALL_MAX_ARGS (one block per argument), a
 *     pointer block names an existing parent block with offset + 8 within it, and blocks is
 *     NULL exactly when nblocks is 0; on failure err is a NUL-terminated, non-empty reason and
 *     the request holds nothing to free;
 *   - what call.c relies on: the answer (8 bytes, then the output blocks) is no longer than
 *     the request, so it fits a frame;
 *   - the decoder accepts exactly the payloads that a separate reading of docs/protocol.md
 *     accepts, and decodes them to the same call.
 *
 * Input: [selector u8: request = b & 3 (SYSCALL, SYSCALL_PTR, IOCTL, IOCTL_BUF),
 *                      error buffer size = {1, 7, 64, 256}[b >> 2 & 3]] then the payload. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "call_request.h"
#include "check.h"
#include "wire.h"

typedef int (*decoder)(const unsigned char *p, uint32_t len, struct call_request *c, char *err,
                       size_t errlen);

/* ------------------------------------------------------------------------------------------
 * The reference: docs/protocol.md read on its own, sharing no code with call_request.c. */

struct want_block {
    uint64_t at; /* offset of its bytes in the payload */
    uint32_t len;
    int arg; /* or -1 */
    uint32_t parent, offset;
    bool output;
};

struct want {
    long nr;
    uint64_t args[CALL_MAX_ARGS];
    uint32_t nblocks;
    struct want_block *blocks; /* malloc'd; freed by want_free */
};

static void want_free(struct want *w) {
    free(w->blocks);
    w->blocks = NULL;
}

static struct want_block *want_blocks(struct want *w, uint64_t n) {
    w->nblocks = (uint32_t)n;
    w->blocks = calloc(n ? n : 1, sizeof *w->blocks);
    FUZZ_CHECK(w->blocks != NULL);
    return w->blocks;
}

/* SYSCALL and SYSCALL_PTR: false when a rule is broken. */
static bool ref_syscall(const unsigned char *p, uint32_t len, bool with_ptrs, struct want *w) {
    const uint64_t header = with_ptrs ? 16 : 12;
    if (len < header)
        return false;
    const uint32_t nargs = provium_get_u32(p + 4), nbuf = provium_get_u32(p + 8);
    const uint32_t nptr = with_ptrs ? provium_get_u32(p + 12) : 0;
    if (nargs > CALL_MAX_ARGS)
        return false;
    /* Each buffer on an argument below nargs, no two on one: at most nargs buffers. */
    if (nbuf > nargs)
        return false;
    const uint64_t ptr_specs = header + 8ull * nbuf, values = ptr_specs + 16ull * nptr;
    const uint64_t data = values + 8ull * nargs;
    if (data > len)
        return false;
    bool taken[CALL_MAX_ARGS] = {false};
    uint32_t buf_len[CALL_MAX_ARGS];
    uint64_t total = data;
    for (uint32_t i = 0; i < nbuf; i++) {
        const int32_t arg = (int32_t)provium_get_u32(p + header + 8ull * i);
        if (arg < 0 || (uint32_t)arg >= nargs || taken[arg])
            return false;
        taken[arg] = true;
        buf_len[i] = provium_get_u32(p + header + 8ull * i + 4);
        total += buf_len[i];
    }
    for (uint32_t i = 0; i < nptr; i++) {
        const unsigned char *spec = p + ptr_specs + 16ull * i;
        const uint32_t buf_idx = provium_get_u32(spec);
        if (buf_idx >= nbuf || provium_get_u32(spec + 4) + 8ull > buf_len[buf_idx])
            return false;
        total += provium_get_u32(spec + 8);
    }
    if (total != len)
        return false;

    w->nr = (long)provium_get_u32(p);
    for (uint32_t i = 0; i < nargs; i++)
        w->args[i] = provium_get_u64(p + values + 8ull * i);
    struct want_block *b = want_blocks(w, (uint64_t)nbuf + nptr);
    uint64_t at = data;
    for (uint32_t i = 0; i < nbuf; i++) {
        b[i] = (struct want_block){.at = at, .len = buf_len[i], .output = true,
                                   .arg = (int)(int32_t)provium_get_u32(p + header + 8ull * i)};
        at += buf_len[i];
    }
    for (uint32_t i = 0; i < nptr; i++) {
        const unsigned char *spec = p + ptr_specs + 16ull * i;
        b[nbuf + i] = (struct want_block){.at = at, .len = provium_get_u32(spec + 8), .arg = -1,
                                          .parent = provium_get_u32(spec),
                                          .offset = provium_get_u32(spec + 4),
                                          .output = spec[12] != 0};
        at += b[nbuf + i].len;
    }
    return true;
}

static bool ref_syscall_plain(const unsigned char *p, uint32_t len, struct want *w) {
    return ref_syscall(p, len, false, w);
}

static bool ref_syscall_ptr(const unsigned char *p, uint32_t len, struct want *w) {
    return ref_syscall(p, len, true, w);
}

static void ref_ioctl_args(const unsigned char *p, struct want *w) {
    w->nr = SYS_ioctl;
    w->args[0] = (uint64_t)(int64_t)(int32_t)provium_get_u32(p); /* fd, an int */
    w->args[1] = provium_get_u32(p + 4);                         /* cmd, 32 bits */
}

static bool ref_ioctl(const unsigned char *p, uint32_t len, struct want *w) {
    if (len < 16)
        return false;
    ref_ioctl_args(p, w);
    w->args[2] = provium_get_u64(p + 8);
    if (len > 16)
        *want_blocks(w, 1) = (struct want_block){.at = 16, .len = len - 16, .arg = 2,
                                                 .output = true};
    return true;
}

static bool ref_ioctl_buf(const unsigned char *p, uint32_t len, struct want *w) {
    if (len < 16)
        return false;
    const uint32_t struct_len = provium_get_u32(p + 8), nspec = provium_get_u32(p + 12);
    const uint64_t struct_at = 16 + 12ull * nspec;
    if (struct_at > len)
        return false;
    uint64_t total = struct_at + struct_len;
    for (uint32_t i = 0; i < nspec; i++) {
        const unsigned char *spec = p + 16 + 12ull * i;
        if (provium_get_u32(spec) + 8ull > struct_len)
            return false;
        total += provium_get_u32(spec + 4);
    }
    if (total != len)
        return false;

    ref_ioctl_args(p, w);
    struct want_block *b = want_blocks(w, (uint64_t)nspec + 1);
    b[0] = (struct want_block){.at = struct_at, .len = struct_len, .arg = 2, .output = true};
    uint64_t at = struct_at + struct_len;
    for (uint32_t i = 0; i < nspec; i++) {
        const unsigned char *spec = p + 16 + 12ull * i;
        b[1 + i] = (struct want_block){.at = at, .len = provium_get_u32(spec + 4), .arg = -1,
                                       .parent = 0, .offset = provium_get_u32(spec),
                                       .output = spec[8] != 0};
        at += b[1 + i].len;
    }
    return true;
}

/* ------------------------------------------------------------------------------------------
 * The checks. */

/* What call_request.h promises about a decoded request, and what call.c relies on. */
static void check_guarantees(const unsigned char *p, uint32_t len, const struct call_request *c) {
    FUZZ_CHECK((c->blocks == NULL) == (c->nblocks == 0));
    bool on_arg[CALL_MAX_ARGS] = {false};
    uint64_t answer = 8, sum = 0;
    volatile unsigned char touch = 0;
    for (uint32_t i = 0; i < c->nblocks; i++) {
        const struct call_block *b = &c->blocks[i];
        /* Its bytes inside the payload (read them all: ASan sees any outside). */
        FUZZ_CHECK(b->init != NULL);
        FUZZ_CHECK((uintptr_t)b->init >= (uintptr_t)p);
        FUZZ_CHECK((uint64_t)((uintptr_t)b->init - (uintptr_t)p) + b->len <= len);
        for (uint32_t j = 0; j < b->len; j++)
            touch ^= b->init[j];
        sum += b->len;
        if (b->output)
            answer += b->len;
        if (b->arg >= 0) {
            FUZZ_CHECK(b->arg < CALL_MAX_ARGS);
            FUZZ_CHECK(!on_arg[b->arg]); /* call.c would overwrite one address with another */
            on_arg[b->arg] = true;
        } else {
            FUZZ_CHECK(b->arg == -1);
            FUZZ_CHECK(b->parent < c->nblocks);
            FUZZ_CHECK((uint64_t)b->offset + 8 <= c->blocks[b->parent].len);
        }
    }
    (void)touch;
    FUZZ_CHECK(sum <= len);
    /* call.c answers [result i64] then the output blocks, and counts on it fitting a frame
     * because it is no longer than the request. */
    FUZZ_CHECK(answer <= len);
}

/* The decoded request is the reference's. */
static void check_same(const unsigned char *p, const struct call_request *c,
                       const struct want *w) {
    FUZZ_CHECK(c->nr == w->nr);
    FUZZ_CHECK(c->nblocks == w->nblocks);
    bool replaced[CALL_MAX_ARGS] = {false}; /* by a block's address in call.c */
    for (uint32_t i = 0; i < c->nblocks; i++) {
        const struct call_block *b = &c->blocks[i];
        const struct want_block *e = &w->blocks[i];
        FUZZ_CHECK(b->init == p + e->at);
        FUZZ_CHECK(b->len == e->len);
        FUZZ_CHECK(b->arg == e->arg);
        FUZZ_CHECK(b->output == e->output);
        if (b->arg >= 0) {
            replaced[b->arg] = true;
        } else {
            FUZZ_CHECK(b->parent == e->parent);
            FUZZ_CHECK(b->offset == e->offset);
        }
    }
    for (int i = 0; i < CALL_MAX_ARGS; i++)
        if (!replaced[i])
            FUZZ_CHECK(c->args[i] == w->args[i]); /* those not given are 0 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const decoder decoders[4] = {call_decode_syscall, call_decode_syscall_ptr,
                                        call_decode_ioctl, call_decode_ioctl_buf};
    static bool (*const references[4])(const unsigned char *, uint32_t, struct want *) = {
        ref_syscall_plain, ref_syscall_ptr, ref_ioctl, ref_ioctl_buf};
    static const size_t errlens[4] = {1, 7, 64, 256};
    if (size == 0 || size - 1 > PROVIUM_MAX_PAYLOAD)
        return 0;
    const int kind = data[0] & 3;
    const size_t errlen = errlens[data[0] >> 2 & 3];
    /* libFuzzer's copy of the input is a heap block of exactly its size: ASan catches any
     * read past the payload. */
    const unsigned char *p = data + 1;
    const uint32_t len = (uint32_t)(size - 1);

    struct call_request c;
    memset(&c, 0xa5, sizeof c); /* as call.c leaves it: uninitialised */
    char *err = malloc(errlen); /* exactly errlen bytes: ASan catches a write past it */
    FUZZ_CHECK(err != NULL);
    memset(err, 'x', errlen);
    struct want w = {0};
    const bool valid = references[kind](p, len, &w);

    if (decoders[kind](p, len, &c, err, errlen) == 0) {
        FUZZ_CHECK(valid);
        check_guarantees(p, len, &c);
        check_same(p, &c, &w);
        call_request_free(&c);
        FUZZ_CHECK(c.blocks == NULL && c.nblocks == 0);
    } else {
        FUZZ_CHECK(!valid);
        /* Nothing to free, and a reason. */
        FUZZ_CHECK(c.blocks == NULL && c.nblocks == 0);
        FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
        FUZZ_CHECK(errlen == 1 || err[0] != '\0');
    }
    want_free(&w);
    free(err);
    return 0;
}
