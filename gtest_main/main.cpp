// main() of provium_gtest_main: GoogleTest plus Provium's flags and environment.
#include <gmock/gmock.h>

#include <provium/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  provium::testing::Init(&argc, argv);
  return provium::testing::ExitCode(RUN_ALL_TESTS());
}
