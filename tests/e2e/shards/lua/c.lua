local vm = provium.fixture("alpha")

test("c reads the fixture's file", function()
  assert_eq("alpha\n", vm:read_file("/srv-alpha"))
end)
