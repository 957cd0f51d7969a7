// SPDX-License-Identifier: Apache-2.0
// Bitmap rows: the arena of 64-bit words every table's rows live in.
// A row of W words is stored as S = ceil(W/64) summary words (bit i of summary word j says
// word 64j+i is non-zero) followed by the W words. Identical rows of one table direction
// are stored once.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace netfence::compiler {

inline uint32_t SummaryWords(uint32_t row_words) { return (row_words + 63) / 64; }

class RowWriter {
 public:
  // `arena` receives the rows; `row_words` is the width of every row of this direction.
  RowWriter(std::vector<uint64_t>* arena, uint32_t row_words);
  // Starts a new table direction (rows are deduplicated within one), keeping the buffers.
  void Reset(uint32_t row_words);

  // Stores `bits` (row_words words) and returns its offset, or kEmptyRow if all zero.
  uint32_t Put(const uint64_t* bits);
  uint64_t rows() const { return rows_; }

 private:
  std::vector<uint64_t>* arena_;
  uint32_t row_words_;
  uint32_t summary_words_;
  // Rows stored so far, as an open-addressing set of offsets keyed by the row's hash; the
  // words themselves are compared in the arena (no copies, no allocation per row).
  std::vector<uint32_t> slots_;
  uint64_t rows_ = 0;
};

// A bit set of fixed width, the working form of a row while tables are built. Rows of up
// to 128 rules (nearly all of them) live inline, without allocation.
class Bits {
 public:
  explicit Bits(uint32_t nbits = 0) : words_((nbits + 63) / 64) {}
  void set(uint32_t b) { words_[b / 64] |= uint64_t{1} << (b % 64); }
  void clear(uint32_t b) { words_[b / 64] &= ~(uint64_t{1} << (b % 64)); }
  void flip(uint32_t b) { words_[b / 64] ^= uint64_t{1} << (b % 64); }
  const uint64_t* data() const { return words_.data(); }
  bool operator==(const Bits& o) const {
    return words_.size() == o.words_.size() && std::memcmp(data(), o.data(), words_.size() * 8) == 0;
  }

 private:
  // A vector with two words of inline storage.
  class Words {
   public:
    explicit Words(size_t n) : n_(n) {
      if (n > kInline) heap_.assign(n, 0);
    }
    size_t size() const { return n_; }
    uint64_t* data() { return n_ > kInline ? heap_.data() : inline_; }
    const uint64_t* data() const { return n_ > kInline ? heap_.data() : inline_; }
    uint64_t& operator[](size_t i) { return data()[i]; }
    const uint64_t* begin() const { return data(); }
    const uint64_t* end() const { return data() + n_; }

   private:
    static constexpr size_t kInline = 2;
    size_t n_;
    uint64_t inline_[kInline] = {0, 0};
    std::vector<uint64_t> heap_;
  };
  Words words_;
};

}  // namespace netfence::compiler
