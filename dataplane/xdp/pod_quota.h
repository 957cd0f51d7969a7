// SPDX-License-Identifier: Apache-2.0
// The per-pod connection quota of the XDP program (LoadOptions::ct_pod_quota): the program
// refuses a pod's new flow (NF_DROP_CT_QUOTA) once the pod's interface holds that many
// connections, so that one pod's flood of new flows cannot evict the other pods' connections
// from the shared LRU tables. The program counts the entries it creates (ct_pod_counts); it
// cannot see LRU evictions or expiries, so a PodQuotaKeeper recounts from the tables every
// interval and overwrites the counts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "dataplane/fastpath/pod_connections.h"

namespace netfence::xdp {

// Makes the counts map (u32 ifindex -> u64) hold exactly `counts`: updates, and deletes the
// interfaces no longer holding any connection.
Status WritePodCounts(int counts_fd, const std::map<uint32_t, uint64_t>& counts);

// Calls `recount` every `interval` on a thread of its own until destroyed.
class PodQuotaKeeper {
 public:
  PodQuotaKeeper(std::chrono::milliseconds interval, std::function<void()> recount);
  ~PodQuotaKeeper();
  PodQuotaKeeper(const PodQuotaKeeper&) = delete;
  PodQuotaKeeper& operator=(const PodQuotaKeeper&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace netfence::xdp
