/* PTY: a command on a new pseudo-terminal of the guest, driven live by the host (`provium
 * shell`). The connection belongs to the session until the command exits: the terminal's output
 * goes out as EXEC_OUTPUT frames, PTY_INPUT frames are typed into it, PTY_RESIZE frames change
 * its size (the kernel tells the foreground job with SIGWINCH), and EXEC_RESULT ends it. A
 * host that goes away hangs the terminal up, as a closed terminal window does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "command.h"
#include "handlers.h"
#include "log.h"
#include "own_fds.h"
#include "wire.h"

/* How often the relay looks whether the command has exited while nothing else happens. */
#define EXIT_CHECK_MS 50

static int terminal_size(const unsigned char *payload, struct winsize *size) {
    unsigned rows = payload[0] | (unsigned)payload[1] << 8, cols = payload[2] | (unsigned)payload[3] << 8;
    if (rows == 0 || cols == 0)
        return -1;
    *size = (struct winsize){.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    return 0;
}

/* A new pseudo-terminal's master, non-blocking; devpts is mounted first where nothing has. */
static int open_master(char *err, size_t errlen) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO)) {
        mkdir("/dev/pts", 0755);
        if (mount("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620,ptmxmode=666") == 0)
            master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    }
    if (master < 0) {
        snprintf(err, errlen, "cannot open a pseudo-terminal: %s (the guest kernel needs "
                              "CONFIG_UNIX98_PTYS and devpts)", strerror(errno));
        return -1;
    }
    own_fd(master);
    if (grantpt(master) < 0 || unlockpt(master) < 0) {
        snprintf(err, errlen, "cannot unlock a pseudo-terminal: %s", strerror(errno));
        close(master);
        return -1;
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    return master;
}

/* In the child: a session of its own whose controlling terminal is the pseudo-terminal. */
static _Noreturn void run_on_terminal(const char *name, const char *cmd) {
    setsid();
    command_reset_signals();
    int slave = open(name, O_RDWR); /* the first tty a session leader opens is its terminal */
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, STDIN_FILENO) < 0 ||
        dup2(slave, STDOUT_FILENO) < 0 || dup2(slave, STDERR_FILENO) < 0)
        _exit(127);
    if (slave > STDERR_FILENO)
        close(slave);
    if (!getenv("TERM") || strcmp(getenv("TERM"), "linux") == 0)
        setenv("TERM", "vt100", 1);
    if (*cmd)
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    else
        execl("/bin/sh", "-sh", (char *)NULL); /* a login shell, by its name */
    log_msg("cannot run /bin/sh: %s", strerror(errno));
    _exit(127);
}

static int send_output(int fd, const char *bytes, size_t len) {
    unsigned char stream[4];
    provium_put_u32(stream, 1);
    struct iovec parts[2] = {{stream, sizeof stream}, {(void *)bytes, len}};
    return frame_write(fd, PROVIUM_EXEC_OUTPUT, parts, 2);
}

/* Everything the terminal has to say now; -1 when the host went away. */
static int drain(int fd, int master) {
    char buf[16384];
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n > 0) {
            if (send_output(fd, buf, (size_t)n) < 0)
                return -1;
            continue;
        }
        return 0; /* EAGAIN, or EIO once no process has the terminal open */
    }
}

static void write_all(int master, const unsigned char *bytes, size_t len) {
    while (len > 0) {
        ssize_t n = write(master, bytes, len);
        if (n > 0) {
            bytes += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            poll(&(struct pollfd){.fd = master, .events = POLLOUT}, 1, 100);
        } else if (n < 0 && errno != EINTR) {
            return; /* the terminal is gone: the command is ending */
        }
    }
}

/* One request of the host during the session: 0, or -1 when the host went away. */
static int session_request(int fd, int master) {
    struct frame req;
    if (frame_read(fd, &req) != FRAME_OK)
        return -1;
    int sent = 0;
    struct winsize size;
    if (req.type == PROVIUM_PTY_INPUT)
        write_all(master, req.payload, req.len);
    else if (req.type == PROVIUM_PTY_RESIZE && req.len == 4 && terminal_size(req.payload, &size) == 0)
        ioctl(master, TIOCSWINSZ, &size);
    else
        sent = frame_write_error(fd, "during a PTY session only PTY_INPUT and PTY_RESIZE (4 bytes, "
                                     "no zero) are taken, not %s of %u bytes",
                                 provium_request_name(req.type) ? provium_request_name(req.type) : "a frame",
                                 (unsigned)req.len);
    free(req.payload);
    return sent;
}

int handle_pty(int fd, const struct frame *req) {
    struct winsize size;
    if (req->len < 4 || terminal_size(req->payload, &size) < 0)
        return frame_write_error(fd, "PTY takes [rows u16][cols u16][command line], rows and cols not 0");
    char err[256];
    struct frame command = {.type = req->type, .len = req->len - 4, .payload = req->payload + 4};
    char *cmd = command_line(&command, err, sizeof err);
    if (!cmd)
        return frame_write_error(fd, "%s", err);
    int master = open_master(err, sizeof err);
    if (master < 0) {
        free(cmd);
        return frame_write_error(fd, "%s", err);
    }
    ioctl(master, TIOCSWINSZ, &size);
    char name[64];
    if (ptsname_r(master, name, sizeof name) != 0) {
        close(master);
        free(cmd);
        return frame_write_error(fd, "cannot name the pseudo-terminal: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0)
        run_on_terminal(name, cmd);
    free(cmd);
    if (pid < 0) {
        close(master);
        return frame_write_error(fd, "cannot start the command: %s", strerror(errno));
    }

    int status = 0, host = 0;
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = master, .events = POLLIN}};
        int ready = poll(fds, 2, EXIT_CHECK_MS);
        if (ready > 0 && (fds[1].revents & POLLIN) && drain(fd, master) < 0)
            host = -1;
        if (host == 0 && ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            host = session_request(fd, master);
        if (host < 0)
            break;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            host = drain(fd, master);
            pid = 0;
            break;
        }
    }
    if (pid > 0) {
        /* The host left: hang the terminal up for the command, as a closed window does. */
        kill(-pid, SIGHUP);
        kill(-pid, SIGCONT);
        waitpid(pid, &status, 0);
    }
    close(master); /* hangs the terminal up for whatever the command left behind */
    if (host < 0)
        return -1;
    /* EXEC_RESULT without output: the terminal's went out as it came. */
    unsigned char result[16];
    provium_put_u32(result, (uint32_t)command_exit_code(status));
    provium_put_u32(result + 4, PROVIUM_EXEC_ENDED);
    provium_put_u32(result + 8, 0);
    provium_put_u32(result + 12, 0);
    return frame_write(fd, PROVIUM_EXEC_RESULT, &(struct iovec){.iov_base = result, .iov_len = sizeof result}, 1);
}

int handle_pty_outside_session(int fd, const struct frame *req) {
    return frame_write_error(fd, "%s is only taken during a PTY session", provium_request_name(req->type));
}
