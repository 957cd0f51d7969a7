// SPDX-License-Identifier: Apache-2.0
// The incremental compiler's bookkeeping records (incremental.h keeps them opaque), shared by
// its implementation files: incremental.cc (events, table keys, tables, outputs),
// incremental_ids.cc (identity membership and ids), incremental_deps.cc (selection and what
// depends on what), incremental_cluster.cc (cluster policies and nodes).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "controlplane/compiler/incremental.h"

namespace netfence::compiler {

struct IncrementalCompiler::PodRec {
  k8s::Pod pod;
  bool endpoint = false;
  std::vector<IpAddr> ips;          // the parsed pod IPs it claims (endpoint or host-network)
  IdentityRec* identity = nullptr;  // endpoints only
};

// Where a cluster policy sits in the evaluation order (k8s::ClusterPolicyBefore).
struct IncrementalCompiler::ClusterOrder {
  k8s::Tier tier = k8s::Tier::kAdmin;
  int32_t priority = 0;
  std::string name;
  std::string kind;
  auto operator<=>(const ClusterOrder&) const = default;
  PolicyName key() const { return {kind, name}; }
};

struct IncrementalCompiler::IdentityRec {
  k8s::Pod key;  // a copy of the first member: its namespace, labels and ports are the key
  uint64_t hash = 0;
  uint32_t preferred = 0;
  uint32_t id = 0;  // 0 until assigned
  bool dead = false;
  std::map<std::string, PodRec*> members;  // by pod name (one namespace)
  std::set<PolicyName> selecting;          // policies whose podSelector matches, policy order
  std::set<ClusterOrder> cluster;          // cluster policies whose subject selects it, evaluation order
  uint64_t table[2] = {0, 0};
  bool has_tables = false;

  // Named ports resolve on the first member in name order, as in the batch compiler.
  const k8s::Pod& example() const { return members.begin()->second->pod; }
};

struct IncrementalCompiler::PolicyRec {
  k8s::NetworkPolicy np;
  bool deleted = false;
  PolicySpec spec;
  std::set<IdentityRec*> subjects;      // identities its podSelector selects
  std::vector<uint32_t> peer_ids;       // identity ids its peers list
  bool named_egress = false;            // egress rules with named ports
  std::set<uint64_t> tables;            // tables compiled from it
  std::vector<std::string> cross_keys;  // its keys in cross_by_label_
};

struct IncrementalCompiler::ClusterRec {
  k8s::ClusterNetworkPolicy cnp;
  bool deleted = false;
  ClusterOrder order;  // the key it is filed under in its subjects' IdentityRec::cluster
  ClusterPolicySpec spec;
  std::set<IdentityRec*> subjects;
  std::vector<uint32_t> peer_ids;       // identity ids its peers list
  bool named_egress = false;            // egress rules with named ports
  std::set<uint64_t> tables;            // tables compiled from it
  std::vector<std::string> cross_keys;  // its keys in cluster_cross_by_label_
};

struct IncrementalCompiler::TableRec {
  uint64_t id = 0;
  std::string key;
  k8s::Direction dir = k8s::Direction::kIngress;
  std::vector<PolicyName> admin;     // cluster policies of the Admin tier, in rule-bit order
  std::vector<PolicyName> policies;  // covering policies, in rule-bit order
  std::vector<PolicyName> baseline;  // cluster policies of the Baseline tier
  std::vector<PolicyName> all;       // the three, in rule-bit order
  std::set<IdentityRec*> users;
};

struct IncrementalCompiler::Batch {
  std::map<std::string, k8s::Labels> ns_old_labels;        // labels before the batch, per namespace touched
  std::set<PolicyName> spec_changed;                       // added, updated or deleted
  std::set<IdentityRec*> added;                            // created by this batch
  std::set<IdentityRec*> emptied;                          // lost their last member (may come back)
  std::vector<std::pair<IdentityRec*, uint32_t>> removed;  // gone for good, with their old id
  std::vector<IdentityRec*> discarded;                     // created and emptied in the batch
  std::map<IdentityRec*, uint32_t> id_changed;             // kept, moved to another id (old id)
  std::set<IdentityRec*> example_changed;
  bool endpoints_changed = false;  // some endpoint pod changed (named egress through ipBlocks)
  std::set<EndpointName> endpoints;
  std::set<IpAddr> ips;
  std::set<PolicyName> rebuild;          // policies whose tables are rebuilt
  std::set<IdentityRec*> rekey;          // identities whose table keys may have changed
  std::set<uint64_t> tables;             // tables to build
  std::set<PolicyName> cluster_changed;  // cluster policies added, updated or deleted
  std::set<PolicyName> cluster_rebuild;  // cluster policies whose tables are rebuilt
  bool nodes_changed = false;            // a node's labels or addresses changed
};

inline PolicyName NameOf(const k8s::ObjectMeta& m) { return {m.ns, m.name}; }

template <typename T>
void Insert(std::set<T>* into, const std::set<T>& from) {
  into->insert(from.begin(), from.end());
}

}  // namespace netfence::compiler
