// SPDX-License-Identifier: Apache-2.0
#include "tests/differential/random_cluster.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

namespace netfence::reference {

namespace {

using k8s::ClusterState;
using k8s::LabelSelector;
using k8s::NetworkPolicy;
using k8s::NetworkPolicyPeer;
using k8s::NetworkPolicyPort;
using k8s::NetworkPolicyRule;
using k8s::Pod;
using Rng = std::mt19937_64;

// --- Randomness helpers ------------------------------------------------------------------

int Uniform(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool Chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }
template <typename T>
const T& Pick(Rng& rng, const std::vector<T>& v) {
  return v[static_cast<size_t>(Uniform(rng, 0, static_cast<int>(v.size()) - 1))];
}

// --- Vocabulary ----------------------------------------------------------------------------

struct LabelKey {
  std::string key;
  std::vector<std::string> values;
};

const std::vector<LabelKey> kPodKeys = {
    {"app", {"web", "db", "cache"}}, {"tier", {"front", "back"}}, {"env", {"prod", "dev"}}};
const std::vector<LabelKey> kNamespaceKeys = {{"team", {"a", "b"}}, {"env", {"prod", "dev"}}};
const std::vector<std::string> kNamespaceNames = {"alpha", "beta", "gamma", "delta"};
const std::vector<std::string> kPolicyNames = {"allow", "deny", "np2", "np10", "z-last", "a"};

struct NamedPortKind {
  std::string name;
  std::vector<int64_t> numbers;
  std::vector<std::string> protocols;  // the first is the most likely
};
const std::vector<NamedPortKind> kNamedPorts = {
    {"http", {80, 8080}, {"TCP", "TCP", "UDP"}},
    {"dns", {53, 5353}, {"UDP", "TCP"}},
    {"metrics", {9090, 9091}, {"TCP", "SCTP"}},
};
const std::vector<std::string> kPortNames = {"http", "dns", "metrics", "nope"};
const std::vector<int64_t> kCommonPorts = {1, 53, 80, 443, 5353, 8080, 9090, 9091, 65535};
const std::vector<std::string> kProtocols = {"TCP", "UDP", "SCTP"};

const std::vector<std::string> kOutsideIps = {"8.8.8.8", "172.16.5.5", "10.0.9.9", "2001:db8::1", "fd00::9:9"};

std::string Hex(int v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%x", v);
  return buf;
}

// --- Selectors -----------------------------------------------------------------------------

std::string RandomValue(Rng& rng, const LabelKey& key) { return Chance(rng, 0.1) ? "unseen" : Pick(rng, key.values); }

LabelSelector RandomSelector(Rng& rng, const std::vector<LabelKey>& keys) {
  LabelSelector sel;
  if (Chance(rng, 0.3)) return sel;  // empty: everything
  for (int i = Uniform(rng, 0, 1) + Chance(rng, 0.2); i > 0; --i) {
    const LabelKey& key = Pick(rng, keys);
    sel.match_labels[key.key] = RandomValue(rng, key);
  }
  static const std::vector<std::string> kOps = {"In", "NotIn", "Exists", "DoesNotExist"};
  for (int i = Uniform(rng, 0, 1) + Chance(rng, 0.2); i > 0; --i) {
    LabelKey key = Chance(rng, 0.1) ? LabelKey{"missing", {"x"}} : Pick(rng, keys);
    k8s::LabelSelectorRequirement req{key.key, Pick(rng, kOps), {}};
    if (req.op == "In" || req.op == "NotIn") {
      for (int v = Uniform(rng, 1, 2); v > 0; --v) {
        std::string value = RandomValue(rng, key);
        if (std::find(req.values.begin(), req.values.end(), value) == req.values.end()) req.values.push_back(value);
      }
    }
    sel.match_expressions.push_back(std::move(req));
  }
  return sel;
}

// --- IP blocks -------------------------------------------------------------------------------

// Every address the cluster knows of, and some it does not.
std::vector<IpAddr> KnownAddresses(const ClusterState& state) {
  std::vector<IpAddr> out;
  for (const Pod& pod : state.pods) {
    for (const auto& ip : pod.pod_ips) out.push_back(*IpAddr::Parse(ip));
  }
  for (const auto& ip : kOutsideIps) out.push_back(*IpAddr::Parse(ip));
  for (const auto& node : state.nodes) {
    for (const auto& ip : node.internal_ips) out.push_back(*IpAddr::Parse(ip));
  }
  return out;
}

// "addr/len" in the family's own notation; host bits are left as they are.
std::string CidrText(const IpAddr& addr, int family_len) { return addr.str() + "/" + std::to_string(family_len); }

k8s::IPBlock RandomIpBlock(Rng& rng, const ClusterState& state, const std::vector<std::string>& ns_names) {
  const bool v6 = Chance(rng, 0.3);
  const std::string ns_octet = std::to_string(Uniform(rng, 0, static_cast<int>(ns_names.size()) - 1));
  std::vector<std::string> cidrs =
      v6 ? std::vector<std::string>{"fd00::/64", "fd00::" + ns_octet + ":0/112", "::/0", "fd01::/64", "2001:db8::/32",
                                    "fd00::/8"}
         : std::vector<std::string>{"10.0.0.0/16",    "10.0.0.0/8", "10.0." + ns_octet + ".0/24", "0.0.0.0/0",
                                    "192.168.0.0/24", "8.0.0.0/8",  "10.0." + ns_octet + ".13/28"};
  // Sometimes exactly one known address, or a small block around it (host bits set).
  std::vector<IpAddr> same_family;
  for (const IpAddr& a : KnownAddresses(state)) {
    if (a.is_v4() != v6) same_family.push_back(a);
  }
  if (!same_family.empty() && Chance(rng, 0.3)) {
    const IpAddr& a = Pick(rng, same_family);
    const int max = v6 ? 128 : 32;
    cidrs = {CidrText(a, Chance(rng, 0.5) ? max : max - Uniform(rng, 1, 4))};
  }
  k8s::IPBlock block{Pick(rng, cidrs), {}};
  const IpPrefix prefix = *IpPrefix::Parse(block.cidr);
  const int family_len = prefix.family_len();
  const int max_len = v6 ? 128 : 32;
  if (family_len == max_len) return block;
  // Holes: prefixes strictly inside the block, around known addresses when there are some.
  std::vector<IpAddr> inside;
  for (const IpAddr& a : same_family) {
    if (prefix.contains(a)) inside.push_back(a);
  }
  for (int i = Chance(rng, 0.5) ? Uniform(rng, 1, 3) : 0; i > 0; --i) {
    IpAddr a = inside.empty() ? prefix.addr : Pick(rng, inside);
    const int len = std::max(family_len + 1, max_len - Pick(rng, std::vector<int>{0, 0, 2, 8, 16}));
    block.except.push_back(CidrText(a, len));
  }
  return block;
}

// --- Rules -----------------------------------------------------------------------------------

NetworkPolicyPeer RandomPeer(Rng& rng, const ClusterState& state, const std::vector<std::string>& ns_names) {
  std::vector<LabelKey> ns_keys = kNamespaceKeys;
  ns_keys.push_back({"kubernetes.io/metadata.name", ns_names});
  NetworkPolicyPeer peer;
  switch (Uniform(rng, 0, 3)) {
    case 0:
      peer.pod_selector = RandomSelector(rng, kPodKeys);
      break;
    case 1:
      peer.namespace_selector = RandomSelector(rng, ns_keys);
      break;
    case 2:
      peer.pod_selector = RandomSelector(rng, kPodKeys);
      peer.namespace_selector = RandomSelector(rng, ns_keys);
      break;
    default:
      peer.ip_block = RandomIpBlock(rng, state, ns_names);
      break;
  }
  return peer;
}

NetworkPolicyPort RandomPort(Rng& rng) {
  NetworkPolicyPort port;
  if (Chance(rng, 0.75)) port.protocol = Pick(rng, kProtocols);
  const int kind = Uniform(rng, 0, 99);
  if (kind < 20) return port;  // protocol only: every port
  k8s::IntOrString value;
  if (kind < 75) {
    value.int_value = Chance(rng, 0.8) ? Pick(rng, kCommonPorts) : Uniform(rng, 1, 65535);
    if (kind >= 60) port.end_port = std::min<int64_t>(65535, value.int_value + Uniform(rng, 0, 200));
  } else {
    value.is_int = false;
    value.str_value = Pick(rng, kPortNames);
  }
  port.port = value;
  return port;
}

// `narrow`: always peers and nearly always ports, so that few rules match a packet and the
// lowest matching rule is often far down the list.
NetworkPolicyRule RandomRule(Rng& rng, const ClusterState& state, const std::vector<std::string>& ns_names,
                             bool narrow) {
  NetworkPolicyRule rule;
  if (narrow || Chance(rng, 0.7)) {
    for (int i = Uniform(rng, 1, 3); i > 0; --i) rule.peers.push_back(RandomPeer(rng, state, ns_names));
  }
  if (Chance(rng, narrow ? 0.9 : 0.6)) {
    for (int i = Uniform(rng, 1, 3); i > 0; --i) rule.ports.push_back(RandomPort(rng));
  }
  return rule;
}

// `many`: enough rules that a table's rule bits span several 64-bit words.
std::vector<NetworkPolicyRule> RandomRules(Rng& rng, const ClusterState& state, const std::vector<std::string>& ns,
                                           bool many) {
  std::vector<NetworkPolicyRule> rules;
  const int count = many ? Uniform(rng, 4, 16) : Chance(rng, 0.25) ? 0 : Uniform(rng, 1, 3);
  for (int i = 0; i < count; ++i) rules.push_back(RandomRule(rng, state, ns, many));
  return rules;
}

// --- Pods ------------------------------------------------------------------------------------

Pod RandomPod(Rng& rng, const std::string& ns, int ns_index, int pod_index, int* host_ips) {
  Pod pod;
  pod.meta.ns = ns;
  pod.meta.name = "p" + std::to_string(pod_index);
  pod.node_name = Chance(rng, 0.5) ? "node-1" : "node-2";
  for (const LabelKey& key : kPodKeys) {
    if (Chance(rng, 0.7)) pod.meta.labels[key.key] = Pick(rng, key.values);
  }
  static const std::vector<std::string> kPhases = {"Running", "Running", "Running", "Running",   "Running",
                                                   "Running", "",        "Pending", "Succeeded", "Failed"};
  pod.phase = Pick(rng, kPhases);
  for (const NamedPortKind& kind : kNamedPorts) {
    if (Chance(rng, 0.5)) pod.ports.push_back({kind.name, Pick(rng, kind.numbers), Pick(rng, kind.protocols)});
  }
  if (Chance(rng, 0.3)) pod.ports.push_back({"", Pick(rng, kCommonPorts), Pick(rng, kProtocols)});
  if (Chance(rng, 0.08)) return pod;  // scheduled, no IP yet

  const int family = Uniform(rng, 0, 19);  // 0-11 IPv4, 12-14 IPv6, 15-19 dual-stack
  const bool v4 = family < 12 || family >= 15;
  const bool v6 = family >= 12;
  if (Chance(rng, 0.1)) {  // host network: the node's addresses, outside the pod ranges
    pod.host_network = true;
    const int n = ++*host_ips;
    if (v4) pod.pod_ips.push_back("192.168.0." + std::to_string(n));
    if (v6) pod.pod_ips.push_back("fd01::" + Hex(n));
    return pod;
  }
  const int host = pod_index + 10;
  if (v4) pod.pod_ips.push_back("10.0." + std::to_string(ns_index) + "." + std::to_string(host));
  if (v6) pod.pod_ips.push_back("fd00::" + Hex(ns_index) + ":" + Hex(host));
  if (v6 && v4 && Chance(rng, 0.3)) std::swap(pod.pod_ips[0], pod.pod_ips[1]);  // IPv6 first
  return pod;
}

}  // namespace

ClusterState RandomCluster(Rng& rng) {
  ClusterState state;
  std::vector<std::string> ns_names(kNamespaceNames.begin(), kNamespaceNames.begin() + Uniform(rng, 2, 4));
  int host_ips = 0;
  for (size_t n = 0; n < ns_names.size(); ++n) {
    if (Chance(rng, 0.85)) {  // else the namespace exists only through its pods
      k8s::Namespace ns;
      ns.meta.name = ns_names[n];
      for (const LabelKey& key : kNamespaceKeys) {
        if (Chance(rng, 0.5)) ns.meta.labels[key.key] = Pick(rng, key.values);
      }
      state.namespaces.push_back(std::move(ns));
    }
    const int pods = Uniform(rng, 2, 6);
    for (int p = 0; p < pods; ++p) state.pods.push_back(RandomPod(rng, ns_names[n], static_cast<int>(n), p, &host_ips));
  }
  // One cluster in twelve is big: many policies selecting the same pods, so that tables
  // have more than 64 (or 128) rule bits.
  const bool big = Chance(rng, 1.0 / 12);
  const int policies = big ? Uniform(rng, 12, 30) : Uniform(rng, 0, 6);
  std::set<std::pair<std::string, std::string>> taken;
  for (int i = 0; i < policies; ++i) {
    NetworkPolicy np;
    np.meta.ns = Pick(rng, ns_names);
    np.meta.name = Pick(rng, kPolicyNames);
    if (!taken.insert({np.meta.ns, np.meta.name}).second) {
      np.meta.name = "np-" + std::to_string(i);  // unique: no fixed name has this form
      taken.insert({np.meta.ns, np.meta.name});
    }
    np.pod_selector = big && Chance(rng, 0.6) ? LabelSelector{} : RandomSelector(rng, kPodKeys);
    static const std::vector<std::vector<std::string>> kTypes = {
        {}, {}, {}, {"Ingress"}, {"Ingress"}, {"Egress"}, {"Egress"}, {"Ingress", "Egress"}, {"Egress", "Ingress"}};
    np.policy_types = Pick(rng, kTypes);
    np.ingress = RandomRules(rng, state, ns_names, big);
    np.egress = RandomRules(rng, state, ns_names, big);
    state.policies.push_back(std::move(np));
  }
  return state;
}

namespace {

// --- Cluster policies ------------------------------------------------------------------------

const std::vector<std::string> kClusterNames = {"a", "b", "deny-all", "z", "mid"};
const std::vector<int32_t> kPriorities = {0, 1, 5, 10, 10, 100, 1000};
const std::vector<LabelKey> kNodeKeys = {{"zone", {"a", "b"}}, {"role", {"worker", "infra"}}};

// Nodes: node-1 and node-2 hold the first host-network addresses (the pods' "node"), node-3
// an address no pod has.
void AddNodes(Rng& rng, ClusterState* state) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> nodes = {
      {"node-1", {"192.168.0.1", "fd01::1"}}, {"node-2", {"192.168.0.2"}}, {"node-3", {"192.168.0.50", "fd01::50"}}};
  for (const auto& [name, ips] : nodes) {
    if (Chance(rng, 0.15)) continue;
    k8s::Node node;
    node.meta.name = name;
    for (const LabelKey& key : kNodeKeys) {
      if (Chance(rng, 0.6)) node.meta.labels[key.key] = Pick(rng, key.values);
    }
    node.internal_ips = ips;
    state->nodes.push_back(std::move(node));
  }
}

k8s::ClusterPeer RandomClusterPeer(Rng& rng, const ClusterState& state, const std::vector<std::string>& ns_names,
                                   bool egress, bool named_ports) {
  std::vector<LabelKey> ns_keys = kNamespaceKeys;
  ns_keys.push_back({"kubernetes.io/metadata.name", ns_names});
  k8s::ClusterPeer peer;
  using Kind = k8s::ClusterPeer::Kind;
  const int kind = Uniform(rng, 0, egress && !named_ports ? 99 : 49);
  if (kind < 1) {
    peer.kind = Kind::kUnknown;
  } else if (kind < 25) {
    peer.kind = Kind::kNamespaces;
    peer.selector = RandomSelector(rng, ns_keys);
  } else if (kind < 50) {
    peer.kind = Kind::kPods;
    peer.pods.namespace_selector = RandomSelector(rng, ns_keys);
    peer.pods.pod_selector = RandomSelector(rng, kPodKeys);
  } else if (kind < 65) {
    peer.kind = Kind::kNodes;
    peer.selector = RandomSelector(rng, kNodeKeys);
  } else if (kind < 95) {
    peer.kind = Kind::kNetworks;
    for (int i = Uniform(rng, 1, 2); i > 0; --i) {
      std::string cidr = RandomIpBlock(rng, state, ns_names).cidr;
      if (std::find(peer.values.begin(), peer.values.end(), cidr) == peer.values.end()) peer.values.push_back(cidr);
    }
  } else {
    peer.kind = Kind::kDomainNames;
    peer.values = {"*.example.com"};
  }
  return peer;
}

k8s::ClusterPort RandomClusterPort(Rng& rng, bool v1alpha1, bool named_ok) {
  k8s::ClusterPort port;
  if (named_ok && Chance(rng, 0.25)) {
    port.named_port = Pick(rng, kPortNames);
    return port;
  }
  port.protocol = *k8s::ParseProtocol(Pick(rng, kProtocols));
  port.first = Chance(rng, 0.8) ? Pick(rng, kCommonPorts) : Uniform(rng, 1, 65535);
  port.last = port.first;
  if (Chance(rng, 0.3)) {
    if (port.first == 65535) port.first = 65000;
    port.last = std::min<int64_t>(65535, port.first + Uniform(rng, 1, 200));
  }
  if (v1alpha1 && Chance(rng, 0.05)) std::swap(port.first, port.last);  // an empty v1alpha1 range
  return port;
}

k8s::ClusterRule RandomClusterRule(Rng& rng, const ClusterState& state, const std::vector<std::string>& ns_names,
                                   const std::string& kind, bool egress, int index) {
  k8s::ClusterRule rule;
  if (Chance(rng, 0.8)) rule.name = "r" + std::to_string(index);
  const bool baseline_v1alpha1 = kind == "BaselineAdminNetworkPolicy";
  static const std::vector<k8s::RuleAction> kActions = {k8s::RuleAction::kAccept, k8s::RuleAction::kDeny,
                                                        k8s::RuleAction::kPass};
  do {
    rule.action = Pick(rng, kActions);
  } while (baseline_v1alpha1 && rule.action == k8s::RuleAction::kPass);
  // Named ports only towards pods (the CRD's rule).
  const bool named_ports = Chance(rng, 0.3);
  for (int i = Uniform(rng, 1, 3); i > 0; --i) {
    rule.peers.push_back(RandomClusterPeer(rng, state, ns_names, egress, named_ports));
    if (baseline_v1alpha1 && rule.peers.back().kind == k8s::ClusterPeer::Kind::kDomainNames) rule.peers.pop_back();
  }
  if (rule.peers.empty()) rule.peers.push_back({k8s::ClusterPeer::Kind::kNamespaces, {}, {}, {}});
  if (Chance(rng, 0.6)) {
    for (int i = Uniform(rng, 1, 3); i > 0; --i) {
      rule.ports.push_back(RandomClusterPort(rng, kind != "ClusterNetworkPolicy", named_ports || !egress));
    }
  }
  return rule;
}

}  // namespace

ClusterState RandomTieredCluster(Rng& rng) {
  ClusterState state = RandomCluster(rng);
  std::vector<std::string> ns_names;
  for (const auto& pod : state.pods) {
    if (std::find(ns_names.begin(), ns_names.end(), pod.meta.ns) == ns_names.end()) ns_names.push_back(pod.meta.ns);
  }
  AddNodes(rng, &state);
  std::vector<LabelKey> ns_keys = kNamespaceKeys;
  ns_keys.push_back({"kubernetes.io/metadata.name", ns_names});
  const bool big = Chance(rng, 1.0 / 8);
  const int count = big ? Uniform(rng, 8, 20) : Uniform(rng, 0, 6);
  std::set<std::pair<std::string, std::string>> taken;
  bool baseline_v1alpha1 = false;
  for (int i = 0; i < count; ++i) {
    k8s::ClusterNetworkPolicy cnp;
    const int kind = Uniform(rng, 0, 19);
    if (kind < 3) {
      cnp.kind = "AdminNetworkPolicy";
      cnp.tier = k8s::Tier::kAdmin;
    } else if (kind < 5 && !baseline_v1alpha1) {
      cnp.kind = "BaselineAdminNetworkPolicy";
      cnp.tier = k8s::Tier::kBaseline;
      baseline_v1alpha1 = true;
    } else {
      cnp.tier = Chance(rng, 0.55) ? k8s::Tier::kAdmin : k8s::Tier::kBaseline;
    }
    cnp.meta.name = cnp.kind == "BaselineAdminNetworkPolicy" ? "default" : Pick(rng, kClusterNames);
    if (!taken.insert({cnp.kind, cnp.meta.name}).second) cnp.meta.name = "cnp-" + std::to_string(i);
    taken.insert({cnp.kind, cnp.meta.name});
    cnp.priority = cnp.kind == "BaselineAdminNetworkPolicy" ? 1000 : Pick(rng, kPriorities);
    cnp.subject_is_pods = Chance(rng, 0.5);
    cnp.subject.namespace_selector = big && Chance(rng, 0.5) ? LabelSelector{} : RandomSelector(rng, ns_keys);
    if (cnp.subject_is_pods) cnp.subject.pod_selector = RandomSelector(rng, kPodKeys);
    for (const bool egress : {false, true}) {
      const int rules = big ? Uniform(rng, 2, 25) : Chance(rng, 0.3) ? 0 : Uniform(rng, 1, 4);
      auto& into = egress ? cnp.egress : cnp.ingress;
      for (int r = 0; r < rules; ++r) into.push_back(RandomClusterRule(rng, state, ns_names, cnp.kind, egress, r));
    }
    state.cluster_policies.push_back(std::move(cnp));
  }
  return state;
}

Packet RandomPacket(Rng& rng, const ClusterState& state) {
  // Mostly pod-network addresses, where policy applies; sometimes any address at all.
  const std::vector<IpAddr> all = KnownAddresses(state);
  std::vector<IpAddr> pod_network;
  for (const Pod& pod : state.pods) {
    for (const auto& ip : pod.pod_ips) {
      if (!pod.host_network) pod_network.push_back(*IpAddr::Parse(ip));
    }
  }
  auto pick = [&](auto&& wanted) {
    std::vector<IpAddr> from_pods, from_all;
    for (const IpAddr& a : pod_network) {
      if (wanted(a)) from_pods.push_back(a);
    }
    for (const IpAddr& a : all) {
      if (wanted(a)) from_all.push_back(a);
    }
    return Pick(rng, !from_pods.empty() && Chance(rng, 0.8) ? from_pods : from_all);
  };
  Packet p;
  p.src = pick([](const IpAddr&) { return true; });
  // Never empty: the outside addresses hold two of each family.
  p.dst = pick([&](const IpAddr& a) { return a.is_v4() == p.src.is_v4() && a != p.src; });
  static const std::vector<uint8_t> kProtos = {6, 6, 6, 6, 17, 17, 17, 132, 132, 1, 58};
  p.proto = Pick(rng, kProtos);
  if (p.proto == 1 || p.proto == 58) return p;

  // Ports the policies and pods name, and their neighbours.
  std::vector<int> ports;
  auto add = [&](int64_t port) {
    for (int64_t q : {port - 1, port, port + 1}) {
      if (q >= 1 && q <= 65535) ports.push_back(static_cast<int>(q));
    }
  };
  for (const NetworkPolicy& np : state.policies) {
    for (const auto* rules : {&np.ingress, &np.egress}) {
      for (const NetworkPolicyRule& rule : *rules) {
        for (const NetworkPolicyPort& port : rule.ports) {
          if (port.port && port.port->is_int) add(port.port->int_value);
          if (port.end_port) add(*port.end_port);
        }
      }
    }
  }
  for (const Pod& pod : state.pods) {
    for (const auto& cp : pod.ports) ports.push_back(static_cast<int>(cp.container_port));
  }
  for (const auto& cnp : state.cluster_policies) {
    for (const auto* rules : {&cnp.ingress, &cnp.egress}) {
      for (const auto& rule : *rules) {
        for (const auto& port : rule.ports) {
          if (!port.named_port.empty()) continue;
          add(port.first);
          add(port.last);
        }
      }
    }
  }
  p.dport = static_cast<uint16_t>(ports.empty() || Chance(rng, 0.15) ? Uniform(rng, 1, 65535) : Pick(rng, ports));
  return p;
}

std::string Packet::str() const {
  std::string dst_text = dst.is_v4() ? dst.str() : "[" + dst.str() + "]";
  const char* name = proto == 6 ? "TCP" : proto == 17 ? "UDP" : proto == 132 ? "SCTP" : proto == 1 ? "ICMP" : "ICMPv6";
  std::string out = std::string(name) + " " + src.str() + " -> " + dst_text;
  if (proto == 6 || proto == 17 || proto == 132) out += ":" + std::to_string(dport);
  return out;
}

}  // namespace netfence::reference
