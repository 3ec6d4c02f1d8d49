#include "cmdline.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* COMMAND_LINE_SIZE is 2048 on x86; the margin covers other architectures' larger limits. */
#define CMDLINE_MAX 4096

static int read_cmdline(char *buf, size_t size) {
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return 0;
}

static char *const *added;
static int nadded;

void cmdline_add(char *const *words, int count) {
    added = words;
    nadded = count;
}

/* Copies word's value into out when word is KEY=VALUE: 1 then, 0 when it is another word, -1
 * when the value does not fit. */
static int match(const char *word, const char *key, char *out, size_t size) {
    size_t key_len = strlen(key);
    if (strncmp(word, key, key_len) != 0 || word[key_len] != '=')
        return 0;
    const char *value = word + key_len + 1;
    if (strlen(value) >= size)
        return -1;
    strcpy(out, value);
    return 1;
}

int cmdline_get(const char *key, char *out, size_t size) {
    char line[CMDLINE_MAX];
    if (read_cmdline(line, sizeof line) < 0)
        return -1;

    /* The kernel's rules: words split at blanks outside double quotes, quotes removed, and
     * everything after "--" belongs to init. */
    int found = -1;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        char word[CMDLINE_MAX]; /* a word is never longer than the line */
        size_t n = 0;
        bool quoted = false;
        for (; *p != '\0' && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
            if (*p == '"')
                quoted = !quoted;
            else
                word[n++] = *p;
        }
        word[n] = '\0';
        if (strcmp(word, "--") == 0)
            break;
        int matched = match(word, key, out, size);
        if (matched < 0)
            return -1;
        if (matched)
            found = 0; /* keep going: the last occurrence wins, as for the kernel's own */
    }
    for (int i = 0; i < nadded; i++) {
        int matched = match(added[i], key, out, size);
        if (matched < 0)
            return -1;
        if (matched)
            found = 0;
    }
    return found;
}
