// SPDX-License-Identifier: Apache-2.0
// The Kubernetes objects netfence reads: Namespace, Pod, Node (v1), NetworkPolicy
// (networking.k8s.io/v1) and ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2; the
// v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy are read into the same model).
// Only the fields that decide reachability are kept. Values are kept as written where
// validation must judge them (protocols, ports, CIDRs); semantic code reads them through
// the helpers below once the object has been validated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/ip.h"

namespace netfence::k8s {

using Labels = std::map<std::string, std::string>;

// The protocols of NetworkPolicy ports and container ports; numbers are IANA's.
enum class Protocol : uint8_t { kTCP = 6, kUDP = 17, kSCTP = 132 };
std::optional<Protocol> ParseProtocol(const std::string& name);  // exact: "TCP", "UDP", "SCTP"
const char* ProtocolName(Protocol p);
const char* ProtocolName(uint8_t ip_proto);  // TCP/UDP/SCTP/ICMP/ICMPv6 or the number

// The annotation that puts a Namespace's NetworkPolicies, a NetworkPolicy or a cluster policy
// in audit (observe-only) or enforces it: "audit" or "enforce".
inline constexpr const char* kEnforcementAnnotation = "netfence.io/enforcement";
enum class Enforcement : uint8_t { kUnset, kEnforce, kAudit };
// "enforce" / "audit" / anything else (nullopt).
std::optional<Enforcement> ParseEnforcement(const std::string& value);

struct ObjectMeta {
  std::string name;
  std::string ns;  // empty for cluster-scoped objects
  Labels labels;
  std::string resource_version;
  std::string uid;
  std::string enforcement;  // annotation netfence.io/enforcement as written ("" when absent)

  // The annotation's value (kUnset when absent; validation refuses other values).
  Enforcement EnforcementMode() const { return ParseEnforcement(enforcement).value_or(Enforcement::kUnset); }

  bool operator==(const ObjectMeta&) const = default;
};

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // "In", "NotIn", "Exists", "DoesNotExist" once validated
  std::vector<std::string> values;

  bool operator==(const LabelSelectorRequirement&) const = default;
};

// metav1.LabelSelector. An empty selector (no labels, no expressions) selects everything.
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;

  bool empty() const { return match_labels.empty() && match_expressions.empty(); }
  bool Matches(const Labels& labels) const;
  std::string str() const;  // "app=web,tier in (a,b)" the way kubectl prints selectors

  bool operator==(const LabelSelector&) const = default;
};

// IntOrString, as used by NetworkPolicyPort.port.
struct IntOrString {
  bool is_int = true;
  int64_t int_value = 0;
  std::string str_value;
  std::string str() const { return is_int ? std::to_string(int_value) : str_value; }

  bool operator==(const IntOrString&) const = default;
};

struct NetworkPolicyPort {
  std::optional<std::string> protocol;  // absent = TCP
  std::optional<IntOrString> port;      // absent = every port of the protocol
  std::optional<int64_t> end_port;      // only with a numeric port

  Protocol protocol_or_default() const;  // valid objects only
  std::string str() const;               // "TCP/80", "UDP/1000-2000", "TCP/http", "SCTP/*"

  bool operator==(const NetworkPolicyPort&) const = default;
};

struct IPBlock {
  std::string cidr;
  std::vector<std::string> except;

  bool operator==(const IPBlock&) const = default;
};

struct NetworkPolicyPeer {
  std::optional<LabelSelector> pod_selector;
  std::optional<LabelSelector> namespace_selector;
  std::optional<IPBlock> ip_block;
  std::string str() const;

  bool operator==(const NetworkPolicyPeer&) const = default;
};

// One ingress or egress rule. Empty (or absent) peers = every peer; empty (or absent) ports
// = every port and protocol.
struct NetworkPolicyRule {
  std::vector<NetworkPolicyPeer> peers;  // ingress `from`, egress `to`
  std::vector<NetworkPolicyPort> ports;

  bool operator==(const NetworkPolicyRule&) const = default;
};

enum class Direction : uint8_t { kIngress = 0, kEgress = 1 };
const char* DirectionName(Direction d);  // "ingress" / "egress"

struct NetworkPolicy {
  ObjectMeta meta;
  LabelSelector pod_selector;
  std::vector<NetworkPolicyRule> ingress;
  std::vector<NetworkPolicyRule> egress;
  std::vector<std::string> policy_types;  // as written; empty = defaulted

  // policyTypes after defaulting: Ingress always; Egress iff egress rules exist.
  bool CoversIngress() const;
  bool CoversEgress() const;
  bool Covers(Direction d) const { return d == Direction::kIngress ? CoversIngress() : CoversEgress(); }
  const std::vector<NetworkPolicyRule>& Rules(Direction d) const { return d == Direction::kIngress ? ingress : egress; }

  bool operator==(const NetworkPolicy&) const = default;
};

struct ContainerPort {
  std::string name;  // empty if unnamed
  int64_t container_port = 0;
  std::string protocol = "TCP";
  int container = 0;  // index of the container in spec.containers (ports are in container order)

  bool operator==(const ContainerPort&) const = default;
};

struct Namespace {
  ObjectMeta meta;
  // The labels selectors see: the object's labels plus kubernetes.io/metadata.name, which
  // the API server sets on every namespace.
  Labels EffectiveLabels() const;

  bool operator==(const Namespace&) const = default;
};

struct Pod {
  ObjectMeta meta;
  std::string node_name;
  bool host_network = false;
  std::string phase;                  // status.phase, may be empty
  std::vector<std::string> pod_ips;   // status.podIPs[].ip, else status.podIP
  std::vector<std::string> host_ips;  // status.hostIPs[].ip, else status.hostIP: its node's address
  std::vector<ContainerPort> ports;   // every container's ports, in order
                                      // (a name used by two containers resolves to the first)

  // A pod is a policy endpoint iff it is not host-network, has an IP, and has not finished.
  bool IsEndpoint() const;
  // The number a named port resolves to on this pod for the protocol, if any.
  std::optional<uint16_t> ResolveNamedPort(const std::string& name, Protocol proto) const;
  // A ClusterNetworkPolicy named port: the first containerPort of that name, with its protocol.
  std::optional<std::pair<Protocol, uint16_t>> ResolveNamedPort(const std::string& name) const;
  std::string key() const { return meta.ns + "/" + meta.name; }

  bool operator==(const Pod&) const = default;
};

// A node (v1): what ClusterNetworkPolicy `nodes` peers select, by its labels, and match, by
// its InternalIP addresses.
struct Node {
  ObjectMeta meta;                        // cluster-scoped: meta.ns is empty
  std::vector<std::string> internal_ips;  // status.addresses[type=InternalIP].address, in order
  std::vector<std::string> pod_cidrs;     // spec.podCIDRs (or spec.podCIDR): its pods' addresses

  bool operator==(const Node&) const = default;
};

// ---- ClusterNetworkPolicy -----------------------------------------------------------------
// Cluster-wide tiers around NetworkPolicy. Per direction, the Admin tier is evaluated first
// (policies by priority, then rule order: the first matching rule decides; Accept allows, Deny
// drops, Pass skips the rest of the tier), then NetworkPolicy (when a policy isolates the pod
// for that direction), then the Baseline tier the same way, then allow.

enum class Tier : uint8_t { kAdmin = 1, kBaseline = 2 };
const char* TierName(Tier t);  // "Admin" / "Baseline"

// v1alpha1's "Allow" is read as Accept.
enum class RuleAction : uint8_t { kAccept = 1, kDeny = 2, kPass = 3 };
const char* ActionName(RuleAction a);  // "Accept" / "Deny" / "Pass"

// `pods`: the pods matching podSelector in the namespaces matching namespaceSelector (empty
// selectors select everything).
struct NamespacedPodSelector {
  LabelSelector namespace_selector;
  LabelSelector pod_selector;

  bool operator==(const NamespacedPodSelector&) const = default;
};

// One element of a rule's `from` / `to`: exactly one kind of peer.
struct ClusterPeer {
  enum class Kind : uint8_t {
    kNamespaces,   // every pod of the namespaces `selector` selects
    kPods,         // `pods`
    kNodes,        // egress: the InternalIP addresses of the nodes `selector` selects
    kNetworks,     // egress: the CIDRs `values` (any address, pod IPs included)
    kDomainNames,  // egress: the names `values`; netfence resolves no names, so they match nothing
    kUnknown,      // only fields this version does not know (a newer CRD): fails closed, see below
  };
  Kind kind = Kind::kNamespaces;
  LabelSelector selector;
  NamespacedPodSelector pods;
  std::vector<std::string> values;
  std::string str() const;  // "namespaces{team=a}", "networks[10.0.0.0/8]", ...

  bool operator==(const ClusterPeer&) const = default;
};

// One element of a rule's `protocols` (v1alpha1: `ports`): a port or range of one protocol,
// or a named port, resolved on the destination pod with the protocol its containerPort says.
struct ClusterPort {
  Protocol protocol = Protocol::kTCP;  // numeric entries
  int64_t first = 0;                   // numeric entries: [first, last]; v1alpha1 may give an
  int64_t last = 0;                    // empty range (first > last), which matches nothing
  std::string named_port;              // non-empty: a named port (protocol, first, last unused)
  std::string str() const;             // "TCP/80", "UDP/1000-2000", "named:http"

  bool operator==(const ClusterPort&) const = default;
};

struct ClusterRule {
  std::string name;  // may be empty
  RuleAction action = RuleAction::kDeny;
  std::vector<ClusterPeer> peers;  // `from` / `to`; never empty in a valid object
  std::vector<ClusterPort> ports;  // empty: every protocol and port (ICMP included)

  // A peer of a kind this version does not know makes the rule fail closed, as the API asks:
  // an Accept rule then never matches through that peer; a Deny or Pass rule denies
  // everything.
  bool FailsClosed() const;

  bool operator==(const ClusterRule&) const = default;
};

struct ClusterNetworkPolicy {
  ObjectMeta meta;  // cluster-scoped: meta.ns is empty
  // The kind it was read as: ClusterNetworkPolicy (v1alpha2), AdminNetworkPolicy or
  // BaselineAdminNetworkPolicy (v1alpha1). Objects of different kinds may share a name.
  std::string kind = "ClusterNetworkPolicy";
  Tier tier = Tier::kAdmin;
  int32_t priority = 0;              // 0..1000, lower first (a BaselineAdminNetworkPolicy: 1000)
  bool subject_is_pods = false;      // spec.subject.pods, else spec.subject.namespaces
  NamespacedPodSelector subject;     // for `namespaces`: pod_selector is empty
  std::vector<ClusterRule> ingress;  // in precedence order
  std::vector<ClusterRule> egress;

  const std::vector<ClusterRule>& Rules(Direction d) const { return d == Direction::kIngress ? ingress : egress; }
  std::string key() const { return kind + "/" + meta.name; }  // "ClusterNetworkPolicy/deny-imds"

  bool operator==(const ClusterNetworkPolicy&) const = default;
};

// The evaluation order of cluster policies: tier, priority, then name and kind (a documented,
// deterministic choice for equal priorities).
bool ClusterPolicyBefore(const ClusterNetworkPolicy& a, const ClusterNetworkPolicy& b);

// Everything compiled into one generation of tables.
struct ClusterState {
  std::vector<Namespace> namespaces;
  std::vector<Pod> pods;
  std::vector<NetworkPolicy> policies;
  std::vector<Node> nodes;
  std::vector<ClusterNetworkPolicy> cluster_policies;
};

}  // namespace netfence::k8s
