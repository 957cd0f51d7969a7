// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/port_flatten.h"

#include <gtest/gtest.h>

namespace netfence::compiler {
namespace {

uint64_t W(const FlatPortRange& r) { return r.rules.data()[0]; }

TEST(PortFlatten, OverlappingRangesSplitAndAdjacentEqualRangesMerge) {
  std::vector<PortSpan> spans = {
      {6, 80, 80, 0}, {6, 1000, 2000, 1}, {6, 1500, 3000, 2}, {6, 3001, 4000, 2}, {17, 53, 53, 0},
  };
  auto flat = FlattenPorts(spans, 3);
  ASSERT_EQ(flat.size(), 5u);
  EXPECT_EQ(std::tuple(flat[0].protocol, flat[0].first, flat[0].last, W(flat[0])), std::tuple(6, 80, 80, 1ull));
  EXPECT_EQ(std::tuple(flat[1].first, flat[1].last, W(flat[1])), std::tuple(1000, 1499, 2ull));
  EXPECT_EQ(std::tuple(flat[2].first, flat[2].last, W(flat[2])), std::tuple(1500, 2000, 6ull));
  EXPECT_EQ(std::tuple(flat[3].first, flat[3].last, W(flat[3])), std::tuple(2001, 4000, 4ull));
  EXPECT_EQ(std::tuple(flat[4].protocol, flat[4].first, W(flat[4])), std::tuple(17, 53, 1ull));
}

TEST(PortFlatten, FullRangeReachesPort65535) {
  auto flat = FlattenPorts({{132, 0, 65535, 0}, {132, 65535, 65535, 1}}, 2);
  ASSERT_EQ(flat.size(), 2u);
  EXPECT_EQ(flat[1].first, 65535);
  EXPECT_EQ(flat[1].last, 65535);
  EXPECT_EQ(W(flat[1]), 3ull);
}

}  // namespace
}  // namespace netfence::compiler
