#include "root_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "log.h"

#define NEW_ROOT "/newroot"
#define AGENT_IN_DEV "/dev/.provium-agent"
/* The host's root: QEMU's read-only 9p export of "/" (kHostRootTag on the host), and where its
 * two layers wait in the initramfs. */
#define HOST_ROOT_TAG "provium-root"
#define HOST_LOWER "/provium/host"
#define HOST_WRITES "/provium/writes"
/* The boot options' files of a disk boot wait here in the shim (kRootFilesDir on the host). */
#define ROOT_FILES_DIR "/provium/root-files"

/* The block device appears once its driver probed it (virtio_blk, loaded just before). */
static int wait_for(const char *device) {
    struct stat st;
    for (int tries = 0; tries < 1000; tries++) { /* 10 s */
        if (stat(device, &st) == 0)
            return 0;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    log_msg("cannot boot from %s: it did not appear within 10 s", device);
    return -1;
}

/* ext4 first (the usual root, and one the ext3 and ext2 drivers would only complain about on
 * the console), then each filesystem of /proc/filesystems that needs a device, until one
 * mounts. */
static int mount_any(const char *device, const char *target) {
    if (mount(device, target, "ext4", 0, NULL) == 0)
        return 0;
    FILE *list = fopen("/proc/filesystems", "r");
    if (!list) {
        log_msg("cannot read /proc/filesystems: %s", strerror(errno));
        return -1;
    }
    char line[128], type[64];
    int mounted = -1, last_error = ENODEV;
    while (mounted < 0 && fgets(line, sizeof line, list)) {
        if (strncmp(line, "nodev", 5) == 0 || sscanf(line, "%63s", type) != 1)
            continue;
        if (mount(device, target, type, 0, NULL) == 0)
            mounted = 0;
        else
            last_error = errno;
    }
    fclose(list);
    if (mounted < 0)
        log_msg("cannot mount %s: %s (no filesystem of this kernel took it)", device, strerror(last_error));
    return mounted;
}

/* Copies `from` to a new file `to` (one there is replaced) with permission bits `mode`. */
static int copy_file(const char *from, const char *to, mode_t mode) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in >= 0 && unlink(to) < 0 && errno != ENOENT)
        log_msg("cannot replace %s: %s", to, strerror(errno));
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int result = in < 0 || out < 0 || fchmod(out, mode) < 0 ? -1 : 0;
    char buffer[65536];
    ssize_t n = 0;
    while (result == 0 && (n = read(in, buffer, sizeof buffer)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result = -1;
        } else if (write(out, buffer, (size_t)n) != n) {
            result = -1;
        }
    }
    if (result < 0)
        log_msg("cannot copy %s to %s: %s", from, to, strerror(errno));
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return result;
}

/* nftw passes no context: the tree being copied into the new root. */
static size_t root_files_prefix;

/* One entry of the boot options' files, put at its guest path in the new root as the initramfs
 * would have had it: a directory made when missing (an existing one keeps its mode), a file or
 * a symlink replacing what the disk had. */
static int copy_root_file(const char *path, const struct stat *st, int type, struct FTW *walk) {
    (void)walk;
    const char *guest = path + root_files_prefix;
    if (*guest == '\0')
        return 0; /* the root itself */
    const char *target = guest; /* the disk is the root by now */
    switch (type) {
    case FTW_D:
        if (mkdir(target, st->st_mode & 07777) == 0 || errno == EEXIST)
            return 0;
        break;
    case FTW_F:
        return copy_file(path, target, st->st_mode & 07777);
    case FTW_SL: {
        char link[PATH_MAX];
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n < 0)
            break;
        link[n] = '\0';
        if ((unlink(target) == 0 || errno == ENOENT) && symlink(link, target) == 0)
            return 0;
        break;
    }
    default:
        errno = EINVAL;
        break;
    }
    log_msg("cannot put %s into the root disk: %s", guest, strerror(errno));
    return -1;
}

/* The boot options' files, from the shim's directory `files` (opened before the switch) into
 * the disk, which is the root by now, so that the disk's own absolute symlinks resolve inside
 * it. Writes go to the VM's overlay, never to the image. A root that does not take them fails
 * the boot: a test must not run without the files it was given. */
static int copy_root_files(int files) {
    /* The initramfs is out of reach after the switch but for this descriptor; "/." makes the
     * walk follow the magic link rather than report it as a symlink. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d/.", files);
    root_files_prefix = strlen(path);
    int result = nftw(path, copy_root_file, 16, FTW_PHYS) == 0 ? 0 : -1;
    close(files);
    return result;
}

static int move_mount(const char *dir) {
    char target[64];
    snprintf(target, sizeof target, NEW_ROOT "%s", dir);
    mkdir(target, 0755); /* a root without it gets it (a read-only one fails below) */
    if (mount(dir, target, NULL, MS_MOVE, NULL) == 0)
        return 0;
    log_msg("cannot move %s to %s: %s", dir, target, strerror(errno));
    return -1;
}

/* The host's root (provium.root=host): its 9p export, read-only, under a tmpfs where the guest's
 * writes stay, joined by overlayfs at NEW_ROOT. The page cache is kept (cache=loose): the guest
 * only reads the host's files, and programs start faster. */
static int mount_host_root(void) {
    const char *failed = NULL;
    if ((mkdir(HOST_LOWER, 0755) < 0 && errno != EEXIST) || (mkdir(HOST_WRITES, 0755) < 0 && errno != EEXIST))
        failed = "mkdir";
    else if (mount(HOST_ROOT_TAG, HOST_LOWER, "9p", MS_RDONLY,
                   "trans=virtio,version=9p2000.L,msize=524288,cache=loose") < 0)
        failed = "mount 9p " HOST_ROOT_TAG;
    else if (mount("tmpfs", HOST_WRITES, "tmpfs", 0, "mode=0755") < 0)
        failed = "mount tmpfs";
    else if ((mkdir(HOST_WRITES "/upper", 0755) < 0 && errno != EEXIST) ||
             (mkdir(HOST_WRITES "/work", 0755) < 0 && errno != EEXIST))
        failed = "mkdir in the tmpfs";
    else if (mount("overlay", NEW_ROOT, "overlay", 0,
                   "lowerdir=" HOST_LOWER ",upperdir=" HOST_WRITES "/upper,workdir=" HOST_WRITES "/work") < 0)
        failed = "mount overlay";
    if (failed)
        log_msg("cannot mount the host's root: %s: %s", failed, strerror(errno));
    return failed ? -1 : 0;
}

/* On the host's root: its /lib/modules are not the guest kernel's, so modprobe must not find
 * them; the profile's installed modules directory (provium.modules=, a path the guest sees
 * through the host's root) is the guest kernel's /lib/modules/RELEASE instead. */
static void use_guest_modules(void) {
    if (access("/lib/modules", F_OK) == 0 && mount("tmpfs", "/lib/modules", "tmpfs", 0, "mode=0755") < 0) {
        log_msg("cannot hide the host's /lib/modules: %s", strerror(errno));
        return;
    }
    char modules[PATH_MAX], target[PATH_MAX];
    struct utsname kernel;
    if (cmdline_get("provium.modules", modules, sizeof modules) < 0 || uname(&kernel) < 0)
        return;
    snprintf(target, sizeof target, "/lib/modules/%s", kernel.release);
    if (mkdir(target, 0755) < 0 || mount(modules, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        log_msg("cannot bind %s at %s: %s", modules, target, strerror(errno));
}

int switch_to_root(const char *root, const char *agent, char *agent_out, size_t size) {
    const int host = strcmp(root, "host") == 0;
    if (mkdir(NEW_ROOT, 0755) < 0 && errno != EEXIST) {
        log_msg("cannot create " NEW_ROOT ": %s", strerror(errno));
        return -1;
    }
    if (host ? mount_host_root() < 0 : wait_for(root) < 0 || mount_any(root, NEW_ROOT) < 0)
        return -1;
    int files = open(ROOT_FILES_DIR, O_RDONLY | O_CLOEXEC | O_DIRECTORY); /* -1: none given */
    /* The agent runs from the moved /dev (a tmpfs the guest's init leaves mounted), so that it
     * sees the new root as its own; on the host's root, so does Provium's init. */
    if (copy_file(agent, AGENT_IN_DEV, 0755) < 0 || (host && copy_file(INIT_PATH, HOST_ROOT_INIT, 0755) < 0))
        return -1;
    if (move_mount("/dev") < 0 || move_mount("/proc") < 0 || move_mount("/sys") < 0)
        return -1;
    if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
        log_msg("cannot make %s the root: %s", root, strerror(errno));
        return -1;
    }
    if (host)
        use_guest_modules();
    snprintf(agent_out, size, "%s", AGENT_IN_DEV);
    return files < 0 ? 0 : copy_root_files(files);
}
