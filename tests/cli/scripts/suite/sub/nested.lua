-- Named sub/nested.lua in the report: names are relative to the directory given.
test("nested", function()
  assert_eq(3, #"abc")
end)
