-- The kernel's reports (warnings written to /dev/kmsg as the kernel prints one): a report fails
-- the block during which it came and no other; an expected one passes; an expected one that
-- never comes fails; one outside any block fails the file; a fixture whose script made the
-- kernel warn is not built.
local vm = provium.create("default")
vm:boot({memory = "256M"})
local function warn(where)
  vm:exec("echo '<4>WARNING: CPU: 0 PID: 1 at " .. where .. " f+0x1/0x2' > /dev/kmsg")
end

test("warns", function() warn("lua/block.c:1") end)

test("passes after", function() assert_eq("ok\n", vm:exec("echo ok").stdout.value) end)

test("expects its warning", function()
  vm:expect_kernel_report("WARNING: .* at lua/expected\\.c")
  warn("lua/expected.c:2")
end)

test("expects in vain", function() vm:expect_kernel_report("BUG: KASAN") end)

test("a fixture whose script warned is not built", function()
  local ok, err = pcall(provium.fixture, "warned")
  assert(not ok, "the fixture was built")
  assert_contains(tostring(err), "WARNING: CPU: 0 PID: 1 at lua/fixture.c:3")
end)

warn("lua/top.c:4")
