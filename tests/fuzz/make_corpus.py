#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): a few small valid
inputs each, laid out as the targets read them (see the comment at the top of each target).
Run once; the files are committed. Re-running rewrites them."""

import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u32(v):
    return struct.pack('<I', v)


def i32(v):
    return struct.pack('<i', v)


def u64(v):
    return struct.pack('<Q', v)


def i64(v):
    return struct.pack('<q', v)


def frame(kind, payload):
    return bytes([kind]) + u32(len(payload)) + payload


def exec_result(code, out, err):
    return i32(code) + u32(len(out)) + out + u32(len(err)) + err


def job_result(code, running, out, err):
    return i32(code) + u32(running) + u32(len(out)) + out + u32(len(err)) + err


# --- fuzz_frame: [mode] then FuzzedDataProvider bytes -----------------------------------------

def stream_seed(stream, pieces):
    """Mode 0: the stream from the front, the piece lengths (u8) from the back."""
    assert sum(pieces) == len(stream) and all(0 <= p <= 255 for p in pieces)
    return b'\x00' + stream + bytes(reversed(pieces))


def round_trip_seed(cuts, frames):
    """Mode 1: from the back the number of cuts and the cuts, then per frame its type and its
    payload length (u16, % 1024, the last byte read being the high one); payloads from the
    front."""
    assert 1 <= len(cuts) <= 4 and all(1 <= c <= 256 for c in cuts)
    back = [len(cuts) - 1] + [c - 1 for c in cuts]
    front = b''
    for kind, payload in frames:
        assert len(payload) < 1024
        back += [kind, len(payload) >> 8, len(payload) & 0xff]
        front += payload
    return b'\x01' + front + bytes(reversed(back))


READY = frame(0x80, b'')
EXEC = frame(0x81, exec_result(0, b'hello\n', b''))
OVER_LIMIT = b'\x81' + u32(16 * 1024 * 1024 + 1)

FRAME_SEEDS = {
    'ready_whole': stream_seed(READY, [5]),
    'ready_byte_by_byte': stream_seed(READY, [1] * 5),
    'two_frames_split': stream_seed(READY + EXEC, [3, 0, 9, len(READY + EXEC) - 12]),
    'frame_and_partial': stream_seed(EXEC + READY[:3], [len(EXEC) + 3]),
    'over_limit': stream_seed(READY + OVER_LIMIT, [7, 3]),
    'round_trip_one': round_trip_seed([256], [(0x01, b'uname -r')]),
    'round_trip_split': round_trip_seed([1, 4, 7],
                                        [(0x80, b''), (0x84, i64(-2)), (0x83, b'no such file')]),
}

# --- fuzz_answers: [decoder] then the payload (SYSCALL_RESULT: a layout first) -----------------


def layout(buffers, pointers):
    """buffers: (size < 128, returned); pointers: sizes < 256."""
    assert len(buffers) < 5 and len(pointers) < 4
    return (bytes([len(buffers) + 5 * len(pointers)]) +
            bytes((size << 1) | returned for size, returned in buffers) + bytes(pointers))


ANSWER_SEEDS = {
    'exec_result': b'\x00' + exec_result(0, b'Linux\n', b''),
    'exec_result_stderr': b'\x00' + exec_result(127, b'', b'sh: x: not found\n'),
    'job_result_done': b'\x01' + job_result(3, 0, b'out', b'err'),
    'job_result_running': b'\x01' + job_result(-1, 1, b'partial', b''),
    'job_started': b'\x02' + u32(1) + i32(42),
    'worker_started': b'\x03' + u32(2) + i32(77),
    'syscall_result_plain': b'\x04' + layout([], []) + i64(1234),
    'syscall_result_buffers': (b'\x04' + layout([(4, True), (8, False)], [3]) + i64(4) +
                               b'abcd' + b'\0' * 8 + b'xyz'),
}

# --- fuzz_call_request: [selector] then the payload --------------------------------------------

SYSCALL, SYSCALL_PTR, IOCTL, IOCTL_BUF = 0, 1, 2, 3
ERRLEN_256 = 3 << 2


def syscall(nr, args, buffers):
    """args: ints; buffers: (arg_idx, bytes)."""
    return (u32(nr) + u32(len(args)) + u32(len(buffers)) +
            b''.join(i32(a) + u32(len(b)) for a, b in buffers) +
            b''.join(u64(a) for a in args) + b''.join(b for _, b in buffers))


def syscall_ptr(nr, args, buffers, pointers):
    """pointers: (buf_idx, offset, bytes, is_output)."""
    return (u32(nr) + u32(len(args)) + u32(len(buffers)) + u32(len(pointers)) +
            b''.join(i32(a) + u32(len(b)) for a, b in buffers) +
            b''.join(u32(i) + u32(o) + u32(len(b)) + bytes([out, 0, 0, 0])
                     for i, o, b, out in pointers) +
            b''.join(u64(a) for a in args) + b''.join(b for _, b in buffers) +
            b''.join(b for _, _, b, _ in pointers))


def ioctl(fd, cmd, arg, data):
    return i32(fd) + u32(cmd) + u64(arg) + data


def ioctl_buf(fd, cmd, struct, specs):
    """specs: (offset, bytes, is_output)."""
    return (i32(fd) + u32(cmd) + u32(len(struct)) + u32(len(specs)) +
            b''.join(u32(o) + u32(len(b)) + bytes([out, 0, 0, 0]) for o, b, out in specs) +
            struct + b''.join(b for _, b, _ in specs))


CALL_SEEDS = {
    'syscall_getpid': bytes([SYSCALL | ERRLEN_256]) + syscall(39, [], []),
    'syscall_write': bytes([SYSCALL | ERRLEN_256]) + syscall(1, [1, 0, 5], [(1, b'hello')]),
    'syscall_two_buffers': bytes([SYSCALL]) + syscall(
        7, [0, 0, 0, 0], [(3, b'\0' * 16), (0, b'/proc')]),
    'syscall_ptr_iovec': bytes([SYSCALL_PTR | ERRLEN_256]) + syscall_ptr(
        20, [1, 0, 1], [(1, b'\0' * 8 + u64(3))], [(0, 0, b'abc', 0)]),
    'syscall_ptr_two': bytes([SYSCALL_PTR | (1 << 2)]) + syscall_ptr(
        19, [0, 0, 2], [(1, b'\0' * 32)], [(0, 0, b'\0' * 4, 1), (0, 16, b'\0' * 6, 1)]),
    'ioctl_plain': bytes([IOCTL | ERRLEN_256]) + ioctl(3, 0x5401, 0, b''),
    'ioctl_data': bytes([IOCTL | (2 << 2)]) + ioctl(-1, 0x80045430, 0, b'\0' * 4),
    'ioctl_buf_plain': bytes([IOCTL_BUF | ERRLEN_256]) + ioctl_buf(3, 0xc0105512, b'\0' * 16, []),
    'ioctl_buf_pointer': bytes([IOCTL_BUF | ERRLEN_256]) + ioctl_buf(
        4, 0xc0185500, b'\0' * 24, [(8, b'\0' * 10, 1), (16, b'data', 0)]),
}

CORPUS = {'fuzz_frame': FRAME_SEEDS, 'fuzz_answers': ANSWER_SEEDS,
          'fuzz_call_request': CALL_SEEDS}

if __name__ == '__main__':
    for target, seeds in CORPUS.items():
        directory = os.path.join(HERE, 'corpus', target)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for name, data in seeds.items():
            with open(os.path.join(directory, name), 'wb') as f:
                f.write(data)
