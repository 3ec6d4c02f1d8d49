/* A disk boot: the guest's root is a disk (the profile's rootfs, /dev/vda), mounted by the
 * wrapper from the shim's initramfs, which then becomes the disk's own init. */
#ifndef PROVIUM_ROOT_DISK_H
#define PROVIUM_ROOT_DISK_H

#include <stddef.h>

/* Mounts `device` (waiting for it to appear, trying each filesystem the kernel knows), moves
 * /dev, /proc and /sys onto it, copies the agent at `agent` into the moved /dev (the agent's
 * new path goes to agent_out, size bytes), makes the disk the root and then copies the boot
 * options' files into it (the shim keeps them in /provium/root-files). Returns 0, or -1 with the
 * reason on the console: the boot cannot go on then. */
int switch_to_root_disk(const char *device, const char *agent, char *agent_out, size_t size);

#endif
