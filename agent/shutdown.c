/* SHUTDOWN: acknowledge, then reset the machine. A reset rather than a power-off because
 * QEMU runs with -no-reboot, which turns a reset into QEMU exiting on every machine type;
 * powering off would need ACPI, which microvm lacks. */
#include <errno.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "wire.h"

int handle_shutdown(int fd, const struct frame *req) {
    if (req->len != 0)
        return frame_write_error(fd, "SHUTDOWN takes no payload, got %u bytes",
                                 (unsigned)req->len);
    /* Shut down even if the host has gone meanwhile: it asked for it. */
    int sent = frame_write(fd, PROVIUM_READY, NULL, 0);
    sync(); /* a test may have written to a disk */
    reboot(RB_AUTOBOOT);
    log_msg("cannot reset the machine: %s", strerror(errno));
    return sent;
}
