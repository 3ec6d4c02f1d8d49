-- Takes two seconds: still running when a faster file fails (--fail-fast lets it finish).
test("slow", function()
  provium.sleep(2)
end)
