// A suite of 100 TEST_F on one fixture, the shape of a real kernel test suite: each test gets a
// fresh VM resumed from the snapshot, runs one command and reads one file. provium_resume_bench
// times the whole process (HundredTestSuite); it also runs on its own:
//   build/bench/provium_suite_bench
#include <provium/gtest.h>

PROVIUM_FIXTURE(suite) { vm.exec("echo prepared > /tmp/prepared"); }

#define PROVIUM_SUITE_TEST(n)                          \
  TEST_F(suite, Test##n) {                             \
    EXPECT_EQ(vm.exec("echo " #n).out, #n "\n");       \
    EXPECT_EQ(vm.read_file("/tmp/prepared"), "prepared\n"); \
  }
#define PROVIUM_SUITE_TEN(n)                                                              \
  PROVIUM_SUITE_TEST(n##0) PROVIUM_SUITE_TEST(n##1) PROVIUM_SUITE_TEST(n##2)              \
  PROVIUM_SUITE_TEST(n##3) PROVIUM_SUITE_TEST(n##4) PROVIUM_SUITE_TEST(n##5)              \
  PROVIUM_SUITE_TEST(n##6) PROVIUM_SUITE_TEST(n##7) PROVIUM_SUITE_TEST(n##8)              \
  PROVIUM_SUITE_TEST(n##9)
PROVIUM_SUITE_TEN(1) PROVIUM_SUITE_TEN(2) PROVIUM_SUITE_TEN(3) PROVIUM_SUITE_TEN(4)
PROVIUM_SUITE_TEN(5) PROVIUM_SUITE_TEN(6) PROVIUM_SUITE_TEN(7) PROVIUM_SUITE_TEN(8)
PROVIUM_SUITE_TEN(9) PROVIUM_SUITE_TEN(10)
