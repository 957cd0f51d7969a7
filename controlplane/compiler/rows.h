// Bitmap rows: the arena of 64-bit words every table's rows live in.
// A row of W words is stored as S = ceil(W/64) summary words (bit i of summary word j says
// word 64j+i is non-zero) followed by the W words. Identical rows of one table direction
// are stored once.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace netfence::compiler {

inline uint32_t SummaryWords(uint32_t row_words) { return (row_words + 63) / 64; }

class RowWriter {
 public:
  // `arena` receives the rows; `row_words` is the width of every row of this direction.
  RowWriter(std::vector<uint64_t>* arena, uint32_t row_words);

  // Stores `bits` (row_words words) and returns its offset, or kEmptyRow if all zero.
  uint32_t Put(const uint64_t* bits);
  uint64_t rows() const { return rows_; }

 private:
  std::vector<uint64_t>* arena_;
  uint32_t row_words_;
  uint32_t summary_words_;
  std::unordered_map<std::string, uint32_t> seen_;  // row bytes -> offset
  uint64_t rows_ = 0;
};

// A growable bit set of fixed width, the working form of a row while tables are built.
class Bits {
 public:
  explicit Bits(uint32_t nbits = 0) : words_((nbits + 63) / 64, 0) {}
  void set(uint32_t b) { words_[b / 64] |= uint64_t{1} << (b % 64); }
  void clear(uint32_t b) { words_[b / 64] &= ~(uint64_t{1} << (b % 64)); }
  void flip(uint32_t b) { words_[b / 64] ^= uint64_t{1} << (b % 64); }
  void or_with(const Bits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= o.words_[i];
  }
  bool any() const {
    for (auto w : words_) if (w) return true;
    return false;
  }
  const uint64_t* data() const { return words_.data(); }
  bool operator==(const Bits&) const = default;

 private:
  std::vector<uint64_t> words_;
};

}  // namespace netfence::compiler
