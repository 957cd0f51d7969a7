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

  // Everything, in key order (namespaces, pods, policies, nodes, cluster policies).
  k8s::ClusterState State() const;

  const std::map<std::string, k8s::Namespace>& namespaces() const { return namespaces_; }
  const std::map<std::string, k8s::Pod>& pods() const { return pods_; }
  const std::map<std::string, k8s::NetworkPolicy>& policies() const { return policies_; }
  const std::map<std::string, k8s::Node>& nodes() const { return nodes_; }
  const std::map<std::string, k8s::ClusterNetworkPolicy>& cluster_policies() const { return cluster_policies_; }
  size_t size() const {
    return namespaces_.size() + pods_.size() + policies_.size() + nodes_.size() + cluster_policies_.size();
  }

  // The key of an object in its map: "ns/name"; "name" for namespaces and nodes; "Kind/name"
  // for cluster policies (objects of the three kinds may share a name).
  static std::string KeyOf(const k8s::Object& o);

 private:
  std::map<std::string, k8s::Namespace> namespaces_;
  std::map<std::string, k8s::Pod> pods_;
  std::map<std::string, k8s::NetworkPolicy> policies_;
  std::map<std::string, k8s::Node> nodes_;
  std::map<std::string, k8s::ClusterNetworkPolicy> cluster_policies_;
};

}  // namespace netfence::source
