-- x86_64 Linux numbers for the conformance suite, and a few small helpers.
-- Load with: local linux = dofile("tests/lua_helpers/linux.lua")
-- (dofile paths resolve against the directory the run started in: the repository root.)
local linux = {}

-- syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
linux.SYS = {
  read = 0, write = 1, close = 3, lseek = 8, mmap = 9, mprotect = 10, munmap = 11,
  ioctl = 16, readv = 19, writev = 20, getpid = 39, socket = 41, uname = 63, fcntl = 72,
  getuid = 102, getgid = 104, setresuid = 117, getresuid = 118, gettid = 186,
  openat = 257, mkdirat = 258, readlinkat = 267, pipe2 = 293, userfaultfd = 323,
}

-- open(2) flags, fcntl commands, mmap flags
linux.O_RDONLY, linux.O_WRONLY, linux.O_RDWR = 0, 1, 2
linux.O_CREAT, linux.O_NOCTTY, linux.O_TRUNC, linux.O_APPEND = 0x40, 0x100, 0x200, 0x400
linux.O_CLOEXEC = 0x80000
linux.AT_FDCWD = -100
linux.F_GETFD, linux.FD_CLOEXEC = 1, 1
linux.PROT_READ, linux.PROT_WRITE = 1, 2
linux.MAP_PRIVATE, linux.MAP_ANONYMOUS, linux.MAP_FIXED_NOREPLACE = 0x02, 0x20, 0x100000

-- errno values
linux.EPERM, linux.ENOENT, linux.EBADF, linux.ENOMEM = 1, 2, 9, 12
linux.EFAULT, linux.EINVAL, linux.ENOTTY = 14, 22, 25

-- ioctl commands. _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr,
-- dir: 1 = _IOW (write to the kernel), 2 = _IOR (read from it), 3 = _IOWR.
function linux.IOC(dir, type, nr, size) return (dir << 30) | (size << 16) | (type << 8) | nr end
linux.FIONREAD = 0x541B                          -- old style: no direction bits
linux.TIOCGWINSZ, linux.TIOCSWINSZ = 0x5413, 0x5414  -- old style too
linux.FIONCLEX, linux.FIOCLEX = 0x5450, 0x5451   -- old style, no argument
linux.TIOCGPTN = linux.IOC(2, 0x54, 0x30, 4)     -- _IOR('T', 0x30, unsigned int)
linux.TIOCSPTLCK = linux.IOC(1, 0x54, 0x31, 4)   -- _IOW('T', 0x31, int)
linux.TIOCGPTLCK = linux.IOC(2, 0x54, 0x39, 4)   -- _IOR('T', 0x39, int)
linux.FS_IOC_GETFLAGS = linux.IOC(2, 0x66, 1, 8) -- _IOR('f', 1, long)
linux.FS_IOC_SETFLAGS = linux.IOC(1, 0x66, 2, 8) -- _IOW('f', 2, long)
linux.UFFDIO_API = linux.IOC(3, 0xAA, 0x3F, 24)  -- _IOWR(0xAA, 0x3F, struct uffdio_api)
linux.UFFD_API = 0xAA
linux.SIOCGIFCONF = 0x8912
linux.AF_INET, linux.SOCK_DGRAM = 2, 2

-- A NUL-terminated copy of `s`, for path arguments.
function linux.cstr(s) return s .. "\0" end

-- openat(AT_FDCWD, path, flags, mode) in `guest` (a VM or a worker): the fd or -errno.
function linux.open(guest, path, flags, mode)
  return guest:syscall_buf(linux.SYS.openat, 1, linux.cstr(path), linux.AT_FDCWD, 0, flags or 0, mode or 0)
end

-- pipe2 in `guest`: read end, write end.
function linux.pipe(guest)
  local ret, fds = guest:syscall_bufs(linux.SYS.pipe2, {[0] = string.rep("\0", 8)}, 0, 0)
  assert_eq(0, ret, "pipe2")
  return provium.unpack("i32 i32", fds)
end

return linux
