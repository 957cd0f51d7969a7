// SPDX-License-Identifier: Apache-2.0
// Pipeline: the agent's flow log, from the fast path to the sinks. One thread of its own;
// nothing here runs on the packet path, and nothing here waits for a sink: the datapath
// writes events into its ring buffer (a full ring is counted, never waited on), and the
// sinks (the rotating file, the Observe hub) queue what they get.
//
//   auto p = Pipeline::Create(program, {.node = "node-a"}, {&file_sink, &hub});
//   agent.set_on_live([&](uint64_t g, const v1::RuleTables& t, const tables::TableSet& v) {
//     p.value()->OnLive(g, t, v);                      // keeps that generation's names
//   });
//   p.value()->Start();                                // the thread
//   ...
//   p.value()->Stop();                                 // final scan, drops and updates flushed
//
// One round (every poll_interval, or as soon as events arrive):
//   events        NEW_FLOW -> tracker (start); REVOKED -> tracker (end) and a drop; DROP ->
//                 drop aggregation. An event whose generation the history does not know yet
//                 (it raced the agent's OnLive) waits up to a second.
//   scan          every scan_interval: read conntrack, drain the ring, tracker.OnScan (ends;
//                 updates every update_interval)
//   drops         closed aggregates -> `drop` records
//   loss          the datapath's lost-event counter -> a `lost` record (lost_at ring-buffer)
//   history       generations nothing can refer to any more are dropped
//
// Restarts: Stop() writes the open connections' shared fields to options.handover_path (the
// agent's state directory); the next agent's pipeline reads it at Create() and continues those
// connections named exactly as before, whatever programming admitted them.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "common/tables/table_set.h"
#include "dataplane/fastpath/fast_path.h"
#include "dataplane/flowlog/drop_aggregator.h"
#include "dataplane/flowlog/loss_tracker.h"
#include "dataplane/flowlog/pipeline/flow_tracker.h"
#include "dataplane/flowlog/pipeline/generation_history.h"
#include "dataplane/flowlog/record_hub.h"

namespace netfence::flowlog {

struct PipelineOptions {
  std::string node{};
  int64_t update_interval_ns = 10'000'000'000;  // update records of active connections
  int64_t scan_interval_ns = 1'000'000'000;     // conntrack reads (ends are seen at this pace)
  int poll_interval_ms = 100;
  int64_t close_grace_ns = 1'000'000'000;  // see TrackerOptions
  int64_t drop_window_ns = 2'000'000'000;  // drop aggregation window
  size_t drop_max_tuples = 64;             // open exact tuples per (src, dst, proto, dport, reason) before folding
  size_t drop_max_exact = 16384;
  size_t drop_max_folded = 1024;
  bool adopt = true;  // take over the connections an earlier agent was logging (no start records)
  // Where Stop() writes what the next agent needs to continue the open connections' records
  // (their names and rules as admitted), and where Create() reads (and removes) it; "": none.
  std::string handover_path{};
};

class Pipeline {
 public:
  static StatusOr<std::unique_ptr<Pipeline>> Create(const fastpath::FastPath& fast_path, PipelineOptions options,
                                                    std::vector<RecordSink*> sinks);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // A generation became live (any thread; the agent's). Call right after it is programmed.
  void OnLive(uint64_t generation, const v1::RuleTables& tables, const tables::TableSet& view);

  Status Start();
  // Stops the thread after a last round: a final scan, every open drop aggregate and an
  // update for every connection with news since its last record. Idempotent.
  void Stop();

  // Without the thread (tests): one round now; `scan` forces a conntrack scan, `update_tick`
  // makes it write updates. Final(): what Stop() does last.
  void RunRound(bool scan, bool update_tick);
  void Final();

  struct Stats {
    uint64_t events = 0;       // ring events processed
    uint64_t records[5] = {};  // by EventKind
    uint64_t ring_lost = 0;    // events the datapath could not write (since this pipeline)
    uint64_t flows_active = 0;
    uint64_t conntrack_entries = 0;  // at the last scan
    uint64_t generations = 0;        // held by the history
    uint64_t unattributed = 0;       // records of a generation no longer (or never) known: no rule named
    uint64_t drops_folded = 0;       // drops aggregated into folded/overflow aggregates
    uint64_t scan_errors = 0;
    uint64_t handed_over = 0;      // connections taken over with the earlier agent's names
    uint64_t handover_errors = 0;  // the handover file could not be read or written
    // Audit mode ("verdict":"audit"): connections admitted that policies in audit would deny
    // (their start records), and dropped packets they would allow (the count of drop records).
    uint64_t audit_flows = 0;
    uint64_t audit_drops = 0;
  };
  Stats stats() const;
  const GenerationHistory& history() const { return history_; }

 private:
  Pipeline(const fastpath::FastPath& fast_path, PipelineOptions options, std::vector<RecordSink*> sinks);
  void Run();
  void OnEvent(const nf_event& e);
  void Process(const nf_event& e);
  void RetryDeferred(bool all);
  void Scan(bool update_tick);
  void Emit(FlowRecord&& r);
  void EmitDrop(const DropAggregate& a, int64_t now);
  void EmitLoss();
  void UpdateClock();
  void ReadHandover();
  void WriteHandover();

  const fastpath::FastPath& fast_path_;
  PipelineOptions options_;
  std::vector<RecordSink*> sinks_;
  GenerationHistory history_;
  FlowTracker tracker_;
  DropAggregator drops_;
  LossTracker ring_loss_{"ring-buffer"};
  std::unique_ptr<fastpath::EventStream> reader_;
  std::vector<fastpath::CtEntry> entries_;
  struct Deferred {
    nf_event event;
    uint64_t since_mono;
  };
  std::deque<Deferred> deferred_;
  int64_t offset_ = 0;  // wall - mono
  uint64_t next_scan_mono_ = 0;
  uint64_t next_update_mono_ = 0;
  uint64_t unattributed_drops_ = 0;
  bool adopted_ = false;
  bool finished_ = false;
  std::unordered_map<uint64_t, FlowRecord> handed_;  // by flow_id, until adoption

  mutable std::mutex stats_mu_;
  Stats stats_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Adapters: the rotating file as a sink.
class FileSink;
class FileRecordSink : public RecordSink {
 public:
  explicit FileRecordSink(FileSink* sink) : sink_(sink) {}
  void Write(const EmittedPtr& e) override;

 private:
  FileSink* sink_;
};

}  // namespace netfence::flowlog
