/* Serving requests on a port: the agent on provium.0 and workers on their own. */
#ifndef PROVIUM_SERVE_H
#define PROVIUM_SERVE_H

/* Serves one host connection after another on the port, forever: READY on each connection,
 * then requests one at a time until the host goes away. */
_Noreturn void serve_port(int fd);

/* Serves a worker's port for one host connection: waits for the host, READY, then requests
 * until the host goes away; SPAWN_WORKER and SHUTDOWN are refused. */
void serve_worker_port(int fd);

#endif
