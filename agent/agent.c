/* provium-agent: serves the host's requests over the virtio-serial port provium.0, and starts
 * workers that serve on provium.1 ... Started in the background by provium-wrapper; runs as
 * root for the life of the guest. */
#include <signal.h>
#include <stdlib.h>

#include "port.h"
#include "serve.h"

const char log_name[] = "provium-agent";

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

    int fd = port_open(0);
    if (fd < 0)
        return 1;
    serve_port(fd);
}
