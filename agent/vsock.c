#include "vsock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "own_fds.h"

/* <linux/vm_sockets.h>, which musl's headers do not include (the layout is the kernel ABI). */
struct provium_sockaddr_vm {
    sa_family_t svm_family;
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_zero[sizeof(struct sockaddr) - sizeof(sa_family_t) - sizeof(unsigned short) -
                           2 * sizeof(unsigned int)];
};
_Static_assert(sizeof(struct provium_sockaddr_vm) == 16, "struct sockaddr_vm is 16 bytes");
#define PROVIUM_VMADDR_CID_ANY 0xFFFFFFFFu
#define PROVIUM_VMADDR_PORT_ANY 0xFFFFFFFFu

/* Connections a listener queues before accept(): the host makes one at a time per listener. */
#define LISTEN_BACKLOG 8

bool vsock_transport = false;
unsigned vsock_max_workers = 15;

int vsock_listen(unsigned port, unsigned *bound, char *err, size_t errlen) {
    int fd = own_fd(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd < 0) {
        if (errno == EAFNOSUPPORT)
            snprintf(err, errlen, "the guest kernel has no AF_VSOCK: it needs CONFIG_VSOCKETS and "
                                  "CONFIG_VIRTIO_VSOCKETS (built in, or the vsock modules in the shim)");
        else
            snprintf(err, errlen, "cannot create a vsock socket: %s", strerror(errno));
        return -1;
    }
    struct provium_sockaddr_vm address = {
        .svm_family = AF_VSOCK,
        .svm_port = port ? port : PROVIUM_VMADDR_PORT_ANY,
        .svm_cid = PROVIUM_VMADDR_CID_ANY,
    };
    socklen_t length = sizeof address;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(fd, LISTEN_BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&address, &length) < 0) {
        if (port)
            snprintf(err, errlen, "cannot listen on vsock port %u: %s", port, strerror(errno));
        else
            snprintf(err, errlen, "cannot listen on a vsock port of its own: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (bound)
        *bound = address.svm_port;
    return fd;
}

int vsock_accept(int listener) {
    for (;;) {
        int fd = own_fd(accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (fd >= 0)
            return fd;
        /* A connection that was reset while it waited in the queue: wait for the next. */
        if (errno == EINTR || errno == ECONNABORTED || errno == ECONNRESET)
            continue;
        log_msg("cannot accept a host connection on vsock: %s", strerror(errno));
        return -1;
    }
}
