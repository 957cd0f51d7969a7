// SPDX-License-Identifier: Apache-2.0
// FileSink: the flow log on disk. Appends NDJSON lines to a file (default
// /var/log/netfence/flows.jsonl), rotates it by size and by age, keeps a bounded number of
// rotated files, and never loses or splits a line while doing so.
//
//   FileSinkOptions o;                      // defaults: 100 MiB, 1 h, keep 10 files / 1 GiB
//   o.path = "/var/log/netfence/flows.jsonl";
//   o.node = "node-a";
//   auto sink = FileSink::Open(o);          // creates the directory; appends to an existing file
//   sink.value()->Write(record);            // any thread; never waits for the disk
//   sink.value()->Flush();                  // waits until all written so far is in the file
//
// - Callers only serialize and enqueue: one writer thread owns the file. When its queue
//   (queue_lines) is full the line is dropped and counted; the writer then writes a `lost`
//   record (lost_at "sink-queue") into the file itself. Lines the disk refuses (ENOSPC, EIO)
//   are removed again from the file (no half line stays) and counted, and reported as a
//   `lost` record (lost_at "write-error") once writing works again. Nothing is fatal.
// - Rotation happens between lines: the file is fsync'ed (per policy), renamed to
//   flows-<UTC time, e.g. 2026-12-01T19-33-34.123456789Z>.jsonl next to it, and a new one is
//   created. Rotated names sort in time order, and strictly increase. A file is rotated
//   before a line would make it larger than max_file_bytes (a longer line gets a file of its
//   own), and when it is older than max_file_age_ns (age counted from when the sink opened or
//   created it) and not empty.
// - Retention: after each rotation, the oldest rotated files beyond keep_files or beyond
//   keep_bytes (total of the rotated files) are deleted.
// - Readers (netfencectl flows) list the rotated siblings with RotatedSiblings().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/loss_tracker.h"

namespace netfence::flowlog {

enum class FsyncPolicy {
  kNever,       // the kernel writes back when it likes
  kOnRotate,    // fsync a file before it is renamed (default)
  kInterval,    // also at most every fsync_interval_ns while writing
  kEveryBatch,  // after every write(2) (slow; for tests and paranoid setups)
};

struct FileSinkOptions {
  std::string path = "/var/log/netfence/flows.jsonl";
  uint64_t max_file_bytes = 100ull << 20;      // 0: no size rotation
  int64_t max_file_age_ns = 3600'000'000'000;  // 0: no age rotation
  size_t keep_files = 10;                      // rotated files kept; 0: unlimited
  uint64_t keep_bytes = 1ull << 30;            // bytes of rotated files kept; 0: unlimited
  FsyncPolicy fsync = FsyncPolicy::kOnRotate;
  int64_t fsync_interval_ns = 1'000'000'000;
  size_t queue_lines = 65536;      // lines waiting for the writer
  std::string node;                // written into the sink's own `lost` records
  std::function<int64_t()> clock;  // wall clock, ns; default WallNowNs
};

class FileSink {
 public:
  static StatusOr<std::unique_ptr<FileSink>> Open(FileSinkOptions options);
  ~FileSink();  // writes everything queued, then closes
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Queues one record / one line (without its newline; a line must not contain one).
  // Returns false when the queue was full: the line is dropped and counted.
  bool Write(const FlowRecord& record);
  bool WriteLine(std::string line);

  // Blocks until every line queued before the call is written (or failed), the sink's own
  // `lost` records included, and age rotation was checked against the clock.
  void Flush();

  struct Stats {
    uint64_t lines_written = 0;  // lines in the files (the sink's lost records included)
    uint64_t bytes_written = 0;
    uint64_t queue_full = 0;    // lines dropped because the queue was full
    uint64_t write_errors = 0;  // lines the disk refused
    uint64_t rotations = 0;
    uint64_t rotation_failures = 0;  // renames refused: the file grows on, retried with backoff
    uint64_t files_removed = 0;      // by retention
  };
  Stats stats() const;

 private:
  explicit FileSink(FileSinkOptions options);
  Status OpenCurrent();
  void Run();
  // false: (some of) the lines were refused. `report`: the sink's own lost records, which are
  // not counted as write errors when refused (their loss is given back to their tracker).
  bool WriteBatch(std::vector<std::string>* lines, bool report);
  bool WriteBuffer(const std::string& buf, size_t lines, bool report);
  void CountRefused(size_t lines, bool report);
  void Rotate();
  void ApplyRetention();
  void MaybeFsync(bool force);
  void WriteLossRecords();

  FileSinkOptions o_;
  int fd_ = -1;
  uint64_t size_ = 0;            // of the current file
  int64_t opened_ns_ = 0;        // when the current file was opened or created
  int64_t last_rotated_ns_ = 0;  // the name of the newest rotated file
  // A refused rename is retried after a backoff (1 s, doubling to 60 s), not on every line.
  int64_t rotate_retry_at_ns_ = 0;
  int64_t rotate_backoff_ns_ = 0;
  int64_t last_fsync_ns_ = 0;
  bool dirty_ = false;  // written since the last fsync

  LossTracker queue_loss_{"sink-queue"};
  LossTracker write_loss_{"write-error"};

  mutable std::mutex mu_;
  std::condition_variable cv_;       // work for the writer
  std::condition_variable done_cv_;  // the writer finished a round
  std::vector<std::string> queue_;
  uint64_t queued_seq_ = 0, done_seq_ = 0, flush_seq_ = 0;
  bool stop_ = false;

  std::atomic<uint64_t> lines_written_{0}, bytes_written_{0}, queue_full_{0}, write_errors_{0}, rotations_{0},
      rotation_failures_{0}, files_removed_{0};
  std::thread writer_;
};

// The rotated files of `path` (stem-<time>.ext in its directory), oldest first.
std::vector<std::string> RotatedSiblings(const std::string& path);

}  // namespace netfence::flowlog
