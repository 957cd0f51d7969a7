// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/merged_source.h"

namespace netfence::flowlog {

MergedRecordSource::MergedRecordSource(std::vector<RecordSource*> sources) {
  for (RecordSource* s : sources) heads_.push_back({s, {}, {}, false, false});
}

RecordSource::Result MergedRecordSource::Next(FlowRecord* record, std::string* line, std::string* error) {
  // Fill every head; a malformed line is handed on at once.
  for (Head& h : heads_) {
    if (h.ready || h.ended) continue;
    const Result res = h.source->Next(&h.record, &h.line, error);
    if (res == Result::kEnd) {
      h.ended = true;
    } else if (res == Result::kMalformed) {
      *line = h.line;
      where_ = h.source->where();
      return res;
    } else {
      h.ready = true;
    }
  }
  Head* first = nullptr;
  for (Head& h : heads_) {
    if (h.ready && (first == nullptr || h.record.time_ns < first->record.time_ns)) first = &h;
  }
  if (first == nullptr) return Result::kEnd;
  *record = std::move(first->record);
  *line = std::move(first->line);
  where_ = first->source->where();
  first->ready = false;
  return Result::kRecord;
}

void MergedRecordSource::Stop() {
  for (Head& h : heads_) h.source->Stop();
}

std::string MergedRecordSource::where() const { return where_; }

}  // namespace netfence::flowlog
