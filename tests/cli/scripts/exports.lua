-- Run alone: the options that concern VMs reach the file's process as Provium's variables.
test("exports", function()
  assert_eq(os.getenv("PROVIUM_POOL_MEM"), "1G")
  assert_eq(os.getenv("PROVIUM_POOL_CPUS"), "2")
  assert_eq(os.getenv("PROVIUM_ACCEL"), "tcg")
  assert_eq(os.getenv("PROVIUM_CONFIG"), os.getenv("CLI_TEST_CONFIG"))
  print("exports seen")
end)
