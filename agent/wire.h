/* The Provium wire protocol: the single source of message codes and limits for the guest agent
 * (C, musl) and the host library (C++). Layouts of every payload are in docs/protocol.md.
 *
 * Frame: [type u8][length u32 little-endian][payload], payload at most PROVIUM_MAX_PAYLOAD.
 * Every integer in a payload is little-endian. */
#ifndef PROVIUM_WIRE_H
#define PROVIUM_WIRE_H

#include <stdint.h>
#include <string.h>

#define PROVIUM_FRAME_HEADER_SIZE 5u
#define PROVIUM_MAX_PAYLOAD (16u * 1024u * 1024u)

/* Name of the virtio-serial port of the agent; workers use "provium.1" ... */
#define PROVIUM_PORT_PREFIX "provium."

/* The vsock transport: the agent listens on this AF_VSOCK port of the guest; workers listen on
 * ports the guest kernel picks (reported in WORKER_STARTED). */
#define PROVIUM_VSOCK_PORT 5123u

/* Host -> agent. */
enum provium_request {
    PROVIUM_EXEC = 0x01,         /* [deadline_ms u32][flags u32][command line], run with /bin/sh -c */
    PROVIUM_WRITE_FILE = 0x02,   /* [path_len u32][path][data] */
    PROVIUM_READ_FILE = 0x03,    /* path */
    PROVIUM_SHUTDOWN = 0x04,     /* empty; READY, then the guest resets (-no-reboot: QEMU exits) */
    PROVIUM_SYSCALL = 0x05,
    PROVIUM_IOCTL = 0x06,
    PROVIUM_EXEC_ASYNC = 0x07,
    PROVIUM_JOB_WAIT = 0x08,
    PROVIUM_JOB_KILL = 0x09,
    PROVIUM_IOCTL_BUF = 0x0A,
    PROVIUM_SPAWN_WORKER = 0x0B,
    PROVIUM_SYSCALL_PTR = 0x0C,
    PROVIUM_QUIESCE = 0x0D,      /* empty; READY, then the agent waits for a new connection */
    PROVIUM_PTY = 0x0E,          /* [rows u16][cols u16][command line]: a PTY session, EXEC_OUTPUTs then EXEC_RESULT */
    PROVIUM_PTY_INPUT = 0x0F,    /* bytes typed into the session's terminal; no answer */
    PROVIUM_PTY_RESIZE = 0x10,   /* [rows u16][cols u16]; no answer */
};

/* Agent -> host. */
enum provium_response {
    PROVIUM_READY = 0x80,          /* empty: greeting on every connection, SHUTDOWN ack */
    PROVIUM_EXEC_RESULT = 0x81,    /* [exit_code i32][ending u32][stdout_len u32][stdout][stderr_len u32][stderr] */
    PROVIUM_FILE_DATA = 0x82,
    PROVIUM_ERROR = 0x83,          /* message text */
    PROVIUM_SYSCALL_RESULT = 0x84,
    PROVIUM_JOB_STARTED = 0x85,
    PROVIUM_JOB_RESULT = 0x86,     /* [exit_code i32][flags u32][stdout_len u32][stdout][stderr_len u32][stderr] */
    PROVIUM_WORKER_STARTED = 0x87,
    PROVIUM_EXEC_OUTPUT = 0x88,    /* [stream u32: 1 stdout, 2 stderr][bytes], before a streamed EXEC's result */
};

/* EXEC's flags: also send the output as it arrives (EXEC_OUTPUT frames). */
#define PROVIUM_EXEC_STREAM 1u

/* JOB_RESULT's flags. */
#define PROVIUM_JOB_RUNNING 1u   /* the job still runs; exit_code is -1 */
#define PROVIUM_JOB_RESTARTED 2u /* the output is whole from offset 0: the job truncated it below the host's offsets */

/* EXEC_RESULT's ending: how the command ended. */
enum provium_exec_ending {
    PROVIUM_EXEC_ENDED = 0,       /* by itself; exit_code is its status */
    PROVIUM_EXEC_KILLED = 1,      /* killed with its process group at its deadline */
    PROVIUM_EXEC_KILL_FAILED = 2, /* killed at its deadline but still there a second later: stuck in the kernel; exit_code -1 */
};

/* Name of a request code, for messages; NULL for a code that is not a request. */
static inline const char *provium_request_name(unsigned type) {
    switch (type) {
    case PROVIUM_EXEC: return "EXEC";
    case PROVIUM_WRITE_FILE: return "WRITE_FILE";
    case PROVIUM_READ_FILE: return "READ_FILE";
    case PROVIUM_SHUTDOWN: return "SHUTDOWN";
    case PROVIUM_SYSCALL: return "SYSCALL";
    case PROVIUM_IOCTL: return "IOCTL";
    case PROVIUM_EXEC_ASYNC: return "EXEC_ASYNC";
    case PROVIUM_JOB_WAIT: return "JOB_WAIT";
    case PROVIUM_JOB_KILL: return "JOB_KILL";
    case PROVIUM_IOCTL_BUF: return "IOCTL_BUF";
    case PROVIUM_SPAWN_WORKER: return "SPAWN_WORKER";
    case PROVIUM_SYSCALL_PTR: return "SYSCALL_PTR";
    case PROVIUM_QUIESCE: return "QUIESCE";
    case PROVIUM_PTY: return "PTY";
    case PROVIUM_PTY_INPUT: return "PTY_INPUT";
    case PROVIUM_PTY_RESIZE: return "PTY_RESIZE";
    default: return NULL;
    }
}

/* Name of a response code, for messages; NULL for a code that is not a response. */
static inline const char *provium_response_name(unsigned type) {
    switch (type) {
    case PROVIUM_READY: return "READY";
    case PROVIUM_EXEC_RESULT: return "EXEC_RESULT";
    case PROVIUM_FILE_DATA: return "FILE_DATA";
    case PROVIUM_ERROR: return "ERROR";
    case PROVIUM_SYSCALL_RESULT: return "SYSCALL_RESULT";
    case PROVIUM_JOB_STARTED: return "JOB_STARTED";
    case PROVIUM_JOB_RESULT: return "JOB_RESULT";
    case PROVIUM_WORKER_STARTED: return "WORKER_STARTED";
    case PROVIUM_EXEC_OUTPUT: return "EXEC_OUTPUT";
    default: return NULL;
    }
}

static inline uint32_t provium_get_u32(const void *p) {
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void provium_put_u32(void *p, uint32_t v) {
    unsigned char *b = (unsigned char *)p;
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

static inline uint64_t provium_get_u64(const void *p) {
    const unsigned char *b = (const unsigned char *)p;
    return (uint64_t)provium_get_u32(b) | (uint64_t)provium_get_u32(b + 4) << 32;
}

static inline void provium_put_u64(void *p, uint64_t v) {
    provium_put_u32(p, (uint32_t)v);
    provium_put_u32((unsigned char *)p + 4, (uint32_t)(v >> 32));
}

#endif
