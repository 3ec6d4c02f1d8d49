-- vm:syscall, vm:syscall_buf, vm:syscall_bufs and vm:syscall_ptr: results, negative errno,
-- buffer slots and the order of what comes back.
local linux = dofile("tests/lua_helpers/linux.lua")
local SYS = linux.SYS
local vm = provium.fixture("base")

local function zeros(n) return string.rep("\0", n) end

test("syscall returns the raw integer result", function()
  local pid = vm:syscall(SYS.getpid)
  assert_eq("integer", math.type(pid))
  assert(pid > 1, "getpid returned " .. pid)
  assert_eq(pid, vm:syscall(SYS.getpid))  -- the same agent process each time
  assert_eq(0, vm:syscall(SYS.getuid))    -- the agent runs as root
end)

test("a failure is the negative errno", function()
  assert_eq(-linux.EBADF, vm:syscall(SYS.close, 9999))
  assert_eq(-linux.EBADF, vm:syscall(SYS.close, -1))
  assert_eq(-linux.EBADF, vm:syscall(SYS.fcntl, 9999, linux.F_GETFD))
  -- address 1 is not mapped
  assert_eq(-linux.EFAULT, vm:syscall(SYS.uname, 1))
end)

test("six integer arguments", function()
  local PROT_RW = linux.PROT_READ | linux.PROT_WRITE
  local addr = vm:syscall(SYS.mmap, 0, 4096, PROT_RW, linux.MAP_PRIVATE | linux.MAP_ANONYMOUS, -1, 0)
  assert(addr > 0, "mmap returned " .. addr)
  assert_eq(0, addr % 4096)
  assert_eq(0, vm:syscall(SYS.mprotect, addr, 4096, linux.PROT_READ))
  assert_eq(0, vm:syscall(SYS.munmap, addr, 4096))
  assert_eq(-linux.ENOMEM, vm:syscall(SYS.mprotect, addr, 4096, linux.PROT_READ))
end)

test("syscall_buf: a slot becomes a pointer, the placeholder counts, missing slots are 0", function()
  -- openat(AT_FDCWD, path, flags, mode): slot 1 is the path; its integer (0) is a placeholder
  local fd = vm:syscall_buf(SYS.openat, 1, "/tmp/sb\0", linux.AT_FDCWD, 0,
                            linux.O_WRONLY | linux.O_CREAT | linux.O_TRUNC, 420)
  assert(fd >= 0, "openat returned " .. fd)
  -- write(fd, buf, count): the placeholder's value does not matter
  assert_eq(11, vm:syscall_buf(SYS.write, 1, "hello\0world", fd, 12345, 11))
  assert_eq(0, vm:syscall(SYS.close, fd))
  assert_eq("hello\0world", vm:read_file("/tmp/sb"))
  -- flags and mode not given: 0, O_RDONLY, so the open works
  local ro = vm:syscall_buf(SYS.openat, 1, "/tmp/sb\0", linux.AT_FDCWD)
  assert(ro >= 0, "openat with missing slots returned " .. ro)
  assert_eq(0, vm:syscall(SYS.close, ro))
  -- slot 0 as the buffer: uname fills a copy, and only the result comes back
  local ret, extra = vm:syscall_buf(SYS.uname, 0, zeros(390), 0)
  assert_eq(0, ret)
  assert_eq(nil, extra)
end)

test("syscall_buf failures are the negative errno", function()
  assert_eq(-linux.ENOENT, vm:syscall_buf(SYS.openat, 1, "/no/such/file\0", linux.AT_FDCWD, 0, 0, 0))
  assert_eq(-linux.EBADF, vm:syscall_buf(SYS.write, 1, "x", 9999, 0, 1))
end)

test("syscall_bufs: an output buffer comes back filled", function()
  local ret, uts = vm:syscall_bufs(SYS.uname, {[0] = zeros(6 * 65)}, 0)
  assert_eq(0, ret)
  assert_eq(6 * 65, #uts)
  assert_eq("Linux\0", uts:sub(1, 6))
  local release = uts:sub(2 * 65 + 1, 3 * 65):match("^[^%z]*")
  assert_eq(release .. "\n", vm:exec("uname -r").stdout.value)
end)

test("syscall_bufs: two buffers come back in ascending argument index", function()
  assert(vm:exec("ln -sf /a/link/target /tmp/lnk").ok)
  -- readlinkat(AT_FDCWD, path, buf, bufsiz): slot 1 the path (input), slot 2 the output.
  -- The table lists slot 2 first: the order of the returns is the argument order.
  local bufs = {}
  bufs[2] = zeros(64)
  bufs[1] = "/tmp/lnk\0"
  local ret, path, target = vm:syscall_bufs(SYS.readlinkat, bufs, linux.AT_FDCWD, 0, 0, 64)
  assert_eq(#"/a/link/target", ret)
  assert_eq("/tmp/lnk\0", path)  -- an input buffer comes back too, unchanged
  assert_eq(64, #target)
  assert_eq("/a/link/target", target:sub(1, ret))
  assert_eq(zeros(64 - ret), target:sub(ret + 1))
end)

test("syscall_bufs: pipe2 fills an int[2]", function()
  local ret, fds = vm:syscall_bufs(SYS.pipe2, {[0] = zeros(8)}, 0, 0)
  assert_eq(0, ret)
  local r, w = provium.unpack("i32 i32", fds)
  assert(r >= 0 and w >= 0 and r ~= w)
  assert_eq(4, vm:syscall_buf(SYS.write, 1, "ping", w, 0, 4))
  local n, got = vm:syscall_bufs(SYS.read, {[1] = zeros(16)}, r, 0, 16)
  assert_eq(4, n)
  assert_eq("ping", got:sub(1, 4))
  vm:syscall(SYS.close, r)
  vm:syscall(SYS.close, w)
end)

test("syscall_bufs failures are the negative errno and still return the buffers", function()
  local ret, buf = vm:syscall_bufs(SYS.read, {[1] = zeros(8)}, 9999, 0, 8)
  assert_eq(-linux.EBADF, ret)
  assert_eq(zeros(8), buf)
end)

test("syscall_ptr: readv through a struct iovec", function()
  local fd = linux.open(vm, "/proc/version")
  assert(fd >= 0)
  -- struct iovec { void *iov_base; size_t iov_len; }: iov_base points at 13 output bytes
  local iov = provium.pack("u64 u64", 0, 13)
  local ret, iov_after, base = vm:syscall_ptr(SYS.readv, {[1] = iov},
    {{buf_idx = 1, ptr_offset = 0, data_len = 13, output = true}}, fd, 0, 1)
  assert_eq(13, ret)
  assert_eq(16, #iov_after)
  local _, len = provium.unpack("u64 u64", iov_after)
  assert_eq(13, len)
  assert_eq("Linux version", base)
  vm:syscall(SYS.close, fd)
end)

test("syscall_ptr: output pointers come back in the order of ptrs", function()
  local fd = linux.open(vm, "/proc/version")
  assert(fd >= 0)
  -- two iovecs: 6 bytes then 7 bytes; ptrs lists the second first
  local iovs = provium.pack("u64 u64 u64 u64", 0, 6, 0, 7)
  local ret, iovs_after, second, first = vm:syscall_ptr(SYS.readv, {[1] = iovs}, {
    {buf_idx = 1, ptr_offset = 16, data_len = 7, output = true},
    {buf_idx = 1, ptr_offset = 0, data_len = 6, output = true},
  }, fd, 0, 2)
  assert_eq(13, ret)
  assert_eq(32, #iovs_after)
  assert_eq("Linux ", first)
  assert_eq("version", second)
  vm:syscall(SYS.close, fd)
end)

test("syscall_ptr: input pointers carry data, zero-padded to data_len, and are not returned", function()
  local fd = linux.open(vm, "/tmp/writev", linux.O_WRONLY | linux.O_CREAT | linux.O_TRUNC, 420)
  assert(fd >= 0)
  local iovs = provium.pack("u64 u64 u64 u64", 0, 5, 0, 4)
  local results = table.pack(vm:syscall_ptr(SYS.writev, {[1] = iovs}, {
    {buf_idx = 1, ptr_offset = 0, data_len = 5, data = "hello"},
    {buf_idx = 1, ptr_offset = 16, data_len = 4, output = false, data = "ab"},
  }, fd, 0, 2))
  assert_eq(9, results[1])
  assert_eq(2, results.n)  -- ret and the iovec buffer: no output pointers
  assert_eq(32, #results[2])
  vm:syscall(SYS.close, fd)
  assert_eq("helloab\0\0", vm:read_file("/tmp/writev"))
end)

test("syscall_ptr: buffers in argument order, then output pointers", function()
  -- readv(fd, iov, iovcnt) with a spare buffer in slot 3 (readv ignores it) and the bufs
  -- table listing slot 3 first: ret, slot 1, slot 3, then the output pointer.
  local fd = linux.open(vm, "/proc/version")
  assert(fd >= 0)
  local ret, iov_after, spare, base = vm:syscall_ptr(SYS.readv,
    {[3] = "spare", [1] = provium.pack("u64 u64", 0, 5)},
    {{buf_idx = 1, ptr_offset = 0, data_len = 5, output = true}}, fd, 0, 1, 0)
  assert_eq(5, ret)
  assert_eq(16, #iov_after)
  assert_eq("spare", spare)
  assert_eq("Linux", base)
  vm:syscall(SYS.close, fd)
end)

test("syscall_ptr failures are the negative errno", function()
  local ret = vm:syscall_ptr(SYS.readv, {[1] = provium.pack("u64 u64", 0, 4)},
    {{buf_idx = 1, ptr_offset = 0, data_len = 4, output = true}}, 9999, 0, 1)
  assert_eq(-linux.EBADF, ret)
end)

test("a pointer that cannot be written is an error", function()
  -- no buffer in slot 2
  local ok = pcall(vm.syscall_ptr, vm, SYS.readv, {[1] = zeros(16)},
    {{buf_idx = 2, ptr_offset = 0, data_len = 4, output = true}}, 0, 0, 1)
  assert_eq(false, ok)
  -- an 8-byte address does not fit at offset 12 of a 16-byte buffer
  ok = pcall(vm.syscall_ptr, vm, SYS.readv, {[1] = zeros(16)},
    {{buf_idx = 1, ptr_offset = 12, data_len = 4, output = true}}, 0, 0, 1)
  assert_eq(false, ok)
  assert(vm:exec("true").ok)
end)
