-- A file with no test() blocks is one test: it passes when it runs to the end without an error.
local vm = provium.fixture("base")
local r = vm:exec("uname -s")
assert_eq(r.exit_code, 0)
assert_contains(r.stdout, "Linux")
assert_eq(vm:read_file("/srv/state"), "ready\n")
