-- One block passes, one fails; the failing one first writes a marker on the VM's console (the
-- agent's stdout is the serial console) so that the report's console lines and the kept log
-- can be checked for it.
local vm = provium.create("default")
vm:boot({memory = "256M"})

test("passes", function()
  assert_eq("hi\n", vm:exec("echo hi").stdout.value)
end)

test("fails", function()
  local marker = "cli-console-marker-xyz\n"
  assert_eq(#marker, vm:syscall_buf(1 --[[write]], 1, marker, 1, 0, #marker))
  vm:wait_until(function() return vm:console(5):find("cli-console-marker-xyz", 1, true) end,
                {timeout = 10, interval = 0.1, desc = "the marker on the console"})
  assert_eq("2\n", vm:exec("echo 1").stdout.value, "the deliberate failure")
end)
