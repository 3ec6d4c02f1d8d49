// The suite that shards_test splits across three "machines": two fixtures, and tests that use
// one or the other (and one that uses none), so that each shard needs only some fixtures.
#include <provium/gtest.h>

PROVIUM_FIXTURE(alpha) { vm.write_file("/srv-alpha", "alpha\n"); }
PROVIUM_FIXTURE(beta) { vm.write_file("/srv-beta", "beta\n"); }

TEST_F(alpha, One) { EXPECT_EQ(vm.read_file("/srv-alpha"), "alpha\n"); }
TEST_F(alpha, Two) { EXPECT_EQ(vm.exec("cat /srv-alpha").out, "alpha\n"); }
TEST_F(alpha, Three) { EXPECT_TRUE(vm.exec("test ! -e /srv-beta").ok()); }
TEST_F(beta, One) { EXPECT_EQ(vm.read_file("/srv-beta"), "beta\n"); }
TEST_F(beta, Two) { EXPECT_EQ(vm.exec("cat /srv-beta").out, "beta\n"); }
TEST_F(beta, Three) { EXPECT_TRUE(vm.exec("test ! -e /srv-alpha").ok()); }
TEST(NoVm, Arithmetic) { EXPECT_EQ(6 * 7, 42); }
