-- Passes: boots a VM and runs commands in it.
local vm = provium.create("default")
vm:boot({memory = "256M"})

test("uname", function()
  local r = vm:exec("uname -s")
  assert_eq(0, r.exit_code)
  assert_contains(r.stdout, "Linux")
end)

test("a file round trip", function()
  vm:write_file("/tmp/x", "hello")
  assert_eq("hello", vm:read_file("/tmp/x"))
end)
