// SPDX-License-Identifier: Apache-2.0
// NETFENCE_REQUIRE_NETNS(): the first statement of a real-packet test (or its fixture's SetUp).
// Skips the test when this process cannot create network namespaces (not root, or `ip netns add`
// refused), except in CI (CI set in the environment), where namespaces must work and it fails.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/testing/netns.h"

#define NETFENCE_REQUIRE_NETNS()                                                                            \
  do {                                                                                                      \
    const ::netfence::Status& netns_status_ = ::netfence::nettest::NetnsAvailable();                        \
    if (!netns_status_.ok()) {                                                                              \
      if (std::getenv("CI")) FAIL() << "network namespaces unavailable in CI: " << netns_status_.message(); \
      GTEST_SKIP() << "network namespaces unavailable: " << netns_status_.message();                        \
    }                                                                                                       \
  } while (0)
