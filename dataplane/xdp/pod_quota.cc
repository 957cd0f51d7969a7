// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/pod_quota.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace netfence::xdp {

Status WritePodCounts(int counts_fd, const std::map<uint32_t, uint64_t>& counts) {
  std::vector<uint32_t> stale;
  uint32_t key = 0, next = 0;
  const uint32_t* at = nullptr;
  while (bpf_map_get_next_key(counts_fd, at, &next) == 0) {
    if (!counts.contains(next)) stale.push_back(next);
    key = next;
    at = &key;
  }
  for (uint32_t ifindex : stale) {
    if (bpf_map_delete_elem(counts_fd, &ifindex) != 0 && errno != ENOENT) {
      return Status::Error("XDP map ct_pod_counts: delete: " + std::string(std::strerror(errno)));
    }
  }
  for (const auto& [ifindex, n] : counts) {
    if (bpf_map_update_elem(counts_fd, &ifindex, &n, BPF_ANY) != 0) {
      return Status::Error("XDP map ct_pod_counts: update: " + std::string(std::strerror(errno)));
    }
  }
  return Status::Ok();
}

PodQuotaKeeper::PodQuotaKeeper(std::chrono::milliseconds interval, std::function<void()> recount)
    : thread_([this, interval, recount = std::move(recount)] {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
          lock.unlock();
          recount();
          lock.lock();
        }
      }) {}

PodQuotaKeeper::~PodQuotaKeeper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace netfence::xdp
