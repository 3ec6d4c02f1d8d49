#include "port.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "wire.h"

#define PORTS_DIR "/sys/class/virtio-ports"
#define APPEAR_TIMEOUT_S 20
#define RETRY_MIN_NS 1000000L   /* the port usually shows up within milliseconds ... */
#define RETRY_MAX_NS 10000000L  /* ... so start fast, then poll more gently */

/* Whether sysfs entry `entry` is the port called `name`. The name attribute appears only once
 * the host has told the driver the name, a little after the device itself. */
static int has_name(const char *entry, const char *name) {
    char path[300], buf[64];
    snprintf(path, sizeof path, PORTS_DIR "/%s/name", entry);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return strcmp(buf, name) == 0;
}

/* One look for the port: its fd, or -1 when it is not there (yet). Without udev the sysfs
 * entry's name (vportNpM) is also the name of the node devtmpfs made in /dev. */
static int try_open(const char *name) {
    DIR *dir = opendir(PORTS_DIR); /* absent until virtio_console is loaded */
    if (!dir)
        return -1;
    int fd = -1;
    struct dirent *e;
    while (fd < 0 && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || !has_name(e->d_name, name))
            continue;
        char dev[300];
        snprintf(dev, sizeof dev, "/dev/%s", e->d_name);
        fd = open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 && errno != ENOENT)
            log_msg("cannot open %s (port %s): %s", dev, name, strerror(errno));
    }
    closedir(dir);
    return fd;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The driver reports host connects and disconnects with SIGIO (VIRTIO_CONSOLE_PORT_OPEN);
 * it is blocked so that it stays pending for sigtimedwait instead of killing us. */
static int enable_sigio(int fd) {
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    sigprocmask(SIG_BLOCK, &sigio, NULL);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETOWN, getpid()) < 0 ||
        fcntl(fd, F_SETFL, flags | O_ASYNC) < 0) {
        log_msg("cannot enable SIGIO on the port: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int port_open(unsigned index) {
    char name[32];
    snprintf(name, sizeof name, PROVIUM_PORT_PREFIX "%u", index);
    double deadline = now_s() + APPEAR_TIMEOUT_S;
    long delay_ns = RETRY_MIN_NS;
    int fd;
    while ((fd = try_open(name)) < 0) {
        if (now_s() > deadline) {
            log_msg("no virtio-serial port named %s after %d s: the guest kernel needs "
                    "CONFIG_VIRTIO_CONSOLE (built in, or the virtio_console module in the shim)",
                    name, APPEAR_TIMEOUT_S);
            return -1;
        }
        nanosleep(&(struct timespec){.tv_nsec = delay_ns}, NULL);
        delay_ns = delay_ns * 2 > RETRY_MAX_NS ? RETRY_MAX_NS : delay_ns * 2;
    }
    if (enable_sigio(fd) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void port_wait_host(int fd) {
    /* While no host is connected, poll() reports POLLHUP at once and read() returns 0, so
     * neither can wait for a connection; SIGIO announces it instead. The timeout is only a
     * safety net should a signal ever be missed. */
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    const struct timespec safety_net = {.tv_sec = 1};
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP))
            return;
        sigtimedwait(&sigio, NULL, &safety_net);
    }
}
