// SPDX-License-Identifier: Apache-2.0
// MergedRecordSource: several record sources (the logs of several nodes, several agents'
// streams) read as one, in time order. Each source is read one record ahead and the earliest
// record goes first, so memory stays one record per source; within a source the order is the
// source's own (a log is written roughly in time order).
//
//   std::vector<std::unique_ptr<RecordSource>> parts = ...;
//   MergedRecordSource all(std::move(parts));
//   while (all.Next(&r, &line, &error) != RecordSource::Result::kEnd) ...
//
// Malformed lines are passed on as they come (where() names their source).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataplane/flowlog/record_source.h"

namespace netfence::flowlog {

class MergedRecordSource : public RecordSource {
 public:
  explicit MergedRecordSource(std::vector<RecordSource*> sources);
  Result Next(FlowRecord* record, std::string* line, std::string* error) override;
  void Stop() override;
  std::string where() const override;

 private:
  struct Head {
    RecordSource* source;
    FlowRecord record;
    std::string line;
    bool ready = false;  // record/line hold the next record
    bool ended = false;
  };
  std::vector<Head> heads_;
  std::string where_;
};

}  // namespace netfence::flowlog
