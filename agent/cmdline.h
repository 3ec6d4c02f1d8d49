/* Kernel command line parameters. The kernel keeps parameters with a dot in their name (such
 * as provium.init=) away from init's argv and environment, so they are read from /proc. */
#ifndef PROVIUM_CMDLINE_H
#define PROVIUM_CMDLINE_H

#include <stddef.h>

/* Copies the value of the last KEY=VALUE parameter into out (size bytes, NUL-terminated).
 * Returns 0, or -1 when the parameter is absent, too long, or /proc/cmdline is unreadable.
 * Words given to cmdline_add come after the kernel's, so they win. */
int cmdline_get(const char *key, char *out, size_t size);

/* Words that count as if they came last on the kernel command line: a program's own argv
 * (provium-agent provium.transport=vsock starts a second agent in vsock mode, docs/protocol.md).
 * The array must live as long as the program. */
void cmdline_add(char *const *words, int count);

#endif
