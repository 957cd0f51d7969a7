// SPDX-License-Identifier: Apache-2.0
// A reflector keeps one resource (namespaces, pods, networkpolicies, ...) of the API server
// mirrored in a local store and reports every change, with client-go's reflector semantics:
//
//   1. LIST in pages (pager.h), decode and validate every item; the difference between the
//      store and the list is reported as one batch (the first list: everything);
//   2. WATCH from the list's resourceVersion (allowWatchBookmarks, a random timeoutSeconds),
//      one JSON event per line of the chunked stream. Every event and bookmark moves the RV;
//   3. a normal end of the watch re-watches at once from the last RV; a 410 (HTTP status or
//      in-stream ERROR event) relists and reports the difference (objects deleted meanwhile
//      become deletes), as does "Too large resource version" (the server's storage went
//      back: the relist then asks for the most recent state); dropped connections, 429, 5xx
//      and other failures retry with exponential backoff (Retry-After honoured) from the
//      same RV.
//
// An optional resource (a CRD's) that answers 404 is empty: its list reports every object
// the store held as deleted, on_listed counts it as listed, and it is listed again every
// absent_recheck.
//
// An invalid object is reported through on_rejected (source "list pods" / "watch pods")
// and its last good version stays in the store; a DELETED event always deletes. An
// incomplete line at a dropped connection is discarded: the re-watch starts from the RV of
// the last complete event, so nothing is missed or delivered twice.
//
// Threading: everything runs on the executor given; callbacks are called there, never after
// Stop(). Stop() must be called on that executor (or while it is not running).
#pragma once

#include <utility>  // before awaitable.hpp (Boost 1.74)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/k8s/errors.h"
#include "controlplane/kube/api_client.h"
#include "controlplane/kube/backoff.h"
#include "controlplane/kube/metrics.h"
#include "controlplane/kube/pager.h"
#include "controlplane/kube/resources.h"
#include "controlplane/source/cluster_store.h"
#include "controlplane/source/source.h"

namespace netfence::kube {

struct ReflectorOptions {
  int page_size = 500;
  BackoffPolicy backoff;
  // timeoutSeconds of each watch: uniform in [min, max] (client-go: 5..10 minutes).
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::seconds max_watch_timeout{600};
  // A watch stream may stay silent this long beyond its timeoutSeconds before it is
  // considered dead.
  std::chrono::milliseconds watch_idle_slack{30'000};
  // A watch that ends normally this quickly without any event counts as a failure (backoff)
  // instead of being restarted at once (client-go's VeryShortWatchError).
  std::chrono::milliseconds very_short_watch{1'000};
  // An optional resource that is not served (404: its CRD is not installed) is listed again
  // this often, so that a CRD installed later is picked up.
  std::chrono::milliseconds absent_recheck{60'000};
  uint64_t seed = std::random_device{}();
};

class Reflector : public std::enable_shared_from_this<Reflector> {
 public:
  struct Callbacks {
    std::function<void(std::vector<source::Event>)> on_events;  // never empty batches
    std::function<void(const k8s::ObjectError&)> on_rejected;
    std::function<void()> on_listed;                 // once, after the first list's batch
    std::function<void(const std::string&)> on_log;  // failures, relists (may be empty)
  };

  // `metrics_index` is this resource's slot in `metrics`.
  Reflector(boost::asio::any_io_executor executor, std::shared_ptr<ApiClient> client, ResourceSpec resource,
            ReflectorOptions options, Callbacks callbacks, std::shared_ptr<KubeMetrics> metrics, size_t metrics_index);

  void Start();
  // Cuts the current request, cancels waits; no callback is called after this.
  void Stop();

  const source::ClusterStore& store() const { return store_; }
  const std::string& resource_version() const { return rv_; }

 private:
  enum class WatchEnd { kNormal, kGone, kFailed };
  struct WatchResult {
    WatchEnd end = WatchEnd::kFailed;
    ApiError error;
    int events = 0;  // ADDED/MODIFIED/DELETED/BOOKMARK handled
  };

  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<bool> List(const std::string& resource_version);
  boost::asio::awaitable<WatchResult> Watch();
  boost::asio::awaitable<void> Wait(const ApiError& error);

  // Handles one line of the watch stream. Returns false when the stream must end (`*result`
  // says why); appends the changes to deliver to `batch`.
  bool HandleLine(std::string_view line, std::vector<source::Event>* batch, WatchResult* result);
  void HandleObject(const std::string& type, const nlohmann::json& object, std::vector<source::Event>* batch);
  void ApplyList(ListResult list);
  void Deliver(std::vector<source::Event> batch);
  void Reject(const k8s::ObjectError& error);
  void Note(const ApiError& error);
  void SetResourceVersion(const std::string& rv);
  void Log(const std::string& line);
  std::chrono::seconds WatchTimeout();

  boost::asio::any_io_executor executor_;
  std::shared_ptr<ApiClient> client_;
  ResourceSpec resource_;
  ReflectorOptions options_;
  Callbacks callbacks_;
  std::shared_ptr<KubeMetrics> metrics_;
  size_t metrics_index_;

  source::ClusterStore store_;
  std::string rv_;  // the last resourceVersion seen; opaque, compared for equality only
  bool listed_ = false;
  bool stopped_ = false;
  bool absent_ = false;  // an optional resource answered 404 on its last list
  int consecutive_gone_ = 0;
  Backoff backoff_;
  std::mt19937_64 rng_;
  ConnectionSlot slot_;
  boost::asio::steady_timer timer_;
};

}  // namespace netfence::kube
