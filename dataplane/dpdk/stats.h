// SPDX-License-Identifier: Apache-2.0
// One worker's counters (enum nf_counter, enum nf_drop_reason, enum nf_traffic_index of the
// datapath ABI; rule hits): written by that worker alone with plain loads and stores (no locked
// instruction on the packet path), summed over workers by the control thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/dpdk/rule_hits.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::dpdk {

struct alignas(64) WorkerStats {
  std::atomic<uint64_t> counters[NF_COUNTERS] = {};
  std::atomic<uint64_t> drops[NF_DROP_REASONS] = {};
  std::atomic<uint64_t> traffic[NF_TRAFFIC_SLOTS][2] = {};  // packets, bytes
  RuleHitTable rule_hits;                                   // the connections each rule decided

  static void Add(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Count(uint32_t counter) { Add(counters[counter], 1); }
  void Drop(uint32_t reason) { Add(drops[reason < NF_DROP_REASONS ? reason : uint32_t{NF_DROP_INTERNAL}], 1); }
  void Traffic(uint32_t slot, uint32_t bytes) {
    Add(traffic[slot][0], 1);
    Add(traffic[slot][1], bytes);
  }
};

}  // namespace netfence::dpdk
