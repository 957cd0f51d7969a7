// SPDX-License-Identifier: Apache-2.0
// DropAggregator: turns a flood of denied packets into a few `drop` records with exact
// counts, one per 5-tuple, so that every record an analyst joins by Community ID with Zeek,
// Suricata or a cloud flow log is one flow. Every drop fed is counted in exactly one
// aggregate; what is folded says how much it folds, never silently.
//
// Levels (Aggregation):
//   kExact     one 5-tuple: (src ip, src port, dst ip, dst port, proto) with its reason,
//              direction and generation. Retried SYNs of one connection are one record.
//              ICMP: the message type and code stand for the ports (Community ID's mapping).
//   kFolded    the tuples of one group (src ip, dst ip, proto, dst port, reason, direction,
//              generation) beyond max_tuples_per_group open at once: one record per group and
//              window saying how many distinct tuples (source ports) and packets it folds.
//   kOverflow  when max_exact tuples and max_folded groups are open: one record per (proto,
//              reason, direction), ips and ports unknown, packets and bytes counted.
// Every level also keys on whether policies in audit would have allowed the drop (audit
// drops, "verdict":"audit", are aggregated apart from the plain denied ones).
//
// Windows: an aggregate opens with its first drop (at clock()) and closes window_ns later;
// Poll() hands back every closed one. The clock is injected: tests drive time explicitly.
//
//   DropAggregator agg({.window_ns = 2 * kNsPerSecond}, [] { return WallNowNs(); });
//   agg.Add(drop);                        // per drop event: O(1), no I/O
//   for (auto& a : agg.Poll()) {          // every ~100 ms from the pipeline thread
//     FlowRecord r = a.ToRecord(now);     // then enrich: namespaces, pods, policies
//     ...
//   }
//   agg.FlushAll();                       // at shutdown: the open ones too
//
// Memory is bounded: max_exact tuples, max_folded groups (each with an 8 KiB bitmap of the
// source ports it folded, so its tuple count is exact), and at most one overflow aggregate per
// (proto, reason, direction). Not thread-safe: one pipeline thread feeds and polls it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/ip.h"
#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

// Audit mode: the datapath's audited decision of a drop that policies in audit would have
// allowed (per direction: enum nf_outcome, table, rule bit; as in nf_verdict), for the
// record's audit fields.
struct AuditedDecision {
  uint32_t egress_outcome = 0, egress_table = 0, egress_rule = 0;
  uint32_t ingress_outcome = 0, ingress_table = 0, ingress_rule = 0;
  bool operator==(const AuditedDecision&) const = default;
};

// One dropped packet, as the pipeline learnt it from an event.
struct DropObservation {
  int64_t time_ns = 0;  // wall clock of the drop
  IpAddr src, dst;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
  bool has_ports = true;                      // false for protocols without ports (and unparsed packets)
                                              // ICMP: the type in sport and the code in dport, so the
                                              // Community ID of the tuple is right
  const char* reason = reason::kDefaultDeny;  // one of flowlog::reason (static storage)
  Direction direction = Direction::kIngress;
  uint64_t generation = 0;
  uint32_t bytes = 0;
  uint32_t ifindex = 0;
  uint8_t hook = 0;  // NF_HOOK_*: where it was seen (0: the receive side of a port)
  // A drop by a rule (a ClusterNetworkPolicy Deny): its table and rule bit, else kNoRule.
  uint32_t rule_table = 0;
  uint32_t rule = kNoRule;
  static constexpr uint32_t kNoRule = 0xFFFFFFFFu;
  // Policies in audit would have allowed it ("verdict":"audit", still a drop): their decision.
  bool audit = false;
  AuditedDecision audited;
};

struct DropAggregate {
  Aggregation aggregation = Aggregation::kExact;
  // The key: fields folded away by the aggregation are zero / false.
  IpAddr src, dst;  // unset for kOverflow
  uint8_t proto = 0;
  uint16_t sport = 0;  // kExact only, when has_ports
  uint16_t dport = 0;  // kExact and kFolded, when has_ports
  bool has_ports = false;
  const char* reason = reason::kDefaultDeny;
  Direction direction = Direction::kIngress;
  uint64_t generation = 0;  // kOverflow: the generation of its first drop
  // What was aggregated.
  uint64_t count = 0;  // drops (= packets)
  uint64_t bytes = 0;
  uint64_t tuples = 1;  // distinct 5-tuples: 1 for kExact, the folded ones for kFolded, 0 (unknown) for kOverflow
  int64_t first_ns = 0, last_ns = 0;
  uint32_t ifindex = 0;                      // of the first drop
  uint8_t hook = 0;                          // of the first drop
  uint32_t rule_table = 0;                   // the denying rule of every drop (DropObservation::rule), or kNoRule when
  uint32_t rule = DropObservation::kNoRule;  // there was none or the drops of a folded key differ
  // Audit drops (part of the key: they never share an aggregate with plain denied ones): the
  // audited decision of every drop, unless they differ (audited_mixed: then none is named).
  bool audit = false;
  bool audited_mixed = false;
  AuditedDecision audited;

  // The `drop` record of this aggregate, network fields only (time = time_ns): the caller
  // adds node, namespaces, pods and policies. community_id is set for kExact (one flow).
  FlowRecord ToRecord(int64_t time_ns) const;
};

class DropAggregator {
 public:
  struct Options {
    int64_t window_ns = 2'000'000'000;  // 2 s
    size_t max_tuples_per_group = 64;   // open exact tuples of one (src, dst, proto, dport, ...)
    size_t max_exact = 16384;           // open exact tuples in all
    size_t max_folded = 1024;           // open folded groups
  };
  using Clock = std::function<int64_t()>;

  DropAggregator(Options options, Clock clock);

  void Add(const DropObservation& d);
  // The aggregates whose window has ended by clock(), oldest first.
  std::vector<DropAggregate> Poll();
  // Every open aggregate, ended or not (shutdown).
  std::vector<DropAggregate> FlushAll();

  // Whether an open aggregate is of this generation (the history keeps its names meanwhile).
  bool Holds(uint64_t generation) const { return generations_.contains(generation); }

  struct Stats {
    uint64_t drops = 0;       // fed to Add
    uint64_t folded = 0;      // of which into kFolded aggregates
    uint64_t overflowed = 0;  // of which into kOverflow aggregates
    uint64_t records = 0;     // aggregates handed back
  };
  const Stats& stats() const { return stats_; }
  size_t open() const { return exact_.size() + folded_.size() + overflow_.size(); }

 private:
  struct Key {
    IpAddr src, dst;
    uint8_t proto;
    bool has_ports;
    uint16_t sport, dport;
    Direction direction;
    uint8_t level;            // Aggregation
    std::string_view reason;  // compared by content
    uint64_t generation;
    bool audit;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  using PortBitmap = std::array<uint64_t, 65536 / 64>;
  struct Open {
    DropAggregate agg;
    int64_t closes_ns;
    std::unique_ptr<PortBitmap> sports;  // kFolded: the source ports folded
  };
  using Map = std::unordered_map<Key, Open, KeyHash>;

  Open& AddTo(Map* map, const Key& key, Aggregation level, const DropObservation& d, int64_t now);
  Map* MapOf(uint8_t level);
  static Key GroupOf(Key k);
  // Moves the aggregate of `key` (opened at `closes`) out, if it is still that one.
  void Close(const Key& key, int64_t closes, std::vector<DropAggregate>* out);

  Options options_;
  Clock clock_;
  Map exact_, folded_, overflow_;
  std::unordered_map<Key, uint32_t, KeyHash> group_tuples_;  // open exact tuples per group
  std::unordered_map<uint64_t, uint32_t> generations_;       // open aggregates per generation
  std::deque<std::pair<Key, int64_t>> order_;                // keys in opening order (= closing order)
  Stats stats_;
};

}  // namespace netfence::flowlog
