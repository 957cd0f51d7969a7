// SPDX-License-Identifier: Apache-2.0
// FlowTracker: the connections of the flow log. It turns the datapath's new-flow and
// revocation events and periodic reads of the conntrack table into `start`, `update` and
// `end` records, one connection at a time, named as of the generation that admitted it.
//
//   event NEW_FLOW       start  (the first packet; the event carries the entry as created)
//   scan, update tick    update for every open connection whose counters moved since its
//                        last record (totals of both directions so far, TCP flags seen)
//   scan                 end: closed (TCP FIN both ways or RST, and no packet for
//                        close_grace), idle-timeout (the entry outlived its timeout),
//                        evicted (the entry vanished: the table was full, or it was flushed)
//   event REVOKED        end: revoked (a new generation cut it; the event carries the final
//                        counters, since the entry is deleted)
//   new event, same key  end of the old connection (closed or idle-timeout), start of the new
//
// Ordering (the pipeline's round): read the conntrack table, *then* drain the ring, then
// OnScan(). Every entry read has had its NEW_FLOW event submitted before the drain (the
// program writes the entry, then the event), except those created in the last instants
// (younger than settle_ns at the read: left for the next scan); an entry deleted before the
// read (revoked) has its REVOKED event in the ring (written before the delete).
//
// A scan that finds an entry without a start (its NEW_FLOW event was lost: the ring was full)
// writes the start from the entry (generation from its epoch) and goes on with it. Adopt()
// takes over the entries an earlier agent was logging, without start records (it wrote them),
// so that a restarted agent continues their update and end records under the same flow_id.
// The earlier agent hands over what it knew of each connection (Handover(): the fields every
// record of it shares, its generation, rules and names, as of the generation that admitted
// it), so the restarted agent's records of it are exactly as complete as the earlier one's,
// even when the programming that admitted the connection is one it never saw.
//
// Audit mode: a start whose event's audited verdict differs (policies in audit would deny
// the connection) is "verdict":"audit" with the audit fields (attribution.h); the update and
// end records of that connection repeat them, also after a new generation re-checked it (the
// conntrack entry keeps no audited decision). Starts recovered from an entry alone, and
// adopted connections not handed over, cannot know it: they are plain allowed.
//
// Times: events use CLOCK_MONOTONIC, entries its coarse variant (a tick, ~4 ms); records use
// the wall clock: wall = mono + set_clock()'s offset. A start from an event is precise; an
// end_time is the entry's last packet at tick resolution (never before the start). Not thread-safe: one pipeline
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/fastpath/fast_path.h"
#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/pipeline/generation_history.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::flowlog {

using fastpath::CtEntry;

struct TrackerOptions {
  std::string node{};                      // written into every record
  int64_t close_grace_ns = 1'000'000'000;  // a closed TCP connection ends after this long idle
  int64_t settle_ns = 50'000'000;          // younger entries may still have their event in flight
  std::string fast_path = "xdp";           // FastPath::name() of the events: their observation point
};

class FlowTracker {
 public:
  using Emit = std::function<void(FlowRecord&&)>;
  FlowTracker(TrackerOptions options, const GenerationHistory* history, Emit emit);

  void set_clock(int64_t wall_minus_mono_ns) { offset_ = wall_minus_mono_ns; }

  void OnNewFlow(const nf_event& e);
  void OnRevoked(const nf_event& e);

  struct Scan {
    const std::vector<CtEntry>* entries = nullptr;  // the whole table
    uint64_t read_mono = 0;                         // CLOCK_MONOTONIC before the read
    uint64_t now_mono = 0;                          // after the read (and the drain)
    int64_t now_wall = 0;
    bool update_tick = false;  // write updates this time
    bool recover = true;       // false: events wait to be processed; recover no start now
  };
  void OnScan(const Scan& scan);
  // The connections already in the table when this agent starts (no start records), named as
  // the earlier agent handed them over (by flow_id; `handed` may be empty), else as of the
  // programming of their entry.
  void Adopt(const std::vector<CtEntry>& entries, uint64_t now_mono,
             const std::unordered_map<uint64_t, FlowRecord>& handed = {});
  // What a later agent needs to continue the open connections' records: per connection, a
  // record with the fields they share (named as admitted), counters zero.
  std::vector<FlowRecord> Handover() const;
  // Shutdown: an update for every open connection whose counters moved since its last record.
  void Flush(int64_t now_wall);

  size_t active() const { return flows_.size() - ended_; }
  struct Stats {
    uint64_t starts = 0, updates = 0, ends = 0;
    uint64_t recovered = 0;  // starts written from a conntrack entry (event lost)
    uint64_t adopted = 0;
    uint64_t handed_over = 0;   // of which named by the earlier agent
    uint64_t unattributed = 0;  // records whose generation the history did not know
  };
  const Stats& stats() const { return stats_; }

 private:
  struct KeyHash {
    size_t operator()(const nf_ct_key& k) const;
  };
  struct KeyEq {
    bool operator()(const nf_ct_key& a, const nf_ct_key& b) const;
  };
  struct Flow {
    FlowRecord base;     // what every record of the connection shares
    nf_ct_entry last{};  // the entry as last seen
    uint64_t reported_packets = 0;
    uint64_t reported_bytes = 0;
    uint64_t seen_scan = 0;
    bool ended = false;  // its end is written; kept while its entry stays (a tombstone)
  };
  using Flows = std::unordered_map<nf_ct_key, Flow, KeyHash, KeyEq>;

  int64_t Wall(uint64_t mono) const { return static_cast<int64_t>(mono) + offset_; }
  // The record fields of a connection, as admitted by `g` (the datapath's `generation`; g null:
  // unknown, then only the addresses are named, as of the live generation).
  FlowRecord Base(const nf_ct_key& k, const nf_ct_entry& e, const nf_verdict& v, const GenerationMeta* g,
                  uint64_t generation, uint8_t icmp_type, uint8_t icmp_code, uint32_t hook, int64_t start_wall);
  // Base() of an entry alone, named as of its epoch's programming.
  FlowRecord BaseOfEntry(const nf_ct_key& k, const nf_ct_entry& e, uint32_t hook);
  void Reattribute(Flow* f, uint32_t epoch);
  FlowRecord Make(const Flow& f, EventKind kind, int64_t time) const;
  void WriteStart(Flow* f, int64_t time);
  void WriteUpdate(Flow* f, int64_t now_wall);
  void WriteEnd(Flow* f, int64_t time, int64_t end_time, const char* end_reason);
  // Why a connection no longer in use ended, from its last state.
  static const char* EndReason(const nf_ct_entry& e, uint8_t proto, uint64_t now_mono);
  void MarkEnded(Flow* f);
  // A scanned entry with no flow: recovered (start from the entry), or left for later.
  void Recover(const CtEntry& c, const Scan& scan);
  void Check(Flow* f, const Scan& scan);

  TrackerOptions options_;
  const GenerationHistory* history_;
  Emit emit_;
  int64_t offset_ = 0;
  Flows flows_;
  size_t ended_ = 0;
  uint64_t scan_ = 0;
  Stats stats_;
};

// How long the datapath keeps an entry after its last packet (xdp/include/conntrack.h).
uint64_t ConntrackTimeoutNs(const nf_ct_entry& e, uint8_t proto);

}  // namespace netfence::flowlog
