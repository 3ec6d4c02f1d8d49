-- Run with `provium test --stream`: every exec streams (PROVIUM_STREAM=1 reached this process),
-- and what the process writes is shown as it comes.
test("streams", function()
  local vm = provium.create()
  vm:boot()
  assert_eq("streamed-line\n", vm:exec("echo streamed-line").stdout.value)
  print("printed-line")
end)
