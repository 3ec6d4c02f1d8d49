/* Serving requests on a port: the agent on provium.0 and workers on their own. */
#ifndef PROVIUM_SERVE_H
#define PROVIUM_SERVE_H

/* Serves one host connection after another on the port, forever: READY on each connection,
 * then requests one at a time until the host goes away. */
_Noreturn void serve_port(int fd);

/* Serves a worker's port for one host connection: waits for the host, READY, then requests
 * until the host goes away; SPAWN_WORKER and SHUTDOWN are refused. With the vsock transport fd
 * is the worker's listener: one connection is accepted and served (the caller closes fd). */
void serve_worker_port(int fd);

/* The vsock transport: accepts one host connection after another on the listener and serves
 * each: READY, then requests until the host goes away (or QUIESCE), then the next. */
_Noreturn void serve_listener(int listener);

#endif
