/* SPAWN_WORKER: start a worker, a forked child or a thread of the agent, that serves requests
 * on a port of its own (provium.N, N >= 1) until its host goes away, and keep track of which
 * ports are taken.
 *
 * Claiming a port is race-free because the agent's thread opens it itself, before the worker
 * exists, and only then answers WORKER_STARTED:
 * - the open is the claim: virtio-serial lets a port be open only once, so a port still held
 *   by anyone (a worker on its way out, a forked child that has not exec'd yet, a test) fails
 *   with EBUSY and the next port is tried, and the host is never told a port that nobody
 *   serves; a failure is an ERROR, not a worker that dies after the host was sent its port;
 * - the host connects right after WORKER_STARTED, possibly before the worker waits for it;
 *   that is fine, as the driver keeps the host's connection state whether or not the port is
 *   open and port_wait_host() looks at that state before it waits for SIGIO;
 * - the table below is changed only by the agent's thread (claims, reaping fork workers) and
 *   by thread workers releasing their port, all under its mutex. A worker's port is closed
 *   before it counts as free: a thread worker closes it before it releases it, and the kernel
 *   closes a fork worker's files before the child can be reaped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "port.h"
#include "serve.h"
#include "vsock.h"
#include "wire.h"
#include "own_fds.h"

enum { FORK_WORKER = 0, THREAD_WORKER = 1 };

/* Thread workers get the 8 MiB of stack a main thread usually has (musl's default is 128 KiB),
 * so that a request that works on provium.0 works in a worker too. */
#define THREAD_STACK_SIZE (8u << 20)

struct busy_port {
    unsigned index;
    pid_t pid; /* a fork worker's, to reap it; 0 for a thread worker, which releases its own */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* How long a spawn waits for a closed worker to free its port: 400 x 5 ms = 2 s. */
#define SPAWN_GRACE_TRIES 400
#define SPAWN_GRACE_STEP_NS 5000000L
static struct busy_port *busy; /* nbusy entries, room for cap */
static size_t nbusy, cap;

static bool is_busy(unsigned index) {
    for (size_t i = 0; i < nbusy; i++)
        if (busy[i].index == index)
            return true;
    return false;
}

/* Frees the port of every fork worker that has exited. Only those pids are waited for: EXEC
 * and the jobs reap their own children. */
static void reap_fork_workers(void) {
    for (size_t i = 0; i < nbusy;) {
        /* ECHILD: reaped by someone else (a test's own wait), gone all the same. */
        if (busy[i].pid > 0 && waitpid(busy[i].pid, NULL, WNOHANG) != 0)
            busy[i] = busy[--nbusy];
        else
            i++;
    }
}

static void release(unsigned index) {
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nbusy; i++)
        if (busy[i].index == index) {
            busy[i] = busy[--nbusy];
            break;
        }
    pthread_mutex_unlock(&lock);
}

/* In a new fork worker: close the descriptors the agent keeps for itself (own_fds.h). Among
 * them are provium.0 and the ports of thread workers, which would stay busy as long as this
 * worker holds them, the pipes of an EXEC that a thread worker was starting at the fork, whose
 * output would not end before this worker, and the jobs' memory files. The worker is a copy of
 * the agent as a test sees it: every descriptor a test opened stays, O_CLOEXEC or not. */
static void close_agent_fds(int keep) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        log_msg("fork worker: cannot list its file descriptors: %s", strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        int fd = atoi(e->d_name); /* 0 for "." and "..", skipped with stdio */
        if (fd > STDERR_FILENO && fd != keep && fd != dirfd(dir) && is_own_fd(fd))
            close(fd);
    }
    closedir(dir);
}

/* Starts a fork worker on the open port fd: its pid, or -1 with errno set. */
static pid_t start_fork_worker(int fd) {
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    close_agent_fds(fd);
    serve_worker_port(fd);
    _exit(0);
}

struct thread_start {
    int fd;
    unsigned index;
    pid_t tid;   /* set by the thread */
    sem_t ready; /* posted once tid is set; the struct is gone after that */
};

static void *thread_worker(void *arg) {
    struct thread_start *start = arg;
    int fd = start->fd;
    unsigned index = start->index;
    start->tid = gettid();
    sem_post(&start->ready);
    serve_worker_port(fd);
    close(fd);
    release(index);
    return NULL; /* pthread_exit: SYS_exit for this thread alone */
}

/* Starts a thread worker on the open port fd: its thread id, or -1 with errno set. */
static pid_t start_thread_worker(int fd, unsigned index) {
    struct thread_start start = {.fd = fd, .index = index};
    pthread_attr_t attr;
    pthread_t thread;
    sem_init(&start.ready, 0, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
    int err = pthread_create(&thread, &attr, thread_worker, &start);
    pthread_attr_destroy(&attr);
    if (err) {
        sem_destroy(&start.ready);
        errno = err;
        return -1;
    }
    while (sem_wait(&start.ready) < 0)
        ; /* EINTR, which POSIX allows */
    sem_destroy(&start.ready);
    return start.tid;
}

/* The vsock transport's claim: a listener on a port the kernel picks, which nobody else can
 * have; the host chose how many workers may be alive at once (provium.max_workers). Returns
 * as port_open_worker. */
static int open_vsock_worker(unsigned *index, char *err, size_t errlen) {
    if (vsock_max_workers == 0) {
        snprintf(err, errlen, "no free worker port (the VM has none)");
        return -1;
    }
    if (nbusy >= vsock_max_workers) {
        snprintf(err, errlen, "no free worker port (all %u in use)", vsock_max_workers);
        return PORT_ALL_BUSY;
    }
    return vsock_listen(0, index, err, errlen);
}

/* Claims a port and starts the worker on it, with the table locked. Returns 0 with *index and
 * *pid set, or -1 (PORT_ALL_BUSY when every port is taken) after writing why into err. */
static int start_worker(uint32_t flags, unsigned *index, pid_t *pid, char *err, size_t errlen) {
    if (nbusy == cap) { /* room first: a started worker must find its entry */
        size_t grown_cap = cap ? 2 * cap : 16;
        struct busy_port *grown = realloc(busy, grown_cap * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "cannot allocate the table of worker ports");
            return -1;
        }
        busy = grown;
        cap = grown_cap;
    }
    reap_fork_workers();
    int port = vsock_transport ? open_vsock_worker(index, err, errlen)
                               : port_open_worker(is_busy, index, err, errlen);
    if (port < 0)
        return port;
    *pid = flags == THREAD_WORKER ? start_thread_worker(port, *index) : start_fork_worker(port);
    if (*pid < 0) {
        snprintf(err, errlen, "cannot start a %s worker: %s",
                 flags == THREAD_WORKER ? "thread" : "fork", strerror(errno));
        close(port);
        return -1;
    }
    if (flags == FORK_WORKER)
        close(port); /* the child's now */
    busy[nbusy++] = (struct busy_port){.index = *index,
                                       .pid = flags == FORK_WORKER ? *pid : 0};
    return 0;
}

int handle_spawn_worker(int fd, const struct frame *req) {
    if (req->len != 4)
        return frame_write_error(fd, "SPAWN_WORKER takes a 4-byte payload, got %u bytes",
                                 (unsigned)req->len);
    uint32_t flags = provium_get_u32(req->payload);
    if (flags != FORK_WORKER && flags != THREAD_WORKER)
        return frame_write_error(fd, "SPAWN_WORKER flags must be 0 (fork) or 1 (thread), got %u",
                                 (unsigned)flags);
    unsigned index;
    pid_t pid;
    char err[256];
    /* A host that just closed some workers spawns the next one at once, while those workers
     * are still noticing the hangup: a full table gets a short grace before the ERROR.
     * Answered once the lock is free again: a slow host must not hold up exiting workers. */
    int started;
    for (int tries = 0;; ++tries) {
        pthread_mutex_lock(&lock);
        started = start_worker(flags, &index, &pid, err, sizeof err);
        pthread_mutex_unlock(&lock);
        if (started != PORT_ALL_BUSY || tries == SPAWN_GRACE_TRIES)
            break;
        nanosleep(&(struct timespec){.tv_nsec = SPAWN_GRACE_STEP_NS}, NULL);
    }
    if (started < 0)
        return frame_write_error(fd, "%s", err);
    unsigned char answer[8];
    provium_put_u32(answer, index);
    provium_put_u32(answer + 4, (uint32_t)pid);
    return frame_write(fd, PROVIUM_WORKER_STARTED,
                       &(struct iovec){.iov_base = answer, .iov_len = sizeof answer}, 1);
}
