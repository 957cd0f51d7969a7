// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/loss_tracker.h"

namespace netfence::flowlog {

void LossTracker::Add(uint64_t n, int64_t now_ns) {
  if (n == 0) return;
  int64_t zero = 0;
  first_ns_.compare_exchange_strong(zero, now_ns, std::memory_order_relaxed);
  int64_t last = last_ns_.load(std::memory_order_relaxed);
  while (last < now_ns && !last_ns_.compare_exchange_weak(last, now_ns, std::memory_order_relaxed)) {
  }
  total_.fetch_add(n, std::memory_order_release);
}

void LossTracker::ObserveTotal(uint64_t total, int64_t now_ns, bool count_first) {
  if (!observed_) {
    observed_ = true;
    last_total_ = count_first ? 0 : total;
  }
  if (total < last_total_) last_total_ = 0;  // the counter was reset (a new program): count it from zero
  uint64_t delta = total - last_total_;
  last_total_ = total;
  Add(delta, now_ns);
}

std::optional<FlowRecord> LossTracker::TakeRecord(int64_t now_ns, const std::string& node) {
  uint64_t total = total_.load(std::memory_order_acquire);
  uint64_t reported = reported_.load(std::memory_order_relaxed);
  if (total == reported) return std::nullopt;
  // Times first: a loss racing with us is counted in total only after its times are set,
  // so at worst its time lands in this record and its count in the next.
  int64_t first = first_ns_.exchange(0, std::memory_order_relaxed);
  int64_t last = last_ns_.load(std::memory_order_relaxed);
  if (first == 0) first = last != 0 ? last : now_ns;
  if (last < first) last = first;
  reported_.store(total, std::memory_order_relaxed);
  return LostRecord(total - reported, first, last, where_, now_ns, node);
}

}  // namespace netfence::flowlog
