// SPDX-License-Identifier: Apache-2.0
// The data side of the fake API server (fake_apiserver.h), without any networking: the
// objects of the resources netfence reads, versioned like etcd with one cluster-wide
// resourceVersion counter, and the API server's answers to LIST and to the start of a WATCH
// at a given resourceVersion, with the real rules:
//   - LIST: limit/continue paging over keys in order (every page at the first page's RV),
//     resourceVersion unset / "0" / X with resourceVersionMatch NotOlderThan or Exact
//     (with limit and no match, X means Exact), 410 Expired for a compacted RV or continue
//     token, 504 "Too large resource version" for an RV not reached yet, 400 for an RV with
//     a continue token;
//   - WATCH from X: every change after X (nothing missed, nothing twice); from "" or "0":
//     synthetic ADDED events for the current objects; X older than the compaction point:
//     gone.
// Not thread-safe: the server calls it from its own thread only.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace netfence::testing {

struct FakeResource {
  std::string kind;         // "Pod"
  std::string api_version;  // "v1"
  std::string path;         // "/api/v1/pods"
  bool namespaced = true;
  std::string name() const;  // "pods"
};

// Namespace, Pod, NetworkPolicy, Node, ClusterNetworkPolicy (v1alpha2), AdminNetworkPolicy and
// BaselineAdminNetworkPolicy (v1alpha1; the three are cluster-scoped).
const std::vector<FakeResource>& FakeResources();
const FakeResource* FakeResourceByPath(const std::string& path);
const FakeResource* FakeResourceByKind(const std::string& kind);

// A metav1.Status body: {"kind":"Status","apiVersion":"v1","status":"Failure",...}.
nlohmann::json FakeStatus(int code, const std::string& reason, const std::string& message);

struct FakeAnswer {
  int status = 200;
  nlohmann::json body;
};

// One change, as a watch event: {"type":"ADDED","object":{...}} and the RV it happened at.
struct FakeChange {
  int64_t rv = 0;
  std::string kind;
  nlohmann::json event;
};

struct FakeWatchStart {
  bool gone = false;  // the RV is compacted: refuse with 410
  std::string gone_message;
  std::vector<nlohmann::json> events;  // to send first, in order
};

class FakeStore {
 public:
  // Creates or replaces the object of its kind/namespace/name (namespace "default" when a
  // namespaced object has none), stamping metadata.resourceVersion (and uid on create).
  // Returns the change, or nullopt when the object has no known kind or no name.
  std::optional<FakeChange> Upsert(nlohmann::json object);
  // nullopt when there is no such object.
  std::optional<FakeChange> Delete(const std::string& kind, const std::string& ns, const std::string& name);

  int64_t resource_version() const { return rv_; }
  int64_t compacted() const { return compacted_; }
  // The current objects of `kind`, in key order (with kind, apiVersion, resourceVersion).
  std::vector<nlohmann::json> Objects(const std::string& kind) const;

  // Forgets every version and change up to now: lists and watches from an older RV, and
  // continue tokens of older lists, get 410.
  void Compact();
  // Every continue token handed out so far gets 410 Expired.
  void ExpireContinueTokens() { ++token_epoch_; }

  // GET <resource.path> without watch; `query` holds the decoded query parameters.
  FakeAnswer List(const FakeResource& resource, const std::map<std::string, std::string>& query) const;
  // The start of a watch from resourceVersion `rv` ("" or "0": the current state as ADDED).
  FakeWatchStart StartWatch(const FakeResource& resource, const std::string& rv) const;
  // {"type":"BOOKMARK","object":{"kind":..,"apiVersion":..,"metadata":{"resourceVersion":"<now>"}}}
  nlohmann::json Bookmark(const FakeResource& resource) const;

 private:
  struct Version {
    int64_t rv = 0;
    bool deleted = false;
    nlohmann::json object;
  };
  using Versions = std::vector<Version>;

  // kind -> key ("ns/name" or "name") -> versions, oldest first
  std::map<std::string, std::map<std::string, Versions>> objects_;
  std::vector<FakeChange> history_;  // changes after compacted_, in RV order
  int64_t rv_ = 100;
  int64_t compacted_ = 0;
  int64_t token_epoch_ = 0;
};

}  // namespace netfence::testing
