-- Background jobs: vm:background starts a command and returns {id, pid} at once;
-- vm:job_wait(job, timeout) and vm:job_kill(job) return {exit_code, stdout, stderr, running}.
local vm = provium.create("default")
vm:boot({memory = "512M"})

test("wait for a job", function()
  local job = vm:background("sleep 1; echo done")
  assert_eq(true, vm:job_wait(job).running)  -- no timeout: just looks
  local r = vm:job_wait(job, 30)              -- waits up to 30 s
  assert_eq(false, r.running)
  assert_eq(0, r.exit_code)
  assert_eq("done\n", r.stdout)               -- plain strings here
end)

test("kill a job", function()
  local job = vm:background("sleep 100")
  local r = vm:job_kill(job)                  -- SIGKILL
  assert_eq(128 + 9, r.exit_code)
end)

test("wait for a condition", function()
  vm:background("sleep 0.5; touch /tmp/ready")
  -- polls until the function returns a truthy value; on timeout the error names desc
  vm:wait_until(function() return vm:exec("test -e /tmp/ready").ok end,
                {timeout = 10, interval = 0.1, desc = "/tmp/ready to appear"})
end)
