-- todo(reason) inside a block: the block ends there and counts as skipped, not failed; the
-- other blocks of the file run and pass.
local after_todo_ran = false
local before_todo_ran = false

test("a block before", function()
  assert_eq(2, 1 + 1)
end)

test("waiting for a kernel feature", function()
  before_todo_ran = true
  todo("needs a kernel with the feature")
  after_todo_ran = true
  error("todo() did not end the block")
end)

test("todo ended its block and later blocks still run", function()
  assert_eq(true, before_todo_ran)
  assert_eq(false, after_todo_ran)
end)

test("a block with a VM after the todo", function()
  local vm = provium.fixture("base")
  assert_eq("fine\n", vm:exec("echo fine").stdout.value)
end)
