local vm = provium.fixture("alpha")

test("d reads the fixture's file", function()
  assert_eq("alpha\n", vm:read_file("/srv-alpha"))
end)
