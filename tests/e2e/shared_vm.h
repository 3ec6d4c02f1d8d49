// One booted VM for all the tests of a suite: booting takes seconds under TCG, and these
// tests leave the guest as they found it. (A TEST_F of a fixture gets a fresh VM instead.)
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include <provium/provium.h>

class SharedVmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vm_ = std::make_unique<provium::Vm>(provium::create());
    vm_->boot();
  }
  static void TearDownTestSuite() { vm_.reset(); }
  provium::Vm& vm() { return *vm_; }

 private:
  static inline std::unique_ptr<provium::Vm> vm_;
};
