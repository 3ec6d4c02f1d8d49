test("e needs no VM", function()
  assert_eq(42, 6 * 7)
end)
