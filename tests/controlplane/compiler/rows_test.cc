// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/rows.h"

#include <gtest/gtest.h>

#include "controlplane/compiler/compiler.h"

namespace netfence::compiler {
namespace {

TEST(RowWriter, SummaryMarksNonZeroWordsAndIdenticalRowsAreStoredOnce) {
  std::vector<uint64_t> arena;
  RowWriter w(&arena, 130);  // 130 words: 3 summary words
  std::vector<uint64_t> row(130, 0);
  row[0] = 1;
  row[65] = 0x80;
  row[129] = 4;
  uint32_t off = w.Put(row.data());
  EXPECT_EQ(off, 0u);
  ASSERT_EQ(arena.size(), 133u);
  EXPECT_EQ(arena[0], 1ull);
  EXPECT_EQ(arena[1], 2ull);
  EXPECT_EQ(arena[2], 2ull);
  EXPECT_EQ(arena[3 + 65], 0x80ull);
  EXPECT_EQ(w.Put(row.data()), off);
  EXPECT_EQ(arena.size(), 133u);
  std::vector<uint64_t> zero(130, 0);
  EXPECT_EQ(w.Put(zero.data()), kEmptyRow);
  EXPECT_EQ(w.rows(), 1u);
}

}  // namespace
}  // namespace netfence::compiler
