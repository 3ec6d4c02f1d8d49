/* A guest-side host for the vsock e2e test (vsock_loopback_test.cpp): drives the agent's vsock
 * transport over AF_VSOCK CID 1 (vsock_loopback: the guest's own listeners), the way the host
 * library does over vhost-vsock. Built with the agent's frame code, statically with musl, and
 * shipped into the guest.
 *
 * usage: provium-vsock-client PORT
 *
 * Prints "ok STEP" for each step that did what the protocol says (docs/protocol.md), and
 * "FAIL STEP: why" and exits 1 at the first that did not. Every wait is bounded by alarm(). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "frame_io.h"
#include "log.h"
#include "wire.h"

const char log_name[] = "provium-vsock-client";

/* <linux/vm_sockets.h>'s struct sockaddr_vm, which musl's headers lack (as in agent/vsock.c). */
struct client_sockaddr_vm {
    sa_family_t svm_family;
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_zero[4];
};
#define VMADDR_CID_LOCAL 1u

static const char *step = "start";

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
    printf("FAIL %s: ", step);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    exit(1);
}

static void passed(void) {
    printf("ok %s\n", step);
    fflush(stdout);
}

/* A connection to the port, which must be listened on: but the first one waits for the agent,
 * started just before this program, to listen (a port nobody listens on resets the connection,
 * as the host sees it while a guest boots). */
static int connect_port(unsigned port, bool wait_for_listener) {
    for (int tries = 0;; tries++) {
        int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            fail("socket(AF_VSOCK): %s", strerror(errno));
        struct client_sockaddr_vm address = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_LOCAL};
        if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0)
            return fd;
        if (!wait_for_listener || errno != ECONNRESET || tries == 500)
            fail("connect to vsock port %u: %s", port, strerror(errno));
        close(fd);
        usleep(20000);
    }
}

/* The next frame, which must be of type `want`; its payload is the caller's to free. */
static struct frame expect(int fd, unsigned want) {
    struct frame f;
    if (frame_read(fd, &f) != FRAME_OK)
        fail("the connection ended while waiting for %s", provium_response_name(want));
    if (f.type != want) {
        if (f.type == PROVIUM_ERROR)
            fail("ERROR instead of %s: %.*s", provium_response_name(want), (int)f.len, (char *)f.payload);
        fail("frame type 0x%02X instead of %s", f.type, provium_response_name(want));
    }
    return f;
}

static void send_frame(int fd, unsigned type, const void *a, size_t alen, const void *b, size_t blen) {
    struct iovec parts[2] = {{(void *)a, alen}, {(void *)b, blen}};
    if (frame_write(fd, (uint8_t)type, parts, 2) < 0)
        fail("cannot send %s", provium_request_name(type));
}

static int greeted(unsigned port) {
    int fd = connect_port(port, false);
    free(expect(fd, PROVIUM_READY).payload);
    return fd;
}

/* EXEC of `command` must end with exit code 0 and print `out`. */
static void exec_prints(int fd, const char *command, const char *out) {
    unsigned char head[8];
    provium_put_u32(head, 20000);
    provium_put_u32(head + 4, 0);
    send_frame(fd, PROVIUM_EXEC, head, sizeof head, command, strlen(command));
    struct frame f = expect(fd, PROVIUM_EXEC_RESULT);
    if (f.len < 12)
        fail("EXEC_RESULT of %u bytes", f.len);
    int32_t code = (int32_t)provium_get_u32(f.payload);
    uint32_t out_len = provium_get_u32(f.payload + 8);
    if (out_len > f.len - 12)
        fail("EXEC_RESULT's stdout length %u is past its end", out_len);
    if (code != 0 || out_len != strlen(out) || memcmp(f.payload + 12, out, out_len) != 0)
        fail("`%s` exited %d and printed \"%.*s\", not \"%s\"", command, code, (int)out_len,
             (char *)f.payload + 12, out);
    free(f.payload);
}

static int64_t syscall0(int fd, uint32_t nr) {
    unsigned char request[12];
    provium_put_u32(request, nr);
    provium_put_u32(request + 4, 0); /* nargs */
    provium_put_u32(request + 8, 0); /* nbuf */
    send_frame(fd, PROVIUM_SYSCALL, request, sizeof request, NULL, 0);
    struct frame f = expect(fd, PROVIUM_SYSCALL_RESULT);
    if (f.len != 8)
        fail("SYSCALL_RESULT of %u bytes", f.len);
    int64_t result = (int64_t)provium_get_u64(f.payload);
    free(f.payload);
    return result;
}

/* SPAWN_WORKER, then a connection to the worker's port that it greets. */
static int worker(int fd, uint32_t flags, unsigned *port, int32_t *pid) {
    unsigned char payload[4];
    provium_put_u32(payload, flags);
    send_frame(fd, PROVIUM_SPAWN_WORKER, payload, sizeof payload, NULL, 0);
    struct frame f = expect(fd, PROVIUM_WORKER_STARTED);
    if (f.len != 8)
        fail("WORKER_STARTED of %u bytes", f.len);
    *port = provium_get_u32(f.payload);
    *pid = (int32_t)provium_get_u32(f.payload + 4);
    free(f.payload);
    if (*port == PROVIUM_VSOCK_PORT || *port < 1024)
        fail("the worker's port %u is the agent's or a privileged one", *port);
    return greeted(*port);
}

/* The connection must end from the agent's side (EOF or a reset), and nothing come before. */
static void ends(int fd) {
    struct frame f;
    if (frame_read(fd, &f) != FRAME_CLOSED)
        fail("frame type 0x%02X where the agent should have closed the connection", f.type);
}

int main(int argc, char **argv) {
    if (argc != 2)
        fail("usage: provium-vsock-client PORT");
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    alarm(120);

    step = "READY";
    int fd = connect_port(port, true);
    free(expect(fd, PROVIUM_READY).payload);
    passed();

    step = "exec";
    exec_prints(fd, "echo over vsock; echo to stderr >&2", "over vsock\n");
    passed();

    step = "file round trip";
    static const char path[] = "/tmp/vsock-round-trip";
    static const char data[] = "bytes \0 and \377 over vsock";
    unsigned char path_len[4];
    provium_put_u32(path_len, sizeof path - 1);
    unsigned char head[4 + sizeof path - 1];
    memcpy(head, path_len, 4);
    memcpy(head + 4, path, sizeof path - 1);
    send_frame(fd, PROVIUM_WRITE_FILE, head, sizeof head, data, sizeof data);
    struct frame written = expect(fd, PROVIUM_FILE_DATA);
    if (written.len != 0)
        fail("WRITE_FILE answered with %u bytes", written.len);
    send_frame(fd, PROVIUM_READ_FILE, path, sizeof path - 1, NULL, 0);
    struct frame read_back = expect(fd, PROVIUM_FILE_DATA);
    if (read_back.len != sizeof data || memcmp(read_back.payload, data, sizeof data) != 0)
        fail("read back %u bytes that differ from the %zu written", read_back.len, sizeof data);
    free(read_back.payload);
    passed();

    step = "fork worker";
    unsigned fork_port;
    int32_t fork_pid;
    int fork_fd = worker(fd, 0, &fork_port, &fork_pid);
    int64_t fork_getpid = syscall0(fork_fd, SYS_getpid);
    int64_t agent_getpid = syscall0(fd, SYS_getpid);
    if (fork_getpid != fork_pid || fork_getpid == agent_getpid)
        fail("getpid in the worker is %lld, WORKER_STARTED said %d, the agent's is %lld",
             (long long)fork_getpid, fork_pid, (long long)agent_getpid);
    char size[16];
    snprintf(size, sizeof size, "%zu\n", sizeof data);
    exec_prints(fork_fd, "stat -c %s /tmp/vsock-round-trip", size);
    passed();

    step = "thread worker";
    unsigned thread_port;
    int32_t thread_tid;
    int thread_fd = worker(fd, 1, &thread_port, &thread_tid);
    if (thread_port == fork_port)
        fail("the thread worker got the fork worker's port %u", fork_port);
    int64_t thread_gettid = syscall0(thread_fd, SYS_gettid);
    int64_t thread_getpid = syscall0(thread_fd, SYS_getpid);
    if (thread_gettid != thread_tid || thread_getpid != agent_getpid)
        fail("the thread worker's tid %lld / pid %lld, WORKER_STARTED said tid %d, the agent's pid %lld",
             (long long)thread_gettid, (long long)thread_getpid, thread_tid, (long long)agent_getpid);
    passed();

    step = "workers end with their connection";
    close(fork_fd);
    close(thread_fd);
    /* Their ports are free again: as many workers as the agent allows (provium.max_workers=2
     * on this agent's command line) start once more. */
    unsigned again_port[2];
    int32_t again_pid[2];
    int again_fd[2];
    for (int i = 0; i < 2; i++) {
        again_fd[i] = worker(fd, (uint32_t)i, &again_port[i], &again_pid[i]);
        exec_prints(again_fd[i], "echo again", "again\n");
    }
    unsigned char fork_flags[4] = {0};
    send_frame(fd, PROVIUM_SPAWN_WORKER, fork_flags, sizeof fork_flags, NULL, 0);
    struct frame refused = expect(fd, PROVIUM_ERROR);
    if (!memmem(refused.payload, refused.len, "no free worker port", 19))
        fail("a third worker was refused with \"%.*s\"", (int)refused.len, (char *)refused.payload);
    free(refused.payload);
    for (int i = 0; i < 2; i++)
        close(again_fd[i]);
    passed();

    step = "a terminal";
    /* PTY on a fork worker's connection, as provium shell runs it: the terminal's output comes
     * as EXEC_OUTPUT frames, then EXEC_RESULT. */
    unsigned tty_port;
    int32_t tty_pid;
    int tty_fd = worker(fd, 0, &tty_port, &tty_pid);
    static const char tty_command[] = "echo pty-$((6*7)); tty; exit 5";
    unsigned char terminal_size[4] = {24, 0, 80, 0}; /* rows, cols: u16 each */
    send_frame(tty_fd, PROVIUM_PTY, terminal_size, sizeof terminal_size, tty_command, sizeof tty_command - 1);
    char screen[4096];
    size_t shown = 0;
    for (;;) {
        struct frame f;
        if (frame_read(tty_fd, &f) != FRAME_OK)
            fail("the connection ended during the terminal's session");
        if (f.type == PROVIUM_EXEC_OUTPUT && f.len >= 4) {
            size_t n = f.len - 4 < sizeof screen - 1 - shown ? f.len - 4 : sizeof screen - 1 - shown;
            memcpy(screen + shown, f.payload + 4, n);
            shown += n;
            free(f.payload);
            continue;
        }
        if (f.type != PROVIUM_EXEC_RESULT || f.len < 4)
            fail("frame type 0x%02X of %u bytes during the terminal's session", f.type, f.len);
        screen[shown] = '\0';
        if ((int32_t)provium_get_u32(f.payload) != 5 || !strstr(screen, "pty-42") || !strstr(screen, "/dev/pts/"))
            fail("the terminal's command exited %d and showed \"%s\"", (int32_t)provium_get_u32(f.payload), screen);
        free(f.payload);
        break;
    }
    close(tty_fd);
    passed();

    step = "EOF and the next accept";
    close(fd);
    fd = greeted(port);
    exec_prints(fd, "echo next", "next\n");
    passed();

    step = "a host gone mid-answer";
    /* The agent's answer, 4 MiB, meets a closed socket (EPIPE, which must not end the agent). */
    unsigned char exec_head[8] = {0};
    static const char big[] = "head -c 4194304 /dev/zero";
    send_frame(fd, PROVIUM_EXEC, exec_head, sizeof exec_head, big, sizeof big - 1);
    close(fd);
    fd = greeted(port);
    exec_prints(fd, "echo still serving", "still serving\n");
    passed();

    step = "QUIESCE";
    send_frame(fd, PROVIUM_QUIESCE, NULL, 0, NULL, 0);
    free(expect(fd, PROVIUM_READY).payload);
    ends(fd);
    close(fd);
    fd = greeted(port);
    exec_prints(fd, "echo after quiesce", "after quiesce\n");
    close(fd);
    passed();
    return 0;
}
