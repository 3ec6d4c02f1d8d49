/* provium-wrapper: the kernel's first process (rdinit=). It prepares what the agent needs
 * (for a disk boot, the disk as the root), starts the agent in the background, and then becomes
 * the real init (exec keeps PID 1), so the guest's own userspace boots as it would without
 * Provium. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdline.h"
#include "log.h"
#include "modules.h"
#include "mounts.h"
#include "root_disk.h"

const char log_name[] = "provium-wrapper";

#define MODULE_DIR "/provium/modules"
#define AGENT_PATH "/provium-agent"
#define DEFAULT_INIT "/sbin/init"

/* The kernel opens /dev/console as fds 0-2 only when it exists in the initramfs; without it
 * every message (ours, the agent's, init's) would be lost. Called after /dev is mounted. */
static void open_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        /* Lower fds are open by now, so open() returns exactly fd. */
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/console", O_RDWR) < 0)
            return;
    }
}

/* The agent runs under a watcher, a process that only waits for it: should the agent die (a
 * test killed it, the OOM killer, a crash), the watcher says so on the console, so that a host
 * waiting in vain for an answer can tell a dead agent from a hung kernel. */
static _Noreturn void watch_agent(const char *agent) {
    /* Its own session: no terminal signals from the console, and init's process-group
     * handling does not touch the agent. */
    setsid();
    pid_t pid = fork();
    if (pid == 0) {
        execl(agent, agent, (char *)NULL);
        log_msg("cannot exec %s: %s", agent, strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        log_msg("cannot start %s: fork: %s", agent, strerror(errno));
        _exit(1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            _exit(1);
    if (WIFSIGNALED(status))
        log_msg("the agent (pid %d) was killed by signal %d (%s): nothing answers the host any more",
                (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        log_msg("the agent (pid %d) exited with status %d: nothing answers the host any more",
                (int)pid, WEXITSTATUS(status));
    _exit(0);
}

static void start_agent(const char *agent) {
    pid_t pid = fork();
    if (pid < 0)
        log_msg("cannot start %s: fork: %s", agent, strerror(errno));
    else if (pid == 0)
        watch_agent(agent);
    /* init inherits the watcher and reaps it if it ever exits */
}

int main(int argc, char **argv) {
    (void)argc;
    mount_kernel_filesystems();
    open_std_fds();
    load_modules(MODULE_DIR);
    /* A disk boot or the host's root (provium.root=): it becomes the root, and the agent runs
     * from a copy in its /dev. Should that fail, the reason is on the console, and exiting makes the kernel
     * panic: the host reports the failed boot with that line. */
    char agent[PATH_MAX] = AGENT_PATH, root[PATH_MAX];
    const int has_root = cmdline_get("provium.root", root, sizeof root) == 0;
    if (has_root && switch_to_root(root, AGENT_PATH, agent, sizeof agent) < 0)
        exit(1);
    start_agent(agent);

    char init[PATH_MAX];
    if (cmdline_get("provium.init", init, sizeof init) < 0)
        strcpy(init, DEFAULT_INIT);
    /* On the host's root, Provium's init runs from the copy the switch made. */
    if (has_root && strcmp(root, "host") == 0 && strcmp(init, INIT_PATH) == 0)
        strcpy(init, HOST_ROOT_INIT);
    /* Arguments the kernel gave us (unrecognised words of the command line) belong to init. */
    argv[0] = init;
    execv(init, argv);
    /* Exiting makes the kernel panic, and with panic=-1 and -no-reboot QEMU exits: the host
     * reports the failed boot with this line from the console. */
    log_msg("cannot exec init %s: %s", init, strerror(errno));
    exit(1);
}
