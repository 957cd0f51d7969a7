// SPDX-License-Identifier: Apache-2.0
// What the Kubernetes source has been doing, per resource, for the controller's Prometheus
// metrics and status page. Counters only grow; the gauges (resource_version, connected,
// synced) say what is true now. KubeMetrics is written on the source's io_context and may be
// read (Snapshot) from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace netfence::kube {

struct ResourceMetrics {
  std::string resource;  // "pods"
  // Watch events received, by type.
  uint64_t added = 0;
  uint64_t modified = 0;
  uint64_t deleted = 0;
  uint64_t bookmarks = 0;
  uint64_t error_events = 0;
  // Events delivered to the observer (after dropping no-op changes; relist differences included).
  uint64_t upserts_delivered = 0;
  uint64_t deletes_delivered = 0;
  uint64_t rejected = 0;          // invalid objects reported through OnRejected
  uint64_t lists = 0;             // complete lists (the first one and every relist)
  uint64_t relists = 0;           // lists after the first
  uint64_t list_restarts = 0;     // expired continue tokens that restarted a list
  uint64_t gone = 0;              // 410s: HTTP status or in-stream ERROR
  uint64_t watches = 0;           // watch streams opened
  uint64_t reconnects = 0;        // waits in backoff after a failure
  uint64_t throttled = 0;         // 429 responses
  uint64_t server_errors = 0;     // 5xx responses
  uint64_t transport_errors = 0;  // connect/TLS/read failures and dropped streams
  std::string resource_version;   // the last RV seen (list, event or bookmark)
  bool connected = false;         // a watch stream is open
  bool synced = false;            // the first list has been delivered
  std::string last_error;
};

struct KubeSourceMetrics {
  std::vector<ResourceMetrics> resources;  // namespaces, pods, networkpolicies
  bool synced = false;                     // OnSynced has been called
};

class KubeMetrics {
 public:
  explicit KubeMetrics(const std::vector<std::string>& resources) {
    for (const auto& r : resources) {
      ResourceMetrics m;
      m.resource = r;
      m_.resources.push_back(std::move(m));
    }
  }
  template <typename F>
  void Update(size_t resource, F&& f) {
    std::lock_guard lock(mu_);
    f(m_.resources[resource]);
  }
  void SetSynced() {
    std::lock_guard lock(mu_);
    m_.synced = true;
  }
  KubeSourceMetrics Snapshot() const {
    std::lock_guard lock(mu_);
    return m_;
  }

 private:
  mutable std::mutex mu_;
  KubeSourceMetrics m_;
};

}  // namespace netfence::kube
