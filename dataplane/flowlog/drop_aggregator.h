// SPDX-License-Identifier: Apache-2.0
// DropAggregator: turns a flood of denied packets into a few `drop` records with exact
// counts. A port scan of 65,535 ports from one source yields one record per port and window
// at most, and when the table of open keys is full, the extra drops are folded into coarser
// aggregates: never into nothing. Every drop fed is counted in exactly one aggregate.
//
// Key (Aggregation::kExact): (src ip, dst ip, proto, dst port, reason, direction, generation).
//   The generation is part of the key so a record's policies are those of its generation.
// When max_exact keys are open, a new key folds into (src ip, dst ip, proto, reason,
//   direction, generation) (kPair: ports unknown); when max_pair of those are open too, into
//   one kOverflow aggregate per (proto, reason, direction) (ips and ports unknown).
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
// Not thread-safe: one pipeline thread feeds and polls it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/ip.h"
#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

// One dropped packet, as the pipeline learnt it from an event.
struct DropObservation {
  int64_t time_ns = 0;  // wall clock of the drop
  IpAddr src, dst;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
  bool has_ports = true;                      // false for protocols without ports (and unparsed packets)
                                              // ICMP: put the type in sport and the code in dport when known, so
                                              // the Community ID of a one-flow aggregate is right
  const char* reason = reason::kDefaultDeny;  // one of flowlog::reason (static storage)
  Direction direction = Direction::kIngress;
  uint64_t generation = 0;
  uint32_t bytes = 0;
  uint32_t ifindex = 0;
  // A drop by a rule (a ClusterNetworkPolicy Deny): its table and rule bit, else kNoRule.
  uint32_t rule_table = 0;
  uint32_t rule = kNoRule;
  static constexpr uint32_t kNoRule = 0xFFFFFFFFu;
};

struct DropAggregate {
  Aggregation aggregation = Aggregation::kExact;
  // The key: fields folded away by the aggregation are zero / false.
  IpAddr src, dst;  // unset for kOverflow
  uint8_t proto = 0;
  uint16_t dport = 0;  // kExact only, when has_ports
  bool has_ports = false;
  const char* reason = reason::kDefaultDeny;
  Direction direction = Direction::kIngress;
  uint64_t generation = 0;  // kOverflow: the generation of its first drop
  // What was aggregated.
  uint64_t count = 0;  // drops (= packets)
  uint64_t bytes = 0;
  int64_t first_ns = 0, last_ns = 0;
  uint16_t sport = 0;                        // the source port, valid when single_sport
  bool single_sport = true;                  // every drop had the same source port (then the Community ID is exact)
  uint32_t ifindex = 0;                      // of the first drop
  uint32_t rule_table = 0;                   // the denying rule of every drop (DropObservation::rule), or kNoRule when
  uint32_t rule = DropObservation::kNoRule;  // there was none or the drops of a folded key differ

  // The `drop` record of this aggregate, network fields only (time = time_ns): the caller
  // adds node, namespaces, pods and policies. community_id is computed when the aggregate is
  // one flow (exact key, one source port), else "".
  FlowRecord ToRecord(int64_t time_ns) const;
};

class DropAggregator {
 public:
  struct Options {
    int64_t window_ns = 2'000'000'000;  // 2 s
    size_t max_exact = 16384;           // open exact keys
    size_t max_pair = 4096;             // open pair keys
  };
  using Clock = std::function<int64_t()>;

  DropAggregator(Options options, Clock clock);

  void Add(const DropObservation& d);
  // The aggregates whose window has ended by clock(), oldest first.
  std::vector<DropAggregate> Poll();
  // Every open aggregate, ended or not (shutdown).
  std::vector<DropAggregate> FlushAll();

  struct Stats {
    uint64_t drops = 0;        // fed to Add
    uint64_t folded_pair = 0;  // of which folded into pair aggregates
    uint64_t folded_overflow = 0;
    uint64_t records = 0;  // aggregates handed back
  };
  const Stats& stats() const { return stats_; }
  size_t open() const { return exact_.size() + pair_.size() + overflow_.size(); }

 private:
  struct Key {
    IpAddr src, dst;
    uint8_t proto;
    bool has_ports;
    uint16_t dport;
    Direction direction;
    uint8_t level;            // Aggregation
    std::string_view reason;  // compared by content
    uint64_t generation;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Open {
    DropAggregate agg;
    int64_t closes_ns;
  };
  using Map = std::unordered_map<Key, Open, KeyHash>;

  void AddTo(Map* map, const Key& key, Aggregation level, const DropObservation& d, int64_t now);
  Map* MapOf(uint8_t level);

  Options options_;
  Clock clock_;
  Map exact_, pair_, overflow_;
  std::deque<std::pair<Key, int64_t>> order_;  // keys in opening order (= closing order)
  Stats stats_;
};

}  // namespace netfence::flowlog
