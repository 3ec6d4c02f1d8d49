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
  assert_eq(math.type(first.pid), "integer")
  assert_eq(first:syscall(SYS.getpid), first.pid)
  assert_eq(second:syscall(SYS.getpid), second.pid)
  assert(first.pid ~= agent, "a fork worker has the agent's pid")
  assert(first.pid ~= second.pid, "two fork workers with one pid")
  assert_eq(first:exec("echo from-a-worker").stdout.value, "from-a-worker\n")
  first:kill()
  second:kill()
end)

test("a thread worker shares the agent's pid and has its own tid", function()
  local agent = vm:syscall(SYS.getpid)
  local thread = vm:spawn({thread = true})
  assert_eq(thread:syscall(SYS.getpid), agent)
  assert_eq(thread:syscall(SYS.gettid), thread.pid)
  assert(thread:syscall(SYS.gettid) ~= vm:syscall(SYS.gettid), "the thread worker has the agent's tid")
  thread:kill()
end)

test("setresuid in a thread worker does not change the agent", function()
  local thread = vm:spawn({thread = true})
  -- the raw syscall changes only the calling thread
  assert_eq(thread:syscall(SYS.setresuid, 1000, 1000, 1000), 0)
  assert_eq(thread:syscall(SYS.getuid), 1000)
  assert_eq(vm:syscall(SYS.getuid), 0)
  -- what the thread runs inherits its credentials; what the agent runs does not
  assert_eq(thread:exec("id -u").stdout.value, "1000\n")
  assert_eq(vm:exec("id -u").stdout.value, "0\n")
  -- a new thread worker starts with the agent's credentials
  local fresh = vm:spawn({thread = true})
  assert_eq(fresh:syscall(SYS.getuid), 0)
  thread:kill()
  fresh:kill()
end)

test("setresuid in a fork worker does not change the agent", function()
  local fork = vm:spawn()
  assert_eq(fork:syscall(SYS.setresuid, 1000, 1000, 1000), 0)
  assert_eq(fork:syscall(SYS.getuid), 1000)
  assert_eq(fork:exec("id -u").stdout.value, "1000\n")
  assert_eq(vm:syscall(SYS.getuid), 0)
  -- dropped privileges are real: root's file is out of reach
  assert(vm:exec("echo secret > /tmp/root-only && chmod 600 /tmp/root-only").ok)
  assert_eq(linux.open(fork, "/tmp/root-only"), -13)  -- EACCES
  fork:kill()
end)

test("a thread worker shares the fd table: its fd is the agent's", function()
  local thread = vm:spawn({thread = true})
  local fd = linux.open(thread, "/proc/version")
  assert(fd >= 0)
  local n, got = vm:syscall_bufs(SYS.read, {[1] = zeros(13)}, fd, 0, 13)
  assert_eq(n, 13)
  assert_eq(got, "Linux version")
  assert_eq(vm:syscall(SYS.close, fd), 0)
  assert_eq(thread:syscall(SYS.fcntl, fd, linux.F_GETFD), -linux.EBADF)  -- closed for both
  thread:kill()
end)

test("a fork worker has its own fd table", function()
  local fork = vm:spawn()
  local fd = linux.open(fork, "/proc/version")
  assert(fd >= 0)
  assert(fork:syscall(SYS.fcntl, fd, linux.F_GETFD) >= 0)
  assert_eq(vm:syscall(SYS.fcntl, fd, linux.F_GETFD), -linux.EBADF)
  fork:kill()
end)

test("a thread worker shares the address space, a fork worker does not", function()
  local thread = vm:spawn({thread = true})
  local addr = 0x7e0000000000
  assert_eq(map_fixed(thread, addr), addr)
  assert_eq(thread:syscall(SYS.uname, addr), 0)  -- "Linux\0..." at addr
  -- the agent sees the mapping and its contents
  local fd = linux.open(vm, "/tmp/shared-mem", linux.O_WRONLY | linux.O_CREAT | linux.O_TRUNC, 420)
  assert_eq(vm:syscall(SYS.write, fd, addr, 5), 5)
  vm:syscall(SYS.close, fd)
  assert_eq(vm:read_file("/tmp/shared-mem"), "Linux")
  assert_eq(vm:syscall(SYS.munmap, addr, 4096), 0)
  thread:kill()

  local fork = vm:spawn()
  local own = addr + 0x100000
  assert_eq(map_fixed(fork, own), own)
  assert_eq(fork:syscall(SYS.uname, own), 0)
  assert_eq(vm:syscall(SYS.mprotect, own, 4096, linux.PROT_READ), -linux.ENOMEM)  -- not mapped here
  assert_eq(vm:syscall(SYS.write, 1, own, 5), -linux.EFAULT)
  fork:kill()
end)

test("every VM method works on a worker", function()
  for _, opts in ipairs({{}, {thread = true}}) do
    local w = vm:spawn(opts)
    local kind = opts.thread and "thread" or "fork"
    local r = w:exec("echo hi")
    assert_eq(r.ok, true, kind)
    assert_eq(r.exit_code, 0)
    assert_eq(r.stdout.trim(), "hi")
    assert(r.stdout.contains("hi") and r.stdout.starts_with("h"))
    assert_eq(tostring(r.stdout), "hi\n")
    assert_eq(w:json("echo '{\"a\": [1, 2]}'").a[2], 2)
    w:write_file("/tmp/w-" .. kind, "\0w\255")
    assert_eq(w:read_file("/tmp/w-" .. kind), "\0w\255")
    assert_eq(vm:read_file("/tmp/w-" .. kind), "\0w\255")  -- one filesystem
    assert_contains(w:dmesg(), "Linux version")
    w:mount_vfs()
    assert_eq(w:wait_until(function() return "yes" end, {timeout = 1, interval = 0.1}), "yes")
    assert(w:syscall(SYS.getpid) > 1)
    assert_eq(w:syscall_buf(SYS.write, 1, "", 9999, 0, 0), -linux.EBADF)
    local ret, uts = w:syscall_bufs(SYS.uname, {[0] = zeros(390)}, 0)
    assert_eq(ret, 0)
    assert_eq(uts:sub(1, 6), "Linux\0")
    local fd = linux.open(w, "/proc/version")
    local n, _, base = w:syscall_ptr(SYS.readv, {[1] = provium.pack("u64 u64", 0, 5)},
      {{buf_idx = 1, ptr_offset = 0, data_len = 5, output = true}}, fd, 0, 1)
    assert_eq(n, 5)
    assert_eq(base, "Linux")
    w:syscall(SYS.close, fd)
    local rd, wr = linux.pipe(w)
    w:syscall_buf(SYS.write, 1, "abc", wr, 0, 3)
    local iret, out = w:ioctl(rd, linux.FIONREAD, zeros(4))
    assert_eq(iret, 0)
    assert_eq(provium.unpack("i32", out), 3)
    w:syscall(SYS.close, rd)
    w:syscall(SYS.close, wr)
    local sock = w:syscall(SYS.socket, linux.AF_INET, linux.SOCK_DGRAM, 0)
    local bret = w:ioctl_buf(sock, linux.SIOCGIFCONF, provium.pack("i32 u32 u64", 40, 0, 0),
      {{ptr_offset = 8, buf_len = 40, output = true}})
    assert_eq(bret, 0)
    w:syscall(SYS.close, sock)
    local job = w:background("echo bg; sleep 100")
    assert(job.pid > 1)
    assert_eq(w:job_wait(job).running, true)
    local killed = w:job_kill(job)
    assert_eq(killed.exit_code, 137)
    assert_eq(killed.running, false)
    w:kill()
  end
end)

test("the VM's own extras work on a worker: running, console, set_timeout", function()
  -- docs/lua.md: a worker has every VM method except boot, shutdown and spawn
  local w = vm:spawn()
  assert_eq(type(w.running), "function")
  assert_eq(type(w.console), "function")
  assert_eq(type(w.set_timeout), "function")
  assert_eq(w:running(), true)
  assert_eq(type(w:console()), "string")
  w:set_timeout(30)
  assert(w:exec("true").ok)
  w:kill()
end)

test("a worker has no boot, shutdown or spawn", function()
  local w = vm:spawn()
  assert_eq(pcall(function() return w:spawn() end), false)
  assert_eq(pcall(function() return w:boot({}) end), false)
  assert_eq(pcall(function() return w:shutdown() end), false)
  assert(w:exec("true").ok, "the worker is still usable")
  w:kill()
end)

test("worker:kill closes the connection and the worker exits", function()
  for _, opts in ipairs({{}, {thread = true}}) do
    local w = vm:spawn(opts)
    local job = w:background("sleep 100")
    local pid = w.pid
    w:kill()
    assert_eq(pcall(w.exec, w, "true"), false)
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
  assert_eq(distinct, 15)
  for i, w in ipairs(workers) do assert_eq(w:exec("echo " .. i).stdout.value, i .. "\n") end
  local ok = pcall(own.spawn, own)
  assert_eq(ok, false)
  workers[15]:kill()
  assert(own:spawn():exec("true").ok, "no worker after one was killed")
end)

-- Left running on purpose: workers a file does not kill are cleaned up with their VM.
local leftover = vm:spawn({thread = true})
leftover:background("sleep 1000")
