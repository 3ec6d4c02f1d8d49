-- Workers: vm:spawn() forks a process from the guest's agent; vm:spawn({thread = true}) starts
-- a thread of the agent instead (sharing its memory and file descriptors). Either way the
-- worker has its own credentials: dropping privileges in it leaves the agent root.
local SYS_getpid, SYS_getuid, SYS_setresuid = 39, 102, 117

local vm = provium.create("default")
vm:boot({memory = "512M"})

test("a fork worker", function()
  local worker = vm:spawn()
  assert_eq(worker.pid, worker:syscall(SYS_getpid))  -- a process of its own
  assert_eq(0, worker:syscall(SYS_setresuid, 1000, 1000, 1000))
  assert_eq("1000", worker:exec("id -u").stdout.trim())
  assert_eq("0", vm:exec("id -u").stdout.trim())      -- the agent is still root
  worker:kill()
end)

test("a thread worker", function()
  local thread = vm:spawn({thread = true})
  assert_eq(vm:syscall(SYS_getpid), thread:syscall(SYS_getpid))  -- the agent's process
  -- the raw syscall changes only the calling thread's credentials
  assert_eq(0, thread:syscall(SYS_setresuid, 1000, 1000, 1000))
  assert_eq(1000, thread:syscall(SYS_getuid))
  assert_eq(0, vm:syscall(SYS_getuid))
  -- not killed: workers left running are cleaned up with their VM
end)
