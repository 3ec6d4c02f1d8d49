/* Kernel modules shipped in the shim (the transport's drivers, when the guest kernel has them
 * as modules rather than built in). */
#ifndef PROVIUM_MODULES_H
#define PROVIUM_MODULES_H

/* Loads every file of dir in file-name order (the host names them NN-NAME.ko so that the
 * name order is the dependency order). A missing dir means there is nothing to load.
 * Failures other than "already loaded" are reported on the console; loading goes on. */
void load_modules(const char *dir);

#endif
