-- The globals: assert, assert_eq, assert_contains (their failures, checked with pcall), test()
-- (runs at once, in order), dofile (relative to the run's start directory). No VM except for
-- the exec-output cases.

-- The line a call on the same line as this helper's caller runs at.
local function here() return debug.getinfo(2, "l").currentline end

test("assert returns its arguments", function()
  local a, b, c = assert(1, "message", "extra")
  assert_eq(1, a)
  assert_eq("message", b)
  assert_eq("extra", c)
  assert_eq(1, select("#", assert(true)))
  assert_eq("value", assert("value"))
end)

test("assert's failure says assertion failed with the caller's file:line", function()
  local ok, err = pcall(function() assert(false) end); local line = here()
  assert_eq(false, ok)
  assert_eq("string", type(err))
  assert(err:find("assertion failed", 1, true), err)
  assert(err:find("assertions.lua:" .. line, 1, true), "no assertions.lua:" .. line .. " in " .. err)
  ok, err = pcall(function() assert(nil, "the reason") end); line = here()
  assert_eq(false, ok)
  assert(err:find("assertion failed", 1, true), err)
  assert(err:find("the reason", 1, true), err)
  assert(err:find("assertions.lua:" .. line, 1, true), "no assertions.lua:" .. line .. " in " .. err)
end)

test("assert_eq passes on ==", function()
  assert_eq(1, 1)
  assert_eq(1.0, 1)
  assert_eq("a", "a")
  assert_eq(nil, nil)
  assert_eq(true, true)
  local t = {}
  assert_eq(t, t)
end)

test("assert_eq's failure shows both values and file:line", function()
  local ok, err = pcall(function() assert_eq(0, 1) end); local line = here()
  assert_eq(false, ok)
  assert(err:find("expected 0, got 1", 1, true), err)
  assert(err:find("assertions.lua:" .. line, 1, true), "no assertions.lua:" .. line .. " in " .. err)
  -- distinct tables are not ==
  assert_eq(false, pcall(assert_eq, {}, {}))
  -- 1 and "1" differ
  assert_eq(false, pcall(assert_eq, 1, "1"))
  -- nil against a value
  ok, err = pcall(function() assert_eq(5, nil) end)
  assert_eq(false, ok)
  assert(err:find("expected 5, got nil", 1, true), err)
end)

test("assert_eq takes the expected value first, as documented", function()
  local r = -13
  local ok, err = pcall(function() assert_eq(0, r) end)
  assert_eq(false, ok)
  assert(err:find("expected 0, got -13", 1, true), err)
end)

test("assert_eq quotes and escapes strings", function()
  local ok, err = pcall(function() assert_eq("b", "a\0\n") end)
  assert_eq(false, ok)
  assert(err:find('expected "b"', 1, true), err)
  assert(err:find('got "a', 1, true), err)
  assert(not err:find("\0", 1, true), "a raw NUL in the message: " .. err)
  -- a number and a string that look alike are told apart
  ok, err = pcall(function() assert_eq(1, "1") end)
  assert(err:find('got "1"', 1, true), err)
  assert(err:find("expected 1", 1, true), err)
end)

test("assert_eq's message is part of the failure", function()
  local ok, err = pcall(function() assert_eq(3, 2, "the count of things") end)
  assert_eq(false, ok)
  assert(err:find("the count of things", 1, true), err)
  assert(err:find("expected 3, got 2", 1, true), err)
end)

test("assert_contains on strings", function()
  assert_contains("haystack with a needle", "needle")
  assert_contains("a.b", ".")  -- plain text
  local ok, err = pcall(function() assert_contains("haystack", "needle") end); local line = here()
  assert_eq(false, ok)
  assert(err:find("haystack", 1, true), err)
  assert(err:find("needle", 1, true), err)
  assert(err:find("assertions.lua:" .. line, 1, true), "no assertions.lua:" .. line .. " in " .. err)
  assert_eq(false, pcall(assert_contains, "axb", "a.b"))
  ok, err = pcall(function() assert_contains("abc", "z", "what was looked for") end)
  assert(err:find("what was looked for", 1, true), err)
end)

test("assert_contains on lists", function()
  assert_contains({"a", "b", "c"}, "b")
  assert_contains({1, 2, 3}, 2)
  local ok, err = pcall(function() assert_contains({"first", "second"}, "third") end)
  assert_eq(false, ok)
  assert(err:find("first", 1, true), err)
  assert(err:find("second", 1, true), err)
  assert(err:find("third", 1, true), err)
  assert_eq(false, pcall(assert_contains, {}, "x"))
end)

test("assert_contains on exec output", function()
  local vm = provium.fixture("base")
  local r = vm:exec("echo 'kernel says hello'")
  assert_contains(r.stdout, "says")
  assert_contains(vm:exec("echo oops >&2").stderr, "oops")
  local ok, err = pcall(function() assert_contains(r.stdout, "goodbye") end)
  assert_eq(false, ok)
  assert(err:find("kernel says hello", 1, true), err)
  assert(err:find("goodbye", 1, true), err)
end)

-- test() runs its function at once, in order.
local order = {}
test("first", function() order[#order + 1] = "first" end)
order[#order + 1] = "between"
test("second", function() order[#order + 1] = "second" end)
test("blocks ran at once and in order", function()
  assert_eq("first,between,second", table.concat(order, ","))
end)

test("an error inside pcall does not fail the block", function()
  local ok, err = pcall(error, "handled")
  assert_eq(false, ok)
  assert_contains(err, "handled")
end)

test("dofile resolves against the run's start directory and returns the chunk's values", function()
  local linux = dofile("tests/lua_helpers/linux.lua")
  assert_eq(39, linux.SYS.getpid)
  assert_eq(0x541B, linux.FIONREAD)
  local values = dofile("tests/lua_helpers/values.lua")
  assert_eq(42, values.answer)
  assert_eq(true, values.helper_ran)
  assert_eq(false, pcall(dofile, "tests/lua_helpers/no-such-helper.lua"))
end)
