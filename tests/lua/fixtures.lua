-- provium.fixture: the state a fixture script prepared, a fresh copy-on-write VM per call,
-- nested fixtures, the last VM of a fixture script is the snapshot, unknown fixtures.

test("a fixture VM is booted and has the prepared state", function()
  local vm = provium.fixture("base")
  assert_eq(true, vm:running())
  assert_eq("ready\n", vm:read_file("/srv/state"))
  assert_eq("\0base\255", vm:read_file("/srv/blob"))
  local mounts = vm:read_file("/proc/self/mounts")  -- mount_vfs ran in the fixture script
  assert_contains(mounts, "sysfs /sys sysfs")
  assert_contains(mounts, "devpts /dev/pts devpts")
  -- booted with memory = "512M"
  local kib = tonumber(vm:read_file("/proc/meminfo"):match("MemTotal:%s+(%d+) kB"))
  assert(kib > 384 * 1024 and kib <= 512 * 1024, "MemTotal " .. kib .. " kB with 512M")
end)

test("every call resumes a VM of its own", function()
  local a = provium.fixture("base")
  local b = provium.fixture("base")
  assert(a:exec("echo changed > /srv/state && rm /srv/blob").ok)
  assert_eq("changed\n", a:read_file("/srv/state"))
  assert_eq("ready\n", b:read_file("/srv/state"))
  assert_eq("\0base\255", b:read_file("/srv/blob"))
  local c = provium.fixture("base")
  assert_eq("ready\n", c:read_file("/srv/state"))
  -- workers and jobs work in a resumed VM
  local w = c:spawn({thread = true})
  assert_eq(c:syscall(39), w:syscall(39))  -- getpid
  local job = c:background("echo from-a-job")
  assert_eq("from-a-job\n", c:job_wait(job, 10).stdout)
end)

test("a nested fixture starts from its parent's state and adds its own", function()
  local vm = provium.fixture("child")
  assert_eq("ready\n", vm:read_file("/srv/state"))
  assert_eq("\0base\255", vm:read_file("/srv/blob"))
  assert_eq("child-state\n", vm:read_file("/srv/child"))
  -- child.lua resumed base twice: the last VM it created is the snapshot
  assert_eq("child\n", vm:read_file("/srv/which"))
  -- the parent is unchanged
  local base = provium.fixture("base")
  assert(not base:exec("test -e /srv/child").ok, "the child's state leaked into base")
end)

test("an unknown fixture is an error naming it", function()
  local ok, err = pcall(provium.fixture, "no_such_fixture")
  assert_eq(false, ok)
  assert_contains(err, "no_such_fixture")
end)

test("a fixture script may not declare test() blocks", function()
  local ok, err = pcall(provium.fixture, "uses_test")
  assert_eq(false, ok)
  assert_contains(err, "uses_test")
  assert_contains(err, "test()")
  -- a failed build is not cached: asking again fails again the same way
  local again, err_again = pcall(provium.fixture, "uses_test")
  assert_eq(false, again)
  assert_contains(err_again, "test()")
end)
