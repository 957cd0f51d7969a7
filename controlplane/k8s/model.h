// SPDX-License-Identifier: Apache-2.0
// The Kubernetes objects netfence reads: Namespace, Pod, NetworkPolicy (networking.k8s.io/v1).
// Only the fields that decide reachability are kept. Values are kept as written where
// validation must judge them (protocols, ports, CIDRs); semantic code reads them through
// the helpers below once the object has been validated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/ip.h"

namespace netfence::k8s {

using Labels = std::map<std::string, std::string>;

// The protocols of NetworkPolicy ports and container ports; numbers are IANA's.
enum class Protocol : uint8_t { kTCP = 6, kUDP = 17, kSCTP = 132 };
std::optional<Protocol> ParseProtocol(const std::string& name);  // exact: "TCP", "UDP", "SCTP"
const char* ProtocolName(Protocol p);
const char* ProtocolName(uint8_t ip_proto);  // TCP/UDP/SCTP/ICMP/ICMPv6 or the number

struct ObjectMeta {
  std::string name;
  std::string ns;  // empty for cluster-scoped objects
  Labels labels;
  std::string resource_version;
  std::string uid;

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
  std::string phase;                 // status.phase, may be empty
  std::vector<std::string> pod_ips;  // status.podIPs[].ip, else status.podIP
  std::vector<ContainerPort> ports;  // every container's ports, in order
                                     // (a name used by two containers resolves to the first)

  // A pod is a policy endpoint iff it is not host-network, has an IP, and has not finished.
  bool IsEndpoint() const;
  // The number a named port resolves to on this pod for the protocol, if any.
  std::optional<uint16_t> ResolveNamedPort(const std::string& name, Protocol proto) const;
  std::string key() const { return meta.ns + "/" + meta.name; }

  bool operator==(const Pod&) const = default;
};

// Everything compiled into one generation of tables.
struct ClusterState {
  std::vector<Namespace> namespaces;
  std::vector<Pod> pods;
  std::vector<NetworkPolicy> policies;
};

}  // namespace netfence::k8s
