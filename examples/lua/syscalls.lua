-- Raw syscalls (x86_64 numbers). The result is the raw integer; a failure is the negative
-- errno. Buffers are copied into the guest and their address passed in their slot.
local SYS_read, SYS_close, SYS_readv, SYS_getpid, SYS_uname, SYS_openat = 0, 3, 19, 39, 63, 257
local AT_FDCWD, EBADF = -100, 9

local vm = provium.create("default")
vm:boot({memory = "512M"})

test("integers in, an integer out", function()
  assert(vm:syscall(SYS_getpid) > 1)
  assert_eq(-EBADF, vm:syscall(SYS_close, 9999))
end)

-- syscall_buf: slot 1 (0-based) becomes a pointer to a copy of the string; the integers give
-- every slot, a placeholder (0) for the buffer's own one included.
local function open(path)
  return vm:syscall_buf(SYS_openat, 1, path .. "\0", AT_FDCWD, 0, 0, 0)  -- O_RDONLY
end

test("an input buffer: syscall_buf", function()
  local fd = open("/proc/version")
  assert(fd >= 0, "openat failed: " .. fd)
  vm:syscall(SYS_close, fd)
end)

test("output buffers: syscall_bufs", function()
  -- buffers by slot; zero-filled strings serve as output buffers. Every buffer comes back
  -- after the call, in ascending slot order.
  local fd = open("/proc/version")
  local n, text = vm:syscall_bufs(SYS_read, {[1] = string.rep("\0", 64)}, fd, 0, 64)
  assert_eq(64, n)
  assert_eq("Linux version", text:sub(1, 13))
  vm:syscall(SYS_close, fd)

  local ret, uts = vm:syscall_bufs(SYS_uname, {[0] = string.rep("\0", 6 * 65)}, 0)
  assert_eq(0, ret)
  assert_eq("Linux", uts:match("^[^%z]*"))  -- struct utsname: sysname first
end)

test("a struct holding a pointer: syscall_ptr", function()
  -- readv(fd, iov, 1) with struct iovec { void *iov_base; size_t iov_len; }: Provium allocates
  -- 13 bytes and writes their address at offset 0 of the iovec in slot 1.
  local fd = open("/proc/version")
  local iov = provium.pack("u64 u64", 0, 13)  -- iov_base patched, iov_len 13
  local ret, iov_after, base = vm:syscall_ptr(SYS_readv, {[1] = iov},
    {{buf_idx = 1, ptr_offset = 0, data_len = 13, output = true}}, fd, 0, 1)
  -- returns: ret, the buffers in slot order, then the output pointers in the order given
  assert_eq(13, ret)
  assert_eq("Linux version", base)
  vm:syscall(SYS_close, fd)
end)
