// SPDX-License-Identifier: Apache-2.0
// One worker's rule hit counters (the XDP program's rule_hits map, per lcore): rule key ->
// connections allowed, denied, last time. Written by its worker alone (plain loads and stores,
// no locked instruction), read by the control thread, which sums the workers. Open addressing
// over a fixed array made at start: no allocation on the packet path; a full table (or a probe
// run past kMaxProbes) refuses and the decider counts NF_CNT_RULE_HITS_LOST.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "dataplane/fastpath/fast_path.h"

namespace netfence::dpdk {

class RuleHitTable {
 public:
  static constexpr uint32_t kDefaultCapacity = 65536;  // the XDP map's max_entries
  static constexpr uint32_t kMaxProbes = 64;

  // `capacity` is rounded up to a power of two.
  explicit RuleHitTable(uint32_t capacity = kDefaultCapacity);

  // The worker: one more connection rule `key` (never 0) allowed or denied, at now_ns.
  bool Count(uint64_t key, bool allowed, uint64_t now_ns);

  // Any thread: adds every entry into *sums (by key; last_ns the latest).
  void SumInto(std::unordered_map<uint64_t, fastpath::RuleHit>* sums) const;

 private:
  struct Entry {
    std::atomic<uint64_t> key{0};  // 0: empty; set once, before its counts
    std::atomic<uint64_t> allowed{0};
    std::atomic<uint64_t> denied{0};
    std::atomic<uint64_t> last_ns{0};
  };
  std::unique_ptr<Entry[]> entries_;
  uint32_t mask_ = 0;
};

}  // namespace netfence::dpdk
