-- Files: vm:write_file and vm:read_file move bytes between the test and the guest. Both are
-- binary-safe and take up to 16 MiB (the protocol's frame); more is an error.
local vm = provium.create("default")
vm:boot({memory = "512M"})

test("a round trip", function()
  local data = "line one\n\0binary\255bytes"
  vm:write_file("/tmp/data.bin", data)
  assert_eq(data, vm:read_file("/tmp/data.bin"))
  assert_eq(tostring(#data), vm:exec("wc -c < /tmp/data.bin").stdout.trim())
end)

test("files the guest wrote, and the kernel's", function()
  vm:exec("echo from the guest > /tmp/note")
  assert_eq("from the guest\n", vm:read_file("/tmp/note"))
  vm:mount_vfs()  -- proc, sysfs, securityfs, devtmpfs
  assert_contains(vm:read_file("/proc/version"), "Linux version")
end)

test("a missing file is an error", function()
  local ok, err = pcall(vm.read_file, vm, "/no/such/file")
  assert(not ok)
  assert_contains(err, "/no/such/file")
end)
