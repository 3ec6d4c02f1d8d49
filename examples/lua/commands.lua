-- Commands: vm:exec runs a shell command line in the guest (/bin/sh -c) and returns
-- {ok, exit_code, stdout, stderr}; vm:json runs one and decodes its JSON output.
local vm = provium.create("default")  -- the built-in profile: the host's kernel, a busybox userspace
vm:boot({memory = "512M"})            -- waits until the guest's agent is ready

test("exec", function()
  local r = vm:exec("uname -s; echo a warning >&2")
  assert(r.ok)                        -- true when the exit code is 0
  assert_eq(0, r.exit_code)
  -- stdout and stderr are tables: .value holds the bytes, and the helpers are closures,
  -- called with a dot (r.stdout.contains, not r.stdout:contains)
  assert_eq("Linux\n", r.stdout.value)
  assert(r.stdout.contains("Lin"))
  assert(r.stdout.starts_with("Linux"))
  assert_eq("Linux", r.stdout.trim())
  assert_contains(r.stderr, "warning")  -- the assert_* helpers take exec output as it is
  assert_eq("kernel: Linux\n", "kernel: " .. r.stdout)  -- .. and tostring() give the bytes
end)

test("a failing command is a result, not an error", function()
  local r = vm:exec("ls /no/such/dir")
  assert(not r.ok)
  assert_eq(1, r.exit_code)
  assert_contains(r.stderr, "No such file or directory")
end)

test("json", function()
  -- objects become tables, arrays sequences, null nil; a non-zero exit or bad JSON is an error
  local info = vm:json([[printf '{"kernel": "%s", "uid": %s, "groups": [0]}' "$(uname -s)" "$(id -u)"]])
  assert_eq("Linux", info.kernel)
  assert_eq(0, info.uid)              -- the agent runs as root
  assert_eq(0, info.groups[1])
end)
