-- ioctls: vm:ioctl(fd, cmd, data) returns ret, out. The direction bits of cmd decide:
-- _IOW sends data (out is nil); _IOR and _IOWR return the argument after the call.
-- Old-style commands without direction bits (FIONREAD) get a pointer to a copy of data,
-- which comes back. vm:ioctl_buf patches pointers into a struct.
local SYS_close, SYS_socket, SYS_openat, SYS_pipe2 = 3, 41, 257, 293
local FIONREAD = 0x541B                 -- old style
local FS_IOC_GETFLAGS = 0x80086601      -- _IOR('f', 1, long)
local SIOCGIFCONF = 0x8912

local vm = provium.create("default")
vm:boot({memory = "512M"})

test("FIONREAD on a pipe", function()
  local _, fds = vm:syscall_bufs(SYS_pipe2, {[0] = string.rep("\0", 8)}, 0, 0)
  local r, w = provium.unpack("i32 i32", fds)  -- int pipefd[2]
  vm:syscall_buf(1, 1, "hello", w, 0, 5)       -- write(w, "hello", 5)
  local ret, out = vm:ioctl(r, FIONREAD, provium.pack("i32", 0))
  assert_eq(0, ret)
  assert_eq(5, provium.unpack("i32", out))     -- five bytes waiting
  vm:syscall(SYS_close, r)
  vm:syscall(SYS_close, w)
end)

test("an _IOR command: no data needed, out has the command's size", function()
  vm:write_file("/tmp/f", "x")
  local fd = vm:syscall_buf(SYS_openat, 1, "/tmp/f\0", -100, 0, 0, 0)
  local ret, flags = vm:ioctl(fd, FS_IOC_GETFLAGS)
  assert_eq(0, ret)
  assert_eq(8, #flags)
  vm:syscall(SYS_close, fd)
end)

test("a struct with a pointer: ioctl_buf", function()
  assert(vm:exec("ip link set lo up").ok)
  local sock = vm:syscall(SYS_socket, 2, 2, 0)  -- AF_INET, SOCK_DGRAM
  -- struct ifconf { int ifc_len; char *ifc_buf; }: a 160-byte output buffer at offset 8
  local ifconf = provium.pack("i32 u32 u64", 160, 0, 0)
  local ret, ifconf_out, ifreqs = vm:ioctl_buf(sock, SIOCGIFCONF, ifconf,
    {{ptr_offset = 8, buf_len = 160, output = true}})
  assert_eq(0, ret)
  assert_eq(40, provium.unpack("i32", ifconf_out:sub(1, 4)))  -- one struct ifreq: lo
  assert_eq("lo", ifreqs:match("^[^%z]*"))
  vm:syscall(SYS_close, sock)
end)
