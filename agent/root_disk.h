/* A root of the guest's own: a disk (the profile's rootfs, /dev/vda) or the host's root over 9p
 * (userspace = "host"), mounted by the wrapper from the shim's initramfs, which then becomes
 * the root's init. */
#ifndef PROVIUM_ROOT_DISK_H
#define PROVIUM_ROOT_DISK_H

#include <stddef.h>

/* Provium's init in the initramfs, and where it runs from on the host's root. */
#define INIT_PATH "/provium-init"
#define HOST_ROOT_INIT "/dev/.provium-init"

/* Mounts `root`: a device (waiting for it to appear, trying each filesystem the kernel knows),
 * or "host" for the host's root (its 9p export under a tmpfs overlay; the host's /lib/modules
 * hidden, and Provium's init copied to HOST_ROOT_INIT). Moves /dev, /proc and /sys onto it,
 * copies the agent at `agent` into the moved /dev (the agent's new path goes to agent_out, size
 * bytes), makes it the root and then copies the boot options' files into it (the shim keeps
 * them in /provium/root-files). Returns 0, or -1 with the reason on the console: the boot
 * cannot go on then. */
int switch_to_root(const char *root, const char *agent, char *agent_out, size_t size);

#endif
