// SPDX-License-Identifier: Apache-2.0
// Builds one direction of one table: the rule bits of the policies selecting a set of
// endpoints, and the rows of every dimension (identity, CIDR, port, other protocols) written
// to a RowWriter. The batch compiler writes every table into one arena; the incremental
// compiler gives each table an arena of its own (assemble.h places them).
//
// Rule bits are numbered in evaluation order: the Admin tier's cluster policies (by priority,
// then name and kind) and their rules, then the NetworkPolicies in policy order (namespace,
// name) and their rules, then the Baseline tier's cluster policies. An egress rule with named
// ports gets one extra bit per (protocol, number) its names resolve to on the destinations it
// admits; a rule's bits are adjacent. A table with cluster policy bits carries rule_flags and
// the tier boundaries (tables.proto), and so does one with a policy in audit (whose bits carry
// kRuleAudit, and which isolates only through audit_isolated); one with neither is exactly a
// NetworkPolicy table.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "common/base/ip.h"
#include "controlplane/compiler/cidr_flatten.h"
#include "controlplane/compiler/port_flatten.h"
#include "controlplane/compiler/rows.h"
#include "controlplane/compiler/rule_spec.h"
#include "controlplane/k8s/model.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::compiler {

// The cluster as named ports see it: egress named ports resolve on each destination pod.
class NamedPortScope {
 public:
  virtual ~NamedPortScope() = default;
  // Every identity, ids ascending, with a pod of it.
  virtual void ForEachIdentity(const std::function<void(uint32_t id, const k8s::Pod& pod)>& fn) const = 0;
  // A pod of the identity `id` (one that exists).
  virtual const k8s::Pod& IdentityPod(uint32_t id) const = 0;
  // Every endpoint IP: endpoints in (namespace, name) order, each one's IPs in order.
  virtual void ForEachEndpointIp(const std::function<void(const k8s::Pod& pod, const IpAddr& ip)>& fn) const = 0;
};

// A policy selecting the table's endpoints, and the number rule_policy gives it.
struct TablePolicy {
  uint32_t index = 0;
  const PolicySpec* spec = nullptr;
};
struct TieredPolicy {
  uint32_t index = 0;
  const ClusterPolicySpec* spec = nullptr;
};

// What one table is compiled from.
struct TableInputs {
  std::span<const TieredPolicy> admin;    // in evaluation order
  std::span<const TablePolicy> policies;  // NetworkPolicies in policy order
  std::span<const TieredPolicy> baseline;
};

class TableBuilder {
 public:
  // Builds direction `dir` of the table of endpoints selected by `in` (NetworkPolicies not
  // covering `dir` are skipped). `self` is one of those endpoints: ingress named ports resolve
  // on it. `rows` is Reset() for the table, then receives its rows.
  void Build(k8s::Direction dir, const TableInputs& in, const k8s::Pod& self, const NamedPortScope& scope,
             RowWriter* rows, v1::DirectionTable* dt);

 private:
  uint32_t NewBit(uint32_t policy, uint32_t rule, uint32_t flags);
  void CollectTier(std::span<const TieredPolicy> tier, k8s::Direction dir, const k8s::Pod& self,
                   const NamedPortScope& scope);
  void AddPeers(const PeerSet& ps, uint32_t bit);
  void CollectRule(uint32_t policy, uint32_t rule, const RuleSpec& spec, k8s::Direction dir, const k8s::Pod& self,
                   const NamedPortScope& scope);
  void CollectNamedEgress(uint32_t policy, uint32_t rule, const PeerSet& ps,
                          const std::vector<std::pair<std::string, uint8_t>>& named, const NamedPortScope& scope);
  void Clear();

  // The rule bits of the direction being built. The buffers are reused for every table, so
  // they are allocated once per compile, not once per table.
  std::vector<uint32_t> rule_policy_, rule_index_, rule_flags_;  // by bit
  std::vector<std::pair<uint32_t, uint32_t>> id_bits_;           // (identity id, bit)
  std::vector<uint32_t> all_pod_bits_;
  std::vector<CidrBlock> blocks_;
  std::vector<PortSpan> spans_;
  std::vector<uint32_t> other_bits_;
  std::vector<FlatPortRange> ports_;  // flattened spans
  PortFlattener port_flattener_;
  std::vector<uint32_t> out_a_, out_b_;  // output staging
  uint32_t flags_ = 0;                   // the flags of the rule being collected
  bool tiered_ = false;                  // some cluster policy bit exists
  bool audit_ = false;                   // some bit is of a policy in audit
};

}  // namespace netfence::compiler
