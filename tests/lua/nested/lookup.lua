-- Fixture lookup: a script in a subdirectory finds fixtures/NAME.lua in the nearest parent
-- directory that has it (here tests/lua/fixtures/), up to the start directory.
test("a fixture of a parent directory", function()
  local vm = provium.fixture("base")
  assert_eq("ready\n", vm:read_file("/srv/state"))
end)

test("dofile from a subdirectory still resolves against the start directory", function()
  local values = dofile("tests/lua_helpers/values.lua")
  assert_eq(42, values.answer)
end)
