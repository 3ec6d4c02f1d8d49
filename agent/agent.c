/* provium-agent: serves the host's requests over the virtio-serial port provium.0, and starts
 * workers that serve on provium.1 ... Started in the background by provium-wrapper; runs as
 * root for the life of the guest. */
#include <signal.h>
#include <stdlib.h>

#include "port.h"
#include "serve.h"

const char log_name[] = "provium-agent";

static void ignore_hangup(int signal_number) { (void)signal_number; }

int main(void) {
    /* What commands get when the guest's init set nothing better (the kernel gives init only
     * HOME=/ and TERM=linux). Set once here, so that every child inherits it. */
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
    setenv("HOME", "/root", 0);

    /* SIGIO announces host connections on the ports (port.c). Blocked here, before any worker
     * exists, it is blocked in every thread and fork worker, so that it stays pending for the
     * thread that waits instead of killing the agent. */
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    sigprocmask(SIG_BLOCK, &sigio, NULL);

    /* The agent leads its session without a terminal, so a tty that a test opens through it
     * without O_NOCTTY becomes its controlling terminal, and that tty's hangup would kill it
     * with SIGHUP. A handler (not SIG_IGN, which exec would pass on to commands) keeps it
     * alive; SA_RESTART keeps its blocking calls going. */
    struct sigaction hangup = {.sa_handler = ignore_hangup, .sa_flags = SA_RESTART};
    sigemptyset(&hangup.sa_mask);
    sigaction(SIGHUP, &hangup, NULL);

    int fd = port_open(0);
    if (fd < 0)
        return 1;
    serve_port(fd);
}
