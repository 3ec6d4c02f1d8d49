#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

char *command_line(const struct frame *req, char *err, size_t errlen) {
    const char *nul = req->len ? memchr(req->payload, '\0', req->len) : NULL;
    if (nul) {
        snprintf(err, errlen, "command line contains a NUL byte at offset %zu",
                 (size_t)(nul - (const char *)req->payload));
        return NULL;
    }
    char *cmd = malloc((size_t)req->len + 1); /* len <= 16 MiB: no overflow */
    if (!cmd) {
        snprintf(err, errlen, "cannot allocate %u bytes for the command line",
                 (unsigned)req->len + 1);
        return NULL;
    }
    if (req->len)
        memcpy(cmd, req->payload, req->len);
    cmd[req->len] = '\0';
    return cmd;
}

void command_reset_signals(void) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < _NSIG; sig++)
        sigaction(sig, &dfl, NULL); /* fails, harmlessly, for SIGKILL, SIGSTOP and libc's own */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: undo what the agent changed for itself, wire up stdio, and become the shell. */
static _Noreturn void run_child(const char *cmd, int out_w, int err_w) {
    /* A process group of its own, so that the command and its children can be signalled
     * together. */
    setpgid(0, 0);
    command_reset_signals();

    /* dup2 clears close-on-exec on the copies; the originals close at exec. */
    if (dup2(out_w, STDOUT_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0)
        _exit(127);
    /* From here on, messages reach the host as the command's stderr. */
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
        log_msg("cannot open /dev/null for the command's stdin: %s", strerror(errno));
        _exit(127);
    }
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    log_msg("cannot run /bin/sh: %s", strerror(errno));
    _exit(127);
}

pid_t command_start(const char *cmd, int out_w, int err_w) {
    pid_t pid = fork();
    if (pid == 0)
        run_child(cmd, out_w, err_w);
    /* The child does this too; doing it here as well means the group exists when fork
     * returns, so that signalling it at once (JOB_KILL) cannot miss. It fails, harmlessly,
     * once the child has exec'd. */
    if (pid > 0)
        setpgid(pid, pid);
    return pid;
}

int command_exit_code(int status) {
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
