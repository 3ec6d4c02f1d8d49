/* EXEC_ASYNC, JOB_WAIT and JOB_KILL: commands that run in the background while the host goes
 * on with other requests. Their stdout and stderr go to memory files rather than pipes, so
 * that a job never blocks on a full pipe and its output is kept whole, whatever the agent is
 * busy with meanwhile. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"
#include "handlers.h"
#include "wire.h"
#include "own_fds.h"

/* A job stays for the agent's life (its result can be asked for again), with two memory
 * files open: 256 jobs hold 512 of the 1024 file descriptors processes get by default. */
#define MAX_JOBS 256
/* The most output (stdout and stderr together) a job may have: what fits a JOB_RESULT frame
 * beside its four integers, so that a host that asks from offset 0 gets it all at once. */
#define OUTPUT_LIMIT (PROVIUM_MAX_PAYLOAD - 16u)
/* Without pidfds (kernels before 5.3), how often a wait looks whether the job ended. */
#define POLL_INTERVAL_MS 10

struct job {
    pid_t pid; /* also its process group */
    int out, err; /* memory files holding its stdout and stderr */
    bool ended;
    int exit_code;  /* once ended, as for EXEC */
    int wait_error; /* waitpid's errno once it failed: the pid is no longer known to be ours */
};

/* Thread workers serve requests concurrently, all on this table. The lock is held only for
 * moments, never while waiting for a job or forking. Job N is jobs[N - 1]; an entry never
 * changes once its job has ended, and is never removed. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct job jobs[MAX_JOBS];
static uint32_t njobs;
static uint32_t reserved; /* entries promised to starts in progress, plus njobs */
/* In a fork worker: jobs 1..agents_jobs are the agent's, started before the fork. */
static uint32_t agents_jobs;

static void lock_jobs(void) {
    pthread_mutex_lock(&lock);
}

static void unlock_jobs(void) {
    pthread_mutex_unlock(&lock);
}

/* In a forked copy of the agent (a fork worker) the agent's jobs are not the copy's: they are
 * the agent's children, which the copy cannot wait for, and it does not keep their memory files
 * (a fork worker closes the agent's descriptors). Their numbers stay taken, so that a job the
 * worker starts gets a number of its own, and asking the worker about one of them says whose it
 * is. Starts in progress on other threads at the fork do not exist in the copy. */
static void forget_jobs(void) {
    agents_jobs = reserved = njobs;
    pthread_mutex_unlock(&lock);
}

/* Thread workers may hold the lock at any moment: fork takes it first, so that the copy does
 * not start with it held forever. */
__attribute__((constructor)) static void guard_fork(void) {
    pthread_atfork(lock_jobs, unlock_jobs, forget_jobs);
}

/* Starts cmd with its output into two new memory files. Returns 0, or -1 with errno set and
 * what failed in *what. */
static int start(const char *cmd, struct job *j, const char **what) {
    *what = "memfd_create";
    j->out = own_fd(memfd_create("job-stdout", MFD_CLOEXEC));
    if (j->out < 0)
        return -1;
    j->err = own_fd(memfd_create("job-stderr", MFD_CLOEXEC));
    if (j->err >= 0) {
        *what = "cannot start the command";
        j->pid = command_start(cmd, j->out, j->err);
        if (j->pid > 0)
            return 0;
    }
    int saved = errno;
    close(j->out);
    if (j->err >= 0)
        close(j->err);
    errno = saved;
    return -1;
}

/* Reaps job j if its process has ended. With the lock held: waitpid(WNOHANG) does not block,
 * and with one reaper at a time a pid is never waited for after it was reaped (and perhaps
 * reused). Returns 0, or waitpid's errno: ECHILD when the host reaped the job itself through
 * a SYSCALL, after which its pid may come back for another child, never to be waited for
 * here. */
static int reap(struct job *j) {
    if (j->ended || j->wait_error)
        return j->wait_error;
    int status;
    pid_t r;
    while ((r = waitpid(j->pid, &status, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return j->wait_error = errno;
    if (r > 0) {
        j->ended = true;
        j->exit_code = command_exit_code(status);
    }
    return 0;
}

/* Reaps every job that has ended, with the lock held, so that jobs nobody waits for do not
 * stay zombies. */
static void reap_ended(void) {
    for (uint32_t i = agents_jobs; i < njobs; i++)
        reap(&jobs[i]);
}

int handle_exec_async(int fd, const struct frame *req) {
    char why[128];
    char *cmd = command_line(req, why, sizeof why);
    if (!cmd)
        return frame_write_error(fd, "EXEC_ASYNC: %s", why);
    /* The entry is promised before the command starts, so that a full table never leaves
     * a command running that nobody can wait for. */
    lock_jobs();
    reap_ended();
    bool full = reserved == MAX_JOBS;
    if (!full)
        reserved++;
    unlock_jobs();
    if (full) {
        free(cmd);
        return frame_write_error(fd, "EXEC_ASYNC: all %d jobs are taken (a job's result is "
                                     "kept for the agent's life)", MAX_JOBS);
    }
    struct job j = {0};
    const char *what;
    int started = start(cmd, &j, &what);
    int saved = errno;
    free(cmd);
    uint32_t id = 0;
    lock_jobs();
    if (started < 0) {
        reserved--;
    } else {
        jobs[njobs++] = j;
        id = njobs;
    }
    unlock_jobs();
    if (started < 0)
        return frame_write_error(fd, "EXEC_ASYNC: %s: %s", what, strerror(saved));
    unsigned char answer[8];
    provium_put_u32(answer, id);
    provium_put_u32(answer + 4, (uint32_t)j.pid);
    return frame_write(fd, PROVIUM_JOB_STARTED,
                       &(struct iovec){.iov_base = answer, .iov_len = sizeof answer}, 1);
}

/* Waits until the process behind pidfd has ended or the deadline (-1: none) passed. */
static void await_pidfd(int pidfd, int64_t deadline) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    for (;;) {
        int wait = clock_ms_until(deadline);
        if (wait == 0)
            return;
        int r = poll(&p, 1, wait);
        if (r > 0 || (r < 0 && errno != EINTR))
            return; /* ended, or poll failed: the caller looks again either way */
    }
}

/* Brings job id up to date: with kill, SIGKILL to its process group first if it runs; then
 * waits up to timeout_ms (-1: until it ends) and reaps it if it ended. Copies it to *snap.
 * Returns 0; -1 for an unknown id; -2 in a fork worker for one of the agent's jobs; the errno
 * of waitpid when it cannot be reaped. */
static int settle(uint32_t id, int64_t timeout_ms, bool kill_it, struct job *snap) {
    lock_jobs();
    if (id == 0 || id > njobs) {
        unlock_jobs();
        return -1;
    }
    if (id <= agents_jobs) {
        unlock_jobs();
        return -2;
    }
    reap_ended();
    struct job *j = &jobs[id - 1];
    int reaped = reap(j);
    bool waiting = reaped == 0 && !j->ended && timeout_ms != 0;
    int pidfd = -1;
    if (reaped == 0 && !j->ended && kill_it)
        kill(-j->pid, SIGKILL);
    /* While it is not reaped, the pid is still this job's, so the pidfd is too. */
    if (waiting)
        pidfd = own_fd((int)syscall(SYS_pidfd_open, j->pid, 0));
    unlock_jobs();

    const int64_t deadline = timeout_ms < 0 ? -1 : clock_now_ms() + timeout_ms;
    if (pidfd >= 0) {
        await_pidfd(pidfd, deadline);
        close(pidfd);
    } else {
        while (waiting) {
            int wait = clock_ms_until(deadline);
            if (wait == 0)
                break;
            wait = wait < 0 || wait > POLL_INTERVAL_MS ? POLL_INTERVAL_MS : wait;
            nanosleep(&(struct timespec){.tv_nsec = wait * 1000000L}, NULL);
            lock_jobs();
            reaped = reap(j);
            waiting = reaped == 0 && !j->ended;
            unlock_jobs();
        }
    }

    lock_jobs();
    reaped = reap(j);
    *snap = *j;
    unlock_jobs();
    return reaped;
}

/* Reads what a memory file holds now from offset `from` (a running job may still add to it)
 * into a new buffer of at most size bytes; *len is what was read. Returns it, or NULL with
 * errno set. */
static unsigned char *read_output(int mfd, uint64_t from, size_t size, size_t *len) {
    unsigned char *buf = malloc(size ? size : 1);
    *len = 0;
    if (!buf)
        return NULL;
    while (*len < size) {
        ssize_t r = pread(mfd, buf + *len, size - *len, (off_t)(from + *len));
        if (r == 0)
            break; /* the command truncated its output meanwhile */
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            free(buf);
            errno = saved;
            return NULL;
        }
        *len += (size_t)r;
    }
    return buf;
}

/* Answers with what the job's output holds past the host's offsets. */
static int answer_result(int fd, const char *name, uint32_t id, const struct job *j,
                         uint64_t out_from, uint64_t err_from) {
    struct stat out_st, err_st;
    if (fstat(j->out, &out_st) < 0 || fstat(j->err, &err_st) < 0)
        return frame_write_error(fd, "%s: job %u: fstat of its output: %s", name,
                                 (unsigned)id, strerror(errno));
    uint64_t total = (uint64_t)out_st.st_size + (uint64_t)err_st.st_size;
    if (total > OUTPUT_LIMIT)
        return frame_write_error(fd, "%s: job %u output of %llu bytes exceeds the %u-byte "
                                     "frame limit", name, (unsigned)id,
                                 (unsigned long long)total, OUTPUT_LIMIT);
    /* A job that truncated its own output (a reopen with O_TRUNC) has less than the host holds:
     * it gets all of it again, flagged, and drops what it held. */
    const bool restarted = out_from > (uint64_t)out_st.st_size || err_from > (uint64_t)err_st.st_size;
    if (restarted)
        out_from = err_from = 0;
    size_t out_len, err_len;
    unsigned char *out = read_output(j->out, out_from, (size_t)(out_st.st_size - out_from), &out_len);
    unsigned char *err =
        out ? read_output(j->err, err_from, (size_t)(err_st.st_size - err_from), &err_len) : NULL;
    int sent;
    if (!err) {
        sent = frame_write_error(fd, "%s: job %u: reading its output: %s", name, (unsigned)id,
                                 strerror(errno));
    } else {
        unsigned char head[12], mid[4];
        provium_put_u32(head, (uint32_t)(j->ended ? j->exit_code : -1));
        provium_put_u32(head + 4, (j->ended ? 0 : PROVIUM_JOB_RUNNING) | (restarted ? PROVIUM_JOB_RESTARTED : 0));
        provium_put_u32(head + 8, (uint32_t)out_len);
        provium_put_u32(mid, (uint32_t)err_len);
        const struct iovec parts[] = {
            {.iov_base = head, .iov_len = sizeof head},
            {.iov_base = out, .iov_len = out_len},
            {.iov_base = mid, .iov_len = sizeof mid},
            {.iov_base = err, .iov_len = err_len},
        };
        sent = frame_write(fd, PROVIUM_JOB_RESULT, parts, 4);
    }
    free(out);
    free(err);
    return sent;
}

static int settle_and_answer(int fd, const char *name, uint32_t id, int64_t timeout_ms,
                             bool kill_it, const unsigned char *offsets) {
    struct job j;
    int settled = settle(id, timeout_ms, kill_it, &j);
    if (settled == -2)
        return frame_write_error(fd, "%s: job %u is the agent's, started before this fork worker, which "
                                     "has only the jobs it started itself: ask the VM", name, (unsigned)id);
    if (settled < 0)
        return frame_write_error(fd, "no job %u", (unsigned)id);
    if (settled > 0)
        return frame_write_error(fd, "%s: cannot wait for job %u (pid %d): %s", name,
                                 (unsigned)id, (int)j.pid, strerror(settled));
    return answer_result(fd, name, id, &j, provium_get_u64(offsets), provium_get_u64(offsets + 8));
}

int handle_job_wait(int fd, const struct frame *req) {
    if (req->len != 24)
        return frame_write_error(fd, "JOB_WAIT: payload of %u bytes, expected 24 ([job_id u32]"
                                     "[timeout_ms u32][stdout_from u64][stderr_from u64])",
                                 (unsigned)req->len);
    return settle_and_answer(fd, "JOB_WAIT", provium_get_u32(req->payload),
                             provium_get_u32(req->payload + 4), false, req->payload + 8);
}

int handle_job_kill(int fd, const struct frame *req) {
    if (req->len != 20)
        return frame_write_error(fd, "JOB_KILL: payload of %u bytes, expected 20 ([job_id u32]"
                                     "[stdout_from u64][stderr_from u64])", (unsigned)req->len);
    return settle_and_answer(fd, "JOB_KILL", provium_get_u32(req->payload), -1, true,
                             req->payload + 4);
}
