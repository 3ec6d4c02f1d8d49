-- vm:mount_vfs, vm:wait_until, provium.sleep, and the VM's own extras: vm:running,
-- vm:console, vm:set_timeout.
local linux = dofile("tests/lua_helpers/linux.lua")
local vm = provium.fixture("base")

local function uptime()
  return tonumber(vm:read_file("/proc/uptime"):match("^(%S+)"))
end

test("mount_vfs mounts proc, sysfs, securityfs, devtmpfs, devpts, /dev/shm and /run, once", function()
  vm:mount_vfs()  -- the base fixture mounted them already
  vm:mount_vfs()
  local mounts = vm:read_file("/proc/self/mounts")
  for _, line in ipairs({"proc /proc proc", "sysfs /sys sysfs", "securityfs /sys/kernel/security securityfs",
                         "devtmpfs /dev devtmpfs", "devpts /dev/pts devpts", "tmpfs /dev/shm tmpfs",
                         "tmpfs /run tmpfs"}) do
    local count, at = 0, 1
    while true do
      local found = mounts:find(line, at, true)
      if not found then break end
      count, at = count + 1, found + 1
    end
    assert_eq(1, count, line .. " in\n" .. mounts)
  end
  assert(vm:exec("test -e /proc/self/status && test -d /sys/kernel && test -c /dev/null").ok)
end)

test("mount_vfs takes which mounts to skip, and refuses unknown ones", function()
  vm:mount_vfs({shm = false, tmp = false})  -- all there already: nothing to do
  local ok, err = pcall(vm.mount_vfs, vm, {bogus = true})
  assert(not ok and tostring(err):find("unknown mount key 'bogus'", 1, true), tostring(err))
  ok, err = pcall(vm.mount_vfs, vm, {shm = "no"})
  assert(not ok and tostring(err):find("must be true or false", 1, true), tostring(err))
end)

test("wait_until returns the first truthy value", function()
  assert_eq(42, vm:wait_until(function() return 42 end))
  local calls = 0
  local got = vm:wait_until(function()
    calls = calls + 1
    return calls >= 3 and {calls = calls} or nil
  end, {timeout = 10, interval = 0.05})
  assert_eq(3, got.calls)
  assert_eq(3, calls)
  -- false is not truthy
  calls = 0
  assert_eq("done", vm:wait_until(function() calls = calls + 1; return calls > 1 and "done" or false end,
                          {interval = 0.05}))
end)

test("wait_until polls the guest until the condition holds", function()
  vm:exec("rm -f /tmp/flag")
  vm:background("sleep 0.5; touch /tmp/flag")
  assert(vm:wait_until(function() return vm:exec("test -e /tmp/flag").ok end,
                       {timeout = 10, interval = 0.1, desc = "the flag"}))
end)

test("wait_until's timeout error names desc", function()
  local start = uptime()
  local calls = 0
  local ok, err = pcall(vm.wait_until, vm, function() calls = calls + 1; return false end,
                        {timeout = 1, interval = 0.2, desc = "the impossible condition"})
  local elapsed = uptime() - start
  assert_eq(false, ok)
  assert_contains(err, "the impossible condition")
  assert(calls >= 2 and calls <= 10, "polled " .. calls .. " times in 1 s at 0.2 s")
  assert(elapsed >= 0.8 and elapsed < 8, "timed out after " .. elapsed .. " s")
end)

test("wait_until's default desc is condition", function()
  local ok, err = pcall(vm.wait_until, vm, function() return nil end, {timeout = 0.3, interval = 0.1})
  assert_eq(false, ok)
  assert_contains(err, "condition")
end)

test("provium.sleep waits, fractions allowed", function()
  local start = uptime()
  provium.sleep(0.5)
  provium.sleep(0.5)
  local elapsed = uptime() - start
  assert(elapsed >= 0.9, "slept " .. elapsed .. " s instead of 1")
  assert(elapsed < 10, "slept " .. elapsed .. " s instead of 1")
end)

test("running and console", function()
  assert_eq(true, vm:running())
  -- the agent's stdout is the serial console
  local marker = "provium-console-marker\n"
  assert_eq(#marker, vm:syscall_buf(linux.SYS.write, 1, marker, 1, 0, #marker))
  local tail = vm:wait_until(function()
    local text = vm:console(5)
    return text:find("provium-console-marker", 1, true) and text
  end, {timeout = 10, interval = 0.1, desc = "the marker on the console"})
  local lines = 0
  for _ in tail:gmatch("[^\n]+") do lines = lines + 1 end
  assert(lines <= 5, "console(5) gave " .. lines .. " lines")
  assert_eq("string", type(vm:console()))
  assert_contains(vm:console(), "provium-console-marker")
end)

test("set_timeout: a later operation that takes longer fails", function()
  local own = provium.fixture("base")
  own:set_timeout(1)
  assert(own:exec("true").ok)
  local ok, err = pcall(own.exec, own, "sleep 5")
  assert_eq(false, ok)
  assert_eq("string", type(err))
  own:kill()
end)
