// With two.cpp: a program whose two source files define the same PROVIUM_FIXTURE, which
// provium::testing::Init refuses (tests/e2e/prerequisites_test.cpp runs it).
#include <provium/gtest.h>

PROVIUM_FIXTURE(twice) { vm.exec("touch /tmp/one"); }

TEST_F(twice, FromOne) {}
