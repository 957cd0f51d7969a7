// SPDX-License-Identifier: Apache-2.0
// A NetworkPolicy or ClusterNetworkPolicy decoded for compiling: for each direction, each
// rule's peers (which identities, whether every pod, which CIDR blocks) and ports (numbers,
// ranges, whole protocols, names still to resolve), and for a cluster policy each rule's
// action. Decoded once per policy and reused by every table the policy is compiled into.
// Peers are resolved through a PeerSelector, so the batch compiler and the incremental
// compiler decode with the same code over their own indexes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/compiler/cidr_flatten.h"
#include "controlplane/compiler/port_flatten.h"
#include "controlplane/k8s/model.h"

namespace netfence::compiler {

// Resolves a policy peer's selectors (never an ipBlock) to identity ids, and node selectors
// to node addresses.
class PeerSelector {
 public:
  virtual ~PeerSelector() = default;
  // Appends the ids of the identities the peer selects, for a policy of namespace `ns`, or
  // sets *all_pods when the peer matches every pod of the cluster (then appends nothing).
  virtual void SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                          std::vector<uint32_t>* ids) const = 0;
  // Appends the InternalIP addresses of the nodes `sel` selects.
  virtual void SelectNodeAddresses(const k8s::LabelSelector& sel, std::vector<IpAddr>* out) const = 0;
};

// A named port's protocol when the name alone decides it (ClusterNetworkPolicy: the protocol
// of the destination's containerPort of that name).
inline constexpr uint8_t kAnyProtocol = 0;

// What one rule's peers match, independent of the table it is compiled into.
struct PeerSet {
  bool everyone = false;             // no peers listed: every address
  bool all_pods = false;             // some peer selects every pod of the cluster
  std::vector<uint32_t> identities;  // identity ids, sorted, unique (empty when all_pods)
  std::vector<CidrBlock> blocks;     // ipBlocks (rule_bit filled in per table)

  bool operator==(const PeerSet& o) const;
};

struct RuleSpec {
  PeerSet peers;
  bool every_port = false;                             // no ports listed
  std::vector<PortSpan> numeric;                       // numbers, ranges, whole protocols
  std::vector<std::pair<std::string, uint8_t>> named;  // (name, protocol or kAnyProtocol)
  uint32_t flags = 0;                                  // rule_flags of its bits (tables::kRule*)

  bool operator==(const RuleSpec& o) const;
};

struct PolicySpec {
  bool audit = false;               // in audit: its bits carry tables::kRuleAudit, it isolates in audit only
  bool covers[2] = {false, false};  // by k8s::Direction
  bool named_ingress = false;       // ingress rules use named ports
  std::vector<RuleSpec> rules[2];   // by k8s::Direction

  bool operator==(const PolicySpec& o) const;
};

// Whether a policy is in audit (observe-only): its own annotation netfence.io/enforcement
// ("audit" or "enforce") decides; without one, a NetworkPolicy's namespace's annotation (`ns`,
// null when the namespace is unknown); without that, the cluster default.
bool Audited(const k8s::ObjectMeta& policy, const k8s::Namespace* ns, bool audit_by_default);

PolicySpec DecodePolicy(const k8s::NetworkPolicy& np, const PeerSelector& selector, bool audit = false);

// A cluster policy: every rule of both directions, in precedence order, with its action.
struct ClusterPolicySpec {
  bool audit = false;              // in audit: its bits carry tables::kRuleAudit
  bool named_ingress = false;      // ingress rules use named ports
  std::vector<RuleSpec> rules[2];  // by k8s::Direction

  bool operator==(const ClusterPolicySpec& o) const;
};

// `pods` and `namespaces` peers select like NetworkPolicy peers with a namespaceSelector,
// `nodes` the nodes' addresses, `networks` their CIDRs; `domainNames` match nothing. A rule
// that fails closed (k8s::ClusterRule::FailsClosed) denies everything unless it accepts.
ClusterPolicySpec DecodeClusterPolicy(const k8s::ClusterNetworkPolicy& cnp, const PeerSelector& selector,
                                      bool audit = false);

// The number a named port resolves to on `pod` for (name, protocol) of RuleSpec::named, with
// its protocol (kAnyProtocol: the containerPort's).
std::optional<std::pair<uint8_t, uint16_t>> ResolveNamed(const k8s::Pod& pod, const std::string& name, uint8_t proto);

}  // namespace netfence::compiler
