/* The vsock transport (provium.transport=vsock on the kernel command line): the agent listens
 * on AF_VSOCK port PROVIUM_VSOCK_PORT of every CID the guest has (VMADDR_CID_ANY) and serves
 * one host connection after another; each worker listens on a fresh port that the kernel
 * picks, reported in WORKER_STARTED. Listening sockets survive a snapshot restore (the restored
 * guest gets a new CID and resets its connections), so a resumed agent waits in accept() for
 * the host's new connection. */
#ifndef PROVIUM_VSOCK_H
#define PROVIUM_VSOCK_H

#include <stdbool.h>
#include <stddef.h>

/* Set by main() from the kernel command line before any worker exists. */
extern bool vsock_transport;          /* provium.transport=vsock */
extern unsigned vsock_max_workers;    /* provium.max_workers=N (default 15) */

/* A listening AF_VSOCK stream socket on (VMADDR_CID_ANY, port), close-on-exec; port 0 lets
 * the kernel pick a free one (VMADDR_PORT_ANY), *bound set to it. Returns the fd, or -1 after
 * writing why into err. */
int vsock_listen(unsigned port, unsigned *bound, char *err, size_t errlen);

/* Waits for the next host connection on the listener. Returns it (non-blocking, close-on-exec,
 * as frame_io.h expects), or -1 after a console message when accept fails. */
int vsock_accept(int listener);

#endif
