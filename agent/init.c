/* provium-init: the real init of the built-in default profile, whose busybox userspace has no
 * init of its own that suits a test VM. PID 1 must never exit (that panics the kernel) and
 * must reap orphans, which is all it does. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

#include "log.h"
#include "mounts.h"

const char log_name[] = "provium-init";

int main(void) {
    /* Already done by the wrapper; repeated so that this init also works on its own. */
    mount_kernel_filesystems();

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
