#include "port.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "wire.h"
#include "own_fds.h"

#define PORTS_DIR "/sys/class/virtio-ports"
#define APPEAR_TIMEOUT_S 20
#define RETRY_MIN_NS 1000000L   /* the port usually shows up within milliseconds ... */
#define RETRY_MAX_NS 10000000L  /* ... so start fast, then poll more gently */

/* The name of the port behind sysfs entry `entry`, into buf: 0, or -1 when it has none (yet).
 * The name attribute appears only once the host has told the driver the name, a little after
 * the device itself. */
static int port_name(const char *entry, char *buf, size_t size) {
    char path[300];
    snprintf(path, sizeof path, PORTS_DIR "/%s/name", entry);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* Opens the port behind sysfs entry `entry` for serving: non-blocking, and with SIGIO on host
 * connection changes, which port_wait_host() directs at the thread that waits. Without udev
 * the entry's name (vportNpM) is also the name of the node devtmpfs made in /dev. Returns the
 * fd, or -1 with errno set. */
static int open_node(const char *entry) {
    char dev[300];
    snprintf(dev, sizeof dev, "/dev/%s", entry);
    int fd = own_fd(open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (fd < 0)
        return -1;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_ASYNC) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* One look for the port: its fd, or -1 when it is not there (yet). */
static int try_open(const char *name) {
    DIR *dir = opendir(PORTS_DIR); /* absent until virtio_console is loaded */
    if (!dir)
        return -1;
    int fd = -1;
    struct dirent *e;
    char found[64];
    while (fd < 0 && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || port_name(e->d_name, found, sizeof found) < 0 ||
            strcmp(found, name) != 0)
            continue;
        fd = open_node(e->d_name);
        if (fd < 0 && errno != ENOENT)
            log_msg("cannot open /dev/%s (port %s): %s", e->d_name, name, strerror(errno));
    }
    closedir(dir);
    return fd;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
    return fd;
}

/* N of a worker port's name, provium.N with N >= 1; 0 for any other name. */
static unsigned worker_index(const char *name) {
    size_t prefix = strlen(PROVIUM_PORT_PREFIX);
    if (strncmp(name, PROVIUM_PORT_PREFIX, prefix) != 0 || !isdigit((unsigned char)name[prefix]))
        return 0;
    char *end;
    unsigned long n = strtoul(name + prefix, &end, 10);
    return *end == '\0' && n <= UINT_MAX ? (unsigned)n : 0;
}

/* One look through the ports: the lowest-numbered worker port above `after` that busy()
 * leaves free, its sysfs entry copied into entry (NAME_MAX + 1 bytes); 0 when there is none.
 * *count is the number of worker ports, which the host chose. */
static unsigned next_free(DIR *dir, unsigned after, bool (*busy)(unsigned index), char *entry,
                          unsigned *count) {
    unsigned best = 0;
    struct dirent *e;
    char name[64];
    *count = 0;
    rewinddir(dir);
    while ((e = readdir(dir))) {
        unsigned index;
        if (e->d_name[0] == '.' || port_name(e->d_name, name, sizeof name) < 0 ||
            (index = worker_index(name)) == 0)
            continue;
        ++*count;
        if (index > after && (best == 0 || index < best) && !busy(index)) {
            best = index;
            snprintf(entry, NAME_MAX + 1, "%s", e->d_name);
        }
    }
    return best;
}

int port_open_worker(bool (*busy)(unsigned index), unsigned *index, char *err, size_t errlen) {
    DIR *dir = opendir(PORTS_DIR);
    if (!dir) {
        snprintf(err, errlen, "cannot list " PORTS_DIR ": %s", strerror(errno));
        return -1;
    }
    char entry[NAME_MAX + 1];
    unsigned n = 0, count = 0;
    int fd = -1;
    while (fd < 0 && (n = next_free(dir, n, busy, entry, &count)) != 0) {
        fd = open_node(entry);
        /* EBUSY: still open elsewhere (a worker on its way out, a forked child that has not
         * exec'd yet, a test): the next port will do. */
        if (fd < 0 && errno != EBUSY) {
            snprintf(err, errlen, "cannot open /dev/%s (port " PROVIUM_PORT_PREFIX "%u): %s",
                     entry, n, strerror(errno));
            break;
        }
    }
    closedir(dir);
    if (fd >= 0)
        *index = n;
    else if (n == 0 && count == 0)
        snprintf(err, errlen, "no free worker port (the VM has none)");
    else if (n == 0) {
        snprintf(err, errlen, "no free worker port (all %u in use)", count);
        return PORT_ALL_BUSY;
    }
    return fd;
}

void port_forget_signals(void) {
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    const struct timespec now = {0};
    while (sigtimedwait(&sigio, NULL, &now) == SIGIO)
        ;
}

void port_wait_new_host(int fd) {
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    /* The next SIGIO is QEMU announcing, in the resumed VM, that the old host is gone (which
     * port_wait_host then waits out) or that the new one connected. There is no timeout: the
     * connection state a timeout would look at is the stale one saved in the snapshot. */
    while (sigwaitinfo(&sigio, NULL) != SIGIO)
        ;
    port_wait_host(fd);
}

void port_wait_host(int fd) {
    /* While no host is connected, poll() reports POLLHUP at once and read() returns 0, so
     * neither can wait for a connection; SIGIO announces it instead. Several threads may wait
     * at once, each on its own port (the agent and thread workers), so the signal goes to the
     * thread that waits; being blocked, it stays pending for sigtimedwait. The timeout is
     * only a safety net should a signal ever be missed. */
    struct f_owner_ex owner = {.type = F_OWNER_TID, .pid = gettid()};
    if (fcntl(fd, F_SETOWN_EX, &owner) < 0)
        log_msg("cannot have SIGIO of the port sent to thread %d: %s", (int)owner.pid,
                strerror(errno));
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
