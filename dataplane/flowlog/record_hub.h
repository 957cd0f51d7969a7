// SPDX-License-Identifier: Apache-2.0
// RecordHub: the live side of the flow log, behind the agent's Observe stream. The pipeline
// publishes every record once (the same record and line the file gets); the hub keeps the
// last `history` of them in memory (what `since` queries can reach, like Hubble's ring) and
// queues each for every subscriber whose filter it matches.
//
// Subscribers never slow the pipeline: a subscriber's queue is bounded; a record that does
// not fit is counted, and the subscriber's next Take() starts with a `lost` record
// (lost_at "observe-queue") saying how many of its records were dropped and when. The file
// and the other subscribers are not affected.
//
//   auto sub = hub.Subscribe(filter, /*history=*/true, /*live=*/true, [&] { wake_writer(); });
//   for (auto e = hub.Take(*sub); e; e = hub.Take(*sub)) send(e->line);   // on notify
//   hub.Unsubscribe(sub);   // after it returns, notify is never called again
//
// notify() is called on the publishing thread, outside the hub's lock, whenever the
// subscription had nothing queued and something arrived; it may call Take().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/flowlog/flow_filter.h"
#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/loss_tracker.h"

namespace netfence::flowlog {

// One record as written: the record and its JSON line.
struct Emitted {
  FlowRecord record;
  std::string line;
};
using EmittedPtr = std::shared_ptr<const Emitted>;

// Where the pipeline's records go (the file, the hub).
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void Write(const EmittedPtr& e) = 0;
};

class RecordHub : public RecordSink {
 public:
  struct Options {
    size_t history = 8192;  // records kept for `since` queries
    size_t queue = 8192;    // per subscriber, beyond its history backlog
    std::string node;       // in the subscribers' lost records
  };
  struct HistoryInfo {
    int64_t oldest_ns = 0;   // time of the oldest record kept (0: none)
    uint64_t records = 0;    // kept
    bool truncated = false;  // records matching the filter's since may have left the history
  };
  struct Subscription;

  explicit RecordHub(Options options) : options_(std::move(options)) {}
  ~RecordHub() override;

  void Write(const EmittedPtr& e) override;  // publish

  // history: start with the kept records the filter matches; live: then every new one.
  std::shared_ptr<Subscription> Subscribe(FlowFilter filter, bool history, bool live, std::function<void()> notify,
                                          HistoryInfo* info = nullptr);
  void Unsubscribe(const std::shared_ptr<Subscription>& s);
  // The next record for the subscription (a lost record first after an overflow); null when
  // nothing is queued.
  EmittedPtr Take(Subscription& s);

  size_t subscribers() const;
  uint64_t lost_total() const { return lost_.total(); }  // over every subscriber

 private:
  Options options_;
  mutable std::mutex mu_;
  std::deque<EmittedPtr> history_;
  int64_t evicted_newest_ns_ = 0;  // the latest `time` among records that left the history
  bool evicted_ = false;
  std::vector<std::shared_ptr<Subscription>> subs_;
  LossTracker lost_{"observe-queue"};
};

struct RecordHub::Subscription {
  FlowFilter filter;
  std::function<void()> notify;
  std::deque<EmittedPtr> queue;  // under the hub's lock
  size_t capacity = 0;
  bool notified = false;
  uint64_t lost = 0;
  int64_t lost_first_ns = 0, lost_last_ns = 0;
  std::mutex notify_mu;  // held while notify() runs; Unsubscribe waits for it
  bool closed = false;
};

}  // namespace netfence::flowlog
