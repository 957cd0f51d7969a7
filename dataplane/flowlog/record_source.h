// SPDX-License-Identifier: Apache-2.0
// RecordSource: where `netfencectl flows` (and anything else that reads the flow log) gets
// records from. FileRecordSource reads the file and its rotated siblings, oldest first, and
// can follow the file across rotations like `tail -F`. The live gRPC Observe stream will be
// another implementation of the same interface.
//
//   FileRecordSource src({.path = "/var/log/netfence/flows.jsonl", .follow = true});
//   FlowRecord r; std::string line, error;
//   for (;;) {
//     auto res = src.Next(&r, &line, &error);
//     if (res == RecordSource::Result::kEnd) break;
//     if (res == RecordSource::Result::kMalformed) { ++bad; continue; }  // error, src.where()
//     ...                                            // line: the record's text as read
//   }
//   src.Stop();   // from any thread: a Next() waiting for more returns kEnd
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

class RecordSource {
 public:
  enum class Result {
    kRecord,     // *record and *line are set
    kMalformed,  // *line is the text, *error why it is not a record
    kEnd,        // no more (end of the files, or stopped)
  };
  virtual ~RecordSource() = default;
  virtual Result Next(FlowRecord* record, std::string* line, std::string* error) = 0;
  // Thread-safe; a blocked Next() returns kEnd soon after.
  virtual void Stop() = 0;
  // Where the last line came from ("FILE:LINE"), for messages.
  virtual std::string where() const = 0;
};

struct FileSourceOptions {
  std::string path;
  bool include_rotated = true;  // read the rotated siblings first (oldest first)
  bool follow = false;          // at the end, wait for more, across rotations
  int64_t poll_interval_ns = 100'000'000;
};

class FileRecordSource : public RecordSource {
 public:
  explicit FileRecordSource(FileSourceOptions options);
  ~FileRecordSource() override;
  Result Next(FlowRecord* record, std::string* line, std::string* error) override;
  void Stop() override { stop_.store(true); }
  std::string where() const override;

  // The files it reads (or read) in order; the live file last. Following, the files rotated
  // meanwhile are read before the new live file, so a slow reader misses nothing that
  // retention keeps.
  const std::vector<std::string>& files() const { return files_; }
  // Files that could not be opened (missing, permissions), with the reason.
  const std::vector<std::string>& open_errors() const { return open_errors_; }

 private:
  bool NextLine(std::string* line);                    // false: end (or stopped)
  bool TakeLine(std::string* line, bool partial_too);  // a line from buf_, if there is one
  void CloseCurrent();
  void QueueRotatedSince(bool skip_current);
  bool RotatedSinceListing() const;
  bool OpenNext();
  bool ReadMore();                // false: nothing more in the open file now
  bool LiveFileReplaced() const;  // the path now names another file (rotated)

  FileSourceOptions o_;
  std::vector<std::string> files_;
  std::vector<std::string> open_errors_;
  size_t next_file_ = 0;
  std::string last_rotated_;  // the newest rotated file known to be read (or skipped)
  int fd_ = -1;
  std::string current_;
  uint64_t line_no_ = 0;
  bool on_live_ = false;  // the open file is o_.path itself
  uint64_t dev_ = 0, ino_ = 0;
  std::string buf_;
  size_t buf_pos_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace netfence::flowlog
