-- Using a fixture: provium.fixture("prepared") runs fixtures/prepared.lua (next to this
-- script) once, then resumes a copy of its VM in a fraction of a second.
test("the prepared state is there", function()
  local vm = provium.fixture("prepared")
  assert_eq("mode=test\n", vm:read_file("/etc/app/config"))
  assert_contains(vm:read_file("/proc/self/mounts"), "sysfs /sys")
end)

test("each call gets a VM of its own", function()
  local a, b = provium.fixture("prepared"), provium.fixture("prepared")
  a:exec("echo 'mode=changed' > /etc/app/config")
  assert_eq("mode=test\n", b:read_file("/etc/app/config"))  -- b is untouched
end)
