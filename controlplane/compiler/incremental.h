// SPDX-License-Identifier: Apache-2.0
// The incremental compiler: keeps the compiled units of a whole cluster (a TableSet) and, for
// each batch of source events, recompiles only what the events affect, reporting which units
// changed so that the controller can send every node a delta.
//
// What depends on what (the bookkeeping this class keeps):
//   - An identity (namespace, labels, named ports) exists while some endpoint pod has it. Its
//     id comes from the hash of its key; collisions move later keys up (identity_key.h), so
//     adding or removing one identity can move the ids of the few that collided with it.
//   - A table is keyed by its direction, the policies covering that direction that select its
//     identities, and (for ingress rules with named ports) the identities' named ports.
//     Identities share a table when their keys are equal.
//   - Cluster policies (ClusterNetworkPolicy and the v1alpha1 kinds) select identities by
//     namespace and pod labels; a table's key also lists, in evaluation order, the cluster
//     policies with rules in its direction that select its identities. Their `nodes` peers
//     depend on Node objects (labels, addresses).
//   - A table's content depends on its policies' rules and on the identities their peers
//     select: a new or vanished identity, a changed id, or a namespace relabelled under a
//     namespaceSelector re-decodes the policies that can see it, and rebuilds their tables.
//     Egress rules with named ports also depend on the pods behind the identities they admit
//     (the numbers resolve there) and, through ipBlocks, on endpoint addresses.
//
// Invariant, checked by tests after every event of long random sequences: Materialize() is
// byte for byte compiler::Compile() of the same objects.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/tables/table_set.h"
#include "controlplane/compiler/rule_spec.h"
#include "controlplane/compiler/table_builder.h"
#include "controlplane/k8s/model.h"
#include "controlplane/source/source.h"

namespace netfence::compiler {

// A policy's name: (namespace, name) of a NetworkPolicy, (kind, name) of a cluster policy (a
// kind is capitalised, a namespace never is: the two never collide).
using PolicyName = std::pair<std::string, std::string>;
// The name of the policy a PolicyRef stands for.
inline PolicyName NameOfRef(const v1::PolicyRef& p) { return {p.kind().empty() ? p.namespace_() : p.kind(), p.name()}; }
using tables::EndpointName;
using tables::TableSet;

class IncrementalCompiler : private PeerSelector, private NamedPortScope {
 public:
  // What one Apply() changed, by key; look the current value up in set() (absent: removed).
  struct Changes {
    std::set<uint64_t> tables;
    std::set<uint32_t> identities;
    std::set<IpAddr> ipcache;
    std::set<EndpointName> endpoints;
    std::set<PolicyName> policies;  // added, removed, or compiled into changed tables
    size_t tables_built = 0;        // tables compiled (changed or not)
    bool empty() const {
      return tables.empty() && identities.empty() && ipcache.empty() && endpoints.empty() && policies.empty();
    }
  };

  // `audit_by_default`: compiler::Options::audit_by_default.
  explicit IncrementalCompiler(bool audit_by_default = false);
  ~IncrementalCompiler() override;
  IncrementalCompiler(const IncrementalCompiler&) = delete;
  IncrementalCompiler& operator=(const IncrementalCompiler&) = delete;

  // Applies a batch of events (objects valid, see source.h) and recompiles what they affect.
  Changes Apply(std::span<const source::Event> events);

  // The cluster's compiled units.
  const TableSet& set() const { return set_; }
  // Every policy: NetworkPolicies by (namespace, name), then cluster policies by (kind, name).
  std::vector<v1::PolicyRef> Policies() const;
  // Every policy (as Policies()) with its number of rules per direction (by v1::Direction):
  // what rule hit counters count (netfencectl stats --unused).
  struct PolicyRules {
    v1::PolicyRef ref;
    uint32_t rules[2] = {0, 0};
  };
  std::vector<PolicyRules> RuleInventory() const;
  // The policies a table was compiled from (its key), in rule-bit order (cluster policies by
  // their PolicyName (kind, name)); empty if unknown.
  const std::vector<PolicyName>& TablePolicies(uint64_t table) const;
  // The whole cluster's tables, as compiler::Compile() would make them.
  v1::RuleTables Materialize(uint64_t generation) const;

  size_t pods() const { return pods_.size(); }

 private:
  struct PodRec;
  struct IdentityRec;
  struct PolicyRec;
  struct TableRec;
  struct ClusterRec;
  struct ClusterOrder;
  struct Batch;  // what the events of one Apply() touched

  // Phases of Apply(), in order.
  void ApplyNamespace(const source::Event& e, Batch* b);
  void ApplyPolicy(const source::Event& e, Batch* b);
  void ApplyPod(const source::Event& e, Batch* b);
  void ApplyNode(const source::Event& e, Batch* b);
  void ApplyClusterPolicy(const source::Event& e, Batch* b);
  void AssignIds(Batch* b);
  void FindDirtyPolicies(Batch* b);
  void FindDirtyClusterPolicies(Batch* b);
  void UpdateSubjects(Batch* b);
  void UpdateClusterSubjects(Batch* b);
  void RekeyIdentities(Batch* b);
  void RebuildTables(Batch* b, Changes* out);
  void WriteOutputs(Batch* b, Changes* out);

  // Identity membership.
  IdentityRec* FindIdentity(const k8s::Pod& pod, uint64_t hash) const;
  void JoinIdentity(PodRec* pod, Batch* b);
  void LeaveIdentity(PodRec* pod, Batch* b);
  void Unindex(IdentityRec* rec);  // out of the hash and namespace indexes
  void RecomputeAllIds(Batch* b);

  // Selection.
  const k8s::Labels& NamespaceLabels(const std::string& ns) const;
  bool PeerSelects(const k8s::NetworkPolicyPeer& peer, const std::string& policy_ns, const IdentityRec& id) const;
  bool PolicyPeersSelect(const PolicyRec& p, const IdentityRec& id) const;
  void Redecode(PolicyRec* p);
  void IndexCrossNamespace(const PolicyName& name, PolicyRec* p, bool add);
  void IndexNamespace(const std::string& ns, bool add);
  void CrossNamespaceCandidates(const k8s::Labels& labels, std::set<PolicyName>* out) const;
  std::string TableKey(const IdentityRec& id, k8s::Direction dir) const;

  // Cluster policies (incremental_cluster.cc).
  bool ClusterSubjectSelects(const ClusterRec& c, const IdentityRec& id) const;
  bool ClusterPeersSelect(const ClusterRec& c, const IdentityRec& id) const;
  void RedecodeCluster(ClusterRec* c);
  void IndexClusterCross(const PolicyName& name, ClusterRec* c, bool add);
  void ClusterCrossCandidates(const k8s::Labels& labels, std::set<PolicyName>* out) const;
  void ForgetCluster(const PolicyName& name);

  // PeerSelector and NamedPortScope, over the live index.
  void SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                  std::vector<uint32_t>* ids) const override;
  void ForEachIdentity(const std::function<void(uint32_t id, const k8s::Pod& pod)>& fn) const override;
  const k8s::Pod& IdentityPod(uint32_t id) const override;
  void ForEachEndpointIp(const std::function<void(const k8s::Pod& pod, const IpAddr& ip)>& fn) const override;
  void SelectNodeAddresses(const k8s::LabelSelector& sel, std::vector<IpAddr>* out) const override;

  bool audit_by_default_ = false;
  std::map<std::string, k8s::Namespace> namespaces_;
  std::map<std::string, k8s::Node> nodes_;
  mutable std::unordered_map<std::string, k8s::Labels> ns_labels_;  // effective labels, cached
  std::map<EndpointName, std::unique_ptr<PodRec>> pods_;
  std::map<PolicyName, std::unique_ptr<PolicyRec>> policies_;
  std::map<uint64_t, std::unique_ptr<TableRec>> tables_;
  std::unordered_map<std::string, uint64_t> table_by_key_;

  // Identities: owned here, indexed by key hash, id, preference order and namespace.
  std::vector<std::unique_ptr<IdentityRec>> identity_store_;
  std::unordered_multimap<uint64_t, IdentityRec*> by_hash_;
  std::map<uint32_t, IdentityRec*> by_id_;
  struct PreferenceOrder {
    bool operator()(const IdentityRec* a, const IdentityRec* b) const;
  };
  std::set<IdentityRec*, PreferenceOrder> by_preference_;
  std::map<std::string, std::set<IdentityRec*>> ns_identities_;
  // Namespaces that have identities, by label "k=v" (for namespaceSelectors), and the labels
  // each was indexed with.
  std::unordered_map<std::string, std::set<std::string>> ns_by_label_;
  std::unordered_map<std::string, k8s::Labels> ns_indexed_;

  // Policies by what they depend on.
  std::map<std::string, std::set<PolicyName>> ns_policies_;  // by namespace
  // Policies with namespaceSelector peers, by a label each such peer requires ("k=v"), and
  // those with a peer that requires none: a namespace's candidates are few.
  std::unordered_map<std::string, std::set<PolicyName>> cross_by_label_;
  std::set<PolicyName> cross_unindexed_;
  std::set<PolicyName> any_identity_policies_;                        // named egress admitting every pod
  std::set<PolicyName> endpoint_ip_policies_;                         // named egress through ipBlocks
  std::unordered_map<uint32_t, std::set<PolicyName>> referenced_by_;  // identity id -> policies

  // Cluster policies, by (kind, name), and what they depend on (as for policies above).
  std::map<PolicyName, std::unique_ptr<ClusterRec>> cluster_;
  std::unordered_map<std::string, std::set<PolicyName>> cluster_cross_by_label_;
  std::set<PolicyName> cluster_cross_unindexed_;
  std::set<PolicyName> cluster_any_identity_;  // named egress admitting every pod
  std::set<PolicyName> cluster_nodes_;         // with `nodes` peers
  std::unordered_map<uint32_t, std::set<PolicyName>> cluster_referenced_by_;

  // IP claims: endpoints (rank 0) and host-network pods (rank 1) per address.
  struct Claim {
    uint32_t rank;
    const PodRec* pod;
  };
  std::map<IpAddr, std::vector<Claim>> claims_;

  TableSet set_;
  TableBuilder builder_;
};

}  // namespace netfence::compiler
