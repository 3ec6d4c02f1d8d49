-- Run alone: the options that concern VMs reach the file's process as Provium's variables.
test("exports", function()
  assert_eq("1G", os.getenv("PROVIUM_POOL_MEM"))
  assert_eq("2", os.getenv("PROVIUM_POOL_CPUS"))
  assert_eq("tcg", os.getenv("PROVIUM_ACCEL"))
  assert_eq(os.getenv("CLI_TEST_CONFIG"), os.getenv("PROVIUM_CONFIG"))
  print("exports seen")
end)
