// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/rows.h"

#include <algorithm>

#include "controlplane/compiler/compiler.h"

namespace netfence::compiler {

RowWriter::RowWriter(std::vector<uint64_t>* arena, uint32_t row_words)
    : arena_(arena), row_words_(row_words), summary_words_(SummaryWords(row_words)) {}

namespace {
uint64_t HashWords(const uint64_t* w, uint32_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (uint32_t i = 0; i < n; ++i) h = (h ^ w[i]) * 0xBF58476D1CE4E5B9ull, h ^= h >> 31;
  return h;
}
}  // namespace

void RowWriter::Reset(uint32_t row_words) {
  row_words_ = row_words;
  summary_words_ = SummaryWords(row_words);
  if (slots_.size() > 256) {
    slots_ = {};  // after a large table: start small again rather than clear a big set
  } else if (rows_ > 0) {
    std::fill(slots_.begin(), slots_.end(), kEmptyRow);
  }
  rows_ = 0;
}

uint32_t RowWriter::Put(const uint64_t* bits) {
  bool any = false;
  for (uint32_t i = 0; i < row_words_ && !any; ++i) any = bits[i] != 0;
  if (!any) return kEmptyRow;
  if ((rows_ + 1) * 2 > slots_.size()) {  // keep the set at most half full
    std::vector<uint32_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(8, old.size() * 2), kEmptyRow);
    for (uint32_t off : old) {
      if (off == kEmptyRow) continue;
      size_t i = HashWords(arena_->data() + off + summary_words_, row_words_) & (slots_.size() - 1);
      while (slots_[i] != kEmptyRow) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = off;
    }
  }
  size_t slot = HashWords(bits, row_words_) & (slots_.size() - 1);
  for (; slots_[slot] != kEmptyRow; slot = (slot + 1) & (slots_.size() - 1)) {
    if (std::memcmp(arena_->data() + slots_[slot] + summary_words_, bits, row_words_ * 8) == 0) return slots_[slot];
  }
  uint32_t offset = static_cast<uint32_t>(arena_->size());
  slots_[slot] = offset;
  arena_->resize(arena_->size() + summary_words_ + row_words_, 0);
  uint64_t* summary = arena_->data() + offset;
  uint64_t* words = summary + summary_words_;
  for (uint32_t i = 0; i < row_words_; ++i) {
    words[i] = bits[i];
    if (bits[i]) summary[i / 64] |= uint64_t{1} << (i % 64);
  }
  ++rows_;
  return offset;
}

}  // namespace netfence::compiler
