#include "controlplane/compiler/rows.h"

#include "controlplane/compiler/compiler.h"

namespace netfence::compiler {

RowWriter::RowWriter(std::vector<uint64_t>* arena, uint32_t row_words)
    : arena_(arena), row_words_(row_words), summary_words_(SummaryWords(row_words)) {}

uint32_t RowWriter::Put(const uint64_t* bits) {
  bool any = false;
  for (uint32_t i = 0; i < row_words_ && !any; ++i) any = bits[i] != 0;
  if (!any) return kEmptyRow;
  std::string key(reinterpret_cast<const char*>(bits), row_words_ * sizeof(uint64_t));
  auto [it, inserted] = seen_.try_emplace(std::move(key), 0);
  if (!inserted) return it->second;
  uint32_t offset = static_cast<uint32_t>(arena_->size());
  it->second = offset;
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
