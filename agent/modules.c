#include "modules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

static int not_hidden(const struct dirent *e) {
    return e->d_name[0] != '.';
}

static void load_one(const char *dir, const char *name) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        log_msg("cannot load module %s: path too long", name);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_msg("cannot open module %s: %s", name, strerror(errno));
        return;
    }
    /* finit_module, not init_module: the kernel reads the file itself (no copy in memory).
     * musl has no wrapper for it. The host decompressed every module already. */
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
        log_msg("cannot load module %s: %s", name, strerror(errno));
    close(fd);
}

void load_modules(const char *dir) {
    struct dirent **entries;
    int n = scandir(dir, &entries, not_hidden, alphasort);
    if (n < 0) {
        if (errno != ENOENT)
            log_msg("cannot list %s: %s", dir, strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        load_one(dir, entries[i]->d_name);
        free(entries[i]);
    }
    free(entries);
}
