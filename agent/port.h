/* The agent's end of a virtio-serial port (a /dev/vportNpM character device). */
#ifndef PROVIUM_PORT_H
#define PROVIUM_PORT_H

/* Opens the port named "provium.INDEX", waiting up to 20 s for the driver to announce it,
 * and prepares it for port_wait_host(): non-blocking, SIGIO to this process on host
 * connection changes, SIGIO blocked. Returns the fd, or -1 after a console message. */
int port_open(unsigned index);

/* Returns once a host is connected to the port's other end (possibly at once). */
void port_wait_host(int fd);

#endif
