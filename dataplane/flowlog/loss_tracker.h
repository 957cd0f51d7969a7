// SPDX-License-Identifier: Apache-2.0
// LossTracker: counts events the flow log could not record, at one place of the pipeline
// (the BPF ring buffer, the agent's queue, a sink's queue, the disk), and turns them into
// `lost` records, so the log itself says how much is missing and when.
//
//   LossTracker ring("ring-buffer");
//   ring.ObserveTotal(counters[NF_CNT_EVENTS_LOST], now);  // a cumulative counter: adds the delta
//   queue_loss.Add(1, now);                                // or count each loss (any thread, lock-free)
//   if (auto r = ring.TakeRecord(now, node)) sink.Write(*r);  // one `lost` record per period with loss
//   metrics: ring.total()                                  // lost since start, never reset
//
// Add() is wait-free (two atomics); TakeRecord() is meant for one thread (the writer). A
// loss between two TakeRecord calls is reported by the second: every lost event appears in
// exactly one record, `since` is the first loss of the period and `until` the last.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

class LossTracker {
 public:
  explicit LossTracker(std::string where) : where_(std::move(where)) {}

  // n more events lost at time now_ns (wall clock).
  void Add(uint64_t n, int64_t now_ns);
  // A cumulative loss counter read from elsewhere (e.g. the XDP counters): adds what it grew
  // by since the last observation. The first observation is taken as the baseline unless
  // count_first is set (then all of it counts, e.g. for a counter that starts at 0 with us).
  void ObserveTotal(uint64_t total, int64_t now_ns, bool count_first = false);

  // The loss since the last call as a `lost` record, or nullopt when nothing was lost.
  std::optional<FlowRecord> TakeRecord(int64_t now_ns, const std::string& node);

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  const std::string& where() const { return where_; }

 private:
  std::string where_;
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> reported_{0};
  std::atomic<int64_t> first_ns_{0};  // first loss not yet reported (0: none)
  std::atomic<int64_t> last_ns_{0};
  bool observed_ = false;  // ObserveTotal: single caller
  uint64_t last_total_ = 0;
};

}  // namespace netfence::flowlog
