/* provium-agent: serves the host's requests over the virtio-serial port provium.0, and starts
 * workers that serve on provium.1 ... or, with provium.transport=vsock on the kernel command
 * line (or among its arguments), over AF_VSOCK port 5123 with workers on ports of their own.
 * Started in the background by provium-wrapper; runs as root for the life of the guest. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "log.h"
#include "port.h"
#include "serve.h"
#include "vsock.h"
#include "wire.h"

const char log_name[] = "provium-agent";

static void ignore_signal(int signal_number) { (void)signal_number; }

/* The vsock transport: listen on PROVIUM_VSOCK_PORT and serve the host from there on. */
static int serve_vsock(void) {
    char value[16];
    if (cmdline_get("provium.max_workers", value, sizeof value) == 0)
        vsock_max_workers = (unsigned)strtoul(value, NULL, 10);
    vsock_transport = true;
    /* A write to a connection the host has reset raises SIGPIPE, which would end the agent; with
     * a handler the write fails with EPIPE and the connection ends as any other. A handler, not
     * SIG_IGN, so that the commands the agent runs start with the default action. */
    struct sigaction pipe_signal = {.sa_handler = ignore_signal, .sa_flags = SA_RESTART};
    sigemptyset(&pipe_signal.sa_mask);
    sigaction(SIGPIPE, &pipe_signal, NULL);
    char err[256];
    int listener = vsock_listen(PROVIUM_VSOCK_PORT, NULL, err, sizeof err);
    if (listener < 0) {
        log_msg("%s", err);
        return 1;
    }
    serve_listener(listener);
}

int main(int argc, char **argv) {
    /* Its arguments are read as more kernel command line words (cmdline.h): the vsock e2e test
     * starts a second agent with provium.transport=vsock in a VM that serves on virtio-serial. */
    cmdline_add(argv + 1, argc - 1);

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
    struct sigaction hangup = {.sa_handler = ignore_signal, .sa_flags = SA_RESTART};
    sigemptyset(&hangup.sa_mask);
    sigaction(SIGHUP, &hangup, NULL);

    char transport[32];
    if (cmdline_get("provium.transport", transport, sizeof transport) == 0 &&
        strcmp(transport, "vsock") == 0)
        return serve_vsock();

    int fd = port_open(0);
    if (fd < 0)
        return 1;
    serve_port(fd);
}
