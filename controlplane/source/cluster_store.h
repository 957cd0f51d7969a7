// SPDX-License-Identifier: Apache-2.0
// The objects a consumer has seen, keyed by kind and namespace/name: what an informer's
// store is. Applies event batches, hands out the whole state (for a full compile), and
// computes the events that turn it into another state (a relist, a re-read directory).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "controlplane/k8s/model.h"
#include "controlplane/source/source.h"

namespace netfence::source {

class ClusterStore {
 public:
  // Applies one event; returns false when it changes nothing (an upsert of an equal object,
  // a delete of an unknown one).
  bool Apply(const Event& event);
  // Applies a batch, keeping only the events that changed something.
  std::vector<Event> ApplyAll(std::vector<Event> events);

  // The events that make this store equal to `next` (deletes first, then upserts, each in
  // key order); the store is not changed.
  std::vector<Event> Diff(const k8s::ClusterState& next) const;

  // Everything, in key order (namespaces, pods, policies).
  k8s::ClusterState State() const;

  const std::map<std::string, k8s::Namespace>& namespaces() const { return namespaces_; }
  const std::map<std::string, k8s::Pod>& pods() const { return pods_; }
  const std::map<std::string, k8s::NetworkPolicy>& policies() const { return policies_; }
  size_t size() const { return namespaces_.size() + pods_.size() + policies_.size(); }

 private:
  // Keys are "ns/name" (namespaces: "name").
  std::map<std::string, k8s::Namespace> namespaces_;
  std::map<std::string, k8s::Pod> pods_;
  std::map<std::string, k8s::NetworkPolicy> policies_;
};

}  // namespace netfence::source
