// SPDX-License-Identifier: Apache-2.0
// Test helpers for FieldErrors: a readable dump and an assertion on (type, path, detail).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "controlplane/k8s/errors.h"

namespace netfence::k8s::testing_helpers {

inline std::string Dump(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.str();
  return out.empty() ? " (none)" : out;
}

// True iff some error has exactly this type and path and a detail containing `detail`.
inline ::testing::AssertionResult HasError(const FieldErrors& errors, FieldError::Type type, const std::string& path,
                                           const std::string& detail = "") {
  for (const auto& e : errors) {
    if (e.type == type && e.path == path && e.detail.find(detail) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error at " << path << " containing \"" << detail
                                       << "\"; errors:" << Dump(errors);
}

}  // namespace netfence::k8s::testing_helpers
