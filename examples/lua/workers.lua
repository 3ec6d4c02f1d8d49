-- Workers: vm:spawn() forks a process from the guest's agent; vm:spawn({thread = true}) starts
-- a thread of the agent instead (sharing its memory and file descriptors). Either way the
-- worker has its own credentials: dropping privileges in it leaves the agent root.
local SYS_getpid, SYS_getuid, SYS_setresuid = 39, 102, 117

local vm = provium.create("default")
vm:boot({memory = "512M"})

test("a fork worker", function()
  local worker = vm:spawn()
  assert_eq(worker:syscall(SYS_getpid), worker.pid)  -- a process of its own
  assert_eq(worker:syscall(SYS_setresuid, 1000, 1000, 1000), 0)
  assert_eq(worker:exec("id -u").stdout.trim(), "1000")
  assert_eq(vm:exec("id -u").stdout.trim(), "0")      -- the agent is still root
  worker:kill()
end)

test("a thread worker", function()
  local thread = vm:spawn({thread = true})
  assert_eq(thread:syscall(SYS_getpid), vm:syscall(SYS_getpid))  -- the agent's process
  -- the raw syscall changes only the calling thread's credentials
  assert_eq(thread:syscall(SYS_setresuid, 1000, 1000, 1000), 0)
  assert_eq(thread:syscall(SYS_getuid), 1000)
  assert_eq(vm:syscall(SYS_getuid), 0)
  -- not killed: workers left running are cleaned up with their VM
end)
