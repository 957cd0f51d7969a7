// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/rule_hits.h"

#include <algorithm>

namespace netfence::dpdk {

namespace {

uint32_t PowerOfTwoAtLeast(uint32_t n) {
  uint32_t p = 1;
  while (p < n && p < (1u << 30)) p <<= 1;
  return p;
}

void Add(std::atomic<uint64_t>& a, uint64_t n) {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

RuleHitTable::RuleHitTable(uint32_t capacity)
    : entries_(std::make_unique<Entry[]>(PowerOfTwoAtLeast(capacity))), mask_(PowerOfTwoAtLeast(capacity) - 1) {}

bool RuleHitTable::Count(uint64_t key, bool allowed, uint64_t now_ns) {
  // Keys are hashes already (rule_keys.h): their low bits spread.
  for (uint32_t probe = 0; probe < kMaxProbes && probe <= mask_; ++probe) {
    Entry& e = entries_[(static_cast<uint32_t>(key) + probe) & mask_];
    uint64_t k = e.key.load(std::memory_order_relaxed);
    if (k == 0) {
      // Only this worker writes: publish the key before the reader can see its counts.
      e.key.store(key, std::memory_order_release);
      k = key;
    }
    if (k != key) continue;
    Add(allowed ? e.allowed : e.denied, 1);
    e.last_ns.store(now_ns, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void RuleHitTable::SumInto(std::unordered_map<uint64_t, fastpath::RuleHit>* sums) const {
  for (uint32_t i = 0; i <= mask_; ++i) {
    const Entry& e = entries_[i];
    const uint64_t key = e.key.load(std::memory_order_acquire);
    if (key == 0) continue;
    fastpath::RuleHit& h = (*sums)[key];
    h.key = key;
    h.allowed += e.allowed.load(std::memory_order_relaxed);
    h.denied += e.denied.load(std::memory_order_relaxed);
    h.last_ns = std::max(h.last_ns, e.last_ns.load(std::memory_order_relaxed));
  }
}

}  // namespace netfence::dpdk
