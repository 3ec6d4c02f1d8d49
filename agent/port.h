/* The agent's and the workers' ends of virtio-serial ports (/dev/vportNpM character devices).
 * SIGIO must be blocked in every thread that waits on a port: the agent blocks it at start,
 * before any worker exists, and workers inherit that. */
#ifndef PROVIUM_PORT_H
#define PROVIUM_PORT_H

#include <stdbool.h>
#include <stddef.h>

/* Opens the port named "provium.INDEX", waiting up to 20 s for the driver to announce it,
 * ready for port_wait_host() (non-blocking, SIGIO on host connection changes). Returns the
 * fd, or -1 after a console message. */
int port_open(unsigned index);

/* Opens the free worker port with the lowest N, provium.N with N >= 1 among those the host
 * created, for which busy(N) is false and which nothing else holds open (a port opens only
 * once), ready for port_wait_host(). Returns the fd with *index set, or -1 after writing why
 * into err ("no free worker port (all 15 in use)", or what failed). */
/* Returned by port_open_worker when every worker port is taken (a transient state while
 * workers the host has closed are on their way out). */
#define PORT_ALL_BUSY (-2)
int port_open_worker(bool (*busy)(unsigned index), unsigned *index, char *err, size_t errlen);

/* Returns once a host is connected to the port's other end (possibly at once). SIGIO of the
 * port goes to the calling thread from now on. */
void port_wait_host(int fd);
/* Discards pending SIGIOs (each request's data raises one): called before the QUIESCE
 * acknowledgement, so that every SIGIO after it announces a new connection event. */
void port_forget_signals(void);
/* Waits for a connection event first, then for a connected host: after QUIESCE, when the
 * connection state the agent can read may be the one saved in a snapshot. SIGIO must already
 * be directed to this thread (port_wait_host did that). */
void port_wait_new_host(int fd);

#endif
