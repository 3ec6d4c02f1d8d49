/* provium-init: the real init of the built-in default profile, whose busybox userspace has no
 * init of its own that suits a test VM. PID 1 must never exit (that panics the kernel) and
 * must reap orphans, which is all it does. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"

const char log_name[] = "provium-init";

/* The kernel's host name from /etc/hostname (its first line), as a distribution's init sets it;
 * without the file the name stays the kernel's "(none)". */
static void set_hostname(void) {
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char name[65];
    ssize_t n = read(fd, name, sizeof(name) - 1);
    close(fd);
    if (n <= 0)
        return;
    name[n] = '\0';
    name[strcspn(name, "\r\n")] = '\0';
    if (name[0] && sethostname(name, strlen(name)) != 0)
        log_msg("cannot set the host name %s: %s", name, strerror(errno));
}

int main(void) {
    /* Already done by the wrapper; repeated so that this init also works on its own. */
    mount_kernel_filesystems();
    set_hostname();

    signal(SIGINT, SIG_IGN); /* Ctrl-Alt-Del */
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    /* SIGCHLD stays blocked so that it stays pending between the reaping and the wait:
     * a child exiting in between cannot be missed. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sigwaitinfo(&chld, NULL);
    }
}
