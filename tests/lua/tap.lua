-- provium.tap / vm:tap and assert_tap: a TAP run's subtests as a table, failures one line each.
local vm = provium.fixture("base")

-- A TAP producer in the guest: prints `text` as it is (escapes as printf reads them).
local function producer(text, exit_code)
  return "printf '" .. text .. "'; exit " .. (exit_code or 0)
end

test("each subtest once, in number order, with the output before it", function()
  local r = provium.tap(vm, producer("TAP version 13\\n1..3\\nok 1 first\\n# about two\\nnot ok 2 second\\nok 1 first\\nok 3 third # SKIP no device\\n", 1))
  assert_eq(3, r.planned)
  assert_eq(3, #r.tests)
  assert_eq("pass", r.tests[1].outcome)
  assert_eq("second", r.tests[2].name)
  assert_eq("fail", r.tests[2].outcome)
  assert_eq("# about two\n", r.tests[2].output)
  assert_eq("skip", r.tests[3].outcome)
  assert_eq("no device", r.tests[3].reason)
  assert_eq(1, r.exit_code)
  assert_eq(false, r.passed)
  assert_eq(false, r.all_skipped)
  assert_eq(0, #r.missing)
end)

test("stderr comes with stdout, before the result it belongs to", function()
  local r = vm:tap("echo 1..1; echo 'errno 22' >&2; echo 'not ok 1 open'; exit 1")
  assert_eq("errno 22\n", r.tests[1].output)
end)

test("assert_tap fails with a line per failing subtest and one for the missing ones", function()
  local r = provium.tap(vm, producer("1..4\\nok 1 a\\n# boom\\nnot ok 2 b\\n", 1))
  assert_eq(2, #r.missing)
  local ok, err = pcall(assert_tap, r)
  assert_eq(false, ok)
  assert_contains(err, "not ok 2 b\n      # boom")
  assert_contains(err, "no result for tests 3 to 4")
  assert_contains(err, "exit code 1")
end)

test("assert_tap passes a run that passed", function()
  assert_tap(vm:tap(producer("1..2\\nok 1 a\\nok 2 b # SKIP later\\n")))
end)

test("assert_tap skips the block when every subtest was skipped", function()
  local ok, err = pcall(assert_tap, vm:tap(producer("1..1\\nok 1 a # SKIP no hardware\\n", 4)))
  assert_eq(false, ok)
  assert_contains(tostring(err), "todo: all 1 subtest skipped:\n  1 a: no hardware")
end)

test("assert_tap refuses what is not a TAP result", function()
  local ok, err = pcall(assert_tap, {})
  assert_eq(false, ok)
  assert_contains(err, "must be what provium.tap returned")
end)
