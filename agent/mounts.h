/* The kernel filesystems every guest program relies on (/dev for the port and the console,
 * /proc for the command line, /sys to find the port). */
#ifndef PROVIUM_MOUNTS_H
#define PROVIUM_MOUNTS_H

/* Mounts devtmpfs on /dev, proc on /proc and sysfs on /sys, creating the directories when
 * missing. Idempotent: a directory that already has something mounted on it is left alone.
 * Failures are reported on the console and otherwise ignored (the boot goes on as far as it
 * can). */
void mount_kernel_filesystems(void);

#endif
