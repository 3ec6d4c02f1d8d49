#include "mounts.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "log.h"

/* Whether something is mounted on dir, which lies directly under "/". Asked rather than
 * relying on mount() failing: proc gets a new superblock on every mount, so a second mount
 * of proc on /proc succeeds and stacks (devtmpfs and sysfs would fail with EBUSY). */
static int is_mount_point(const char *dir) {
    struct stat d, root;
    return stat(dir, &d) == 0 && stat("/", &root) == 0 && d.st_dev != root.st_dev;
}

static void mount_one(const char *type, const char *target) {
    if (mkdir(target, 0755) < 0 && errno != EEXIST) {
        log_msg("cannot create %s: %s", target, strerror(errno));
        return;
    }
    if (!is_mount_point(target) && mount(type, target, type, 0, NULL) < 0)
        log_msg("cannot mount %s on %s: %s", type, target, strerror(errno));
}

void mount_kernel_filesystems(void) {
    mount_one("devtmpfs", "/dev");
    mount_one("proc", "/proc");
    mount_one("sysfs", "/sys");
}
