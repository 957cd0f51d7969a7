// SPDX-License-Identifier: Apache-2.0
#include "common/base/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace netfence {
namespace {

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonDepthTest, CountsArraysAndObjectsOutsideStrings) {
  EXPECT_TRUE(CheckJsonDepth(R"({"a":[{"b":[1,2]}]})", 4).ok());
  EXPECT_FALSE(CheckJsonDepth(R"({"a":[{"b":[1,2]}]})", 3).ok());
  EXPECT_TRUE(CheckJsonDepth(Nested(100)).ok());
  const Status deep = CheckJsonDepth(Nested(101));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.message(), "JSON nests deeper than 100 levels (at byte 100)");
}

TEST(JsonDepthTest, BracketsInsideStringsDoNotCount) {
  EXPECT_TRUE(CheckJsonDepth(R"({"s":"[[[[[[[[[[{{{{{{"})", 2).ok());
  EXPECT_TRUE(CheckJsonDepth(R"({"s":"a\"[[[[[[[[[["})", 2).ok()) << "an escaped quote does not end the string";
  EXPECT_TRUE(CheckJsonDepth(R"({"s":"a\\"})", 1).ok()) << "an escaped backslash does";
}

TEST(JsonDepthTest, AMegabyteDeepIsRefusedWithoutRecursion) {
  EXPECT_FALSE(CheckJsonDepth(std::string(1 << 20, '[')).ok());
}

}  // namespace
}  // namespace netfence
