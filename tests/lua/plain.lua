-- A file with no test() blocks is one test: it passes when it runs to the end without an error.
local vm = provium.fixture("base")
local r = vm:exec("uname -s")
assert_eq(0, r.exit_code)
assert_contains(r.stdout, "Linux")
assert_eq("ready\n", vm:read_file("/srv/state"))
