/* EXEC: run a command line with /bin/sh -c and answer with its exit code and its output,
 * stdout and stderr kept apart, byte for byte. A command past its deadline is killed with its
 * process group and answered with what it wrote so far; on request its output is also sent as
 * it arrives (EXEC_OUTPUT), for a host that shows it live. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"
#include "handlers.h"
#include "log.h"
#include "wire.h"
#include "own_fds.h"

/* Output that fits an EXEC_RESULT frame beside its four integers. */
#define OUTPUT_LIMIT (PROVIUM_MAX_PAYLOAD - 16u)
/* After the kill at the deadline: how long the agent still reads output that processes outside
 * the group (a daemon that left it) may hold open, and waits for the group to die. */
#define KILL_GRACE_MS 1000

struct buffer {
    char *data;
    size_t len, cap;
};

struct output {
    struct buffer out, err;
    size_t total;   /* bytes the command wrote, kept or not */
    bool no_memory; /* a buffer could not grow; output is dropped from then on */
};

/* Starts cmd with its stdout and stderr on pipes whose read ends land in *out_r and *err_r.
 * Returns the pid, or -1 with errno set. */
static pid_t spawn(const char *cmd, int *out_r, int *err_r) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return -1;
    own_fd(out[0]);
    own_fd(out[1]);
    if (pipe2(err, O_CLOEXEC) < 0) {
        int saved = errno;
        close(out[0]);
        close(out[1]);
        errno = saved;
        return -1;
    }
    own_fd(err[0]);
    own_fd(err[1]);
    pid_t pid = command_start(cmd, out[1], err[1]);
    int saved = errno;
    close(out[1]); /* only the child writes: EOF comes when it (and its children) are done */
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        errno = saved;
        return -1;
    }
    *out_r = out[0];
    *err_r = err[0];
    return pid;
}

/* Frees what was kept: the answer will be an error, the rest of the output is only counted. */
static void drop(struct output *o) {
    free(o->out.data);
    free(o->err.data);
    o->out = o->err = (struct buffer){0};
}

/* Appends a chunk to b while the output still fits a frame; past that, or without memory,
 * it only counts, so that the command can run to its end. */
static void keep(struct output *o, struct buffer *b, const char *chunk, size_t n) {
    o->total += n;
    if (o->total > OUTPUT_LIMIT || o->no_memory) {
        drop(o);
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            o->no_memory = true;
            drop(o);
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, n);
    b->len += n;
}

/* A chunk of output as it arrives: [stream u32 (1 stdout, 2 stderr)][bytes]. A host that went
 * away is noticed by the final answer's write. */
static void stream_chunk(int fd, int stream, const char *chunk, size_t n) {
    unsigned char head[4];
    provium_put_u32(head, (uint32_t)stream);
    const struct iovec parts[] = {{.iov_base = head, .iov_len = sizeof head},
                                  {.iov_base = (void *)chunk, .iov_len = n}};
    frame_write(fd, PROVIUM_EXEC_OUTPUT, parts, 2);
}

/* Reads both pipes until both reach EOF, then closes them. At `deadline` (-1: none) it kills
 * the process group of pid and reads for KILL_GRACE_MS more at most. Returns whether the
 * deadline came. With stream_fd >= 0, every chunk kept is also sent there. */
static bool collect(int out_r, int err_r, pid_t pid, int64_t deadline, int stream_fd,
                    struct output *o) {
    struct pollfd p[2] = {{.fd = out_r, .events = POLLIN}, {.fd = err_r, .events = POLLIN}};
    struct buffer *dest[2] = {&o->out, &o->err};
    char chunk[16384];
    bool killed = false;
    int64_t until = deadline;
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        /* Looked at on every turn, not only when poll times out: a command that never stops
         * writing must meet its deadline too. */
        if (clock_ms_until(until) == 0) {
            if (killed)
                break; /* what still holds the pipes left the group: its output is not waited for */
            kill(-pid, SIGKILL);
            killed = true;
            until = clock_now_ms() + KILL_GRACE_MS;
        }
        if (poll(p, 2, clock_ms_until(until)) < 0) {
            if (errno == EINTR)
                continue;
            log_msg("cannot wait for command output: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                keep(o, dest[i], chunk, (size_t)n);
                if (stream_fd >= 0 && o->total <= OUTPUT_LIMIT)
                    stream_chunk(stream_fd, i + 1, chunk, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(p[i].fd);
                p[i].fd = -1; /* poll ignores negative fds */
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    return killed;
}

/* Commands that did not die of SIGKILL (stuck in the kernel): reaped whenever they end, so
 * that they do not stay zombies. Thread workers run commands concurrently. */
#define MAX_STUCK 64
static pthread_mutex_t stuck_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t stuck[MAX_STUCK];
static int nstuck;

static void remember_stuck(pid_t pid) {
    pthread_mutex_lock(&stuck_lock);
    if (nstuck < MAX_STUCK)
        stuck[nstuck++] = pid;
    pthread_mutex_unlock(&stuck_lock);
}

static void reap_stuck(void) {
    pthread_mutex_lock(&stuck_lock);
    for (int i = 0; i < nstuck;)
        if (waitpid(stuck[i], NULL, WNOHANG) != 0)
            stuck[i] = stuck[--nstuck]; /* reaped, or no longer ours */
        else
            i++;
    pthread_mutex_unlock(&stuck_lock);
}

/* Waits for this command only (jobs of EXEC_ASYNC are the agent's children too) until it ends
 * or `deadline` (-1: none) passes. Returns whether it was reaped, its wait status in *status
 * (-1 when it cannot be known: not while nobody else reaps the agent's children). */
static bool reap_by(pid_t pid, int64_t deadline, int *status) {
    int pidfd = -1; /* opened only when the command has not ended yet, the rarer case */
    bool reaped = false;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            if (r < 0)
                *status = -1;
            reaped = true;
            break;
        }
        int wait = clock_ms_until(deadline);
        if (wait == 0)
            break;
        if (pidfd < 0)
            pidfd = own_fd((int)syscall(SYS_pidfd_open, pid, 0)); /* -1 before Linux 5.3: then sleeps */
        if (pidfd >= 0)
            poll(&(struct pollfd){.fd = pidfd, .events = POLLIN}, 1, wait);
        else
            nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL);
    }
    if (pidfd >= 0)
        close(pidfd);
    return reaped;
}

/* Whether a process of group pgid is alive: zombies do not count (their parent's death hands
 * them to init, which reaps them in its own time). Reads /proc/N/stat: "N (comm) S ppid pgrp". */
static bool group_alive(pid_t pgid) {
    DIR *proc = opendir("/proc");
    if (proc)
        own_fd(dirfd(proc));
    if (!proc)
        return kill(-pgid, 0) == 0; /* no /proc: zombies count too */
    bool alive = false;
    struct dirent *entry;
    while (!alive && (entry = readdir(proc))) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
            continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%.20s/stat", entry->d_name);
        int fd = own_fd(open(path, O_RDONLY | O_CLOEXEC));
        if (fd < 0)
            continue;
        ssize_t n = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (n <= 0)
            continue;
        stat[n] = '\0';
        const char *after_comm = strrchr(stat, ')'); /* a command's name may hold ")" itself */
        char state;
        int ppid, pgrp;
        if (after_comm && sscanf(after_comm + 1, " %c %d %d", &state, &ppid, &pgrp) == 3)
            alive = pgrp == pgid && state != 'Z';
    }
    closedir(proc);
    return alive;
}

/* Whether every process of the group pgid is gone by `deadline`: the leader's death does not
 * say so, since a child stuck in the kernel outlives its killed shell. */
static bool group_gone_by(pid_t pgid, int64_t deadline) {
    while (group_alive(pgid)) {
        if (clock_ms_until(deadline) == 0)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL);
    }
    return true;
}

static int reply(int fd, int code, uint32_t ending, const struct output *o) {
    const char *killed = ending == PROVIUM_EXEC_ENDED ? "" : "killed at its deadline; ";
    if (o->total > OUTPUT_LIMIT)
        return frame_write_error(fd, "%scommand output of %zu bytes exceeds the %u MiB frame limit",
                                 killed, o->total, PROVIUM_MAX_PAYLOAD >> 20);
    if (o->no_memory)
        return frame_write_error(fd, "%scannot allocate memory for %zu bytes of command output",
                                 killed, o->total);
    unsigned char head[12], mid[4];
    provium_put_u32(head, (uint32_t)code);
    provium_put_u32(head + 4, ending);
    provium_put_u32(head + 8, (uint32_t)o->out.len);
    provium_put_u32(mid, (uint32_t)o->err.len);
    const struct iovec parts[] = {
        {.iov_base = head, .iov_len = sizeof head},
        {.iov_base = o->out.data, .iov_len = o->out.len},
        {.iov_base = mid, .iov_len = sizeof mid},
        {.iov_base = o->err.data, .iov_len = o->err.len},
    };
    return frame_write(fd, PROVIUM_EXEC_RESULT, parts, 4);
}

int handle_exec(int fd, const struct frame *req) {
    if (req->len < 8)
        return frame_write_error(fd, "EXEC: payload of %u bytes, expected at least 8 "
                                     "([deadline_ms u32][flags u32][command])", (unsigned)req->len);
    const uint32_t deadline = provium_get_u32(req->payload);
    const uint32_t flags = provium_get_u32(req->payload + 4);
    if (flags & ~(uint32_t)PROVIUM_EXEC_STREAM)
        return frame_write_error(fd, "EXEC: unknown flags 0x%x", (unsigned)flags);
    const struct frame command = {.type = req->type, .len = req->len - 8, .payload = req->payload + 8};
    char why[128];
    char *cmd = command_line(&command, why, sizeof why);
    if (!cmd)
        return frame_write_error(fd, "%s", why);

    reap_stuck();
    int out_r, err_r;
    pid_t pid = spawn(cmd, &out_r, &err_r);
    free(cmd);
    if (pid < 0)
        return frame_write_error(fd, "cannot start the command: %s", strerror(errno));
    struct output o = {0};
    const int64_t until = deadline ? clock_now_ms() + deadline : -1;
    bool killed = collect(out_r, err_r, pid, until, flags & PROVIUM_EXEC_STREAM ? fd : -1, &o);
    /* A command may end its output long before itself (`exec >/tmp/log 2>&1`): the deadline
     * holds until it ends. */
    int status = -1;
    bool reaped = !killed && reap_by(pid, until, &status);
    if (!killed && !reaped) {
        kill(-pid, SIGKILL);
        killed = true;
    }
    uint32_t ending = PROVIUM_EXEC_ENDED;
    if (killed) {
        /* What does not die of SIGKILL within the grace is stuck in the kernel (uninterruptible
         * sleep): the agent answers anyway. */
        const int64_t give_up = clock_now_ms() + KILL_GRACE_MS;
        reaped = reap_by(pid, give_up, &status);
        if (!reaped)
            remember_stuck(pid);
        ending = reaped && group_gone_by(pid, give_up) ? PROVIUM_EXEC_KILLED : PROVIUM_EXEC_KILL_FAILED;
    }
    int code = ending == PROVIUM_EXEC_KILL_FAILED || status == -1 ? -1 : command_exit_code(status);
    int sent = reply(fd, code, ending, &o);
    free(o.out.data);
    free(o.err.data);
    return sent;
}
