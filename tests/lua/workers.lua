-- vm:spawn: fork workers (own pid, memory, fd table, credentials) and thread workers
-- (clone(CLONE_THREAD): shared memory and fd table, own credentials); worker.pid, every
-- worker method, worker:kill.
local linux = dofile("tests/lua_helpers/linux.lua")
local SYS = linux.SYS
local vm = provium.fixture("base")

local function zeros(n) return string.rep("\0", n) end

-- A fixed address for the memory tests, mapped with MAP_FIXED_NOREPLACE.
local function map_fixed(guest, addr)
  local PROT_RW = linux.PROT_READ | linux.PROT_WRITE
  local flags = linux.MAP_PRIVATE | linux.MAP_ANONYMOUS | linux.MAP_FIXED_NOREPLACE
  return guest:syscall(SYS.mmap, addr, 4096, PROT_RW, flags, -1, 0)
end

test("a fork worker has its own pid", function()
  local agent = vm:syscall(SYS.getpid)
  local first, second = vm:spawn(), vm:spawn({thread = false})
  assert_eq("integer", math.type(first.pid))
  assert_eq(first.pid, first:syscall(SYS.getpid))
  assert_eq(second.pid, second:syscall(SYS.getpid))
  assert(first.pid ~= agent, "a fork worker has the agent's pid")
  assert(first.pid ~= second.pid, "two fork workers with one pid")
  assert_eq("from-a-worker\n", first:exec("echo from-a-worker").stdout.value)
  first:kill()
  second:kill()
end)

test("a thread worker shares the agent's pid and has its own tid", function()
  local agent = vm:syscall(SYS.getpid)
  local thread = vm:spawn({thread = true})
  assert_eq(agent, thread:syscall(SYS.getpid))
  assert_eq(thread.pid, thread:syscall(SYS.gettid))
  assert(thread:syscall(SYS.gettid) ~= vm:syscall(SYS.gettid), "the thread worker has the agent's tid")
  thread:kill()
end)

test("setresuid in a thread worker does not change the agent", function()
  local thread = vm:spawn({thread = true})
  -- the raw syscall changes only the calling thread
  assert_eq(0, thread:syscall(SYS.setresuid, 1000, 1000, 1000))
  assert_eq(1000, thread:syscall(SYS.getuid))
  assert_eq(0, vm:syscall(SYS.getuid))
  -- what the thread runs inherits its credentials; what the agent runs does not
  assert_eq("1000\n", thread:exec("id -u").stdout.value)
  assert_eq("0\n", vm:exec("id -u").stdout.value)
  -- a new thread worker starts with the agent's credentials
  local fresh = vm:spawn({thread = true})
  assert_eq(0, fresh:syscall(SYS.getuid))
  thread:kill()
  fresh:kill()
end)

test("setresuid in a fork worker does not change the agent", function()
  local fork = vm:spawn()
  assert_eq(0, fork:syscall(SYS.setresuid, 1000, 1000, 1000))
  assert_eq(1000, fork:syscall(SYS.getuid))
  assert_eq("1000\n", fork:exec("id -u").stdout.value)
  assert_eq(0, vm:syscall(SYS.getuid))
  -- dropped privileges are real: root's file is out of reach
  assert(vm:exec("echo secret > /tmp/root-only && chmod 600 /tmp/root-only").ok)
  assert_eq(-13, linux.open(fork, "/tmp/root-only"))  -- EACCES
  fork:kill()
end)

test("a thread worker shares the fd table: its fd is the agent's", function()
  local thread = vm:spawn({thread = true})
  local fd = linux.open(thread, "/proc/version")
  assert(fd >= 0)
  local n, got = vm:syscall_bufs(SYS.read, {[1] = zeros(13)}, fd, 0, 13)
  assert_eq(13, n)
  assert_eq("Linux version", got)
  assert_eq(0, vm:syscall(SYS.close, fd))
  assert_eq(-linux.EBADF, thread:syscall(SYS.fcntl, fd, linux.F_GETFD))  -- closed for both
  thread:kill()
end)

test("a fork worker has its own fd table", function()
  local fork = vm:spawn()
  local fd = linux.open(fork, "/proc/version")
  assert(fd >= 0)
  assert(fork:syscall(SYS.fcntl, fd, linux.F_GETFD) >= 0)
  assert_eq(-linux.EBADF, vm:syscall(SYS.fcntl, fd, linux.F_GETFD))
  fork:kill()
end)

test("a thread worker shares the address space, a fork worker does not", function()
  local thread = vm:spawn({thread = true})
  local addr = 0x7e0000000000
  assert_eq(addr, map_fixed(thread, addr))
  assert_eq(0, thread:syscall(SYS.uname, addr))  -- "Linux\0..." at addr
  -- the agent sees the mapping and its contents
  local fd = linux.open(vm, "/tmp/shared-mem", linux.O_WRONLY | linux.O_CREAT | linux.O_TRUNC, 420)
  assert_eq(5, vm:syscall(SYS.write, fd, addr, 5))
  vm:syscall(SYS.close, fd)
  assert_eq("Linux", vm:read_file("/tmp/shared-mem"))
  assert_eq(0, vm:syscall(SYS.munmap, addr, 4096))
  thread:kill()

  local fork = vm:spawn()
  local own = addr + 0x100000
  assert_eq(own, map_fixed(fork, own))
  assert_eq(0, fork:syscall(SYS.uname, own))
  assert_eq(-linux.ENOMEM, vm:syscall(SYS.mprotect, own, 4096, linux.PROT_READ))  -- not mapped here
  assert_eq(-linux.EFAULT, vm:syscall(SYS.write, 1, own, 5))
  fork:kill()
end)

test("every VM method works on a worker", function()
  for _, opts in ipairs({{}, {thread = true}}) do
    local w = vm:spawn(opts)
    local kind = opts.thread and "thread" or "fork"
    local r = w:exec("echo hi")
    assert_eq(true, r.ok, kind)
    assert_eq(0, r.exit_code)
    assert_eq("hi", r.stdout.trim())
    assert(r.stdout.contains("hi") and r.stdout.starts_with("h"))
    assert_eq("hi\n", tostring(r.stdout))
    assert_eq(2, w:json("echo '{\"a\": [1, 2]}'").a[2])
    w:write_file("/tmp/w-" .. kind, "\0w\255")
    assert_eq("\0w\255", w:read_file("/tmp/w-" .. kind))
    assert_eq("\0w\255", vm:read_file("/tmp/w-" .. kind))  -- one filesystem
    assert_contains(w:dmesg(), "Linux version")
    w:mount_vfs()
    assert_eq("yes", w:wait_until(function() return "yes" end, {timeout = 1, interval = 0.1}))
    assert(w:syscall(SYS.getpid) > 1)
    assert_eq(-linux.EBADF, w:syscall_buf(SYS.write, 1, "", 9999, 0, 0))
    local ret, uts = w:syscall_bufs(SYS.uname, {[0] = zeros(390)}, 0)
    assert_eq(0, ret)
    assert_eq("Linux\0", uts:sub(1, 6))
    local fd = linux.open(w, "/proc/version")
    local n, _, base = w:syscall_ptr(SYS.readv, {[1] = provium.pack("u64 u64", 0, 5)},
      {{buf_idx = 1, ptr_offset = 0, data_len = 5, output = true}}, fd, 0, 1)
    assert_eq(5, n)
    assert_eq("Linux", base)
    w:syscall(SYS.close, fd)
    local rd, wr = linux.pipe(w)
    w:syscall_buf(SYS.write, 1, "abc", wr, 0, 3)
    local iret, out = w:ioctl(rd, linux.FIONREAD, zeros(4))
    assert_eq(0, iret)
    assert_eq(3, provium.unpack("i32", out))
    w:syscall(SYS.close, rd)
    w:syscall(SYS.close, wr)
    local sock = w:syscall(SYS.socket, linux.AF_INET, linux.SOCK_DGRAM, 0)
    local bret = w:ioctl_buf(sock, linux.SIOCGIFCONF, provium.pack("i32 u32 u64", 40, 0, 0),
      {{ptr_offset = 8, buf_len = 40, output = true}})
    assert_eq(0, bret)
    w:syscall(SYS.close, sock)
    local job = w:background("echo bg; sleep 100")
    assert(job.pid > 1)
    assert_eq(true, w:job_wait(job).running)
    local killed = w:job_kill(job)
    assert_eq(137, killed.exit_code)
    assert_eq(false, killed.running)
    w:kill()
  end
end)

test("the VM's own extras work on a worker: running, console, set_timeout", function()
  -- docs/lua.md: a worker has every VM method except boot, shutdown and spawn
  local w = vm:spawn()
  assert_eq("function", type(w.running))
  assert_eq("function", type(w.console))
  assert_eq("function", type(w.set_timeout))
  assert_eq(true, w:running())
  assert_eq("string", type(w:console()))
  w:set_timeout(30)
  assert(w:exec("true").ok)
  w:kill()
end)

test("a worker has no boot, shutdown or spawn", function()
  local w = vm:spawn()
  assert_eq(false, pcall(function() return w:spawn() end))
  assert_eq(false, pcall(function() return w:boot({}) end))
  assert_eq(false, pcall(function() return w:shutdown() end))
  assert(w:exec("true").ok, "the worker is still usable")
  w:kill()
end)

test("worker:kill closes the connection and the worker exits", function()
  for _, opts in ipairs({{}, {thread = true}}) do
    local w = vm:spawn(opts)
    local job = w:background("sleep 100")
    local pid = w.pid
    w:kill()
    assert_eq(false, pcall(w.exec, w, "true"))
    -- gone, or a zombie until the agent reaps it
    vm:wait_until(function()
      return vm:exec("! test -d /proc/" .. pid .. " || grep -q 'State:.*Z' /proc/" .. pid .. "/status").ok
    end, {timeout = 10, interval = 0.1, desc = "the killed worker to exit"})
  end
  assert(vm:exec("true").ok)
  assert(vm:spawn():exec("true").ok)
end)

test("fifteen workers at once, no sixteenth", function()
  local own = provium.fixture("base")
  local workers, pids = {}, {}
  for i = 1, 15 do
    workers[i] = own:spawn({thread = i % 2 == 0})
    pids[workers[i].pid] = true
  end
  local distinct = 0
  for _ in pairs(pids) do distinct = distinct + 1 end
  assert_eq(15, distinct)
  for i, w in ipairs(workers) do assert_eq(i .. "\n", w:exec("echo " .. i).stdout.value) end
  local ok = pcall(own.spawn, own)
  assert_eq(false, ok)
  workers[15]:kill()
  assert(own:spawn():exec("true").ok, "no worker after one was killed")
end)

-- Left running on purpose: workers a file does not kill are cleaned up with their VM.
local leftover = vm:spawn({thread = true})
leftover:background("sleep 1000")
