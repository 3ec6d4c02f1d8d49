// See one.cpp.
#include <provium/gtest.h>

PROVIUM_FIXTURE(twice) { vm.exec("touch /tmp/two"); }

TEST_F(twice, FromTwo) {}
