#include "own_fds.h"

#include <stdint.h>
#include <sys/stat.h>

/* Direct-indexed by descriptor number. An entry is never removed when the agent closes the
 * descriptor: the identity of the open file (device and inode) tells a reused number apart.
 * Entries are written by whichever thread opens the descriptor, each its own slot. */
#define OWN_FDS 4096

struct identity {
    dev_t dev;
    ino_t ino;
    int known;
};

static struct identity owned[OWN_FDS];

int own_fd(int fd) {
    struct stat st;
    if (fd >= 0 && fd < OWN_FDS && fstat(fd, &st) == 0)
        owned[fd] = (struct identity){.dev = st.st_dev, .ino = st.st_ino, .known = 1};
    return fd;
}

int is_own_fd(int fd) {
    struct stat st;
    if (fd < 0 || fd >= OWN_FDS || !owned[fd].known || fstat(fd, &st) != 0)
        return 0;
    return st.st_dev == owned[fd].dev && st.st_ino == owned[fd].ino;
}
