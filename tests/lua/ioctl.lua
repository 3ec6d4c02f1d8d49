-- vm:ioctl (the direction bits of the command decide what goes in and what comes back) and
-- vm:ioctl_buf (a struct holding pointers). The base fixture mounts devpts for /dev/ptmx.
local linux = dofile("tests/lua_helpers/linux.lua")
local SYS = linux.SYS
local vm = provium.fixture("base")

local function zeros(n) return string.rep("\0", n) end

local function open_ptmx()
  local fd = linux.open(vm, "/dev/ptmx", linux.O_RDWR | linux.O_NOCTTY)
  assert(fd >= 0, "opening /dev/ptmx: " .. fd)
  return fd
end

test("_IOR without data: out is the command's size, filled by the kernel", function()
  local ptmx = open_ptmx()
  local ret, out = vm:ioctl(ptmx, linux.TIOCGPTN)
  assert_eq(0, ret)
  assert_eq("string", type(out))
  assert_eq(4, #out)
  local n = provium.unpack("u32", out)
  assert(vm:exec("test -c /dev/pts/" .. n).ok, "no /dev/pts/" .. n)
  -- a new pty is locked
  local lret, locked = vm:ioctl(ptmx, linux.TIOCGPTLCK)
  assert_eq(0, lret)
  assert_eq(1, provium.unpack("i32", locked))
  vm:syscall(SYS.close, ptmx)
end)

test("_IOR with data: the argument after the call", function()
  local ptmx = open_ptmx()
  local _, expected = vm:ioctl(ptmx, linux.TIOCGPTN)
  local ret, out = vm:ioctl(ptmx, linux.TIOCGPTN, "\255\255\255\255")
  assert_eq(0, ret)
  assert_eq(expected, out)
  vm:syscall(SYS.close, ptmx)
end)

test("_IOW: data goes in, out is nil", function()
  local ptmx = open_ptmx()
  local ret, out = vm:ioctl(ptmx, linux.TIOCSPTLCK, provium.pack("i32", 0))
  assert_eq(0, ret)
  assert_eq(nil, out)
  local _, locked = vm:ioctl(ptmx, linux.TIOCGPTLCK)
  assert_eq(0, provium.unpack("i32", locked))  -- unlocked by the _IOW
  vm:syscall(SYS.close, ptmx)
end)

test("_IOR and _IOW on a file: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS", function()
  vm:write_file("/tmp/flags", "x")
  local fd = linux.open(vm, "/tmp/flags")
  assert(fd >= 0)
  local ret, flags = vm:ioctl(fd, linux.FS_IOC_GETFLAGS)
  assert_eq(0, ret)
  assert_eq(8, #flags)
  local FS_NOATIME_FL = 0x80
  local set, out = vm:ioctl(fd, linux.FS_IOC_SETFLAGS, provium.pack("i64", provium.unpack("i64", flags) | FS_NOATIME_FL))
  assert_eq(0, set)
  assert_eq(nil, out)
  local _, after = vm:ioctl(fd, linux.FS_IOC_GETFLAGS)
  assert_eq(FS_NOATIME_FL, provium.unpack("i64", after) & FS_NOATIME_FL)
  vm:syscall(SYS.close, fd)
end)

test("_IOWR: data in, the struct back", function()
  local uffd = vm:syscall(SYS.userfaultfd, linux.O_CLOEXEC)
  assert(uffd >= 0, "userfaultfd: " .. uffd)
  -- struct uffdio_api { u64 api; u64 features; u64 ioctls; }: the kernel fills ioctls
  local ret, out = vm:ioctl(uffd, linux.UFFDIO_API, provium.pack("u64 u64 u64", linux.UFFD_API, 0, 0))
  assert_eq(0, ret)
  assert_eq(24, #out)
  local api, _, ioctls = provium.unpack("u64 u64 u64", out)
  assert_eq(linux.UFFD_API, api)
  assert(ioctls ~= 0, "the kernel filled no ioctls")
  vm:syscall(SYS.close, uffd)
end)

test("old style with data: a pointer to a copy, returned as out (FIONREAD)", function()
  local r, w = linux.pipe(vm)
  assert_eq(5, vm:syscall_buf(SYS.write, 1, "hello", w, 0, 5))
  local ret, out = vm:ioctl(r, linux.FIONREAD, zeros(4))
  assert_eq(0, ret)
  assert_eq(4, #out)
  assert_eq(5, provium.unpack("i32", out))
  vm:syscall(SYS.close, r)
  vm:syscall(SYS.close, w)
end)

test("old style without data: the integer 0 is passed and out is nil", function()
  -- FIONREAD with a NULL pointer: EFAULT
  local r, w = linux.pipe(vm)
  local ret, out = vm:ioctl(r, linux.FIONREAD)
  assert_eq(-linux.EFAULT, ret)
  assert_eq(nil, out)
  vm:syscall(SYS.close, r)
  vm:syscall(SYS.close, w)
  -- FIOCLEX / FIONCLEX take no argument: they set and clear the fd's close-on-exec flag
  local fd = linux.open(vm, "/proc/version")
  local set, none = vm:ioctl(fd, linux.FIOCLEX)
  assert_eq(0, set)
  assert_eq(nil, none)
  assert_eq(linux.FD_CLOEXEC, vm:syscall(SYS.fcntl, fd, linux.F_GETFD))
  local clear, none_either = vm:ioctl(fd, linux.FIONCLEX)
  assert_eq(0, clear)
  assert_eq(nil, none_either)
  assert_eq(0, vm:syscall(SYS.fcntl, fd, linux.F_GETFD))
  vm:syscall(SYS.close, fd)
end)

test("old style set and get through a pty's two ends (TIOCSWINSZ, TIOCGWINSZ)", function()
  local ptmx = open_ptmx()
  vm:ioctl(ptmx, linux.TIOCSPTLCK, provium.pack("i32", 0))
  local _, n = vm:ioctl(ptmx, linux.TIOCGPTN)
  -- O_NOCTTY: the pty must not become the agent's controlling terminal
  local pts = linux.open(vm, "/dev/pts/" .. provium.unpack("u32", n), linux.O_RDWR | linux.O_NOCTTY)
  assert(pts >= 0, "opening the pty's other end: " .. pts)
  local winsize = provium.pack("u16 u16 u16 u16", 24, 80, 0, 0)
  local sret, sout = vm:ioctl(ptmx, linux.TIOCSWINSZ, winsize)
  assert_eq(0, sret)
  assert_eq(winsize, sout)  -- the copy comes back
  local gret, got = vm:ioctl(pts, linux.TIOCGWINSZ, zeros(8))
  assert_eq(0, gret)
  local rows, cols = provium.unpack("u16 u16 u16 u16", got)
  assert_eq(24, rows)
  assert_eq(80, cols)
  vm:syscall(SYS.close, pts)
  vm:syscall(SYS.close, ptmx)
end)

test("failures are the negative errno", function()
  local ret, out = vm:ioctl(9999, linux.FIONREAD, zeros(4))
  assert_eq(-linux.EBADF, ret)
  local fd = linux.open(vm, "/tmp/flags", linux.O_RDONLY | linux.O_CREAT, 420)
  ret = vm:ioctl(fd, linux.TIOCGPTN)  -- not a pty
  assert_eq(-linux.ENOTTY, ret)
  vm:syscall(SYS.close, fd)
end)

test("ioctl_buf: a struct with an output pointer (SIOCGIFCONF)", function()
  assert(vm:exec("ip link set lo up").ok)
  local sock = vm:syscall(SYS.socket, linux.AF_INET, linux.SOCK_DGRAM, 0)
  assert(sock >= 0)
  -- struct ifconf { int ifc_len; (pad) char *ifc_buf; }, one struct ifreq is 40 bytes
  local ifconf = provium.pack("i32 u32 u64", 4 * 40, 0, 0)
  local ret, ifconf_out, ifreqs = vm:ioctl_buf(sock, linux.SIOCGIFCONF, ifconf,
    {{ptr_offset = 8, buf_len = 4 * 40, output = true}})
  assert_eq(0, ret)
  assert_eq(16, #ifconf_out)
  assert_eq(40, provium.unpack("i32", ifconf_out:sub(1, 4)))  -- lo only
  assert_eq(4 * 40, #ifreqs)
  assert_eq("lo\0", ifreqs:sub(1, 3))
  vm:syscall(SYS.close, sock)
end)

test("ioctl_buf: only the output specs come back, in order", function()
  local sock = vm:syscall(SYS.socket, linux.AF_INET, linux.SOCK_DGRAM, 0)
  assert(sock >= 0)
  assert(vm:exec("ip link set lo up").ok)
  -- the ifconf, plus an input pointer at offset 16 that the kernel ignores
  local struct = provium.pack("i32 u32 u64 u64", 40, 0, 0, 0)
  local results = table.pack(vm:ioctl_buf(sock, linux.SIOCGIFCONF, struct, {
    {ptr_offset = 16, buf_len = 4, output = false, data = "in!!"},
    {ptr_offset = 8, buf_len = 40, output = true},
  }))
  assert_eq(3, results.n)  -- ret, the struct, one output
  assert_eq(0, results[1])
  assert_eq(24, #results[2])
  assert_eq("lo\0", results[3]:sub(1, 3))
  vm:syscall(SYS.close, sock)
end)

test("ioctl_buf without a struct: the command gets 0 and the struct result is nil", function()
  local ptmx = open_ptmx()
  local FIOCLEX = 0x5451  -- no direction bits, no argument
  local ret, struct_out = vm:ioctl_buf(ptmx, FIOCLEX, "", {})
  assert_eq(0, ret)
  assert_eq(nil, struct_out)
  vm:syscall(SYS.close, ptmx)
end)

test("ioctl_buf failures are the negative errno", function()
  local ret = vm:ioctl_buf(9999, linux.SIOCGIFCONF, provium.pack("i32 u32 u64", 40, 0, 0),
    {{ptr_offset = 8, buf_len = 40, output = true}})
  assert_eq(-linux.EBADF, ret)
end)

test("a tty that becomes the agent's controlling terminal can hang up without killing it", function()
  -- TIOCGPTPEER with no data passes flags 0, so the peer opens without O_NOCTTY and becomes the
  -- controlling terminal of the agent (a session leader without one); closing both ends hangs
  -- it up, which sends the agent SIGHUP.
  local TIOCGPTPEER, TIOCSPTLCK = 0x5441, 0x40045431
  local worker = vm:spawn()
  local ptmx = linux.open(vm, "/dev/ptmx", linux.O_RDWR)
  assert(ptmx >= 0, "opening /dev/ptmx: " .. ptmx)
  assert_eq(0, vm:ioctl(ptmx, TIOCSPTLCK, provium.pack("i32", 0)))
  local peer = vm:ioctl(ptmx, TIOCGPTPEER)
  assert(peer >= 0, "TIOCGPTPEER: " .. peer)
  assert_eq(0, vm:syscall(SYS.close, peer))
  assert_eq(0, vm:syscall(SYS.close, ptmx))
  assert_eq("alive\n", vm:exec("echo alive").stdout.value)
  assert_eq("worker\n", worker:exec("echo worker").stdout.value)
  worker:kill()
end)
