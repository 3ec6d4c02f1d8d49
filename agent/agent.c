/* provium-agent: serves the host's requests over the virtio-serial port provium.0. Started
 * in the background by provium-wrapper; runs as root for the life of the guest. */
#include <stdlib.h>

#include "port.h"
#include "serve.h"

const char log_name[] = "provium-agent";

int main(void) {
    /* What commands get when the guest's init set nothing better (the kernel gives init only
     * HOME=/ and TERM=linux). Set once here, so that every child inherits it. */
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
    setenv("HOME", "/root", 0);

    int fd = port_open(0);
    if (fd < 0)
        return 1;
    serve_port(fd);
}
