// What a test needs from the host that an install step brings (a program, a kernel): without
// it the test skips, saying what is missing and which Debian package brings it; with
// PROVIUM_REQUIRE=1 (CI and the clean-root check) it fails instead, since there a skip would
// hide a missing install step.
#pragma once

#include <gtest/gtest.h>

#include "base/settings.h"

// Use in a test body or SetUp: PROVIUM_TEST_NEEDS(fs::exists("/usr/bin/cpio"), "GNU cpio (Debian: cpio)");
#define PROVIUM_TEST_NEEDS(condition, missing)                                       \
  if (!(condition)) {                                                                \
    if (::provium::base::settings()->require_prerequisites)                                 \
      GTEST_FAIL() << "missing: " << missing << " (PROVIUM_REQUIRE=1 fails instead of skipping)"; \
    GTEST_SKIP() << "missing: " << missing;                                          \
  }
